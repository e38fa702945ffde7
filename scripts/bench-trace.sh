#!/usr/bin/env bash
# What collecting host-call traces costs: the official wasip1 suites run warm
# (compiled-module cache filled first) with tracing on (the default) and off
# (WASI_CONFORM_TRACE=0), alternating, RUNS times each; prints each run's wall
# time and the medians. See BENCHMARKS.md, "Tracing".
#
# Usage: WASI_TESTSUITE=../wasi-testsuite RUNS=9 scripts/bench-trace.sh [BINARY]
# BINARY defaults to target/release/wasi-conform (CARGO_TARGET_DIR honoured).
set -euo pipefail

cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
bin="${1:-$target/release/wasi-conform}"
suite_root="${WASI_TESTSUITE:-../wasi-testsuite}/tests"
runs="${RUNS:-9}"
suites=("$suite_root"/{c,rust,assemblyscript}/testsuite/wasm32-wasip1)
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT

run() {
    # $1: WASI_CONFORM_TRACE value; prints the wall time in ms.
    local start end
    start=$(date +%s%N)
    env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE WASI_CONFORM_TRACE="$1" \
        "$bin" run "${suites[@]}" -q --cache-dir "$cache" >/dev/null
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

median() {
    sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

run 1 >/dev/null # fill the cache
on=()
off=()
for i in $(seq "$runs"); do
    on+=("$(run 1)")
    off+=("$(run 0)")
    echo "run $i: traced ${on[-1]} ms, untraced ${off[-1]} ms"
done
m_on=$(printf '%s\n' "${on[@]}" | median)
m_off=$(printf '%s\n' "${off[@]}" | median)
echo "median: traced $m_on ms, untraced $m_off ms"
awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "overhead: %+.1f%%\n", (a - b) * 100 / b}'
