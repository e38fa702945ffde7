# Prints a line, then dies of SIGSEGV.
[ "$1" = --version ] && { echo "die-by-signal 1.0"; exit 0; }
echo "about to crash"
kill -SEGV $$
