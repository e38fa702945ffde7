// Writes to both streams, interleaved; each stream is checked on its own.
#include <stdio.h>

int main(void) {
    printf("out 1\n");
    fflush(stdout);
    fprintf(stderr, "err 1\n");
    printf("out 2\n");
    fflush(stdout);
    fprintf(stderr, "err 2\n");
    return 0;
}
