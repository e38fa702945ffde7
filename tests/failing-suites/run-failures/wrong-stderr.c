// Writes "disk full" to stderr; the spec expects "network down".
#include <stdio.h>

int main(void) {
    fprintf(stderr, "warning: disk full\n");
    return 0;
}
