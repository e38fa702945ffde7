#!/usr/bin/env bash
# Build the C test programs of suites/net and tests/failing-suites/net into
# wasm32-wasip2 components that use wasi:sockets and wasi:http (0.2.12, the
# versions wasmtime 48 provides).
#
# Debian's wasi-libc is wasip1-only, so the sockets and HTTP calls go through
# C bindings that wit-bindgen generates from scripts/wit/net.wit (its worlds
# import the interfaces directly; the WIT files in scripts/wit/deps are the
# WASI 0.2.12 ones shipped in the crates.io package wasmtime-wasi-http 48.0.8).
# For every NAME.c, whose first line names its world (`// wit-world: W`):
#   1. compile it with clang, with the generated bindings of world W, against
#      wasi-libc into a wasip1 core module (a temporary file), then
#   2. wrap that module into a component with scripts/componentize (the
#      wasi_snapshot_preview1 adapter of wasmtime 48.0.8 through
#      wit-component), written to NAME.wasm beside the .c:
#      - world `sockets`: a `main` program, the *command* adapter: a
#        wasi:cli/command component. It is linked as a reactor with the
#        `_start` of scripts/command-start.c (see there why: a command's
#        wrapped `cabi_realloc` export would lose the first line of stdout);
#      - world `service`: a wasi-libc *reactor* (-mexec-model=reactor) that
#        implements wasi:http/incoming-handler, the *reactor* adapter: a 0.2
#        `wasi:http/service` (proxy) component.
# A NAME.c may `#include` another test's .c to run the same program under
# another spec. The .wasm files are committed: this only needs to run after a
# source changes. It rebuilds every component (it takes seconds; the output
# is deterministic, so unchanged sources give unchanged files).
#
# Needs:
#   apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32
#   cargo install wit-bindgen-cli --version 0.63.0 --locked \
#       --no-default-features --features c
# and cargo (the componentize tool is built on first use, in
# scripts/componentize/target). Override the tools with CC=... and
# WIT_BINDGEN=...
set -euo pipefail

cd "$(dirname "$0")/.."

CC="${CC:-clang-19}"
WIT_BINDGEN="${WIT_BINDGEN:-wit-bindgen}"
WIT_BINDGEN_VERSION=0.63.0
CFLAGS=(--target=wasm32-wasi -O2 -Wall -Wextra -Wno-unused-parameter -Wl,--strip-debug)
DIRS=(suites/net tests/failing-suites/net)
WIT=scripts/wit
TOOL_DIR=scripts/componentize
TOOL="$TOOL_DIR/target/release/componentize"

if [[ $# -gt 0 && "$1" != "--force" ]]; then
    echo "usage: $0 [--force]  (every component is always rebuilt)" >&2
    exit 2
fi

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "error: $CC not found; install it with:" >&2
    echo "  apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32" >&2
    exit 1
fi
if ! "$WIT_BINDGEN" --version 2>/dev/null | grep -q " $WIT_BINDGEN_VERSION\b"; then
    echo "error: $WIT_BINDGEN $WIT_BINDGEN_VERSION not found; install it with:" >&2
    echo "  cargo install wit-bindgen-cli --version $WIT_BINDGEN_VERSION --locked --no-default-features --features c" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cargo build --quiet --release --locked --manifest-path "$TOOL_DIR/Cargo.toml"

for world in sockets service; do
    # (wit-bindgen names each file it writes on stderr.)
    "$WIT_BINDGEN" c "$WIT" --world "wasi-conform:net/$world" --out-dir "$tmp/$world" >/dev/null 2>&1 \
        || "$WIT_BINDGEN" c "$WIT" --world "wasi-conform:net/$world" --out-dir "$tmp/$world"
done

built=0
while IFS= read -r -d '' src; do
    out="${src%.c}.wasm"
    world="$(sed -n '1s|^// wit-world: *\([a-z]*\).*|\1|p' "$src")"
    case "$world" in
        sockets) model=(-mexec-model=reactor scripts/command-start.c); adapter=() ;;
        service) model=(-mexec-model=reactor); adapter=(--reactor) ;;
        *)
            echo "error: $src: the first line must be \`// wit-world: sockets\` or \`// wit-world: service\`" >&2
            exit 1
            ;;
    esac
    echo "build  $out  ($world)"
    # Named NAME.wasm so that trap backtraces read NAME.wasm!function.
    core="$tmp/$(basename "$out")"
    b="$tmp/$world"
    "$CC" "${CFLAGS[@]}" "${model[@]}" -I "$b" -o "$core" \
        "$src" "$b/$world.c" "$b/${world}_component_type.o"
    "$TOOL" "${adapter[@]}" "$core" "$out"
    built=$((built + 1))
done < <(find "${DIRS[@]}" -maxdepth 1 -name '*.c' -type f -print0 2>/dev/null | sort -z)

echo "built $built"
