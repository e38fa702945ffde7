// Deletes one fixture file and leaves the others alone.
#include <unistd.h>
#include "fsutil.h"

int main(void) {
    if (unlink("/doomed.txt") != 0) { printf("unlink: %s\n", errname(errno)); return 1; }
    if (unlink("/doomed.txt") == 0) { printf("second unlink succeeded\n"); return 1; }
    printf("second unlink: %s\n", errname(errno));
    return 0;
}
