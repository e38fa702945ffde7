// The disk limit counts allocated blocks, not apparent sizes: a sparse file
// of 1 GiB (ftruncate, then one byte written at its end) allocates almost
// nothing, so it stays within limits.disk_bytes = 10 MiB and the guest exits
// normally.
#include <sys/stat.h>
#include "hostile.h"

int main(void) {
    int fd = open("/sparse.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("cannot create /sparse.bin (%s)\n", errname(errno));
        return 1;
    }
    const off_t size = (off_t)1 << 30;
    if (ftruncate(fd, size) != 0) {
        printf("ftruncate failed (%s)\n", errname(errno));
        return 1;
    }
    if (pwrite(fd, "!", 1, size - 1) != 1) {
        printf("pwrite failed (%s)\n", errname(errno));
        return 1;
    }
    close(fd);
    struct stat st;
    if (stat("/sparse.bin", &st) != 0) {
        printf("stat failed (%s)\n", errname(errno));
        return 1;
    }
    printf("size: %lld\n", (long long)st.st_size);
    return 0;
}
