// Sleeps for 1,000,000 s (11.5 days) through wasi-libc's sleep(), i.e. a
// blocking poll_oneoff: the timeout must stop the guest inside the host call.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("sleeping\n");
    fflush(stdout);
    sleep(1000000);
    printf("woke up\n");
    return 1;
}
