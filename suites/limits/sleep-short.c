// A short sleep well within the timeout completes normally.
#include <stdio.h>
#include <time.h>

int main(void) {
    struct timespec d = {0, 20 * 1000 * 1000};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (nanosleep(&d, NULL) != 0) { printf("nanosleep failed\n"); return 1; }
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long el = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("slept at least 20 ms: %s\n", el >= 20000000LL ? "yes" : "no");
    return 0;
}
