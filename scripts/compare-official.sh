#!/usr/bin/env bash
# Runs suites with the official wasi-testsuite runner and with wasi-conform on
# the same runtime, and compares every test's outcome.
#
#   WASI_TESTSUITE=../wasi-testsuite scripts/compare-official.sh RUNTIME SUITE_DIR... [-- WASI_CONFORM_ARGS...]
#
# RUNTIME is a built-in adapter name (wasmtime, node, ...); the official runner
# uses $WASI_TESTSUITE/adapters/RUNTIME.py (OFFICIAL_ADAPTER overrides it).
# EXPECTATIONS=FILE is given to both runners. Needs python3 (3.11 works: a
# shim gives it Python 3.12's enum membership test) and a wasi-conform binary
# (WASI_CONFORM, default target/release/wasi-conform). Prints the tests whose
# outcomes differ; exits 1 if any do.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,12p' "$0"; exit 2; }
: "${WASI_TESTSUITE:?set WASI_TESTSUITE to a wasi-testsuite checkout}"
runtime="$1"; shift
suites=()
while [[ $# -gt 0 && "$1" != "--" ]]; do suites+=("$(realpath "$1")"); shift; done
[[ "${1:-}" == "--" ]] && shift
conform_args=("$@")
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${WASI_CONFORM:-$root/target/release/wasi-conform}"
adapter="${OFFICIAL_ADAPTER:-$WASI_TESTSUITE/adapters/$runtime.py}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

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

official_expect=()
conform_expect=()
if [[ -n "${EXPECTATIONS:-}" ]]; then
    official_expect=(-e "$(realpath "$EXPECTATIONS")")
    conform_expect=(--expectations "$(realpath "$EXPECTATIONS")")
fi

start=$(date +%s%N)
(cd "$WASI_TESTSUITE" && python3 "$work/py312.py" test-runner/wasi_test_runner.py \
    -t "${suites[@]}" -r "$adapter" "${official_expect[@]}" --disable-colors \
    --json-output-location "$work/official.json" > "$work/official.log" 2>&1) || true
mid=$(date +%s%N)
"$bin" run "${suites[@]}" --runtime "$runtime" "${conform_expect[@]}" -q \
    --json "$work/conform.json" "${conform_args[@]}" > "$work/conform.log" 2>&1 || true
end=$(date +%s%N)

python3 - "$work/official.json" "$work/conform.json" <<'PY'
import json, sys
def outcomes(path):
    report = json.load(open(path))
    out = {}
    for r in report["results"]:
        for t in r["tests"]:
            out[(r["name"], t["name"])] = (t["outcome"], (t["failures"] or [""])[0])
    return out
official, conform = outcomes(sys.argv[1]), outcomes(sys.argv[2])
differ = 0
for key in sorted(set(official) | set(conform)):
    o, c = official.get(key, ("absent", "")), conform.get(key, ("absent", ""))
    if o[0] != c[0]:
        differ += 1
        print(f"DIFFERS {key[0]} :: {key[1]}: official {o[0]}, wasi-conform {c[0]}")
        for who, (outcome, why) in (("official", o), ("wasi-conform", c)):
            if why:
                print(f"    {who}: {why.splitlines()[0][:200] if why.strip() else ''}")
same = len(set(official) & set(conform)) - differ
print(f"{same} tests with the same outcome, {differ} differing "
      f"(official: {len(official)} tests, wasi-conform: {len(conform)})")
sys.exit(1 if differ else 0)
PY
status=$?
echo "official runner: $(( (mid - start) / 1000000 )) ms; wasi-conform: $(( (end - mid) / 1000000 )) ms"
exit $status
