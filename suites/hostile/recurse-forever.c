// Unbounded, non-tail recursion. Each frame keeps eight 64-bit values alive
// across the recursive call, so the frames live on the wasm (native) stack,
// which the runtime bounds: the overflow is a trap ("call stack exhausted"),
// never a crash of the host. Nothing is put on the C shadow stack in linear
// memory (no local arrays, no address-taken locals): that stack is only
// 64 KiB, and overflowing it would corrupt memory or fault instead of
// exhausting the call stack.
#include <stdio.h>

volatile unsigned long long sink;
volatile unsigned long long stop_at = ~0ULL; // never reached; unknown to the compiler

__attribute__((noinline)) static unsigned long long deep(unsigned long long n) {
    if (n == stop_at) return 1;
    unsigned long long a = n * 3, b = n ^ 0x55, c = n + 7, d = n * n;
    unsigned long long e = n >> 1, f = n * 11, g = n - 5, h = n | 0x100;
    sink = n;
    unsigned long long r = deep(n + 1);
    sink = r; // work after the call: not a tail call, cannot become a loop
    return r + a * b + c * d + e * f + g * h;
}

int main(void) {
    printf("recursing\n");
    fflush(stdout);
    unsigned long long r = deep(0);
    printf("returned %llu\n", r);
    return 1;
}
