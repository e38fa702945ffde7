// exit(7) from a nested call, i.e. proc_exit(7). The wasi_snapshot_preview1
// adapter (wasmtime 48.0.8) maps every non-zero proc_exit code to
// wasi:cli/exit `exit(err)`, not to `exit-with-code`, so the component ends
// with exit code 1 (what `wasmtime run` reports too). Output written before
// exit must not be lost, and code after it must not run.
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void leave(int code) {
    printf("leaving with %d\n", code);
    exit(code);
}

int main(void) {
    leave(7);
    printf("not reached\n");
    return 0;
}
