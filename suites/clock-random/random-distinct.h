// Shared by the random-distinct* tests: two reads of 32 random bytes differ,
// and neither is all zeros.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    unsigned char a[32], b[32], zero[32] = {0};
    if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) {
        printf("getentropy failed\n");
        return 1;
    }
    printf("distinct: %s\n", memcmp(a, b, sizeof a) != 0 ? "yes" : "no");
    printf("nonzero: %s\n", memcmp(a, zero, 32) != 0 && memcmp(b, zero, 32) != 0 ? "yes" : "no");
    return 0;
}
