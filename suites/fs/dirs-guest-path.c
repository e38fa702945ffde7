// New form of "dirs": a fixture preopened at a chosen guest path, writable.
#include "fsutil.h"

int main(void) {
    show_file("/sandbox/file.txt", "/sandbox/file.txt");
    if (write_file("/sandbox/new.txt", "w", "made in the sandbox\n")) return 1;
    printf("wrote /sandbox/new.txt\n");
    return 0;
}
