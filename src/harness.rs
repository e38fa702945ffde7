//! The [`Harness`]: the one API the CLI and the `cargo test` target share. It runs
//! a discovered test through spec → sandbox → run → check on one of its
//! runtimes (backends) and returns a [`TestOutcome`].
//!
//! ```no_run
//! use wasi_conform::{discover, Harness, HarnessOptions};
//! let harness = Harness::new(HarnessOptions::default()).unwrap();
//! let suites = discover::discover(&["suites".into()]).unwrap();
//! let outcome = harness.run_test(&suites[0], &suites[0].tests[0]);
//! println!("{}", if outcome.passed() { "ok".to_string() } else { outcome.message() });
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::check::{self, Failure, FailureKind, FileState, GuestEnd};
use crate::discover::{Suite, TestCase};
use crate::run::embedded::Embedded;
use crate::run::{
    Backend, CompileConfig, Execution, Observation, RunDefaults, RuntimeInfo, StageTimes,
};
use crate::spec::{FileExpectation, Spec, StreamMatcher};

/// Threads a test's filesystem calls may use at once (tokio's blocking pool).
const MAX_BLOCKING_THREADS: usize = 4;
/// How long a test's end waits for its runtime's blocking calls to finish
/// before leaving them behind (a call stuck for good, such as opening a FIFO).
const BLOCKING_CALLS_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// How the harness runs tests.
#[derive(Debug, Clone, Default)]
pub struct HarnessOptions {
    /// Limits where specs set none.
    pub defaults: RunDefaults,
    /// How the embedded runtime compiles and caches modules.
    pub compile: CompileConfig,
    /// Colour diffs (for a terminal).
    pub color: bool,
    /// Root of conventional golden files (`DIR/SUITE_PATH/NAME.stdout|.stderr`,
    /// SUITE_PATH relative to DIR's parent); `None` = the `expected/` directory of
    /// the project holding the suite (see [`golden_location`]).
    pub expected_dir: Option<PathBuf>,
    /// Wasm proposals enabled for every test (`--wasm-features`).
    pub features: crate::features::FeatureSet,
    /// Bless mode: write actual output into golden files instead of comparing.
    pub bless: bool,
    /// Keep each test's whole output in its outcome (else at most
    /// [`KEPT_OUTPUT_BYTES`] of each stream, so a run's memory stays small).
    pub keep_output: bool,
    /// Show every test's host-call trace, passing ones too (`--trace`); a
    /// failed test's and a `debug: true` spec's are shown anyway.
    pub trace_all: bool,
    /// Keep every test's trace in its outcome, shown or not (`--trace-dir`);
    /// else a passing test keeps only its per-function counts.
    pub keep_traces: bool,
}

/// How much of each stream a finished test keeps (unless
/// [`HarnessOptions::keep_output`]): its start, for reports and comparisons.
pub const KEPT_OUTPUT_BYTES: usize = 64 * 1024;

/// A stream of a finished test: its first bytes (or all of them), its length
/// and digest (to compare whole streams across runtimes), and whether the
/// output limit cut it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The stream, or its first [`KEPT_OUTPUT_BYTES`].
    pub bytes: Vec<u8>,
    /// The whole stream's length (as captured).
    pub len: usize,
    /// BLAKE3 of the whole stream (as captured).
    pub digest: [u8; 32],
    /// Output past the limit was dropped while the guest ran.
    pub truncated: bool,
}

impl Output {
    /// Keeps `bytes` (all of it, or its start).
    pub fn new(mut bytes: Vec<u8>, truncated: bool, keep_all: bool) -> Output {
        let len = bytes.len();
        let digest = *blake3::hash(&bytes).as_bytes();
        if !keep_all && bytes.len() > KEPT_OUTPUT_BYTES {
            bytes.truncate(KEPT_OUTPUT_BYTES);
            bytes.shrink_to_fit();
        }
        Output {
            bytes,
            len,
            digest,
            truncated,
        }
    }

    /// Whether all of the stream is kept.
    pub fn complete(&self) -> bool {
        self.bytes.len() == self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The result of one test on one runtime.
#[derive(Debug, Clone, Default)]
pub struct TestOutcome {
    /// Every way the test failed; empty = passed.
    pub failures: Vec<Failure>,
    /// Why the runtime did not run the test, if it did not.
    pub skipped: Option<String>,
    /// Operations a failure kept from running.
    pub not_reached: Vec<String>,
    pub duration: Duration,
    /// How the last run ended, if it ran.
    pub end: Option<GuestEnd>,
    /// The last run's stdout and stderr, as kept after the test (see [`Output`]).
    pub stdout: Output,
    pub stderr: Output,
    /// Golden files written in bless mode.
    pub blessed: Vec<PathBuf>,
    /// What the harness wants the user to know about how the test ran (e.g. a
    /// compiler switched for a wasm feature).
    pub notes: Vec<String>,
    /// Of `duration`, the time spent preparing the sandbox (copying fixtures),
    /// which does not count against the timeout.
    pub setup: Duration,
    /// Of `duration`, the time of each stage (see [`StageTimes`]).
    pub times: StageTimes,
    /// The last run's host calls (embedded runtime): the kept calls when the
    /// trace is shown or kept, else only the per-function counts.
    pub trace: Option<crate::trace::Trace>,
    /// Whether reports show the trace: the test failed, its spec says
    /// `debug: true`, or `--trace`.
    pub show_trace: bool,
    /// One-line hints drawn from a failed test's trace.
    pub hints: Vec<String>,
    /// The last run's command line, when an external runtime ran it (sandbox
    /// paths replaced).
    pub command: Option<Vec<String>>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    fn failed(kind: FailureKind, message: String) -> TestOutcome {
        TestOutcome {
            failures: vec![Failure::new(kind, message)],
            ..TestOutcome::default()
        }
    }

    /// The failure report: every failure, then what was not reached.
    pub fn message(&self) -> String {
        let n = self.failures.len();
        let mut parts: Vec<String> = self
            .failures
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if n > 1 {
                    format!("[{}/{n}] {}", i + 1, f.message)
                } else {
                    f.message.clone()
                }
            })
            .collect();
        if !self.not_reached.is_empty() {
            parts.push(format!("not reached: {}", self.not_reached.join(", ")));
        }
        parts.join("\n\n")
    }

    /// The runtime's command line as a shell would take it, when an external
    /// runtime ran the test.
    pub fn command_line(&self) -> Option<String> {
        let argv = self.command.as_ref()?;
        Some(
            argv.iter()
                .map(|w| crate::text::shell_word(w))
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// The hints and the host-call trace as shown under a test, when shown:
    /// `hint: ...` lines, then one line per call.
    pub fn trace_text(&self) -> Option<String> {
        if !self.show_trace {
            return None;
        }
        let mut out: String = self.hints.iter().map(|h| format!("hint: {h}\n")).collect();
        match &self.trace {
            Some(trace) => out.push_str(&trace.render_at_most(SHOWN_CALLS.0, SHOWN_CALLS.1)),
            None => out.push_str(TRACE_UNAVAILABLE),
        }
        Some(out)
    }

    /// The JSON report's `trace` field, when the trace is shown.
    pub fn trace_json(&self) -> Option<serde_json::Value> {
        if !self.show_trace {
            return None;
        }
        Some(match &self.trace {
            Some(trace) => trace.to_json(&self.hints),
            None => serde_json::json!({ "unavailable": TRACE_UNAVAILABLE.trim_end() }),
        })
    }
}

/// The most calls shown under a test (its first and its last kept calls);
/// `--trace-dir` files and the JSON report hold all the kept ones.
pub const SHOWN_CALLS: (usize, usize) = (40, 60);

/// What a shown trace says for a test whose runtime does not trace host calls.
const TRACE_UNAVAILABLE: &str = "host calls: not traced (this runtime runs outside wasi-conform; \
     only the embedded runtime traces the calls a guest makes)\n";

/// Why the harness could not start.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("cannot create the wasmtime engine: {0}")]
    Engine(String),
}

/// Runs tests. Create one per process and share it (it owns the engines).
pub struct Harness {
    backends: Vec<Arc<dyn Backend>>,
    infos: Vec<Arc<RuntimeInfo>>,
    options: HarnessOptions,
    /// The specs [`Harness::prepare`] parsed (or why they do not parse), by
    /// spec file, so that running the tests does not parse them again.
    prepared: std::sync::Mutex<std::collections::HashMap<PathBuf, Result<Spec, String>>>,
}

impl Harness {
    /// A harness with the embedded runtime only.
    pub fn new(options: HarnessOptions) -> Result<Harness, HarnessError> {
        let embedded = Embedded::new(options.compile.clone())
            .map_err(|e| HarnessError::Engine(format!("{e:#}")))?;
        Ok(Harness::with_backends(options, vec![Arc::new(embedded)]))
    }

    /// A harness running tests on these runtimes (at least one).
    pub fn with_backends(options: HarnessOptions, backends: Vec<Arc<dyn Backend>>) -> Harness {
        assert!(!backends.is_empty(), "a harness needs a runtime");
        let infos = backends
            .iter()
            .map(|b| Arc::new(b.info().clone()))
            .collect();
        Harness {
            backends,
            infos,
            options,
            prepared: Default::default(),
        }
    }

    /// The runtimes' names and versions, in the order given.
    pub fn runtimes(&self) -> &[Arc<RuntimeInfo>] {
        &self.infos
    }

    /// What the runtimes found wrong without failing a test (see
    /// [`Backend::warnings`]), to be shown after a run.
    pub fn runtime_warnings(&self) -> Vec<String> {
        self.backends.iter().flat_map(|b| b.warnings()).collect()
    }

    /// How many runtimes run each test.
    pub fn runtime_count(&self) -> usize {
        self.backends.len()
    }

    /// Lets each runtime get ready for the tests it will run (an external
    /// runtime computes all their command lines at once). Tests whose spec does
    /// not parse are left out here; running them reports the error.
    pub fn prepare(&self, plan: &[crate::runner::PlannedTest]) {
        for (i, backend) in self.backends.iter().enumerate() {
            if !backend.prepares() {
                continue;
            }
            let mut prepared = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
            let tests: Vec<(PathBuf, Option<crate::discover::WasiVersion>, Spec)> = plan
                .iter()
                .filter(|p| p.runtime == i && p.expectation.skip.is_none())
                .filter_map(|p| {
                    let spec = match &p.test.spec_file {
                        Some(file) => prepared
                            .entry(file.clone())
                            .or_insert_with(|| Spec::from_file(file).map_err(|e| e.to_string()))
                            .clone()
                            .ok()?,
                        None => Spec::default_for(&p.suite.dir),
                    };
                    Some((p.test.module.clone(), p.suite.version(), spec))
                })
                .collect();
            drop(prepared);
            let refs: Vec<(&Path, Option<crate::discover::WasiVersion>, &Spec)> =
                tests.iter().map(|(m, v, s)| (m.as_path(), *v, s)).collect();
            backend.prepare(&refs);
        }
    }

    /// Runs one test on the first runtime.
    pub fn run_test(&self, suite: &Suite, test: &TestCase) -> TestOutcome {
        self.run_test_on(0, suite, test)
    }

    /// Runs one test on runtime `runtime` (an index into [`Harness::runtimes`]).
    /// Never panics on bad input; a panic inside the harness itself becomes this
    /// test's failure.
    pub fn run_test_on(&self, runtime: usize, suite: &Suite, test: &TestCase) -> TestOutcome {
        let start = Instant::now();
        let backend = self.backends[runtime].as_ref();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run_test_inner(backend, suite, test)
        }));
        let mut outcome = result.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            TestOutcome::failed(
                FailureKind::Setup,
                format!("internal error in wasi-conform while running this test (a bug; please report it): {what}"),
            )
        });
        outcome.duration = start.elapsed();
        outcome
    }

    fn run_test_inner(&self, backend: &dyn Backend, suite: &Suite, test: &TestCase) -> TestOutcome {
        if let Some(problem) = &test.problem {
            return TestOutcome::failed(FailureKind::Spec, problem.clone());
        }
        if let Some(problem) = &suite.manifest_error {
            return TestOutcome::failed(FailureKind::Spec, problem.clone());
        }
        let mut spec = match &test.spec_file {
            Some(file) => match self.spec_of(file) {
                Ok(s) => s,
                Err(e) => return TestOutcome::failed(FailureKind::Spec, e),
            },
            None => Spec::default_for(&suite.dir),
        };
        if let Some(m) = &suite.manifest {
            spec.features.extend(m.features.iter());
        }
        self.run_spec(
            backend,
            &test.module,
            suite.version(),
            spec,
            Some((suite, test)),
            None,
        )
    }

    /// A test's spec: as [`Harness::prepare`] parsed it, else parsed now.
    fn spec_of(&self, file: &Path) -> Result<Spec, String> {
        let prepared = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        match prepared.get(file) {
            Some(parsed) => parsed.clone(),
            None => {
                drop(prepared);
                Spec::from_file(file).map_err(|e| e.to_string())
            }
        }
    }

    /// Runs `module` under a spec built by the caller (the command line's ad-hoc
    /// runs) on runtime `runtime`, and checks it against that spec (no
    /// conventional golden files). `after_run` sees the sandbox before it is removed.
    pub fn run_module(
        &self,
        runtime: usize,
        module: &Path,
        spec: Spec,
        after_run: Option<&mut dyn FnMut(&crate::sandbox::Sandbox)>,
    ) -> TestOutcome {
        let start = Instant::now();
        let backend = self.backends[runtime].as_ref();
        let mut outcome = self.run_spec(backend, module, None, spec, None, after_run);
        outcome.duration = start.elapsed();
        outcome
    }

    fn run_spec(
        &self,
        backend: &dyn Backend,
        module: &Path,
        version: Option<crate::discover::WasiVersion>,
        mut spec: Spec,
        test: Option<(&Suite, &TestCase)>,
        after_run: Option<&mut dyn FnMut(&crate::sandbox::Sandbox)>,
    ) -> TestOutcome {
        spec.features.extend(self.options.features.iter());
        // A test that may bind sockets gets a network of its own (loopback only),
        // entered before its async runtime starts so that everything it runs is inside.
        let mut notes = Vec::new();
        let network =
            Self::uses_network(&spec).then(|| match crate::netns::PrivateNetwork::enter() {
                Ok(guard) => Some(guard),
                Err(e) => {
                    notes.push(format!(
                        "no private network namespace ({e}): sockets the guest binds to the \
                     unspecified address are reachable from other hosts while it runs"
                    ));
                    None
                }
            });
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                return TestOutcome::failed(
                    FailureKind::Setup,
                    format!("cannot start an async runtime: {e}"),
                );
            }
        };
        let execution = rt.block_on(crate::run::execute_with(
            backend,
            &self.options.defaults,
            module,
            version,
            &spec,
            after_run,
        ));
        let removing = Instant::now();
        // A blocking-pool thread may still be stuck in a call that never ends
        // (the guest opened a FIFO in a fixture used in place, and the timeout
        // stopped it there): give such calls a moment, then leave them behind
        // rather than wait for them (dropping the runtime would wait forever).
        rt.shutdown_timeout(BLOCKING_CALLS_GRACE);
        drop(network);
        let dropped = removing.elapsed();
        let mut outcome = match execution {
            Execution::Skipped(reason) => TestOutcome {
                skipped: Some(reason),
                ..TestOutcome::default()
            },
            Execution::Ran(obs) => {
                let mut times = obs.times;
                let checking = Instant::now();
                let mut outcome = self.check(test, &spec, *obs);
                times.check = checking.elapsed();
                times.teardown += dropped;
                outcome.times = times;
                outcome
            }
        };
        if outcome.trace.is_none() {
            // No trace: an external runtime's test (said so when a trace was
            // asked for), or a guest that never ran.
            let asked = spec.debug || self.options.trace_all;
            outcome.show_trace = asked && backend.info().name != crate::run::embedded::RUNTIME_NAME;
        }
        outcome.notes.extend(notes);
        outcome
    }

    /// Checks what the run left against the spec's final expectations: every
    /// mismatch is listed (a wrong exit code does not hide a stream's), and the
    /// streams that did not fail are shown for context.
    fn check(
        &self,
        test: Option<(&Suite, &TestCase)>,
        spec: &Spec,
        obs: Observation,
    ) -> TestOutcome {
        let mut failures = obs.failures.clone();
        let mut blessed = Vec::new();
        let mut shown = [false, false];
        let mut notes = Vec::new();
        // Bless records what a *working* run printed: a run that ended
        // otherwise than the spec says writes nothing.
        let bless = self.options.bless && !failures.iter().any(|f| f.kind == FailureKind::Exit);
        if self.options.bless && !bless {
            notes.push(
                "bless wrote nothing: the run failed on its exit code or trap; fix that first"
                    .into(),
            );
        }
        if obs.completed {
            for (i, stream) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
                let matcher = match stream {
                    Stream::Stdout => &spec.stdout,
                    Stream::Stderr => &spec.stderr,
                };
                let golden = test.and_then(|(s, t)| self.golden_file(s, t, stream.name()));
                let roots = self.bless_roots(test.map(|(s, _)| s), &spec.base_dir);
                if let Some(f) =
                    self.check_stream(bless, &roots, stream, matcher, golden, &obs, &mut blessed)
                {
                    shown[i] |= f.kind == FailureKind::Stream;
                    failures.push(f);
                }
            }
            failures.extend(self.check_files(bless, spec, &obs, &mut blessed));
            if let (Some(invoke), Some(GuestEnd::Returned(values))) = (&spec.invoke, &obs.end)
                && let Some(expected) = &invoke.result
                && let Some(f) = check::values(&invoke.call(), expected, values)
            {
                failures.push(f);
            }
        }
        // Show what the guest printed when that helps explain a failure.
        let ran = obs.end.is_some() || !obs.stdout.is_empty() || !obs.stderr.is_empty();
        if !failures.is_empty() && ran {
            failures.extend(context_excerpts(&obs, shown));
        }
        let show_trace = !failures.is_empty() || spec.debug || self.options.trace_all;
        let (trace, hints) =
            self.trace_of(obs.trace, obs.timed_out, show_trace, !failures.is_empty());
        TestOutcome {
            trace,
            show_trace,
            hints,
            failures,
            skipped: None,
            not_reached: obs.not_reached,
            duration: Duration::ZERO,
            end: obs.end,
            stdout: Output::new(obs.stdout, obs.stdout_truncated, self.options.keep_output),
            stderr: Output::new(obs.stderr, obs.stderr_truncated, self.options.keep_output),
            blessed,
            notes: obs.notes.into_iter().chain(notes).collect(),
            setup: obs.setup,
            times: StageTimes::default(),
            command: obs.command,
        }
    }

    /// A test's trace as its outcome keeps it (the calls only when shown or
    /// kept), and the hints it supports when the test failed.
    fn trace_of(
        &self,
        trace: Option<crate::trace::Trace>,
        timed_out: bool,
        shown: bool,
        failed: bool,
    ) -> (Option<crate::trace::Trace>, Vec<String>) {
        let Some(mut trace) = trace else {
            return (None, Vec::new());
        };
        let hints = if failed {
            crate::trace::hints(&trace, crate::trace::HintContext { timed_out })
        } else {
            Vec::new()
        };
        if !shown && !self.options.keep_traces {
            trace.forget_calls();
        }
        (Some(trace), hints)
    }

    /// Compares every file the spec's `files` names (in bless mode, writes the
    /// `{"file": ...}` golden files instead).
    fn check_files(
        &self,
        bless: bool,
        spec: &Spec,
        obs: &Observation,
        blessed: &mut Vec<PathBuf>,
    ) -> Vec<Failure> {
        let mut failures = Vec::new();
        for (path, state) in &obs.files {
            let Some(expected) = spec.files.get(path) else {
                continue;
            };
            let golden = match expected {
                FileExpectation::File(golden) if bless => {
                    match (state, bless_file(golden, state, &spec.base_dir)) {
                        (_, Ok(())) => blessed.push(golden.clone()),
                        (_, Err(m)) => failures.push(Failure::new(
                            FailureKind::Setup,
                            format!(
                                "file {path}: cannot bless golden file {}: {m}",
                                golden.display()
                            ),
                        )),
                    }
                    continue;
                }
                FileExpectation::File(golden) => {
                    match crate::files::read_regular(golden, crate::files::MAX_DATA_BYTES) {
                        Ok(bytes) => Some(bytes),
                        Err(e) => {
                            failures.push(Failure::new(
                                FailureKind::Spec,
                                format!(
                                    "file {path}: golden file cannot be read: {e}{}",
                                    bless_hint(&e)
                                ),
                            ));
                            continue;
                        }
                    }
                }
                _ => None,
            };
            failures.extend(check::file(
                path,
                expected,
                state,
                golden.as_deref(),
                self.options.color,
            ));
        }
        failures
    }

    /// Checks (or, in bless mode, writes) one stream: against its inline
    /// expectation, else against its conventional golden file when there is one.
    #[allow(clippy::too_many_arguments)]
    fn check_stream(
        &self,
        bless: bool,
        bless_roots: &[PathBuf],
        stream: Stream,
        inline: &Option<StreamMatcher>,
        convention: Option<PathBuf>,
        obs: &Observation,
        blessed: &mut Vec<PathBuf>,
    ) -> Option<Failure> {
        let (name, actual, truncated) = match stream {
            Stream::Stdout => ("stdout", &obs.stdout, obs.stdout_truncated),
            Stream::Stderr => ("stderr", &obs.stderr, obs.stderr_truncated),
        };
        let matcher = match inline {
            Some(m) => m.clone(),
            None => convention
                .filter(|p| p.is_file() || (bless && !actual.is_empty()))
                .map(StreamMatcher::File)?,
        };
        if let (true, StreamMatcher::File(path)) = (bless, &matcher) {
            return match write_golden(path, actual, &obs.redactions, bless_roots) {
                Ok(()) => {
                    blessed.push(path.clone());
                    None
                }
                Err(e) => Some(Failure::new(
                    FailureKind::Setup,
                    format!("cannot bless golden file {}: {e}", path.display()),
                )),
            };
        }
        let golden = match &matcher {
            StreamMatcher::File(path) => {
                match crate::files::read_regular(path, crate::files::MAX_DATA_BYTES) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        return Some(Failure::new(
                            FailureKind::Spec,
                            format!(
                                "golden file for {name} cannot be read: {e}{}",
                                bless_hint(&e)
                            ),
                        ));
                    }
                }
            }
            _ => None,
        };
        let mut f = check::stream(
            name,
            &matcher,
            golden.as_deref(),
            actual,
            truncated,
            self.options.color,
        )?;
        if golden.is_some() {
            f.message.push_str(
                "\nto accept the actual output as the golden file, rerun in bless mode \
                 (`--bless`, or WASI_CONFORM_BLESS=1 under cargo test)",
            );
        }
        Some(f)
    }

    /// `EXPECTED/SUITE_PATH/NAME.stdout` (or `.stderr`), whether it exists or not.
    fn golden_file(&self, suite: &Suite, test: &TestCase, stream: &str) -> Option<PathBuf> {
        let (root, key) = golden_location(self.options.expected_dir.as_deref(), &suite.dir)?;
        Some(root.join(key).join(format!("{}.{stream}", test.name)))
    }

    /// Whether a spec lets the guest use sockets (a networking proposal), or hosts
    /// servers for it.
    fn uses_network(spec: &Spec) -> bool {
        !spec.proposals.is_empty() || !spec.servers.is_empty()
    }

    /// Where bless may write: the spec's (suite's) directory, and the suite's
    /// expected root.
    fn bless_roots(&self, suite: Option<&Suite>, spec_dir: &Path) -> Vec<PathBuf> {
        let mut roots = vec![spec_dir.to_path_buf()];
        if let Some(suite) = suite
            && let Some((root, _)) =
                golden_location(self.options.expected_dir.as_deref(), &suite.dir)
        {
            roots.push(root);
        }
        roots
    }
}

/// The root of conventional golden files for a suite directory, and the suite's
/// path under it, independent of the working directory:
/// - with an explicit `expected` directory: that directory, and the suite's path
///   relative to its parent;
/// - else the `expected/` directory of the nearest ancestor of the suite that
///   holds `expected/`, `Cargo.toml` or `.git` (the project), and the suite's
///   path relative to the project; with no such ancestor, the working
///   directory stands for the project.
///
/// A suite outside that parent is filed under its path with `..` and the root
/// left out, so golden files never land outside the expected directory. The
/// root is relative to the working directory when it lies inside it.
///
/// Remembered per expected directory, suite directory and working directory
/// (every test of a suite asks, several times): a run's answers do not change.
pub fn golden_location(expected: Option<&Path>, suite_dir: &Path) -> Option<(PathBuf, PathBuf)> {
    type Key = (Option<PathBuf>, PathBuf, PathBuf);
    type Memo = Vec<(Key, Option<(PathBuf, PathBuf)>)>;
    /// How many answers are remembered (suites in a run; the oldest go first).
    const REMEMBERED: usize = 256;
    static MEMO: std::sync::Mutex<Memo> = std::sync::Mutex::new(Vec::new());
    let key = (
        expected.map(Path::to_path_buf),
        suite_dir.to_path_buf(),
        std::env::current_dir().ok()?,
    );
    let lock = || MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, found)) = lock().iter().find(|(k, _)| *k == key) {
        return found.clone();
    }
    let found = find_golden_location(expected, suite_dir, &key.2);
    let mut memo = lock();
    if memo.len() >= REMEMBERED {
        memo.remove(0);
    }
    memo.push((key, found.clone()));
    found
}

fn find_golden_location(
    expected: Option<&Path>,
    suite_dir: &Path,
    cwd: &Path,
) -> Option<(PathBuf, PathBuf)> {
    let suite = suite_dir.canonicalize().ok()?;
    let cwd = cwd.to_path_buf();
    let cwd = cwd.canonicalize().unwrap_or(cwd);
    let (root, base) = match expected {
        Some(dir) => {
            let dir = std::path::absolute(dir).ok()?;
            let base = dir.parent().map(Path::to_path_buf).unwrap_or_default();
            let base = base.canonicalize().unwrap_or(base);
            (dir, base)
        }
        None => {
            let project = suite
                .ancestors()
                .find(|a| {
                    a.join("expected").is_dir()
                        || a.join("Cargo.toml").is_file()
                        || a.join(".git").exists()
                })
                .unwrap_or(&cwd);
            (project.join("expected"), project.to_path_buf())
        }
    };
    let root = match root.strip_prefix(&cwd) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => root,
    };
    let key: PathBuf = match suite.strip_prefix(&base) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => suite_dir
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect(),
    };
    Some((root, key))
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The guest's output, shown for context under a failure: each stream that
/// is not already shown by its own failure.
fn context_excerpts(obs: &Observation, shown: [bool; 2]) -> Vec<Failure> {
    [("stdout", &obs.stdout), ("stderr", &obs.stderr)]
        .into_iter()
        .zip(shown)
        .filter(|((_, bytes), shown)| !bytes.is_empty() && !shown)
        .map(|((name, bytes), _)| {
            Failure::new(
                FailureKind::Stream,
                format!(
                    "(the guest's {name}, for context)\n{}",
                    check::excerpt_block(bytes, "    ")
                ),
            )
        })
        .collect()
}

/// How to make a missing golden file.
fn bless_hint(e: &crate::files::FileError) -> &'static str {
    if e.is_not_found() {
        "\nto create it from the actual output, run in bless mode (`--bless`, or \
         WASI_CONFORM_BLESS=1 under cargo test)"
    } else {
        ""
    }
}

/// Writes a `files` golden file from the file the guest left.
fn bless_file(golden: &Path, state: &FileState, suite_dir: &Path) -> Result<(), String> {
    let FileState::Regular { size, head, .. } = state else {
        return Err("the guest left no regular file to copy".into());
    };
    if *size != head.len() as u64 {
        return Err(format!(
            "the file is {size} bytes, more than the {} bytes read for checking",
            check::MAX_CHECKED_BYTES
        ));
    }
    write_inside(golden, head, &[suite_dir.to_path_buf()])
}

/// Writes `bytes` to `path` if it lies inside one of `roots` (symlinks
/// followed), creating its directory.
fn write_inside(path: &Path, bytes: &[u8], roots: &[PathBuf]) -> Result<(), String> {
    if !roots.iter().any(|r| crate::files::is_inside(path, r)) {
        return Err(format!(
            "{} is outside the suite's directory and the expected directory; bless writes only there",
            path.display()
        ));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(path, bytes).map_err(|e| e.to_string())
}

/// Writes a golden file: the actual output with sandbox paths redacted, so no
/// machine-specific path ends up in it.
fn write_golden(
    path: &Path,
    actual: &[u8],
    redactions: &[(String, String)],
    roots: &[PathBuf],
) -> Result<(), String> {
    let bytes = match std::str::from_utf8(actual) {
        Ok(text) => redactions
            .iter()
            .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
            .into_bytes(),
        Err(_) => actual.to_vec(),
    };
    write_inside(path, &bytes, roots)
}

/// Whether bless mode may run here: never where `CI` is set.
pub fn bless_allowed() -> Result<(), String> {
    match std::env::var("CI") {
        Ok(v) if !v.is_empty() && v != "false" && v != "0" => Err(
            "bless mode refuses to run where CI is set: golden files are updated on a developer's \
             machine and committed, never written by CI"
                .into(),
        ),
        _ => Ok(()),
    }
}
