#!/usr/bin/env python3
"""Writes tests/failing-suites/hostile/compile-locals-bomb.wasm: a 16 KB module
whose 2000 functions each declare 50 000 i64 locals (the most a function may
have). Declaring them takes a few bytes; compiling them takes gigabytes and
seconds (every local gets a stack slot and is zeroed), so the harness must stop
the compilation at its compile limits and fail the test naming the limit.

Also, with --nest N OUT: a module of 4 functions of N nested blocks each (about
8 bytes per level), for trying the compile limits by hand (30 MB at N=2500000);
not committed."""
import sys
from pathlib import Path


def leb(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def section(ident, body):
    return bytes([ident]) + leb(len(body)) + body


def vec(items):
    return leb(len(items)) + b"".join(items)


def module(bodies):
    n = len(bodies)
    types = section(1, vec([b"\x60\x00\x00"]))  # () -> ()
    funcs = section(3, vec([b"\x00"] * n))
    exports = section(7, vec([leb(6) + b"_start" + b"\x00" + leb(0)]))
    code = section(10, vec([leb(len(b)) + b for b in bodies]))
    return b"\0asm\x01\0\0\0" + types + funcs + exports + code


def locals_bomb():
    body = b"\x01" + leb(50_000) + b"\x7e" + b"\x0b"  # 50 000 i64 locals; end
    return module([body] * 2000)


def nest_bomb(depth):
    body = b"\x00" + b"\x02\x40" * depth + b"\x0b" * depth + b"\x0b"
    return module([body] * 4)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--nest":
        Path(sys.argv[3]).write_bytes(nest_bomb(int(sys.argv[2])))
        sys.exit(0)
    out = Path(__file__).resolve().parent.parent / "tests/failing-suites/hostile/compile-locals-bomb.wasm"
    out.write_bytes(locals_bomb())
    print(f"wrote {out}")
