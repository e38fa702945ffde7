# Runs wasi-conform's ad-hoc mode as a runtime: `sh conform.sh BINARY ARGS...`.
# SIGTERM and SIGINT stop the guest and exit 0, as a runtime stopping a service
# does; stdin is passed through to the guest.
trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
# (An asynchronous command's stdin would be /dev/null: keep ours on fd 3.)
exec 3<&0
"$@" <&3 3<&- &
child=$!
wait "$child"
status=$?
# `wait` returns early (status > 128) when a trapped signal arrives.
wait "$child" 2>/dev/null
exit "$status"
