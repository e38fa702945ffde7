// abort() from a named function while the spec expects a normal exit.
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void give_up_here(void) {
    fprintf(stderr, "giving up\n");
    abort();
}

int main(void) {
    give_up_here();
    return 0;
}
