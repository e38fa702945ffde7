#!/usr/bin/env bash
# What collecting host-call traces costs: the official wasip1 suites run warm
# (compiled-module cache filled first) with tracing on (the default) and off
# (WASI_CONFORM_TRACE=0), alternating, RUNS times each; prints each run's wall
# time and the medians. See BENCHMARKS.md, "Tracing".
#
# Then the worst case, per call: modules that do nothing but make host calls
# (1 000 000 clock_time_get, 200 000 fd_write of 16 bytes to stdout, 50 000
# path_open + fd_close pairs in a preopened directory), traced and untraced.
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
    # $1: WASI_CONFORM_TRACE value, then the paths; prints the wall time in ms.
    local start end trace="$1"
    shift
    start=$(date +%s%N)
    env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE WASI_CONFORM_TRACE="$trace" \
        "$bin" run "$@" -q -j 1 --cache-dir "$cache" >/dev/null
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

median() {
    sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

compare() {
    # $1: label; then the paths. Alternates traced and untraced runs.
    local label="$1"
    shift
    run 1 "$@" >/dev/null # fill the cache
    local on=() off=()
    for i in $(seq "$runs"); do
        on+=("$(run 1 "$@")")
        off+=("$(run 0 "$@")")
        echo "$label run $i: traced ${on[-1]} ms, untraced ${off[-1]} ms"
    done
    m_on=$(printf '%s\n' "${on[@]}" | median)
    m_off=$(printf '%s\n' "${off[@]}" | median)
    echo "$label median: traced $m_on ms, untraced $m_off ms"
    awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "overhead: %+.1f%%\n", (a - b) * 100 / b}'
}

compare suites "${suites[@]}"

calls="$(mktemp -d)"
trap 'rm -rf "$cache" "$calls"' EXIT
mkdir -p "$calls/calls/data.dir"
echo x >"$calls/calls/data.dir/f"
loop() {
    # $1: name, $2: iterations, $3: the body (wat); writes the module and its spec.
    cat >"$calls/calls/$1.wat" <<WAT
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func \$clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func \$write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func \$open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func \$close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "0123456789abcde\\n")
  (data (i32.const 128) "f")
  (func (export "_start") (local \$i i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (loop \$again
      $3
      (local.set \$i (i32.add (local.get \$i) (i32.const 1)))
      (br_if \$again (i32.lt_u (local.get \$i) (i32.const $2))))))
WAT
    echo '{"dirs": [{"host": "data.dir", "guest": "/d"}], "timeout_ms": 60000, "limits": {"output_bytes": 16777216}}' >"$calls/calls/$1.json"
}
loop clock 1000000 '(drop (call $clock (i32.const 1) (i64.const 0) (i32.const 32)))'
loop write 200000 '(drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))'
loop open 50000 '(drop (call $open (i32.const 3) (i32.const 0) (i32.const 128) (i32.const 1) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 32))) (drop (call $close (i32.load (i32.const 32))))'
echo "per-call worst case: 1 300 000 calls"
compare calls "$calls/calls"
