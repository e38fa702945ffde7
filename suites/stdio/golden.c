// Prints 100 numbered lines to stdout and a short report to stderr; both are
// compared with golden files beside the spec.
#include <stdio.h>

int main(void) {
    for (int i = 1; i <= 100; i++) printf("line %03d: %d squared is %d\n", i, i, i * i);
    fprintf(stderr, "wrote 100 lines\n");
    return 0;
}
