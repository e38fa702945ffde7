//! The built-in adapter files against the official Python adapters of
//! wasi-testsuite: the same name, version, declarations and argv for every
//! combination of what a test asks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{self, TestResult};
use crate::python::{resolve_python_adapter, vars_with};
use wasi_conform::run::process::adapter::{
    Adapter, ArgvRequest, WORLD_COMMAND, WORLD_HTTP_SERVICE,
};

/// Every combination of the parts of a request that the official adapters read.
fn request_table() -> Vec<ArgvRequest> {
    let modules = ["tests/rust/cli-env.wasm", "/abs/dir with space/x.wasm"];
    let args: [&[&str]; 3] = [&[], &["a", "b c", "\"q\"", "é", "--flag"], &["42"]];
    let envs: [&[(&str, &str)]; 4] = [
        &[],
        &[("foo", "bar"), ("baz", "42")],
        &[("a", "1"), ("b", "x=y"), ("a", "3")],
        &[("HTTP_SERVER_MAIN", "127.0.0.1:8080"), ("uni", "ü\n\"")],
    ];
    let roots = [None, Some("tests/fs-tests.dir"), Some("/tmp/x/./y/")];
    let proposals: [&[&str]; 4] = [&[], &["http"], &["sockets"], &["sockets", "http"]];
    let mut table = Vec::new();
    for module in modules {
        for a in args {
            for env in envs {
                for root in roots {
                    for p in proposals {
                        for world in [WORLD_COMMAND, WORLD_HTTP_SERVICE] {
                            for version in ["wasm32-wasip1", "wasm32-wasip3"] {
                                table.push(ArgvRequest {
                                    module: module.into(),
                                    args: a.iter().map(|s| s.to_string()).collect(),
                                    env: env
                                        .iter()
                                        .map(|(k, v)| (k.to_string(), v.to_string()))
                                        .collect(),
                                    root: root.map(PathBuf::from),
                                    proposals: p.iter().map(|s| s.to_string()).collect(),
                                    world: world.to_string(),
                                    wasi_version: version.to_string(),
                                    ..ArgvRequest::default()
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    table
}

/// Writes an executable script.
fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn builtin_adapters_compute_the_official_argv() -> TestResult {
    let official = match common::wasi_testsuite() {
        Ok(root) => root.join("adapters"),
        Err(why) => return common::ignored(why),
    };
    if let Err(why) = common::python() {
        return common::ignored(why);
    }
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-runtime");
    // `version` for wazero; `--version` for the others.
    write_script(
        &fake,
        "#!/bin/sh\nfor a in \"$@\"; do last=$a; done\nif [ \"$last\" = version ]; then echo v1.2.3; else echo \"fake 1.2.3 (x)\"; fi\n",
    );
    let fake = fake.to_str().unwrap();
    let with_options = format!("{fake} -Sfoo --opt");
    let cases: [(&str, &str, &str, &str); 6] = [
        ("wasmtime", "wasmtime.py", "WASMTIME", fake),
        ("wasmtime", "wasmtime.py", "WASMTIME", &with_options),
        ("wazero", "wazero.py", "WAZERO", fake),
        ("wasmedge", "wasmedge.py", "WASMEDGE", fake),
        ("wamr", "wasm-micro-runtime.py", "IWASM", &with_options),
        ("jco", "jco.py", "JCO", &with_options),
    ];
    let table = request_table();
    let mut compared = BTreeMap::new();
    for (builtin, module, var, value) in cases {
        let vars = vars_with(&[(var, value)]);
        let ours = Adapter::builtin(builtin)
            .unwrap()
            .resolve_with_env(vars.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        let theirs =
            resolve_python_adapter(&official.join(module), vars).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ours.name, theirs.name, "{module}");
        assert_eq!(ours.version, theirs.version, "{module}");
        assert_eq!(ours.wasi_versions, theirs.wasi_versions, "{module}");
        assert_eq!(ours.worlds, theirs.worlds, "{module}");
        assert_eq!(ours.timeout, theirs.timeout, "{module}");
        // The requests the runtime declares it can run, as the official runner filters.
        let runnable: Vec<ArgvRequest> = table
            .iter()
            .filter(|r| ours.unsupported(r).is_none())
            .cloned()
            .collect();
        assert!(!runnable.is_empty());
        let expected = theirs
            .compute_argv(&runnable)
            .unwrap_or_else(|e| panic!("{e}"));
        let actual = ours.compute_argv(&runnable).unwrap();
        for ((req, want), got) in runnable.iter().zip(&expected).zip(&actual) {
            assert_eq!(got, want, "{builtin} with {var}={value:?} for {req:?}");
        }
        *compared.entry(builtin).or_insert(0) += runnable.len();
    }
    assert_eq!(compared.len(), 5, "{compared:?}");
    eprintln!("compared with the official adapters: {compared:?}");
    Ok(common::Completion::Completed)
}
