// abort() is an `unreachable` instruction: the component traps.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("about to abort\n");
    fflush(stdout);
    fprintf(stderr, "goodbye\n");
    abort();
}
