// Without "clock" the host's clocks are used: the wall clock is after 2020
// and the monotonic clock never goes back.
#include <stdio.h>
#include <time.h>

int main(void) {
    struct timespec r, a, b;
    clock_gettime(CLOCK_REALTIME, &r);
    printf("realtime after 2020: %s\n", r.tv_sec > 1577836800 ? "yes" : "no");
    int ok = 1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec)) ok = 0;
        a = b;
    }
    printf("monotonic non-decreasing: %s\n", ok ? "yes" : "no");
    return 0;
}
