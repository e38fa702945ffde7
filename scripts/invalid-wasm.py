#!/usr/bin/env python3
"""Writes tests/failing-suites/spec-errors/invalid-wasm.wasm: a module that is not
valid WebAssembly (a correct header, then a type section that claims 127 bytes but
holds one), so the harness must fail that test with a message naming the file."""
from pathlib import Path

HEADER = b"\0asm\x01\0\0\0"
TRUNCATED_TYPE_SECTION = bytes([0x01, 0x7F, 0x01])

out = Path(__file__).resolve().parent.parent / "tests/failing-suites/spec-errors/invalid-wasm.wasm"
out.write_bytes(HEADER + TRUNCATED_TYPE_SECTION)
print(f"wrote {out}")
