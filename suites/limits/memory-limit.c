// Allocates 16 KiB blocks until malloc fails. With memory_bytes = 1 MiB,
// memory.grow is refused before the memory reaches 1 MiB.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    size_t total = 0;
    void *volatile head = NULL;
    for (;;) {
        void **p = malloc(16384);
        if (!p) break;
        *p = head; // keep the blocks reachable so that the calls are not optimised away
        head = p;
        total += 16384;
        if (total > ((size_t)64 << 20)) {
            printf("no limit: allocated over 64 MiB\n");
            return 1;
        }
    }
    printf("refused\n");
    printf("allocated less than 1 MiB: %s\n", total < 1048576 ? "yes" : "no");
    printf("allocated more than 256 KiB: %s\n", total > 262144 ? "yes" : "no");
    return 0;
}
