// Truncates and rewrites an existing fixture file with shorter content.
#include "fsutil.h"

int main(void) {
    if (write_file("/overwrite.txt", "w", "new\n")) return 1;
    printf("done\n");
    return 0;
}
