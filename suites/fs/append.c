// Appends to an existing fixture file.
#include "fsutil.h"

int main(void) {
    if (write_file("/log.txt", "a", "second\n")) return 1;
    if (write_file("/log.txt", "a", "third\n")) return 1;
    show_file("/log.txt", "/log.txt");
    return 0;
}
