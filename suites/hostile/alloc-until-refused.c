// Allocates 64 KiB blocks, touching every byte of each, until malloc fails.
// With memory_bytes = 4 MiB, memory.grow is refused (returns -1, no trap)
// before the linear memory passes 4 MiB, so malloc returns NULL and the
// program goes on normally. It must still have got most of the 4 MiB.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t kib = 0;
    void *volatile head = NULL;
    for (;;) {
        void **p = malloc(65536);
        if (!p) break;
        memset(p, 0xa5, 65536);
        *p = head; // keep every block reachable
        head = p;
        kib += 64;
        if (kib > 64 * 1024) {
            printf("no limit: allocated over 64 MiB\n");
            return 1;
        }
    }
    printf("refused after %zu KiB\n", kib);
    printf("below 4096 KiB: %s\n", kib < 4096 ? "yes" : "no");
    printf("at least 2048 KiB: %s\n", kib >= 2048 ? "yes" : "no");
    return 0;
}
