// Writes "y\n" to stdout forever, like yes(1). With output_bytes = 1000 the
// harness keeps the first 1000 bytes and drops the rest without telling the
// guest (its writes succeed), so the guest runs until the timeout. Its
// memory use and the harness's must stay bounded meanwhile.
#include <stdio.h>

int main(void) {
    for (;;) {
        if (fputs("y\n", stdout) == EOF) {
            fputs("write to stdout failed\n", stderr);
            return 1;
        }
    }
}
