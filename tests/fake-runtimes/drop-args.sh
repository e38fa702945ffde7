# A runtime that runs modules but loses their arguments (as a runner script
# with a bug might): everything after `--` is dropped, then conform.sh runs
# the rest. Its canary runs, with a warning that the argument did not reach
# the module.
n=0
for word in "$@"; do
    [ "$word" = "--" ] && break
    n=$((n + 1))
done
count=$#
while [ "$count" -gt 0 ]; do
    word=$1
    shift
    count=$((count - 1))
    if [ "$n" -gt 0 ]; then
        set -- "$@" "$word"
        n=$((n - 1))
    fi
done
exec sh "$(dirname "$0")/conform.sh" "$@"
