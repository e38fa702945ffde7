// Prints the wall clock (time(NULL)) and how far two readings of each clock
// are apart.
#include <stdio.h>
#include <time.h>

static long long ns(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return -1;
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
    printf("time: %lld\n", (long long)time(NULL));
    long long r1 = ns(CLOCK_REALTIME), r2 = ns(CLOCK_REALTIME);
    printf("realtime step: %lld ns\n", r2 - r1);
    long long m1 = ns(CLOCK_MONOTONIC), m2 = ns(CLOCK_MONOTONIC);
    printf("monotonic step: %lld ns\n", m2 - m1);
    return 0;
}
