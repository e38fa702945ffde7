// Writes 64 KiB blocks of data into one new file, forever: with
// limits.disk_bytes = 10 MiB the guest is stopped with a "disk limit" trap
// once its preopened directory has grown past 10 MiB. So that a harness
// without the limit does not fill the host's disk, it stops writing at
// 64 MiB, and then keeps running without writing (as if it still were), to
// be stopped by the limit or, failing that, by the timeout (a failure: the
// expected trap is the disk limit).
#include "hostile.h"

int main(void) {
    static char block[65536];
    memset(block, 0xa5, sizeof block);
    int fd = open("/fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("cannot create /fill.bin (%s)\n", errname(errno));
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
