//! The process backend: each run is an external WASI runtime's command line,
//! computed by an [`adapter`] exactly as the official wasi-testsuite runner's
//! adapters compute it.
//!
//! What holds for a guest run this way:
//! - the same temporary copies of preopened directories as the embedded runtime
//!   (the runtime gets the copy's path as `root`);
//! - the guest's environment is what the spec declares, passed through the
//!   adapter; the runtime process itself gets a minimal environment (see
//!   [`ResolvedRuntime::process_env`]: `PATH`, `HOME`, `TMPDIR` and what the
//!   adapter keeps, plus `DEBUG=true` when the spec sets `debug`, as the
//!   official runner does);
//! - stdin, stdout and stderr are pipes, captured with the same output caps;
//! - the runtime runs in its own process group: the timeout (and the end of the
//!   test, whatever ends it) kills the whole group; `kill` sends the spec's signal
//!   to the runtime process;
//! - a served `wasi:http/service`'s URL is read from the first stderr line holding
//!   `http://`, as the official runner does;
//! - a test needing what the runtime cannot give (deterministic `clock`,
//!   `random_seed`, `fuel` or a memory limit the adapter does not map, `invoke`, a
//!   trap message, a WASI version or world the adapter does not declare) is skipped
//!   with that reason.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::guest::{Guest, GuestFuture};
use super::{Backend, Prepared, Program, RuntimeInfo, StartContext};
use crate::check::{Failure, FailureKind, GuestEnd};
use crate::discover::WasiVersion;
use crate::module::{ModuleInfo, ModuleKind};
use crate::spec::{ExitExpectation, Operation, Spec, World};
use crate::watchdog::Watchdog;

pub mod adapter;
mod argv;
mod canary;
mod child;
pub mod runtime_errors;

use adapter::{Adapter, AdapterError, ResolvedRuntime};
use argv::{ArgvCache, Shape};
pub use child::signal_number;

/// How long the output pipes may stay open after the runtime process exited
/// (a grandchild may hold them); then the group is killed.
const PIPE_GRACE: Duration = Duration::from_millis(500);

/// A module as the runtime gets it: its shape for the adapter, and for a
/// `.wat` test the binary written into each run's sandbox.
#[derive(Clone)]
struct Loaded {
    shape: Shape,
    /// The module file, absolute.
    path: PathBuf,
    binary: Option<Arc<Vec<u8>>>,
}

/// An external runtime, driven through its adapter.
pub struct ProcessBackend {
    runtime: Arc<ResolvedRuntime>,
    info: RuntimeInfo,
    argvs: Arc<ArgvCache>,
    /// Modules read so far, by path (their WASI version needs a look inside).
    loaded: Mutex<HashMap<PathBuf, Loaded>>,
    /// Whether the runtime runs modules at all, per WASI version.
    canaries: canary::Canaries,
}

impl ProcessBackend {
    /// Finds the adapter's runtime and reads its version (a missing runtime is an
    /// error naming the variable to set).
    pub fn new(adapter: &Adapter) -> Result<ProcessBackend, AdapterError> {
        let runtime = adapter.resolve()?;
        let info = RuntimeInfo {
            name: runtime.name.clone(),
            version: runtime.version.clone(),
        };
        Ok(ProcessBackend {
            runtime: Arc::new(runtime),
            info,
            argvs: Arc::default(),
            loaded: Mutex::default(),
            canaries: canary::Canaries::default(),
        })
    }

    /// [`Backend::load`] without the canary (the canary's own load).
    fn load_unchecked(
        &self,
        module: &Path,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<(Prepared, Option<String>), Failure> {
        if let Some(reason) = self.unsupported(spec) {
            return Ok((Prepared::Unsupported(reason), None));
        }
        let loaded = self.load_module(module, version)?;
        for run in runs(spec) {
            if let Some(reason) = self
                .runtime
                .unsupported(&argv::request(&loaded.shape, spec, run))
            {
                return Ok((Prepared::Unsupported(reason), None));
            }
        }
        let version = loaded.shape.wasi_version.clone();
        let program = ProcessProgram {
            runtime: Arc::clone(&self.runtime),
            argvs: Arc::clone(&self.argvs),
            loaded,
        };
        Ok((Prepared::Ready(Box::new(program)), Some(version)))
    }

    /// What the embedded runtime gives that this one cannot, for this spec.
    fn unsupported(&self, spec: &Spec) -> Option<String> {
        if spec.clock.is_some() {
            return Some(
                "needs deterministic clocks (`clock`), which an external runtime cannot give"
                    .into(),
            );
        }
        if spec.random_seed.is_some() {
            return Some("needs a seeded random source (`random_seed`), which an external runtime cannot give".into());
        }
        if spec.invoke.is_some() {
            return Some(
                "calls an export (`invoke`), which an external runtime's command line cannot"
                    .into(),
            );
        }
        if spec.limits.open_files.is_some() {
            return Some(
                "sets `limits.open_files`, which is not enforced on external runtimes".into(),
            );
        }
        if let Some(ExitExpectation::Trap(t)) = spec.final_exit()
            && !harness_made_trap(t)
        {
            return Some(format!(
                "expects a trap ({t:?}); an external runtime reports traps only as an exit status"
            ));
        }
        None
    }

    /// The module's shape: its WASI version (the suite's, else what its imports
    /// say, as the official runner does) and how the runtime gets it.
    fn load_module(&self, module: &Path, version: Option<WasiVersion>) -> Result<Loaded, Failure> {
        let path = std::path::absolute(module).unwrap_or_else(|_| module.to_path_buf());
        if let Some(l) = lock(&self.loaded).get(&path)
            && version.is_none_or(|v| l.shape.wasi_version == v.as_str())
        {
            return Ok(l.clone());
        }
        let info = ModuleInfo::read(module)
            .map_err(|e| Failure::new(FailureKind::Module, e.to_string()))?;
        let version = version.or(info.wasi).unwrap_or(match info.kind {
            ModuleKind::Core => WasiVersion::P1,
            ModuleKind::Component => WasiVersion::P2,
        });
        // A `.wat` test is handed to the runtime as the binary it translates to.
        let is_text = path.extension().and_then(|e| e.to_str()) == Some("wat");
        let loaded = Loaded {
            shape: Shape {
                module: if is_text {
                    argv::translated_module()
                } else {
                    path.clone()
                },
                wasi_version: version.as_str().into(),
            },
            binary: is_text.then(|| Arc::new(info.bytes)),
            path: path.clone(),
        };
        lock(&self.loaded).insert(path, loaded.clone());
        Ok(loaded)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the harness itself ends a process run with a trap holding `text`.
fn harness_made_trap(text: &str) -> bool {
    ["timeout", "disk limit"]
        .iter()
        .any(|t| t.contains(text) || text.contains(t))
}

/// The `run` operations of a spec.
fn runs(spec: &Spec) -> impl Iterator<Item = &crate::spec::Run> {
    spec.operations.iter().filter_map(|op| match op {
        Operation::Run(run) => Some(run),
        _ => None,
    })
}

impl Backend for ProcessBackend {
    fn info(&self) -> &RuntimeInfo {
        &self.info
    }

    fn default_timeout(&self) -> Option<Duration> {
        self.runtime.timeout
    }

    fn prepares(&self) -> bool {
        true
    }

    /// Computes the argv of every run of every test at once (one Python
    /// process for an official adapter, not one per test).
    fn prepare(&self, tests: &[(&Path, Option<WasiVersion>, &Spec)]) {
        let mut requests = Vec::new();
        for (module, version, spec) in tests {
            if self.unsupported(spec).is_some() {
                continue;
            }
            let Ok(loaded) = self.load_module(module, *version) else {
                continue;
            };
            requests.extend(runs(spec).map(|run| argv::request(&loaded.shape, spec, run)));
        }
        self.argvs.fill(&self.runtime, &requests);
    }

    /// Loads `module` for `spec` once the runtime has run the canary of the
    /// module's WASI version (see [`canary`]): a runtime that failed it makes
    /// the test an error of the runtime.
    fn load(
        &self,
        module: &Path,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<Prepared, Failure> {
        let (prepared, version) = self.load_unchecked(module, version, spec)?;
        if let Some(version) = version {
            self.canaries
                .check(&Unchecked(self), &version)
                .map_err(|m| Failure::new(FailureKind::Runtime, m))?;
        }
        Ok(prepared)
    }

    fn host_paths_in_output(&self) -> bool {
        true
    }

    fn runtime_error(&self, end: &GuestEnd, stderr: &[u8]) -> Option<String> {
        self.runtime.runtime_error(end, stderr)
    }

    fn warnings(&self) -> Vec<String> {
        self.canaries.warnings()
    }
}

/// The backend as the canary runs on it: loading skips the canary.
struct Unchecked<'a>(&'a ProcessBackend);

impl Backend for Unchecked<'_> {
    fn info(&self) -> &RuntimeInfo {
        &self.0.info
    }

    fn default_timeout(&self) -> Option<Duration> {
        self.0.runtime.timeout
    }

    fn host_paths_in_output(&self) -> bool {
        true
    }

    fn load(
        &self,
        module: &Path,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<Prepared, Failure> {
        self.0.load_unchecked(module, version, spec).map(|(p, _)| p)
    }
}

/// A module ready to be run by an external runtime.
struct ProcessProgram {
    runtime: Arc<ResolvedRuntime>,
    argvs: Arc<ArgvCache>,
    loaded: Loaded,
}

impl ProcessProgram {
    /// Where the runtime finds the module for this run (a `.wat` test's binary
    /// is written into the sandbox).
    fn module_for(&self, sandbox: &Path) -> Result<PathBuf, String> {
        let Some(bytes) = &self.loaded.binary else {
            return Ok(self.loaded.path.clone());
        };
        let name = self.loaded.path.with_extension("wasm");
        let name = name.file_name().unwrap_or_default();
        let dir = sandbox.join("module");
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(name), bytes.as_slice()))
            .map_err(|e| format!("cannot write the translated module: {e}"))?;
        Ok(dir.join(name))
    }

    /// The argv of one run, with the sandbox's preopens and the servers' addresses.
    fn argv(&self, ctx: &StartContext<'_>, module: &Path) -> Result<Vec<String>, String> {
        let request = argv::request(&self.loaded.shape, ctx.spec, ctx.run);
        let template = self.argvs.get(&self.runtime, &request)?;
        let argv = argv::fill_in(template, ctx.preopens, ctx.extra_env, module);
        if argv.is_empty() {
            return Err(format!(
                "the {} adapter computed an empty command line",
                self.runtime.name
            ));
        }
        Ok(argv)
    }
}

impl Program for ProcessProgram {
    fn start(&self, ctx: StartContext<'_>) -> Result<Guest, Failure> {
        let setup = |m: String| Failure::new(FailureKind::Setup, m);
        let runtime = |m: String| Failure::new(FailureKind::Runtime, m);
        let module = self.module_for(ctx.sandbox_dir).map_err(setup)?;
        // An adapter that cannot give a command line is the runtime's failure.
        let argv = self.argv(&ctx, &module).map_err(runtime)?;
        let shown = argv.clone();
        // The runtime's own temporary files go into the sandbox, which is removed
        // with the test whatever becomes of the runtime (even killed mid-write).
        let tmp = ctx.sandbox_dir.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| setup(format!("cannot create {}: {e}", tmp.display())))?;
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env_clear()
            .envs(self.runtime.process_env(ctx.spec.debug))
            .env("TMPDIR", &tmp)
            .current_dir(ctx.sandbox_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| runtime(format!("cannot start the runtime `{}`: {e}", argv[0])))?;
        let group = child::ProcessGroup(child.id());
        if let Some(pid) = child.id() {
            // The group's waiting for a CPU does not count against the timeout.
            ctx.deadline.watch_process_group(pid);
        }
        let stdin = child.stdin.take().expect("stdin is piped");
        let pumps = [
            tokio::spawn(child::pump(
                child.stdout.take().expect("piped"),
                ctx.stdout.clone(),
            )),
            tokio::spawn(child::pump(
                child.stderr.take().expect("piped"),
                ctx.stderr.clone(),
            )),
        ];
        let pid = child.id();
        let future: GuestFuture = Box::pin(async move {
            let _group = group;
            let status = child.wait().await;
            let drained = async {
                for p in pumps {
                    let _ = p.await;
                }
            };
            let _ = tokio::time::timeout(PIPE_GRACE, drained).await;
            match status {
                Ok(s) => child::exit_of(s),
                Err(e) => GuestEnd::Trapped(crate::check::Trap {
                    message: format!("cannot wait for the runtime process: {e}"),
                    backtrace: None,
                }),
            }
        });
        let watchdog = Mutex::new(Watchdog::new(
            ctx.sandbox_dir,
            u64::MAX,
            ctx.limits.disk_bytes,
        ));
        let mut guest = Guest::new(future, ctx.stdout.clone(), ctx.stderr.clone())
            .with_command(shown)
            .with_watch(Box::new(move || {
                watchdog
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .check_all()
            }))
            .with_kill(Box::new(move |signal| child::send_signal(pid, signal)));
        if ctx.interactive {
            guest = guest.with_stdin(Box::pin(stdin));
        } else {
            let bytes = crate::sandbox::Stdin::fixed(ctx.run).map_err(|e| setup(e.to_string()))?;
            // Specs name text or files; this process's own stdin is never passed on.
            let bytes = match bytes {
                crate::sandbox::Stdin::Bytes(b) => b,
                _ => Vec::new(),
            };
            tokio::spawn(async move {
                let mut stdin = stdin;
                let _ = stdin.write_all(&bytes).await;
                let _ = stdin.shutdown().await;
            });
        }
        if ctx.spec.world == World::HttpService {
            let stderr = ctx.stderr.clone();
            let url: Arc<Mutex<Option<String>>> = Arc::default();
            guest = guest.with_serve(Box::new(move |op| {
                let (stderr, url, op) = (stderr.clone(), Arc::clone(&url), op.clone());
                Box::pin(async move {
                    let known = url.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let base = match known {
                        Some(u) => u,
                        None => {
                            let found = child::served_url(&stderr).await?;
                            *url.lock().unwrap_or_else(|e| e.into_inner()) = Some(found.clone());
                            found
                        }
                    };
                    crate::http::send_request(&base, &op).await
                })
            }));
        }
        Ok(guest)
    }
}
