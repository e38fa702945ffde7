#!/usr/bin/env bash
# Build the runtime canary's component, adapters/canary/canary-p2.wasm, from
# adapters/canary/canary.wat: wat2wasm (wabt) makes the wasip1 core module,
# scripts/componentize wraps it into a wasip2 `wasi:cli/command` component with
# the wasi_snapshot_preview1 command adapter of wasmtime 48.0.8. The core
# canary needs no build: wasi-conform translates the .wat itself. The .wasm is
# committed (and compiled into the binary), so this only runs after the .wat
# changes.
#
# Needs: wat2wasm (apt-get install wabt) and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
wat2wasm adapters/canary/canary.wat -o "$tmp/canary.wasm"
cargo build --quiet --release --locked --manifest-path scripts/componentize/Cargo.toml
scripts/componentize/target/release/componentize "$tmp/canary.wasm" adapters/canary/canary-p2.wasm
echo "built adapters/canary/canary-p2.wasm ($(wc -c < adapters/canary/canary-p2.wasm) bytes)"
