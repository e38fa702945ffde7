#!/usr/bin/env bash
# scripts/bench.sh over the official WebAssembly/wasi-testsuite: its wasip1
# suites, its wasip3 suite, and the full suite (both), each against the official
# Python runner driving the wasmtime CLI.
#
# usage: WASI_TESTSUITE=/path/to/wasi-testsuite scripts/bench-official.sh
#   (a checkout of branch prod/testsuite-base, which has the built tests;
#    RUNS, WASMTIME and CONFORM_ARGS as for scripts/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WASI_TESTSUITE:?set WASI_TESTSUITE to a checkout of WebAssembly/wasi-testsuite (prod/testsuite-base)}"
t="$WASI_TESTSUITE/tests"
p1=("$t/c/testsuite/wasm32-wasip1" "$t/rust/testsuite/wasm32-wasip1" "$t/assemblyscript/testsuite/wasm32-wasip1")
p3=("$t/rust/testsuite/wasm32-wasip3")
for d in "${p1[@]}" "${p3[@]}"; do
    [[ -d "$d" ]] || { echo "error: $d is missing: is $WASI_TESTSUITE a prod/testsuite-base checkout?" >&2; exit 2; }
done
echo "## wasip1"; scripts/bench.sh "${p1[@]}"
echo; echo "## wasip3"; scripts/bench.sh "${p3[@]}"
echo; echo "## full suite (wasip1 + wasip3)"; scripts/bench.sh "${p1[@]}" "${p3[@]}"
# The official runner leaves this symlink behind (its own cleanup misses it),
# and later runs of it then fail filesystem-read-directory.
leftover="$t/rust/testsuite/wasm32-wasip3/fs-tests.dir/parent.cleanup"
if [[ -L "$leftover" ]]; then
    rm "$leftover"
    echo "note: removed $leftover, which the official runner left behind" >&2
fi
