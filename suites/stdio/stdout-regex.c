// Prints random bytes as hex: the output differs on every run, so the spec
// checks its shape with a regex.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    unsigned char b[4];
    if (getentropy(b, sizeof b) != 0) return 1;
    printf("random: %02x%02x%02x%02x\n", b[0], b[1], b[2], b[3]);
    return 0;
}
