// 20 levels of 250-character names deep (past PATH_MAX, see deep-path.h),
// creates a file and opens it 500 times without closing: with
// limits.open_files = 64 the guest is stopped with an "open file limit" trap.
// After 500 opens it keeps running, holding them, so a harness blind to the
// deep descriptors fails on the timeout.
#include "deep-path.h"

#define OPENS 500

int main(void) {
    int dir = descend();
    int fd = openat(dir, "held.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("cannot create held.txt (%s)\n", errname(errno));
        return 1;
    }
    for (int n = 0; n < OPENS; n++) {
        if (openat(dir, "held.txt", O_RDONLY) < 0) {
            printf("open failed after %d opens (%s)\n", n, errname(errno));
            return 1;
        }
    }
    printf("opened %d files: no open file limit yet\n", OPENS);
    fflush(stdout);
    spin_forever();
}
