// Old form of "dirs": each fixture is preopened under its own name.
#include "fsutil.h"

int main(void) {
    show_file("data.dir/file.txt", "data.dir/file.txt");
    show_file("other.dir/other.txt", "other.dir/other.txt");
    show_file("/data.dir/file.txt", "/data.dir/file.txt");
    return 0;
}
