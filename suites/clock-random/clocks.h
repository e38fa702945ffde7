// Shared by the clock-* tests: prints the wall-clock time, then the
// difference between two consecutive readings of each clock. With a
// deterministic "clock", every reading advances that clock by step_ns, so
// both differences are exactly step_ns.
#include <stdio.h>
#include <time.h>

static long long ns(const struct timespec *t) {
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int main(void) {
    time_t t = time(NULL);
    printf("time: %lld\n", (long long)t);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", gmtime(&t));
    printf("utc: %s\n", buf);

    struct timespec a, b;
    clock_gettime(CLOCK_REALTIME, &a);
    clock_gettime(CLOCK_REALTIME, &b);
    printf("realtime step: %lld ns\n", ns(&b) - ns(&a));

    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("monotonic step: %lld ns\n", ns(&b) - ns(&a));
    printf("monotonic below 1 s: %s\n", ns(&a) < 1000000000LL ? "yes" : "no");
    return 0;
}
