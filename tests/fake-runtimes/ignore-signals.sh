# Prints a line, then ignores SIGTERM, SIGINT and SIGHUP and waits forever.
# The canary (a module wasi-conform runs first, to prove a runtime runs
# modules at all) runs as it should; only the tests meet the misbehaviour.
case "$1" in
    */wasi-conform-canary-*) exec "$WASI_CONFORM_FAKE" run "$1" -- "$2" ;;
esac
[ "$1" = --version ] && { echo "ignore-signals 1.0"; exit 0; }
trap '' TERM INT HUP
echo ready
while :; do sleep 1; done
