# Floods stdout and stderr without end.
[ "$1" = --version ] && { echo "flood 1.0"; exit 0; }
yes "flood stderr flood stderr flood stderr" >&2 &
exec yes "flood stdout flood stdout flood stdout"
