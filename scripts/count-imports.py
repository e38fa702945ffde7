#!/usr/bin/env python3
"""Counts, independently of wasi-conform, how many core modules import each
wasi_snapshot_preview1 function: a small reader of the wasm binary format's
import section (no dependency), to check `wasi-conform coverage`'s static
counts against.

Usage: scripts/count-imports.py DIR... [--json]
Prints `function count` lines (every function imported by at least one
module), sorted by name; with --json, a JSON object instead.
"""
import json
import os
import sys


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def name(data, pos):
    n, pos = leb(data, pos)
    return data[pos:pos + n].decode("utf-8"), pos + n


def skip_limits(data, pos):
    flags = data[pos]
    pos += 1
    _, pos = leb(data, pos)
    if flags & 1:
        _, pos = leb(data, pos)
    return pos


def imports(path):
    """(module, name) of every function import of a core module."""
    data = open(path, "rb").read()
    if data[:4] != b"\0asm" or data[4:8] != b"\x01\0\0\0":
        return []  # not a core module (a component, or text)
    pos, out = 8, []
    while pos < len(data):
        section = data[pos]
        size, pos = leb(data, pos + 1)
        end = pos + size
        if section == 2:
            count, pos = leb(data, pos)
            for _ in range(count):
                module, pos = name(data, pos)
                field, pos = name(data, pos)
                kind = data[pos]
                pos += 1
                if kind == 0:  # function: type index
                    _, pos = leb(data, pos)
                    out.append((module, field))
                elif kind == 1:  # table: reftype, limits
                    pos = skip_limits(data, pos + 1)
                elif kind == 2:  # memory: limits
                    pos = skip_limits(data, pos)
                elif kind == 3:  # global: valtype, mutability
                    pos += 2
                else:  # tag
                    pos += 1
                    _, pos = leb(data, pos)
            return out
        pos = end
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    counts = {}
    modules = 0
    for top in args:
        for root, _, files in os.walk(top):
            for f in sorted(files):
                if not f.endswith(".wasm"):
                    continue
                modules += 1
                seen = {n for m, n in imports(os.path.join(root, f)) if m == "wasi_snapshot_preview1"}
                for n in seen:
                    counts[n] = counts.get(n, 0) + 1
    if "--json" in sys.argv:
        print(json.dumps({"modules": modules, "imports": counts}, sort_keys=True, indent=1))
    else:
        print(f"modules {modules}")
        for n in sorted(counts):
            print(f"{n} {counts[n]}")


if __name__ == "__main__":
    main()
