// The body of fd-exhaustion and fd-exhaustion-low: opens /file.txt again
// and again without closing it. After 4096 opens it stops opening and keeps
// running, holding them all.
#include "hostile.h"

#define MAX_OPENS 4096

int main(void) {
    for (int n = 0; n < MAX_OPENS; n++) {
        int fd = open("/file.txt", O_RDONLY);
        if (fd < 0) {
            printf("open failed after %d opens (%s)\n", n, errname(errno));
            return 1;
        }
    }
    printf("opened %d files: no open file limit yet\n", MAX_OPENS);
    fflush(stdout);
    spin_forever();
}
