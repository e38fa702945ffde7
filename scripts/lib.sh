# Shared by the build scripts (sourced, not run).

# needs_build SRC OUT FORCE: whether OUT must be rebuilt from the C file SRC:
# FORCE is 1, OUT is missing, or OUT is older than SRC or than a header in
# SRC's directory.
needs_build() {
    local src="$1" out="$2" force="$3" h
    [[ $force -eq 1 || ! -f "$out" || "$src" -nt "$out" ]] && return 0
    for h in "$(dirname "$src")"/*.h; do
        [[ -f "$h" && "$h" -nt "$out" ]] && return 0
    done
    return 1
}
