/* Opens /dev/urandom with no preopened directory holding it: wasi-libc fails
 * the open itself (ENOTCAPABLE, no host call), and the program reports it on
 * stderr. The trace shows that message, and the hint names the path. */
#include <stdio.h>

int main(void) {
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f) {
        perror("cannot open /dev/urandom");
        return 1;
    }
    fclose(f);
    return 0;
}
