#!/usr/bin/env python3
"""Run every test of the given suites with one `wasmtime run` process per test, the
way the official wasi-testsuite runner drives a runtime: the baseline of
scripts/bench.sh for suites the official runner cannot read (wasi-conform's own
extensions). Legacy specs only (args, env, root, dirs, stdin, exit_code, exact
stdout/stderr); other tests are run with no arguments and only timed.

usage: wasmtime-per-test.py [--wasmtime CMD] SUITE_DIR...
Prints "N run, M matched their spec" on stderr; exit status 0.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def tests(suite_dirs):
    for top in suite_dirs:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not d.endswith(".dir"))
            for f in sorted(filenames):
                if f.endswith(".wasm") or f.endswith(".wat"):
                    yield Path(dirpath) / f


def run_one(wasmtime, module, tmp):
    spec_path = module.with_suffix(".json")
    spec = {}
    if spec_path.exists():
        try:
            spec = json.loads(spec_path.read_text())
        except ValueError:
            spec = {}
    legacy = isinstance(spec, dict) and "operations" not in spec
    argv = list(wasmtime)
    stdin = b""
    if legacy:
        for k, v in (spec.get("env") or {}).items():
            argv += ["--env", f"{k}={v}"]
        dirs = []
        if isinstance(spec.get("root"), str):
            dirs.append((spec["root"], "/"))
        for d in spec.get("dirs") or []:
            if isinstance(d, str):
                dirs.append((d, d))
            elif isinstance(d, dict):
                dirs.append((d.get("host", ""), d.get("guest", "/")))
        for i, (host, guest) in enumerate(dirs):
            copy = Path(tmp) / f"{i}"
            shutil.copytree(module.parent / host, copy, symlinks=True,
                            ignore=shutil.ignore_patterns("*.cleanup"))
            argv += ["--dir", f"{copy}::{guest}"]
        if isinstance(spec.get("stdin"), str):
            stdin = spec["stdin"].encode()
    argv.append(str(module))
    if legacy:
        argv += [a for a in spec.get("args") or [] if isinstance(a, str)]
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    ok = p.returncode == (spec.get("exit_code", 0) if legacy else 0)
    for stream, got in (("stdout", p.stdout), ("stderr", p.stderr)):
        want = spec.get(stream) if legacy else None
        if isinstance(want, str) and got != want.encode():
            ok = False
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wasmtime", default=os.environ.get("WASMTIME", "wasmtime"))
    ap.add_argument("suites", nargs="+")
    args = ap.parse_args()
    # `wasmtime run [OPTIONS] MODULE`: options given with the command go after `run`.
    words = shlex.split(args.wasmtime)
    wasmtime = words[:1] + ["run"] + words[1:]
    run = matched = 0
    for module in tests(args.suites):
        with tempfile.TemporaryDirectory(prefix="wasmtime-per-test-") as tmp:
            run += 1
            matched += run_one(wasmtime, module, tmp)
    print(f"{run} run, {matched} matched their spec", file=sys.stderr)


if __name__ == "__main__":
    main()
