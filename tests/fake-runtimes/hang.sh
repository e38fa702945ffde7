# Answers --version, then never ends and prints nothing.
[ "$1" = --version ] && { echo "hang 1.0"; exit 0; }
exec sleep 100000
