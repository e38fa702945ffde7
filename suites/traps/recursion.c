// Unbounded recursion in C. Each frame keeps its locals in wasm locals (no
// address is taken), so it is the wasm call stack that runs out.
#include <stdio.h>

#pragma clang diagnostic ignored "-Winfinite-recursion"

volatile int sink;

__attribute__((noinline)) static int recurse(int n) {
    sink = n;
    int r = recurse(n + 1);
    sink = r;
    return r + 1;
}

int main(void) {
    printf("recursing\n");
    fflush(stdout);
    return recurse(0);
}
