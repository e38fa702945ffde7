# wasi-conform's bridge to an official wasi-testsuite adapter module.
#
# Run as `python3 -c THIS_SCRIPT MODE ADAPTER_PATH`. It imports the adapter the
# way the official runner's runtime_adapter.py does (importlib,
# spec_from_file_location; the legacy-adapter check is skipped) and answers
# with one JSON object on stdout:
#
#   meta: {"name", "version", "wasi_versions", "worlds", "timeout_seconds"}
#         (timeout_seconds is null when the adapter has no get_timeout_seconds)
#   argv: reads a JSON list of requests on stdin, each {"test_path", "args",
#         "env" (a list of [key, value] pairs), "root" (a path or null),
#         "proposals", "world", "wasi_version"}, and answers {"argv": [...]},
#         one list of strings per request, computed in this one process.
#
# If the adapter raises, the answer is {"error": {"stage", "type", "message",
# "detail", "traceback"}}. Whatever the adapter prints goes to stderr, so it
# cannot corrupt the answer.
import importlib.util
import json
import subprocess
import sys
import traceback
from pathlib import Path


def _strings(value, what):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} returned {value!r}, not a list of strings")
    return value


def _string(value, what):
    if not isinstance(value, str):
        raise TypeError(f"{what} returned {value!r}, not a string")
    return value


def _load(adapter_path):
    path = Path(adapter_path)
    spec = importlib.util.spec_from_file_location(path.name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {adapter_path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _meta(module, state):
    state["stage"] = "get_name()"
    name = _string(module.get_name(), "get_name()")
    state["stage"] = "get_version()"
    version = _string(module.get_version(), "get_version()")
    state["stage"] = "get_wasi_versions()"
    versions = _strings(list(module.get_wasi_versions()), "get_wasi_versions()")
    state["stage"] = "get_wasi_worlds()"
    worlds = _strings(list(module.get_wasi_worlds()), "get_wasi_worlds()")
    state["stage"] = "get_timeout_seconds()"
    # As runtime_adapter.py: a missing get_timeout_seconds means the default.
    try:
        timeout = float(module.get_timeout_seconds())
    except AttributeError:
        timeout = None
    return {
        "name": name,
        "version": version,
        "wasi_versions": versions,
        "worlds": worlds,
        "timeout_seconds": timeout,
    }


def _argv(module, state, requests):
    answers = []
    for request in requests:
        state["stage"] = f"compute_argv() for {request['test_path']}"
        root = request["root"]
        args_env_root = [
            list(request["args"]),
            {key: value for key, value in request["env"]},
            None if root is None else Path(root),
        ]
        argv = module.compute_argv(
            request["test_path"],
            args_env_root,
            list(request["proposals"]),
            request["world"],
            request["wasi_version"],
        )
        answers.append(_strings(argv, "compute_argv()"))
    return {"argv": answers}


def main():
    mode, adapter_path = sys.argv[1], sys.argv[2]
    answer_to = sys.stdout
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = True
    state = {"stage": "reading the requests"}
    try:
        requests = json.loads(sys.stdin.buffer.read().decode("utf-8") or "[]")
        state["stage"] = "import"
        module = _load(adapter_path)
        if mode == "meta":
            answer = _meta(module, state)
        elif mode == "argv":
            answer = _argv(module, state, requests)
        else:
            raise ValueError(f"unknown mode {mode!r}")
    except BaseException as e:  # noqa: B036 -- SystemExit from an adapter too
        detail = ""
        if isinstance(e, subprocess.CalledProcessError):
            stderr = e.stderr if isinstance(e.stderr, str) else ""
            detail = f"exit status {e.returncode}"
            if stderr.strip():
                detail += f"; its stderr: {stderr.strip()[-1000:]}"
        lines = traceback.format_exception(type(e), e, e.__traceback__)
        answer = {
            "error": {
                "stage": state["stage"],
                "type": type(e).__name__,
                "message": str(e),
                "detail": detail,
                "traceback": "".join(lines)[-3000:],
            }
        }
    answer_to.buffer.write(json.dumps(answer).encode("ascii"))
    answer_to.flush()


main()
