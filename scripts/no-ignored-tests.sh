#!/usr/bin/env bash
# Fails when a cargo test log (the output of `cargo test`, a file or stdin)
# shows a test that did not run: an `ignored` outcome, or a `test result:` line
# with a non-zero ignored count. CI provides every prerequisite (python3, the
# official suite in WASI_TESTSUITE, root for the network namespace) and runs
# with `--include-ignored`, so there nothing may be left out.
#
# usage: scripts/no-ignored-tests.sh [LOG]
set -euo pipefail

# (Colour codes, if any, are dropped first.)
log=$(sed 's/\x1b\[[0-9;]*m//g' "${1:-/dev/stdin}")
results=$(grep -E '^test result: ' <<<"$log" || true)
if [[ -z "$results" ]]; then
    echo "error: no \`test result:\` line in the log: did the tests run?" >&2
    exit 2
fi
ignored_lines=$(grep -E '^test .* \.\.\. ignored' <<<"$log" || true)
counts=$(grep -Eo '[0-9]+ ignored' <<<"$results" | awk '{ n += $1 } END { print n + 0 }')
if [[ -n "$ignored_lines" || "$counts" -ne 0 ]]; then
    echo "error: $counts test(s) did not run here, where every prerequisite should be provided:" >&2
    echo "$ignored_lines" >&2
    exit 1
fi
echo "every test ran: $(wc -l <<<"$results") test binaries, none ignored"
