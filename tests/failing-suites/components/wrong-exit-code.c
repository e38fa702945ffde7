// exit(17); the spec expects 42. Through the wasi_snapshot_preview1 adapter a
// non-zero proc_exit code becomes wasi:cli/exit `exit(err)`, so the harness
// sees exit code 1.
#include <stdlib.h>

int main(void) { exit(17); }
