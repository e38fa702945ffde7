// abort() in wasi-libc is an `unreachable` instruction. Output flushed before
// the trap is still captured.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("about to abort\n");
    fflush(stdout);
    fprintf(stderr, "goodbye\n");
    abort();
}
