// exit(0) with output on both streams: the explicit form of the default.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("all good\n");
    fprintf(stderr, "nothing to report\n");
    exit(0);
}
