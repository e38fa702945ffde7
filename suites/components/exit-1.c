// Returns 1 from main: the component's `run` returns an error.
#include <stdio.h>

int main(void) {
    fprintf(stderr, "failing on purpose\n");
    return 1;
}
