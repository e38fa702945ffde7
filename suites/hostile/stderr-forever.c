// Writes "e\n" to stderr forever (unbuffered: one fd_write per line). With
// output_bytes = 1000 only the first 1000 bytes are kept; the writes keep
// succeeding, so the guest runs until the timeout.
#include <stdio.h>

int main(void) {
    for (;;) {
        if (fputs("e\n", stderr) == EOF) {
            printf("write to stderr failed\n");
            return 1;
        }
    }
}
