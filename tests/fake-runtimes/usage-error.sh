# A runtime whose command line never fits its adapter: it answers --version,
# and for anything else prints a usage message and exits 1 (as a runtime
# rejecting an option it does not know might). No test may pass on it, not
# even one that expects exit code 1: its canary fails first.
if [ "$1" = "--version" ]; then
    echo "usage-error 1.0"
    exit 0
fi
echo "usage: usage-error [--map DIR] MODULE [ARGS]" >&2
echo "error: unknown option '$1'" >&2
exit 1
