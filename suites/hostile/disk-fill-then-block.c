// Grows its directory past limits.disk_bytes (10 MiB) as fast as it can,
// 16 MiB through write() calls of 4 MiB, and then blocks in a host call
// (sleep) instead of running on: the limit must still stop it, with a
// "disk limit" trap, not merely the timeout. (A limit measured only while
// the guest executes wasm misses exactly this guest.)
#include <stdlib.h>
#include "hostile.h"

int main(void) {
    const size_t chunk = (size_t)4 << 20;
    char *buf = malloc(chunk);
    if (!buf) {
        printf("malloc failed\n");
        return 1;
    }
    memset(buf, 0xa5, chunk);
    int fd = open("/fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("cannot create /fill.bin (%s)\n", errname(errno));
        return 1;
    }
    size_t total = 0;
    while (total < ((size_t)16 << 20)) {
        ssize_t n = write(fd, buf, chunk);
        if (n <= 0) {
            printf("write failed after %zu bytes (%s)\n", total, errname(errno));
            return 1;
        }
        total += (size_t)n;
    }
    sleep(1000000);
    printf("woke up\n");
    return 1;
}
