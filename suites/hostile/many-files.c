// Creates files f0, f1, f2, ... with 4 KiB each (closing every one), forever:
// the growth is spread over many small files and directory entries instead
// of one big file. With limits.disk_bytes = 1 MiB the guest is stopped with
// a "disk limit" trap. So as not to fill the host's disk, it stops creating
// files after 4096 (16 MiB) and keeps running without writing, to be stopped
// by the limit or, failing that, by the timeout (a failure).
#include "hostile.h"

int main(void) {
    static char block[4096];
    memset(block, 0x5a, sizeof block);
    for (int n = 0; n < 4096; n++) {
        char path[32];
        snprintf(path, sizeof path, "/f%d", n);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            printf("cannot create %s (%s)\n", path, errname(errno));
            return 1;
        }
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block) {
            printf("write to %s failed (%s)\n", path, errname(errno));
            return 1;
        }
        close(fd);
    }
    printf("created 4096 files: no disk limit yet\n");
    fflush(stdout);
    spin_forever();
}
