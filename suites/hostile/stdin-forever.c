// Reads stdin forever. Each chunk it gets is acknowledged on stdout; at EOF
// it does not exit but keeps calling read() (which keeps returning 0), so it
// never ends by itself: first it blocks in fd_read waiting for input, then,
// once `wait` closes stdin, it loops on the host call. The timeout stops it.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char buf[256];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n > 0) {
            printf("read %ld bytes\n", (long)n);
            fflush(stdout);
        } else if (n < 0) {
            printf("read failed\n");
            fflush(stdout);
            return 1;
        }
        // n == 0: EOF; read again.
    }
}
