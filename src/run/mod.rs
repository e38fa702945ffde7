//! Running a test: prepare its sandbox, start the guest on a backend, drive the
//! spec's operations against it, and record an [`Observation`].
//!
//! The driver works over a running [`Guest`] and does not know which backend
//! started it. Backends ([`Backend`]) load a module into a [`Program`] that can
//! start guests:
//! - [`embedded`]: in-process wasmtime (the default);
//! - [`process`]: an external runtime's command line, from an adapter.
//!
//! ```no_run
//! use wasi_conform::run::{self, Backend, RunDefaults, embedded::Embedded};
//! use wasi_conform::spec::Spec;
//! let backend = Embedded::new(Default::default()).unwrap();
//! let spec = Spec::default_for("suites/exit".as_ref());
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let done = rt.block_on(run::execute(&backend, &RunDefaults::default(), "suites/exit/exit-0.wasm".as_ref(), None, &spec));
//! ```

use std::path::Path;
use std::time::Duration;

use crate::check::{Failure, FailureKind, FileState, GuestEnd};
use crate::discover::WasiVersion;
use crate::sandbox::{Preopen, Sandbox};
use crate::spec::{Run, Spec};
use crate::stdio::Capture;

pub mod deadline;
mod driver;
pub mod embedded;
pub mod guest;
pub mod process;

pub use embedded::{
    CompileConfig, CompileLimits, Compiler, DEFAULT_COMPILE_MEMORY_BYTES, DEFAULT_COMPILE_TIMEOUT,
    IN_PROCESS_MAX_COST, WORKER_SUBCOMMAND, worker_main,
};
pub use guest::Guest;

/// Default wall-clock limit of a test (compilation excluded): 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a guest's linear memories: 256 MiB.
pub const DEFAULT_MEMORY_BYTES: u64 = 256 << 20;
/// Default cap on each captured output stream: 16 MiB.
pub const DEFAULT_OUTPUT_BYTES: u64 = 16 << 20;
/// Default cap on files a guest holds open at once: 1024.
pub const DEFAULT_OPEN_FILES: u64 = 1024;
/// Default cap on the growth of a test's preopened directories: 1 GiB.
pub const DEFAULT_DISK_BYTES: u64 = 1 << 30;

/// Limits that apply where a spec sets none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunDefaults {
    pub timeout: Duration,
    pub memory_bytes: u64,
    pub output_bytes: u64,
    pub open_files: u64,
    pub disk_bytes: u64,
    /// Copy the guest's output to this process's stdout and stderr as it
    /// arrives (ad-hoc runs print like a runtime).
    pub echo: bool,
    /// The most files any guest may hold open, whatever its spec says: the
    /// share of the process's descriptors one test may take
    /// ([`crate::runner::open_files_budget`]).
    pub max_open_files: u64,
}

impl Default for RunDefaults {
    fn default() -> Self {
        RunDefaults {
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            output_bytes: DEFAULT_OUTPUT_BYTES,
            open_files: DEFAULT_OPEN_FILES,
            disk_bytes: DEFAULT_DISK_BYTES,
            echo: false,
            max_open_files: u64::MAX,
        }
    }
}

/// The limits in force for one test: the spec's, else the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    pub memory_bytes: u64,
    pub output_bytes: u64,
    pub open_files: u64,
    pub disk_bytes: u64,
    pub fuel: Option<u64>,
}

impl EffectiveLimits {
    pub fn of(spec: &Spec, defaults: &RunDefaults) -> EffectiveLimits {
        let l = &spec.limits;
        EffectiveLimits {
            memory_bytes: l.memory_bytes.unwrap_or(defaults.memory_bytes),
            output_bytes: l.output_bytes.unwrap_or(defaults.output_bytes),
            open_files: l
                .open_files
                .unwrap_or(defaults.open_files)
                .min(defaults.max_open_files),
            disk_bytes: l.disk_bytes.unwrap_or(defaults.disk_bytes),
            fuel: l.fuel,
        }
    }
}

/// Which runtime ran a test, as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuntimeInfo {
    pub name: String,
    pub version: String,
}

/// What a backend made of a module.
pub enum Prepared {
    /// Ready to start guests.
    Ready(Box<dyn Program>),
    /// This runtime cannot run this test; the reason is reported as a skip.
    Unsupported(String),
}

/// Something that runs WASI modules: loads a module for a spec.
pub trait Backend: Send + Sync {
    /// The runtime's name and version.
    fn info(&self) -> &RuntimeInfo;
    /// Gets ready for a run of these tests (module, suite version, spec), e.g.
    /// by computing all their command lines at once. Optional: `load` works
    /// without it.
    fn prepare(&self, _tests: &[(&Path, Option<WasiVersion>, &Spec)]) {}
    /// Whether [`Backend::prepare`] does anything (so callers can skip gathering).
    /// How long a test may take on this runtime when its spec does not say,
    /// if the runtime asks for longer than the harness's default (an external
    /// adapter's `timeout_seconds`).
    fn default_timeout(&self) -> Option<Duration> {
        None
    }

    fn prepares(&self) -> bool {
        false
    }
    /// Whether what the guest's streams hold may name host paths of the
    /// sandbox (a runtime's own messages: an external runtime's errors name
    /// the copies it was given), so that they are replaced as in messages.
    fn host_paths_in_output(&self) -> bool {
        false
    }
    /// Why a run that ended with `end` and printed `stderr` never ran the
    /// module, when the runtime can tell (an external runtime's usage error,
    /// a module it could not load): the test is then an `error`.
    fn runtime_error(&self, _end: &GuestEnd, _stderr: &[u8]) -> Option<String> {
        None
    }
    /// What the runtime found wrong while it ran tests without failing them
    /// (an external runtime's canary: an argument that did not reach the module).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// Reads, checks and compiles (or otherwise prepares) `module` for `spec`.
    /// `version` is the suite's declared WASI version, if any.
    fn load(
        &self,
        module: &Path,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<Prepared, Failure>;
}

/// A loaded module, ready to start guests.
pub trait Program: Send + Sync {
    /// Starts one run. `Err` is why it could not start: a setup failure, or
    /// one of [`FailureKind::Runtime`] when the runtime itself could not be
    /// started.
    fn start(&self, ctx: StartContext<'_>) -> Result<Guest, Failure>;
    /// Whether guests return an invoked function's values (`invoke`) instead of exiting.
    fn invokes(&self) -> bool {
        false
    }
    /// What the user should know about how it runs (e.g. a compiler switched).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Everything a backend needs to start one run.
pub struct StartContext<'a> {
    pub spec: &'a Spec,
    pub run: &'a Run,
    /// argv[0]: the module's file name.
    pub argv0: &'a str,
    pub preopens: &'a [Preopen],
    /// Variables the harness adds after the spec's env (`HTTP_SERVER_<NAME>`).
    pub extra_env: &'a [(String, String)],
    pub stdout: Capture,
    pub stderr: Capture,
    /// Operation form: stdin is a pipe the driver writes to (`write`) and closes
    /// at `wait`; otherwise it is the run's fixed `stdin` (or empty).
    pub interactive: bool,
    /// When the test's time is up (see [`deadline`]).
    pub deadline: std::sync::Arc<deadline::Deadline>,
    pub timeout: Duration,
    pub limits: EffectiveLimits,
    /// The test's private temporary directory (preopen copies live under it).
    pub sandbox_dir: &'a Path,
    /// How much of the guest's host calls a trace keeps (embedded runtime).
    pub trace_limits: crate::trace::TraceLimits,
}

impl StartContext<'_> {
    /// What the guest is given, as a trace's hints need it.
    pub fn trace_given(&self) -> crate::trace::Given {
        crate::trace::Given {
            preopens: self
                .preopens
                .iter()
                .map(|p| (p.guest.clone(), p.readonly))
                .collect(),
            stdin: self.interactive || self.run.stdin.is_some(),
        }
    }
}

/// What a test did.
#[derive(Debug, Default)]
pub struct Observation {
    /// Failures found while running (module, setup, operations, exit), in order.
    pub failures: Vec<Failure>,
    /// Whether every operation ran (the test was not cut short by a failure).
    pub completed: bool,
    /// How the last run ended.
    pub end: Option<GuestEnd>,
    /// The last run's whole stdout and stderr.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The state after the run of every file the spec's `files` names.
    pub files: Vec<(String, FileState)>,
    /// The operations that a failure kept from running.
    pub not_reached: Vec<String>,
    /// Sandbox paths and what to show instead (for golden files and messages).
    pub redactions: Vec<(String, String)>,
    /// What the backend wants the user to know about how the test ran.
    pub notes: Vec<String>,
    /// Time spent preparing the sandbox (fixture copies), not counted in the timeout.
    pub setup: Duration,
    /// Where the test's time went, stage by stage.
    pub times: StageTimes,
    /// The last run's host calls, when the backend traces them (embedded).
    pub trace: Option<crate::trace::Trace>,
    /// The last run was stopped by the test's timeout.
    pub timed_out: bool,
    /// The last run's command line, when a process ran it (external runtimes),
    /// sandbox paths redacted.
    pub command: Option<Vec<String>>,
}

/// Where a test's time went (`--timings` sums them over a run).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Reading the module, the cache lookup (or compilation) and linking.
    pub load: Duration,
    /// Making the sandbox and copying fixtures.
    pub sandbox: Duration,
    /// Starting the guest: its WASI context, store and instance.
    pub start: Duration,
    /// The operations, the guest's run included (sandbox and start excluded).
    pub run: Duration,
    /// Checking the outcome against the spec.
    pub check: Duration,
    /// Removing the sandbox and the test's async runtime.
    pub teardown: Duration,
}

impl StageTimes {
    /// The stages' names and times, in order.
    pub fn stages(&self) -> [(&'static str, Duration); 6] {
        [
            ("load", self.load),
            ("sandbox", self.sandbox),
            ("start", self.start),
            ("run", self.run),
            ("check", self.check),
            ("teardown", self.teardown),
        ]
    }

    /// Adds another test's times.
    pub fn add(&mut self, other: &StageTimes) {
        self.load += other.load;
        self.sandbox += other.sandbox;
        self.start += other.start;
        self.run += other.run;
        self.check += other.check;
        self.teardown += other.teardown;
    }
}

impl Observation {
    /// Keeps a guest's streams (as far as the output limit kept them).
    fn record_streams(&mut self, guest: &Guest) {
        self.stdout = guest.stdout.contents();
        self.stderr = guest.stderr.contents();
        self.stdout_truncated = guest.stdout.truncated();
        self.stderr_truncated = guest.stderr.truncated();
        self.command = guest.command.clone();
    }

    /// Keeps a stopped guest's trace (its store is gone, so the trace is complete).
    fn record_trace(&mut self, guest: &Guest) {
        self.trace = guest.take_trace();
        self.timed_out = matches!(
            &guest.end,
            Some(GuestEnd::Trapped(t)) if t.message.starts_with("timeout")
        );
    }
}

/// The result of [`execute`].
#[derive(Debug)]
pub enum Execution {
    /// The test ran (or failed to start); what happened.
    Ran(Box<Observation>),
    /// The backend cannot run this test, for this reason.
    Skipped(String),
}

/// Runs one test on `backend`: `module` under `spec`. Never panics on bad input:
/// every problem becomes a [`Failure`] in the observation.
pub async fn execute(
    backend: &dyn Backend,
    defaults: &RunDefaults,
    module: &Path,
    version: Option<WasiVersion>,
    spec: &Spec,
) -> Execution {
    execute_with(backend, defaults, module, version, spec, None).await
}

/// [`execute`], with a look at the sandbox after the last operation, before it
/// is removed (to see what the guest wrote).
pub async fn execute_with(
    backend: &dyn Backend,
    defaults: &RunDefaults,
    module: &Path,
    version: Option<WasiVersion>,
    spec: &Spec,
    after_run: Option<&mut dyn FnMut(&Sandbox)>,
) -> Execution {
    let mut obs = Observation::default();
    let loading = std::time::Instant::now();
    let loaded = backend.load(module, version, spec);
    obs.times.load = loading.elapsed();
    let program = match loaded {
        Ok(Prepared::Ready(p)) => p,
        Ok(Prepared::Unsupported(reason)) => return Execution::Skipped(reason),
        Err(f) => {
            obs.failures.push(f);
            return Execution::Ran(Box::new(obs));
        }
    };
    let making = std::time::Instant::now();
    let mut sandbox = match Sandbox::new() {
        Ok(s) => s,
        Err(e) => {
            obs.failures
                .push(Failure::new(FailureKind::Setup, e.to_string()));
            return Execution::Ran(Box::new(obs));
        }
    };
    let timeout = spec.timeout_ms.map(Duration::from_millis).unwrap_or(
        backend
            .default_timeout()
            .map_or(defaults.timeout, |t| t.max(defaults.timeout)),
    );
    let mut driver = driver::Driver {
        program: program.as_ref(),
        spec,
        sandbox: &mut sandbox,
        argv0: module
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        deadline: std::sync::Arc::new(deadline::Deadline::new(timeout)),
        timeout,
        limits: EffectiveLimits::of(spec, defaults),
        guest: None,
        server_env: None,
        invoked: program.invokes(),
        echo: defaults.echo,
        setup: Duration::ZERO,
        times: StageTimes::default(),
    };
    let made = making.elapsed();
    obs.notes = program.notes();
    let running = std::time::Instant::now();
    obs.completed = true;
    for (i, op) in spec.operations.iter().enumerate() {
        if let Err(f) = driver.operation(i, op, &mut obs).await {
            obs.failures.push(f);
            obs.not_reached = spec.operations[i + 1..]
                .iter()
                .map(|o| o.kind().to_string())
                .collect();
            // A failed last operation (the final `wait`) still lets the final
            // expectations be checked: every mismatch is reported, not the first.
            obs.completed = i + 1 == spec.operations.len();
            break;
        }
    }
    // A guest still running after a failure is stopped here (dropping it stops it).
    if let Some(mut guest) = driver.guest.take() {
        obs.record_streams(&guest);
        guest.stop();
        obs.record_trace(&guest);
    }
    if let Some(end) = &obs.end
        && let Some(why) = backend.runtime_error(end, &obs.stderr)
    {
        obs.failures
            .insert(0, Failure::new(FailureKind::Runtime, why));
    }
    obs.setup = driver.setup;
    let waited = driver.deadline.waited();
    if !waited.is_zero() {
        obs.notes.push(format!(
            "the machine was busy: this test waited {:.1} s for a CPU, which does not count \
             against its {} ms timeout",
            waited.as_secs_f64(),
            timeout.as_millis()
        ));
    }
    let ran = running.elapsed();
    obs.times.run = ran.saturating_sub(driver.times.sandbox + driver.times.start);
    obs.times.sandbox = made + driver.times.sandbox;
    obs.times.start = driver.times.start;
    for (path, expected) in &spec.files {
        let hash = matches!(expected, crate::spec::FileExpectation::Sha256(_));
        obs.files
            .push((path.clone(), sandbox.file_state(path, hash)));
    }
    if let Some(look) = after_run {
        look(&sandbox);
    }
    for f in &mut obs.failures {
        f.message = sandbox.redact(&f.message);
    }
    if backend.host_paths_in_output() {
        let pairs = sandbox.redactions();
        obs.stdout = redact_bytes(std::mem::take(&mut obs.stdout), &pairs);
        obs.stderr = redact_bytes(std::mem::take(&mut obs.stderr), &pairs);
    }
    if let Some(argv) = &mut obs.command {
        for word in argv.iter_mut() {
            *word = sandbox.redact(word);
        }
    }
    obs.redactions = sandbox.redactions();
    let removing = std::time::Instant::now();
    drop(sandbox);
    obs.times.teardown = removing.elapsed();
    Execution::Ran(Box::new(obs))
}

/// `bytes` with every `from` of `pairs` replaced by its `to`, in order (bytes
/// that are not UTF-8 are matched as bytes).
fn redact_bytes(bytes: Vec<u8>, pairs: &[(String, String)]) -> Vec<u8> {
    pairs.iter().fold(bytes, |bytes, (from, to)| {
        if from.is_empty() || !bytes.windows(from.len()).any(|w| w == from.as_bytes()) {
            return bytes;
        }
        match regex::bytes::Regex::new(&regex::escape(from)) {
            Ok(re) => re.replace_all(&bytes, to.as_bytes()).into_owned(),
            Err(_) => bytes,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::redact_bytes;

    #[test]
    fn sandbox_paths_in_a_runtime_output_are_replaced() {
        let pairs = vec![
            (
                "/tmp/run-1/t-2/0-data.dir".to_string(),
                "suite/data.dir".to_string(),
            ),
            ("/tmp/run-1/t-2".to_string(), "<sandbox>".to_string()),
        ];
        let out = b"cannot open /tmp/run-1/t-2/0-data.dir/x: \xff /tmp/run-1/t-2/module/m.wasm\n"
            .to_vec();
        assert_eq!(
            redact_bytes(out, &pairs),
            b"cannot open suite/data.dir/x: \xff <sandbox>/module/m.wasm\n".to_vec()
        );
        assert_eq!(
            redact_bytes(b"nothing".to_vec(), &pairs),
            b"nothing".to_vec()
        );
    }
}
