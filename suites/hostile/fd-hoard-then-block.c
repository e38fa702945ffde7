// Opens 100 files at once, past limits.open_files (64), as fast as it can,
// then blocks in a host call (sleep) holding them: the limit must still stop
// it with an "open file limit" trap, not merely the timeout. (A limit
// measured only while the guest executes wasm misses exactly this guest.)
#include "hostile.h"

int main(void) {
    for (int n = 0; n < 100; n++) {
        if (open("/file.txt", O_RDONLY) < 0) {
            printf("open failed after %d opens (%s)\n", n, errname(errno));
            return 1;
        }
    }
    sleep(1000000);
    printf("woke up\n");
    return 1;
}
