// With "root", relative paths resolve against "/" (the initial working
// directory).
#include "fsutil.h"

int main(void) {
    show_file("data.txt", "data.txt");
    show_file("sub/nested.txt", "sub/nested.txt");
    show_file("./sub/../data.txt", "./sub/../data.txt");
    return 0;
}
