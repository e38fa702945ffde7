// With "root", the fixture is the guest's "/": read files by absolute path.
#include "fsutil.h"

int main(void) {
    show_file("/data.txt", "/data.txt");
    show_file("/sub/nested.txt", "/sub/nested.txt");
    show_file("/missing.txt", "/missing.txt");
    return 0;
}
