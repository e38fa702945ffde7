# Floods stdout and stderr without end.
# The canary (a module wasi-conform runs first, to prove a runtime runs
# modules at all) runs as it should; only the tests meet the misbehaviour.
case "$1" in
    */wasi-conform-canary-*) exec "$WASI_CONFORM_FAKE" run "$1" -- "$2" ;;
esac
[ "$1" = --version ] && { echo "flood 1.0"; exit 0; }
yes "flood stderr flood stderr flood stderr" >&2 &
exec yes "flood stdout flood stdout flood stdout"
