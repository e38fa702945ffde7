//! Bounded compilation: modules that may be costly to compile are compiled in a
//! separate process, under a time and a memory limit.
//!
//! Compiling is not proportional to a module's size: a 16 KB module declaring
//! 50 000 locals in each of 2000 functions takes seconds and gigabytes to
//! compile, and 30 MB of nested blocks took 5.7 GB. The harness cannot stop a
//! compilation running in its own process, so a module whose estimated cost
//! ([`ModuleInfo::compile_cost`](crate::module::ModuleInfo::compile_cost)) is
//! over [`IN_PROCESS_MAX_COST`] is handed to a *compile worker*: the
//! wasi-conform binary run as `wasi-conform __compile-worker ...`, which builds
//! the same engine configuration, compiles, and writes the serialized artifact.
//! The worker is killed when it takes longer than the compile timeout or holds
//! more resident memory than the compile memory limit, and the test fails
//! naming that limit. Small modules (every module of the repository's suites)
//! compile in-process, where their cost is bounded by the estimate.
//!
//! A program embedding the library gets the worker by setting
//! [`CompileLimits::worker`] to a binary whose `main` calls [`worker_main`] when
//! its first argument is [`WORKER_SUBCOMMAND`]; without a worker every module
//! compiles in-process (unbounded).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use wasmtime::Engine;

use super::{Compiler, EngineKey, engine_config};
use crate::cache::Artifact;
use crate::features::{Feature, FeatureSet};

/// The first argument that makes the wasi-conform binary a compile worker.
pub const WORKER_SUBCOMMAND: &str = "__compile-worker";
/// Estimated cost up to which a module compiles in-process (256 KiB: what
/// compiling it may take is tens of megabytes and well under a second).
pub const IN_PROCESS_MAX_COST: u64 = 256 << 10;
/// The default compile timeout: 60 s (Cranelift takes ~25 s for a 36 MB
/// interpreter on a slow machine; Winch ~4 s).
pub const DEFAULT_COMPILE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default compile memory limit: 1 GiB resident (a 36 MB interpreter
/// compiles in under 600 MB with either compiler).
pub const DEFAULT_COMPILE_MEMORY_BYTES: u64 = 1 << 30;
/// How much address space the worker may map beyond the memory limit (thread
/// stacks, the binary, allocator arenas): the hard stop if polling misses a spike.
const ADDRESS_SPACE_MARGIN: u64 = 2 << 30;

/// Limits on compiling one module, and the worker that enforces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileLimits {
    /// The compile worker's program (`None`: every module compiles in-process).
    pub worker: Option<PathBuf>,
    /// The longest a worker may compile.
    pub timeout: Duration,
    /// The most resident memory a worker may hold.
    pub memory_bytes: u64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        CompileLimits {
            worker: None,
            timeout: DEFAULT_COMPILE_TIMEOUT,
            memory_bytes: DEFAULT_COMPILE_MEMORY_BYTES,
        }
    }
}

/// The words that name a compiler on the worker's command line.
fn compiler_word(c: Compiler) -> &'static str {
    match c {
        Compiler::Winch => "winch",
        Compiler::Cranelift { optimize: true } => "cranelift",
        Compiler::Cranelift { optimize: false } => "cranelift-fast",
    }
}

fn compiler_from_word(w: &str) -> Option<Compiler> {
    Some(match w {
        "winch" => Compiler::Winch,
        "cranelift" => Compiler::Cranelift { optimize: true },
        "cranelift-fast" => Compiler::Cranelift { optimize: false },
        _ => return None,
    })
}

/// Compiles `wasm` in a worker process under `limits`, for `engine` (made from
/// `key` and `compiler`), and loads the result into `engine`.
pub(super) fn compile_in_worker<A: Artifact>(
    worker: &Path,
    limits: &CompileLimits,
    engine: &Engine,
    key: &EngineKey,
    compiler: Compiler,
    wasm: &[u8],
) -> wasmtime::Result<A> {
    let dir = tempfile::Builder::new()
        .prefix("wasi-conform-compile-")
        .tempdir_in(crate::sandbox::temp_root())?;
    let (input, output) = (dir.path().join("in.wasm"), dir.path().join("out.cwasm"));
    std::fs::write(&input, wasm)?;
    let features: Vec<&str> = key.features.iter().map(Feature::name).collect();
    let mut cmd = Command::new(worker);
    cmd.arg(WORKER_SUBCOMMAND)
        .arg(A::KIND)
        .arg(if key.fuel { "fuel" } else { "no-fuel" })
        .arg(if features.is_empty() {
            "-".to_string()
        } else {
            features.join(",")
        })
        .arg(compiler_word(compiler))
        .arg(&input)
        .arg(&output)
        // The worker caps its own address space first thing: set in the
        // parent (between fork and exec) it would cost a fork of this whole
        // process, where spawning without that hook is a cheap vfork.
        .arg(
            limits
                .memory_bytes
                .saturating_add(ADDRESS_SPACE_MARGIN)
                .to_string(),
        )
        .env("MALLOC_ARENA_MAX", "2")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        wasmtime::format_err!("cannot start the compile worker {}: {e}", worker.display())
    })?;
    // The worker's stderr, read to its end (which is the worker's exit) on a
    // thread that then hands it over: the end of a compile is seen at once.
    let stderr = child.stderr.take();
    let (sender, errors) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stderr {
            let _ = s.take(16 << 10).read_to_string(&mut text);
        }
        let _ = sender.send(text);
    });
    let (ended, message) = watch(&mut child, &errors, limits);
    match ended {
        Watched::Exited(true) => {}
        Watched::Exited(false) => {
            return Err(worker_failure(&message, limits));
        }
        Watched::OverTime => {
            return Err(wasmtime::format_err!(
                "compile limit: compiling took longer than {} s; raise it with \
                 --compile-timeout SECONDS",
                limits.timeout.as_secs_f64()
            ));
        }
        Watched::OverMemory => return Err(over_memory(limits)),
    }
    let artifact = crate::files::read_regular(&output, limits.memory_bytes)
        .map_err(|e| wasmtime::format_err!("the compile worker's output: {e}"))?;
    // SAFETY: the worker is this same binary (or one the embedder named as
    // such), which wrote `serialize()` of a module compiled for this engine's
    // configuration; `deserialize` checks the configuration and version too.
    unsafe { A::deserialize(engine, &artifact) }
}

fn over_memory(limits: &CompileLimits) -> wasmtime::Error {
    wasmtime::format_err!(
        "compile limit: compiling needed more than {} MiB of memory; raise it with \
         --compile-memory-bytes BYTES",
        limits.memory_bytes >> 20
    )
}

/// The error of a worker that ended unsuccessfully: its own message (a
/// compile error), or the memory limit when an allocation failed.
fn worker_failure(stderr: &str, limits: &CompileLimits) -> wasmtime::Error {
    if stderr.contains("memory allocation") || stderr.contains("out of memory") {
        return over_memory(limits);
    }
    let text = super::without_backtrace(stderr).trim();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    if text.is_empty() {
        wasmtime::format_err!("the compile worker failed without a message")
    } else {
        wasmtime::format_err!("{}", crate::check::printable(text))
    }
}

enum Watched {
    Exited(bool),
    OverTime,
    OverMemory,
}

/// Waits for the worker, killing it past the time or memory limit; returns
/// how it ended and what it wrote to stderr. Woken by the end of its stderr
/// (its exit), else every few milliseconds to check the limits.
fn watch(
    child: &mut std::process::Child,
    errors: &std::sync::mpsc::Receiver<String>,
    limits: &CompileLimits,
) -> (Watched, String) {
    use std::sync::mpsc::RecvTimeoutError;
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let mut message = None;
    loop {
        if message.is_none() {
            match errors.recv_timeout(pause) {
                Ok(text) => message = Some(text),
                Err(RecvTimeoutError::Disconnected) => message = Some(String::new()),
                Err(RecvTimeoutError::Timeout) => {}
            }
        } else {
            // Its stderr is closed: the exit is a moment away.
            std::thread::sleep(Duration::from_millis(1));
        }
        let ended = match child.try_wait() {
            Ok(Some(status)) => Some(Watched::Exited(status.success())),
            Ok(None) => None,
            Err(_) => Some(Watched::Exited(false)),
        };
        let verdict = ended.or_else(|| {
            if start.elapsed() > limits.timeout {
                Some(Watched::OverTime)
            } else if resident_bytes(child.id()).is_some_and(|r| r > limits.memory_bytes) {
                Some(Watched::OverMemory)
            } else {
                None
            }
        });
        if let Some(v) = verdict {
            if !matches!(v, Watched::Exited(_)) {
                let _ = child.kill();
                let _ = child.wait();
            }
            let message = message.or_else(|| errors.recv_timeout(Duration::from_secs(1)).ok());
            return (v, message.unwrap_or_default());
        }
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// A process's resident memory, from `/proc` (Linux).
fn resident_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).unwrap_or(4096))
}

/// Caps the child's address space (a hard stop behind the resident-memory poll).
fn limit_address_space(bytes: u64) {
    #[cfg(unix)]
    {
        let lim = libc::rlimit {
            rlim_cur: bytes as libc::rlim_t,
            rlim_max: bytes as libc::rlim_t,
        };
        // SAFETY: setrlimit with a valid struct; it only lowers this process's limit.
        unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
    }
    #[cfg(not(unix))]
    let _ = bytes;
}

/// The compile worker's `main`: `KIND FUEL FEATURES COMPILER INPUT OUTPUT
/// [ADDRESS_SPACE_BYTES]` (the arguments after [`WORKER_SUBCOMMAND`]; the last
/// caps the worker's address space before anything else). Exits 0 with the artifact
/// written, else 1 with the error on stderr.
///
/// ```no_run
/// // In a binary that embeds the harness:
/// let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
/// if args.get(1).is_some_and(|a| a == wasi_conform::run::WORKER_SUBCOMMAND) {
///     std::process::exit(match wasi_conform::run::worker_main(&args[2..]) {
///         std::process::ExitCode::SUCCESS => 0,
///         _ => 1,
///     });
/// }
/// ```
pub fn worker_main(args: &[OsString]) -> ExitCode {
    match worker(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn worker(args: &[OsString]) -> wasmtime::Result<()> {
    let (kind, fuel, features, compiler, input, output) = match args {
        [kind, fuel, features, compiler, input, output, rest @ ..] if rest.len() <= 1 => {
            (kind, fuel, features, compiler, input, output)
        }
        _ => wasmtime::bail!(
            "usage: {WORKER_SUBCOMMAND} KIND FUEL FEATURES COMPILER INPUT OUTPUT \
             [ADDRESS_SPACE_BYTES]"
        ),
    };
    let word = |a: &OsString| a.to_string_lossy().into_owned();
    if let Some(limit) = args.get(6) {
        let bytes = word(limit)
            .parse()
            .map_err(|_| wasmtime::format_err!("ADDRESS_SPACE_BYTES: not a number"))?;
        limit_address_space(bytes);
    }
    let mut set = FeatureSet::default();
    if word(features) != "-" {
        for name in word(features).split(',') {
            set.extend([Feature::parse(name).map_err(|e| wasmtime::format_err!("{e}"))?]);
        }
    }
    let key = EngineKey {
        fuel: word(fuel) == "fuel",
        features: set,
    };
    let compiler = compiler_from_word(&word(compiler))
        .ok_or_else(|| wasmtime::format_err!("unknown compiler {}", word(compiler)))?;
    let engine = Engine::new(&engine_config(&key, compiler))?;
    let wasm = crate::files::read_regular(Path::new(input), crate::files::MAX_MODULE_BYTES)?;
    let artifact = match word(kind).as_str() {
        k if k == <wasmtime::Module as Artifact>::KIND => {
            <wasmtime::Module as Artifact>::compile(&engine, &wasm)?.serialize()?
        }
        k if k == <wasmtime::component::Component as Artifact>::KIND => {
            <wasmtime::component::Component as Artifact>::compile(&engine, &wasm)?.serialize()?
        }
        other => wasmtime::bail!("unknown kind {other}"),
    };
    std::fs::write(output, artifact)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_words_round_trip() {
        for c in [
            Compiler::Winch,
            Compiler::Cranelift { optimize: true },
            Compiler::Cranelift { optimize: false },
        ] {
            assert_eq!(compiler_from_word(compiler_word(c)), Some(c));
        }
    }

    #[test]
    fn resident_memory_of_this_process_is_read() {
        let rss = resident_bytes(std::process::id()).expect("/proc is there");
        assert!(rss > 1 << 20, "{rss}");
    }
}
