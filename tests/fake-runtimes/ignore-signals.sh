# Prints a line, then ignores SIGTERM, SIGINT and SIGHUP and waits forever.
[ "$1" = --version ] && { echo "ignore-signals 1.0"; exit 0; }
trap '' TERM INT HUP
echo ready
while :; do sleep 1; done
