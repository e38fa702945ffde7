#!/usr/bin/env bash
# Build the C test programs of wasi-conform's own test suites.
#
# Compiles every suites/**/*.c and tests/failing-suites/**/*.c into a .wasm
# file beside it (NAME.c -> NAME.wasm). The .wasm files are committed, so this
# only needs to run after a .c (or a header it includes) changes.
# suites/components, suites/net and their tests/failing-suites twins are
# skipped: their .wasm files are components, built by
# scripts/build-components.sh and scripts/build-net.sh.
#
# Needs (Debian/Ubuntu):
#   apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 wabt python3
# (wabt's wat2wasm for tests/official-report/suite, python3 for the modules
# written byte by byte.)
# Override the compiler with CC=..., e.g. CC=/opt/wasi-sdk/bin/clang.
#
# Flags: -O2; the wasm `name` section is kept so that trap backtraces show
# function names (no -s / --strip-all). DWARF that the system's wasi-libc
# objects carry is dropped (--strip-debug): it is five times the size of the
# code and the test programs themselves are not built with -g.
#
# Idempotent: a .wasm is rebuilt only when it is missing or older than its .c
# or any header in the same directory; --force rebuilds everything.
set -euo pipefail

cd "$(dirname "$0")/.."

CC="${CC:-clang-19}"
CFLAGS=(--target=wasm32-wasi -O2 -Wall -Wextra -Wno-unused-parameter -Wl,--strip-debug)

source scripts/lib.sh
parse_force "$@"
require_cc

built=0
uptodate=0
while IFS= read -r -d '' src; do
    out="${src%.c}.wasm"
    if needs_build "$src" "$out" "$force"; then
        echo "build  $out"
        "$CC" "${CFLAGS[@]}" -o "$out" "$src"
        built=$((built + 1))
    else
        echo "ok     $out"
        uptodate=$((uptodate + 1))
    fi
done < <(find suites tests/failing-suites \( -name '*.dir' -o -path suites/components -o -path tests/failing-suites/components -o -path suites/net -o -path tests/failing-suites/net \) -prune -o -name '*.c' -type f -print0 2>/dev/null | sort -z)

# The modules not built from C: a deliberately invalid binary, a module
# whose compilation must be stopped by the compile limits, and the suite the
# official runner's report was written for (from WAT; its runner reads only
# .wasm files).
python3 scripts/invalid-wasm.py
python3 scripts/compile-locals-bomb.py
command -v wat2wasm >/dev/null || { echo "error: wat2wasm not found; apt-get install wabt" >&2; exit 1; }
for wat in tests/official-report/src/*.wat; do
    out="tests/official-report/suite/$(basename "${wat%.wat}").wasm"
    echo "build  $out"
    wat2wasm "$wat" -o "$out"
done

echo "built $built, up to date $uptodate"
