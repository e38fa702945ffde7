//! The command line of each run, computed ahead of time.
//!
//! An official Python adapter costs a Python process per call, so the argv of
//! every test is computed in one call before the run starts. What is only known
//! when a run starts (its sandbox's directories, the hosted servers' addresses,
//! where a `.wat` test's binary is written) stands in that argv as a marker,
//! filled in at the start. The same path serves adapter files, whose argv costs
//! nothing to compute.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::adapter::{ArgvRequest, DirRequest, ResolvedRuntime};
use crate::sandbox::Preopen;
use crate::spec::{Proposal, Run, Spec, World};

/// What stands for the directory preopened as `/`.
const ROOT: &str = "/@wasi-conform-root@";
/// What stands for a `.wat` test's translated binary.
const MODULE: &str = "/@wasi-conform-module@.wasm";

fn dir_marker(i: usize) -> String {
    format!("/@wasi-conform-dir-{i}@")
}

fn server_marker(var: &str) -> String {
    format!("@wasi-conform-server-{var}@")
}

/// One run as an adapter sees it before the run exists.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The module as the runtime gets it (a marker for a `.wat` test).
    pub module: PathBuf,
    pub wasi_version: String,
}

/// The adapter's request for `run` of `spec`, with markers for what is known
/// only at the start.
pub fn request(shape: &Shape, spec: &Spec, run: &Run) -> ArgvRequest {
    let mut env = run.env.clone();
    env.extend(
        spec.servers
            .iter()
            .map(|s| (s.env_var(), server_marker(&s.env_var()))),
    );
    ArgvRequest {
        module: shape.module.clone(),
        args: run.args.clone(),
        env,
        root: run.root.as_ref().map(|_| PathBuf::from(ROOT)),
        dirs: spec
            .dirs
            .iter()
            .enumerate()
            .map(|(i, d)| DirRequest {
                host: PathBuf::from(dir_marker(i)),
                guest: d.guest.clone(),
                readonly: d.readonly,
            })
            .collect(),
        proposals: spec
            .proposals
            .iter()
            .map(|p| match p {
                Proposal::Http => "http".to_string(),
                Proposal::Sockets => "sockets".to_string(),
            })
            .collect(),
        world: match spec.world {
            World::CliCommand => "wasi:cli/command".into(),
            World::HttpService => "wasi:http/service".into(),
        },
        wasi_version: shape.wasi_version.clone(),
        memory_bytes: spec.limits.memory_bytes,
        fuel: spec.limits.fuel,
    }
}

/// The `.wat` marker, for a shape whose module is written at each start.
pub fn translated_module() -> PathBuf {
    PathBuf::from(MODULE)
}

/// Argv computed so far, by request.
#[derive(Default)]
pub struct ArgvCache {
    computed: Mutex<HashMap<String, Vec<String>>>,
}

impl ArgvCache {
    /// Computes the argv of many requests in one adapter call and keeps them.
    pub fn fill(&self, runtime: &ResolvedRuntime, requests: &[ArgvRequest]) {
        let todo: Vec<ArgvRequest> = {
            let computed = lock(&self.computed);
            requests
                .iter()
                .filter(|r| runtime.unsupported(r).is_none())
                .filter(|r| !computed.contains_key(&key(r)))
                .cloned()
                .collect()
        };
        if todo.is_empty() {
            return;
        }
        // A failure here is reported by the test that needs the argv.
        if let Ok(argvs) = runtime.compute_argv(&todo) {
            let mut computed = lock(&self.computed);
            for (r, argv) in todo.iter().zip(argvs) {
                computed.insert(key(r), argv);
            }
        }
    }

    /// The argv of `request` (computed now if it was not before).
    pub fn get(
        &self,
        runtime: &ResolvedRuntime,
        request: &ArgvRequest,
    ) -> Result<Vec<String>, String> {
        if let Some(argv) = lock(&self.computed).get(&key(request)) {
            return Ok(argv.clone());
        }
        let mut argvs = runtime
            .compute_argv(std::slice::from_ref(request))
            .map_err(|e| e.to_string())?;
        let argv = argvs.pop().unwrap_or_default();
        lock(&self.computed).insert(key(request), argv.clone());
        Ok(argv)
    }
}

fn key(r: &ArgvRequest) -> String {
    format!("{r:?}")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The argv of a starting run: the markers replaced by the sandbox's
/// directories (absolute: the runtime runs in the sandbox directory), the
/// servers' addresses and the written module.
pub fn fill_in(
    argv: Vec<String>,
    preopens: &[Preopen],
    servers: &[(String, String)],
    module: &Path,
) -> Vec<String> {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut dirs = preopens.iter().filter(|p| p.guest != "/");
    if let Some(root) = preopens.iter().find(|p| p.guest == "/") {
        pairs.push((ROOT.into(), absolute(&root.host).display().to_string()));
    }
    for i in 0.. {
        let Some(d) = dirs.next() else { break };
        pairs.push((dir_marker(i), absolute(&d.host).display().to_string()));
    }
    for (var, addr) in servers {
        pairs.push((server_marker(var), addr.clone()));
    }
    pairs.push((MODULE.into(), absolute(module).display().to_string()));
    argv.into_iter()
        .map(|arg| {
            pairs
                .iter()
                .fold(arg, |a, (marker, value)| a.replace(marker, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_filled_in() {
        let argv = vec![
            "rt".to_string(),
            format!("--dir={ROOT}::/"),
            format!("--dir={}::/data", dir_marker(0)),
            format!("--env=HTTP_SERVER_A={}", server_marker("HTTP_SERVER_A")),
            MODULE.to_string(),
        ];
        let preopens = [
            Preopen {
                guest: "/".into(),
                host: "/tmp/sb/0-root".into(),
                fixture: "r".into(),
                readonly: false,
                may_block: false,
            },
            Preopen {
                guest: "/data".into(),
                host: "/tmp/sb/1-data".into(),
                fixture: "d".into(),
                readonly: true,
                may_block: false,
            },
        ];
        let out = fill_in(
            argv,
            &preopens,
            &[("HTTP_SERVER_A".into(), "127.0.0.1:9".into())],
            Path::new("/tmp/sb/module/t.wasm"),
        );
        assert_eq!(
            out,
            [
                "rt",
                "--dir=/tmp/sb/0-root::/",
                "--dir=/tmp/sb/1-data::/data",
                "--env=HTTP_SERVER_A=127.0.0.1:9",
                "/tmp/sb/module/t.wasm"
            ]
        );
    }
}
