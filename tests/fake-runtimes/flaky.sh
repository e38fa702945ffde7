# A runtime that fails a module named once.wasm the first time it runs it
# (exit 3, "first attempt fails" on stderr) and runs it correctly after that:
# for --retries (a test that fails, then passes, is flaky). It remembers in
# the directory FLAKY_STATE, which the test makes; everything else runs as
# conform.sh runs it (wasi-conform's ad-hoc mode).
case "$*" in
    *once.wasm*)
        if [ ! -e "$FLAKY_STATE/failed-once" ]; then
            : > "$FLAKY_STATE/failed-once"
            echo "first attempt fails" >&2
            exit 3
        fi
        ;;
esac
exec sh "$(dirname "$0")/conform.sh" "$@"
