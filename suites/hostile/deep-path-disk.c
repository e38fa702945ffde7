// 20 levels of 250-character names deep (past PATH_MAX, see deep-path.h),
// writes 64 KiB blocks into one file: with limits.disk_bytes = 10 MiB the
// guest is stopped with a "disk limit" trap. As disk-filler, it stops writing
// at 64 MiB and keeps running, so a harness blind to the deep file fails on
// the timeout instead of filling the host's disk.
#include "deep-path.h"

int main(void) {
    int dir = descend();
    static char block[65536];
    memset(block, 0xa5, sizeof block);
    int fd = openat(dir, "fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("cannot create fill.bin (%s)\n", errname(errno));
        return 1;
    }
    for (long kib = 0; kib < 64 * 1024; kib += 64) {
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block) {
            printf("write failed after %ld KiB (%s)\n", kib, errname(errno));
            return 1;
        }
    }
    printf("wrote 64 MiB: no disk limit yet\n");
    fflush(stdout);
    spin_forever();
}
