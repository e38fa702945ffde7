// Interleaves stdout and stderr; each stream is checked on its own.
#include <stdio.h>

int main(void) {
    printf("out 1\n");
    fprintf(stderr, "err 1\n");
    printf("out 2\n");
    fprintf(stderr, "err 2: %d\n", 42);
    return 0;
}
