// Writes a message with a varying number to stderr; checked with a regex.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    unsigned char b[2];
    if (getentropy(b, sizeof b) != 0) return 1;
    fprintf(stderr, "error %u: retry later\n", (unsigned)b[0] * 256u + b[1]);
    return 0;
}
