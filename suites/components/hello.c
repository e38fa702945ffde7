// Writes one line to stdout and nothing to stderr.
#include <stdio.h>

int main(void) {
    printf("Hello, component!\n");
    return 0;
}
