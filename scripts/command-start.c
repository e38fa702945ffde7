// `_start` for the wasi:sockets test commands of scripts/build-net.sh.
//
// Those programs are linked as wasip1 *reactors* (-mexec-model=reactor) with
// this `_start` added, not as ordinary commands: in a command, wasm-ld wraps
// every export in `__wasm_call_ctors` ... `__wasm_call_dtors`, and that
// includes the `cabi_realloc` that wit-bindgen's bindings export. The
// wasi_snapshot_preview1 adapter calls `cabi_realloc` to allocate its state
// on its first call (such as the isatty check of the first write to stdout),
// so the wrapper would run the destructors (flushing and resetting stdio)
// in the middle of that write, and the first line written to stdout would be
// lost. A reactor has no wrappers: its constructors run once, from
// `_initialize` (which wit-component calls when the component is
// instantiated), and the command adapter's wasi:cli/run calls this `_start`.
#include <stdlib.h>

int __main_void(void);  // wasi-libc: calls main with the arguments

__attribute__((export_name("_start"))) void start(void) {
    exit(__main_void());
}
