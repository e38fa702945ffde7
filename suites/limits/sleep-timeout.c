// Blocks in a host call (poll_oneoff via sleep) for far longer than the
// test's timeout; the timeout stops it there too.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("sleeping\n");
    fflush(stdout);
    sleep(60);
    printf("woke up\n");
    return 0;
}
