#!/usr/bin/env bash
# Benchmark wasi-conform against one `wasmtime run` process per test.
#
# usage: scripts/bench.sh [SUITE_DIR...]        (default: suites)
#
# Runs the suites RUNS times (default 5) in alternating order with:
#   conform-warm   wasi-conform, compiled-module cache warm
#   conform-cold   wasi-conform, empty cache (every module compiled)
#   wasmtime-warm  one `wasmtime run` per test (scripts/wasmtime-per-test.py), wasmtime's cache warm
#   wasmtime-cold  the same with wasmtime's cache off
# and, when WASI_TESTSUITE names a checkout of WebAssembly/wasi-testsuite, its
# official Python runner driving the wasmtime CLI (official-warm, official-cold)
# over the same suites. Prints the median wall time, the median peak RSS, and
# each baseline's time as a multiple of wasi-conform's; then the compile floor
# (scripts/compile-floor.py: the CPU time of compiling every module with the
# compiler in use, divided by the cores, measured in every round) with the cold
# run as a multiple of it; then where a warm test's time goes (`--timings` of a
# warm run at -j 1 and at the default jobs).
#
# scripts/bench-official.sh runs this for the official suites' wasip1, wasip3
# and both together.
#
# Needs: a release build (made here), /usr/bin/time, python3, and the wasmtime
# CLI (WASMTIME, default `wasmtime`; e.g. `cargo install wasmtime-cli@48.0.8`).
# Extra flags for wasi-conform: CONFORM_ARGS (e.g. "--compiler cranelift").
# Timing is never asserted by tests: this script is how targets are checked.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-5}"
WASMTIME="${WASMTIME:-wasmtime}"
CONFORM_ARGS="${CONFORM_ARGS:-}"
suites=("$@")
[[ ${#suites[@]} -gt 0 ]] || suites=(suites)

for tool in /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 2; }
done
have_wasmtime=1
command -v "${WASMTIME%% *}" >/dev/null || {
    echo "warning: $WASMTIME not found: the wasmtime baselines are left out" >&2
    have_wasmtime=0
}

cargo build --release --quiet
bin="$PWD/target/release/wasi-conform"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# wasmtime's own compile cache, in a directory of its own.
wasmtime_cache="$work/wasmtime-cache"
cat > "$work/wasmtime-cache.toml" <<TOML
[cache]
directory = "$wasmtime_cache"
TOML

# Absolute suite paths, for the official runner (which runs from its checkout).
abs_suites=()
for s in "${suites[@]}"; do abs_suites+=("$(cd "$s" && pwd)"); done


conform_warm() { "$bin" run "${suites[@]}" -q --cache-dir "$work/conform-cache" $CONFORM_ARGS; }
conform_cold() { local d; d="$(mktemp -d -p "$work")"; "$bin" run "${suites[@]}" -q --cache-dir "$d" $CONFORM_ARGS; rm -rf "$d"; }
wasmtime_warm() { python3 scripts/wasmtime-per-test.py --wasmtime "$WASMTIME -C cache-config=$work/wasmtime-cache.toml" "${suites[@]}"; }
wasmtime_cold() { python3 scripts/wasmtime-per-test.py --wasmtime "$WASMTIME -C cache=n" "${suites[@]}"; }
official() {
    (cd "$WASI_TESTSUITE" && WASMTIME="$WASMTIME $1" python3 "$work/py312.py" test-runner/wasi_test_runner.py \
        -t "${abs_suites[@]}" -r adapters/wasmtime.py --disable-colors)
}

# The official runner tests `str in SomeStrEnum`, which Python 3.12 allows; on
# an older Python this shim gives enums that membership test, then runs it.
cat > "$work/py312.py" <<'PY'
import enum, runpy, sys
_contains = enum.EnumType.__contains__
def contains(cls, value):
    if isinstance(value, str) and not isinstance(value, cls):
        return any(m.value == value for m in cls)
    return _contains(cls, value)
enum.EnumType.__contains__ = contains
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, __import__("os").path.dirname(script))
runpy.run_path(script, run_name="__main__")
PY
official_warm() { official "-C cache-config=$work/wasmtime-cache.toml"; }
official_cold() { official "-C cache=n"; }

# The variants run in a fresh bash (so /usr/bin/time can measure them): their
# functions and the variables they use are written to a file it sources.
funcs="$work/variants.sh"
{
    declare -p bin work suites abs_suites WASMTIME CONFORM_ARGS
    declare -p WASI_TESTSUITE 2>/dev/null || true
    declare -f conform_warm conform_cold wasmtime_warm wasmtime_cold official official_warm official_cold
} > "$funcs"

# measure NAME: runs variant NAME once, appends "milliseconds peak_rss_kib" to $work/NAME.
measure() {
    local name="$1" start end
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/rss" bash -c "source '$funcs'; $name" >/dev/null 2>"$work/$name.err" || true
    end=$(date +%s%N)
    echo "$(( (end - start) / 1000000 )) $(tail -n 1 "$work/rss")" >> "$work/$name"
}

variants=(conform_warm conform_cold)
if [[ $have_wasmtime == 1 ]]; then
    variants+=(wasmtime_warm wasmtime_cold)
    [[ -n "${WASI_TESTSUITE:-}" ]] && variants+=(official_warm official_cold)
fi

echo "warming caches..." >&2
conform_warm >/dev/null 2>&1 || true
[[ $have_wasmtime == 1 ]] && { wasmtime_warm >/dev/null 2>&1 || true; }

compiler=winch
[[ "$CONFORM_ARGS" =~ --compiler[=\ ]+([a-z-]+) ]] && compiler="${BASH_REMATCH[1]}"
# The compile floor, in ms (one sample a round, beside the timed variants).
floor() { python3 scripts/compile-floor.py "$bin" --compiler "$compiler" "${suites[@]}" | cut -d' ' -f1 >> "$work/floor"; }

for ((i = 1; i <= RUNS; i++)); do
    echo "run $i/$RUNS" >&2
    floor
    # Alternate the order so no variant always runs right after another.
    if (( i % 2 )); then order=("${variants[@]}"); else order=(); for ((j=${#variants[@]}-1; j>=0; j--)); do order+=("${variants[j]}"); done; fi
    for v in "${order[@]}"; do measure "$v"; done
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
base_ms=""
printf "\n%-15s %12s %14s %12s\n" variant "median ms" "peak RSS MiB" "vs conform"
for v in "${variants[@]}"; do
    ms=$(cut -d' ' -f1 "$work/$v" | median)
    rss=$(cut -d' ' -f2 "$work/$v" | median)
    case "$v" in
        conform_warm) base_warm=$ms ;;
        conform_cold) base_cold=$ms ;;
    esac
    case "$v" in
        *_warm) ref=${base_warm} ;;
        *) ref=${base_cold} ;;
    esac
    ratio=$(awk -v a="$ms" -v b="$ref" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
    printf "%-15s %12s %14s %12s\n" "${v/_/-}" "$ms" "$(awk -v k="$rss" 'BEGIN {printf "%.0f", k/1024}')" "$ratio"
done
floor_ms=$(median < "$work/floor")
printf "%-15s %12s %14s %12s\n" "compile-floor" "$floor_ms" "-" \
    "$(awk -v a="$base_cold" -v b="$floor_ms" 'BEGIN { if (b > 0) printf "cold %.2fx", a / b; else print "-" }')"
echo
for jobs in 1 ""; do
    echo "warm run ${jobs:+at -j $jobs }--timings:"
    "$bin" run "${suites[@]}" -q --cache-dir "$work/conform-cache" $CONFORM_ARGS ${jobs:+-j $jobs} --timings 2>&1 |
        sed -n '/^timings/,$p' | sed 's/^/  /' || true  # (a failing test fails the run)
done
echo
echo "suites: ${suites[*]}; runs: $RUNS; machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $("$bin" --version)"
for v in "${variants[@]}"; do
    if [[ -s "$work/$v.err" ]]; then echo "$v: $(tail -n 1 "$work/$v.err")"; fi
done
