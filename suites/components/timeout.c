// Computes forever; the spec's timeout must stop it.
#include <stdio.h>

int main(void) {
    printf("spinning\n");
    fflush(stdout);
    for (volatile unsigned i = 0;; i++) {
    }
}
