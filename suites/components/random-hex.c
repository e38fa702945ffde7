// Prints 16 random bytes as hex.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    unsigned char b[16];
    if (getentropy(b, sizeof b) != 0) return 1;
    for (int i = 0; i < 16; i++) printf("%02x", b[i]);
    printf("\n");
    return 0;
}
