// An atexit handler runs (and its output is captured) when exit(7) is called.
#include <stdio.h>
#include <stdlib.h>

static void handler(void) { printf("atexit handler ran\n"); }

int main(void) {
    atexit(handler);
    printf("main\n");
    exit(7);
}
