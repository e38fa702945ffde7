# A runtime that runs modules correctly (as conform.sh) but prints a line of
# its own on stdout after a module named hello.wasm (so it disagrees with the
# others on that test), and its whole command line on stderr before one named
# fails.wasm (which names the sandbox's host paths: reports must not show them).
case "$*" in
    *fails.wasm*) echo "decorated: $*" >&2 ;;
esac
sh "$(dirname "$0")/conform.sh" "$@"
status=$?
case "$*" in
    *hello.wasm*) echo "decorated" ;;
esac
exit "$status"
