// Renames a fixture file; afterwards the old name must be gone.
#include <stdio.h>
#include "fsutil.h"

int main(void) {
    if (rename("/old.txt", "/new.txt") != 0) { printf("rename: %s\n", errname(errno)); return 1; }
    show_file("/new.txt", "/new.txt");
    show_file("/old.txt", "/old.txt");
    return 0;
}
