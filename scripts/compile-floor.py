#!/usr/bin/env python3
"""The compile floor of a set of suites.

The CPU time of compiling every test module (each `*.wasm` directly in each
SUITE_DIR) with one compiler, as the harness's compile worker does it, divided
by the cores: a cold run cannot finish sooner. scripts/bench.sh compares its
cold runs with it.

usage: scripts/compile-floor.py BINARY [--compiler winch|cranelift|cranelift-fast] SUITE_DIR...

BINARY is a wasi-conform binary; `BINARY __compile-worker` compiles one module
in the same engine configuration a run uses. The worker's own start-up (the
process and its engine, measured compiling an empty module) is subtracted from
each compile. CPU is read from getrusage, so it counts every compiler thread.
Prints: "<floor ms> <total CPU ms> <modules>".
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile

COMPONENT_HEADER = b"\0asm\x0d\0\x01\0"


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def compile_cpu(binary, compiler, kind, path, out):
    """CPU seconds of one compile by the worker."""
    before = children_cpu()
    done = subprocess.run(
        [binary, "__compile-worker", kind, "nofuel", "-", compiler, path, out],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if done.returncode != 0:
        sys.exit(f"error: compiling {path} failed: {done.stderr.decode(errors='replace').strip()}")
    return children_cpu() - before


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("binary")
    p.add_argument("--compiler", default="winch")
    p.add_argument("suites", nargs="+")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "artifact")
        empty = os.path.join(work, "empty.wasm")
        with open(empty, "wb") as f:
            f.write(b"\0asm\1\0\0\0")
        startup = sorted(compile_cpu(a.binary, a.compiler, "module", empty, out) for _ in range(7))[3]
        total, count = 0.0, 0
        for suite in a.suites:
            for name in sorted(os.listdir(suite)):
                path = os.path.join(suite, name)
                if not name.endswith(".wasm") or not os.path.isfile(path):
                    continue
                with open(path, "rb") as f:
                    kind = "component" if f.read(8) == COMPONENT_HEADER else "module"
                total += max(0.0, compile_cpu(a.binary, a.compiler, kind, path, out) - startup)
                count += 1
    print(f"{total * 1000 / os.cpu_count():.0f} {total * 1000:.0f} {count}")


if __name__ == "__main__":
    main()
