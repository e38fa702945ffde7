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

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::guest::{Guest, GuestFuture};
use super::{Backend, Prepared, Program, RuntimeInfo, StartContext};
use crate::check::{Failure, FailureKind, GuestEnd};
use crate::discover::WasiVersion;
use crate::module::{ModuleInfo, ModuleKind};
use crate::spec::{ExitExpectation, Proposal, Spec, World};
use crate::stdio::Capture;
use crate::watchdog::Watchdog;

pub mod adapter;
use adapter::{Adapter, AdapterError, ArgvRequest, DirRequest, ResolvedRuntime};

/// How long the output pipes may stay open after the runtime process exited
/// (a grandchild may hold them); then the group is killed.
const PIPE_GRACE: Duration = Duration::from_millis(500);
/// The most stderr read while looking for a served URL.
const URL_SEARCH_BYTES: usize = 64 * 1024;

/// An external runtime, driven through its adapter.
pub struct ProcessBackend {
    runtime: Arc<ResolvedRuntime>,
    info: RuntimeInfo,
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
        })
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
}

/// Whether the harness itself ends a process run with a trap holding `text`.
fn harness_made_trap(text: &str) -> bool {
    ["timeout", "disk limit"]
        .iter()
        .any(|t| t.contains(text) || text.contains(t))
}

impl Backend for ProcessBackend {
    fn info(&self) -> &RuntimeInfo {
        &self.info
    }

    fn load(
        &self,
        module: &Path,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<Prepared, Failure> {
        if let Some(reason) = self.unsupported(spec) {
            return Ok(Prepared::Unsupported(reason));
        }
        let info = ModuleInfo::read(module)
            .map_err(|e| Failure::new(FailureKind::Module, e.to_string()))?;
        // As the official runner: the suite's version, else what the module says.
        let version = version.or(info.wasi).unwrap_or(match info.kind {
            ModuleKind::Core => WasiVersion::P1,
            ModuleKind::Component => WasiVersion::P2,
        });
        let module = std::path::absolute(module).unwrap_or_else(|_| module.to_path_buf());
        // A `.wat` test is handed to the runtime as the binary it translates to.
        let binary = (module.extension().and_then(|e| e.to_str()) == Some("wat"))
            .then(|| Arc::new(info.bytes));
        let program = ProcessProgram {
            runtime: Arc::clone(&self.runtime),
            module,
            binary,
            version,
        };
        let probe = program.request(spec, &crate::spec::Run::default(), None, &[]);
        if let Some(reason) = self.runtime.unsupported(&probe) {
            return Ok(Prepared::Unsupported(reason));
        }
        Ok(Prepared::Ready(Box::new(program)))
    }
}

/// A module ready to be run by an external runtime.
struct ProcessProgram {
    runtime: Arc<ResolvedRuntime>,
    /// The module file, absolute.
    module: PathBuf,
    /// For a `.wat` test: the binary, written into the sandbox for each run.
    binary: Option<Arc<Vec<u8>>>,
    version: WasiVersion,
}

impl ProcessProgram {
    /// What the adapter gets for a run.
    fn request(
        &self,
        spec: &Spec,
        run: &crate::spec::Run,
        module: Option<&Path>,
        extra_env: &[(String, String)],
    ) -> ArgvRequest {
        let mut env = run.env.clone();
        env.extend(extra_env.iter().cloned());
        ArgvRequest {
            module: module.unwrap_or(&self.module).to_path_buf(),
            args: run.args.clone(),
            env,
            root: None,
            dirs: spec
                .dirs
                .iter()
                .map(|d| DirRequest {
                    host: d.host.clone(),
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
            wasi_version: self.version.as_str().into(),
            memory_bytes: spec.limits.memory_bytes,
            fuel: spec.limits.fuel,
        }
    }

    /// The argv of one run, with the sandbox's preopen copies.
    fn argv(&self, ctx: &StartContext<'_>, module: &Path) -> Result<Vec<String>, String> {
        let mut req = self.request(ctx.spec, ctx.run, Some(module), ctx.extra_env);
        req.dirs.clear();
        for p in ctx.preopens {
            // The runtime runs in the sandbox directory: give it absolute paths.
            let host = std::path::absolute(&p.host).unwrap_or_else(|_| p.host.clone());
            if p.guest == "/" {
                req.root = Some(host);
            } else {
                req.dirs.push(DirRequest {
                    host,
                    guest: p.guest.clone(),
                    readonly: p.readonly,
                });
            }
        }
        let mut argvs = self
            .runtime
            .compute_argv(std::slice::from_ref(&req))
            .map_err(|e| e.to_string())?;
        match argvs.pop() {
            Some(argv) if !argv.is_empty() => Ok(argv),
            _ => Err(format!(
                "the {} adapter computed an empty command line",
                self.runtime.name
            )),
        }
    }
}

impl Program for ProcessProgram {
    fn start(&self, ctx: StartContext<'_>) -> Result<Guest, String> {
        let module = match &self.binary {
            Some(bytes) => {
                let name = self.module.with_extension("wasm");
                let name = name.file_name().unwrap_or_default();
                let dir = ctx.sandbox_dir.join("module");
                std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::write(dir.join(name), bytes.as_slice()))
                    .map_err(|e| format!("cannot write the translated module: {e}"))?;
                dir.join(name)
            }
            None => self.module.clone(),
        };
        let argv = self.argv(&ctx, &module)?;
        // The runtime's own temporary files go into the sandbox, which is removed
        // with the test whatever becomes of the runtime (even killed mid-write).
        let tmp = ctx.sandbox_dir.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
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
            .map_err(|e| format!("cannot start the runtime `{}`: {e}", argv[0]))?;
        let group = ProcessGroup(child.id());
        let stdin = child.stdin.take().expect("stdin is piped");
        let pumps = [
            tokio::spawn(pump(
                child.stdout.take().expect("piped"),
                ctx.stdout.clone(),
            )),
            tokio::spawn(pump(
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
                Ok(s) => exit_of(s),
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
            .with_watch(Box::new(move || {
                watchdog
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .check_all()
            }))
            .with_kill(Box::new(move |signal| send_signal(pid, signal)));
        if ctx.interactive {
            guest = guest.with_stdin(Box::pin(stdin));
        } else {
            let bytes = crate::sandbox::Stdin::fixed(ctx.run).map_err(|e| e.to_string())?;
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
                            let found = served_url(&stderr).await?;
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

/// Copies a pipe into a capture until EOF (the capture drops what is past its
/// limit, but the pipe is still drained so the runtime never blocks on it).
async fn pump(mut from: impl AsyncRead + Unpin, into: Capture) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => into.append(&buf[..n]),
        }
    }
}

/// The URL a served guest listens on: on the first stderr line holding
/// `http://`, from there to the next whitespace.
async fn served_url(stderr: &Capture) -> Result<String, String> {
    let mut start = 0;
    while start < URL_SEARCH_BYTES {
        let line = stderr.read_line(start).await;
        if line.is_empty() {
            break;
        }
        start += line.len();
        let text = String::from_utf8_lossy(&line);
        if let Some(i) = text.find("http://") {
            let url = text[i..].split_whitespace().next().unwrap_or_default();
            return Ok(url.to_string());
        }
        if !line.ends_with(b"\n") {
            break;
        }
    }
    Err("the runtime printed no line holding `http://` on stderr (the address it serves at)".into())
}

/// How a finished runtime process ended.
fn exit_of(status: std::process::ExitStatus) -> GuestEnd {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return GuestEnd::Signaled(signal);
    }
    GuestEnd::Exited(status.code().unwrap_or(-1))
}

/// Sends a named signal (`SIGTERM`, `SIGINT`, `SIGKILL`, ...) to the runtime process.
fn send_signal(pid: Option<u32>, name: &str) -> Result<(), String> {
    let Some(pid) = pid else {
        return Ok(());
    };
    let signal = signal_number(name).ok_or_else(|| format!("unknown signal `{name}`"))?;
    #[cfg(unix)]
    {
        // SAFETY: kill(2) with a pid we spawned and a valid signal number.
        let r = unsafe { libc::kill(pid as libc::pid_t, signal) };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(format!("cannot send {name} to the runtime: {e}"));
            }
        }
    }
    Ok(())
}

/// The number of a signal named as in specs (`SIGTERM` or `TERM`).
pub fn signal_number(name: &str) -> Option<i32> {
    let short = name.strip_prefix("SIG").unwrap_or(name);
    Some(match short {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "ALRM" => libc::SIGALRM,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        _ => return None,
    })
}

/// The runtime's process group, killed (SIGKILL) when the run is dropped: at the
/// end of the test, at its timeout, or when it is abandoned after a failure.
struct ProcessGroup(Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0 {
            // SAFETY: killpg(2) on the group we created for the child (its pid).
            unsafe {
                libc::killpg(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}
