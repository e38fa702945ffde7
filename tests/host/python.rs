//! Official Python adapters, loaded unmodified through wasi-conform's Python
//! bridge (`src/run/process/adapter_bridge.py`).

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use crate::common::{self, TestResult};
use wasi_conform::run::process::adapter::{
    Adapter, AdapterError, ArgvRequest, DirRequest, ResolvedRuntime,
};

/// The process's `PATH` and `PYTHON`, plus the given variables.
pub fn vars_with(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    let mut vars: Vec<(OsString, OsString)> = ["PATH", "PYTHON"]
        .into_iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (k.into(), v)))
        .collect();
    for (k, v) in pairs {
        vars.push(((*k).into(), (*v).into()));
    }
    vars
}

/// Resolves the Python adapter at `path` with these variables.
pub fn resolve_python_adapter(
    path: &Path,
    vars: Vec<(OsString, OsString)>,
) -> Result<ResolvedRuntime, AdapterError> {
    Adapter::load(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .resolve_with_env(vars)
}

const TINY_ADAPTER: &str = r#"
import json
import os
print("adapter output on stdout must not corrupt the answer")

def get_name():
    return "tiny"

def get_version():
    if os.getenv("TINY_MISSING"):
        raise FileNotFoundError(2, "No such file or directory", "tiny-runtime")
    return "9.9"

def get_wasi_versions():
    return ["wasm32-wasip1"]

def get_wasi_worlds():
    return ["wasi:cli/command"]

def get_timeout_seconds():
    return 12.5

def compute_argv(test_path, args_env_root, proposals, wasi_world, wasi_version):
    args, env, root = args_env_root
    if test_path == "boom.wasm":
        raise ValueError("no boom today")
    return ["tiny", test_path, json.dumps(env), type(env).__name__,
            type(root).__name__, str(root), ",".join(proposals), wasi_world, wasi_version] + args
"#;

pub fn python_adapters_are_loaded_unmodified() -> TestResult {
    if let Err(why) = common::python() {
        return common::ignored(why);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.py");
    std::fs::write(&path, TINY_ADAPTER).unwrap();
    let rt = resolve_python_adapter(&path, vars_with(&[])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rt.name, "tiny");
    assert_eq!(rt.version, "9.9");
    assert_eq!(rt.wasi_versions, ["wasm32-wasip1"]);
    assert_eq!(rt.worlds, ["wasi:cli/command"]);
    assert_eq!(rt.timeout, Some(Duration::from_secs_f64(12.5)));

    let mut with_root = ArgvRequest::new("a.wasm", "wasm32-wasip1");
    with_root.env = vec![("z".into(), "1".into()), ("a".into(), "é".into())];
    with_root.root = Some("fs/./dir".into());
    with_root.args = vec!["x y".into()];
    with_root.proposals = vec!["http".into()];
    let plain = ArgvRequest::new("b.wasm", "wasm32-wasip1");
    let argv = rt.compute_argv(&[with_root, plain]).unwrap();
    assert_eq!(
        argv[0],
        [
            "tiny",
            "a.wasm",
            r#"{"z": "1", "a": "\u00e9"}"#,
            "dict",
            "PosixPath",
            "fs/dir",
            "http",
            "wasi:cli/command",
            "wasm32-wasip1",
            "x y"
        ]
    );
    assert_eq!(argv[1][4..6], ["NoneType", "None"]);

    let e = rt
        .compute_argv(&[ArgvRequest::new("boom.wasm", "wasm32-wasip1")])
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, AdapterError::Python { .. }), "{text}");
    assert!(
        text.contains("compute_argv() for boom.wasm raised ValueError: no boom today"),
        "{text}"
    );
    assert!(text.contains("tiny.py"), "{text}");

    let mut with_dir = ArgvRequest::new("a.wasm", "wasm32-wasip1");
    with_dir.dirs.push(DirRequest {
        host: "/h".into(),
        guest: "/g".into(),
        readonly: false,
    });
    assert!(
        rt.unsupported(&with_dir)
            .unwrap()
            .contains("does not map extra preopened directories")
    );
    Ok(common::Completion::Completed)
}

pub fn python_adapter_errors_name_the_file_and_exception() -> TestResult {
    if let Err(why) = common::python() {
        return common::ignored(why);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.py");
    std::fs::write(&path, TINY_ADAPTER).unwrap();
    let text = resolve_python_adapter(&path, vars_with(&[("TINY_MISSING", "1")]))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("tiny.py: get_version() raised FileNotFoundError"),
        "{text}"
    );
    assert!(
        text.contains("the adapter could not run its runtime"),
        "{text}"
    );

    let broken = dir.path().join("broken.py");
    std::fs::write(&broken, "def get_name(:\n").unwrap();
    let text = resolve_python_adapter(&broken, vars_with(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("broken.py: import raised SyntaxError"),
        "{text}"
    );
    Ok(common::Completion::Completed)
}
