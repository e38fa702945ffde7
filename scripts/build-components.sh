#!/usr/bin/env bash
# Build the C test programs of the component suites into wasm32-wasip2
# `wasi:cli/command` components.
#
# For every suites/components/*.c and tests/failing-suites/components/*.c:
#   1. compile it with clang into a wasip1 core module (a temporary file; same
#      flags as scripts/build-suites.sh), then
#   2. wrap that module into a component with scripts/componentize (the
#      wasi_snapshot_preview1 *command* adapter of wasmtime 48.0.8, through
#      wit-component), written to NAME.wasm beside the .c.
# The .wasm files are committed, so this only needs to run after a .c (or a
# header in the same directory) changes. scripts/build-suites.sh skips these
# directories so that it never overwrites the components with core modules.
#
# Needs (Debian/Ubuntu):
#   apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32
# and cargo (the componentize tool is built on first use, in
# scripts/componentize/target). Override the compiler with CC=...
#
# Idempotent: a .wasm is rebuilt only when it is missing or older than its .c
# or any header in the same directory; --force rebuilds everything.
set -euo pipefail

cd "$(dirname "$0")/.."

CC="${CC:-clang-19}"
CFLAGS=(--target=wasm32-wasi -O2 -Wall -Wextra -Wno-unused-parameter -Wl,--strip-debug)
DIRS=(suites/components tests/failing-suites/components)
TOOL_DIR=scripts/componentize
TOOL="$TOOL_DIR/target/release/componentize"

source scripts/lib.sh
parse_force "$@"
require_cc

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

tool_ready=0
ensure_tool() {
    if [[ $tool_ready -eq 0 ]]; then
        # cargo is itself incremental: this is quick once the tool is built.
        cargo build --quiet --release --locked --manifest-path "$TOOL_DIR/Cargo.toml"
        tool_ready=1
    fi
}

built=0
uptodate=0
while IFS= read -r -d '' src; do
    out="${src%.c}.wasm"
    if needs_build "$src" "$out" "$force"; then
        ensure_tool
        echo "build  $out"
        # Named NAME.wasm so that trap backtraces read NAME.wasm!function.
        core="$tmp/$(basename "$out")"
        "$CC" "${CFLAGS[@]}" -o "$core" "$src"
        "$TOOL" "$core" "$out"
        built=$((built + 1))
    else
        echo "ok     $out"
        uptodate=$((uptodate + 1))
    fi
done < <(find "${DIRS[@]}" -maxdepth 1 -name '*.c' -type f -print0 2>/dev/null | sort -z)

echo "built $built, up to date $uptodate"
