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

# parse_force "$@": sets force=1 for `--force`, 0 for no argument; anything
# else is a usage error.
parse_force() {
    force=0
    if [[ "${1:-}" == "--force" ]]; then
        force=1
    elif [[ $# -gt 0 ]]; then
        echo "usage: $0 [--force]" >&2
        exit 2
    fi
}

# require_cc: stops with the install command when $CC is missing.
require_cc() {
    if ! command -v "$CC" >/dev/null 2>&1; then
        echo "error: $CC not found; install it with:" >&2
        echo "  apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32" >&2
        exit 1
    fi
}
