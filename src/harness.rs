//! The [`Harness`]: the one API the CLI and the `cargo test` target share. It runs
//! a discovered test through spec → sandbox → run → check and returns a
//! [`TestOutcome`].
//!
//! ```no_run
//! use wasi_conform::{discover, Harness, HarnessOptions};
//! let harness = Harness::new(HarnessOptions::default()).unwrap();
//! let suites = discover::discover(&["suites".into()]).unwrap();
//! let outcome = harness.run_test(&suites[0], &suites[0].tests[0]);
//! println!("{}", if outcome.passed() { "ok".to_string() } else { outcome.message() });
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::check::{self, Failure, FailureKind, GuestEnd};
use crate::discover::{Suite, TestCase};
use crate::run::{Observation, Runtime, RuntimeConfig};
use crate::spec::{Spec, StreamMatcher};

/// Threads a test's filesystem calls may use at once (tokio's blocking pool).
const MAX_BLOCKING_THREADS: usize = 4;

/// How the harness runs tests.
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// Limits where specs set none.
    pub runtime: RuntimeConfig,
    /// Colour diffs (for a terminal).
    pub color: bool,
    /// Root of golden files (`expected/SUITE_PATH/NAME.stdout|.stderr`); used when it exists.
    pub expected_dir: Option<PathBuf>,
    /// Bless mode: write actual output into golden files instead of comparing.
    pub bless: bool,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        HarnessOptions {
            runtime: RuntimeConfig::default(),
            color: false,
            expected_dir: Some(PathBuf::from("expected")),
            bless: false,
        }
    }
}

/// The result of one test.
#[derive(Debug, Clone, Default)]
pub struct TestOutcome {
    /// Every way the test failed; empty = passed.
    pub failures: Vec<Failure>,
    /// Operations a failure kept from running.
    pub not_reached: Vec<String>,
    pub duration: Duration,
    /// How the last run ended, if it ran.
    pub end: Option<GuestEnd>,
    /// The last run's stdout and stderr (as far as the output limit kept them).
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Whether output past the limit was dropped from stdout / stderr.
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// Golden files written in bless mode.
    pub blessed: Vec<PathBuf>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
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
}

/// Why the harness could not start.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("cannot create the wasmtime engine: {0}")]
    Engine(String),
}

/// Runs tests. Create one per process and share it (it owns the engine).
pub struct Harness {
    runtime: Runtime,
    options: HarnessOptions,
}

impl Harness {
    pub fn new(options: HarnessOptions) -> Result<Harness, HarnessError> {
        let runtime = Runtime::new(options.runtime.clone())
            .map_err(|e| HarnessError::Engine(format!("{e:#}")))?;
        Ok(Harness { runtime, options })
    }

    /// Runs one test to the end. Never panics on bad input; a panic inside the
    /// harness itself becomes this test's failure.
    pub fn run_test(&self, suite: &Suite, test: &TestCase) -> TestOutcome {
        let start = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run_test_inner(suite, test)
        }));
        let mut outcome = result.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            TestOutcome {
                failures: vec![Failure::new(
                    FailureKind::Setup,
                    format!("internal error in wasi-conform while running this test (a bug; please report it): {what}"),
                )],
                ..TestOutcome::default()
            }
        });
        outcome.duration = start.elapsed();
        outcome
    }

    fn run_test_inner(&self, suite: &Suite, test: &TestCase) -> TestOutcome {
        let fail = |kind, message: String| TestOutcome {
            failures: vec![Failure::new(kind, message)],
            ..TestOutcome::default()
        };
        if let Some(problem) = &test.problem {
            return fail(FailureKind::Spec, problem.clone());
        }
        if let Some(problem) = &suite.manifest_error {
            return fail(FailureKind::Spec, problem.clone());
        }
        let spec = match &test.spec_file {
            Some(file) => match Spec::from_file(file) {
                Ok(s) => s,
                Err(e) => return fail(FailureKind::Spec, e.to_string()),
            },
            None => Spec::default_for(&suite.dir),
        };
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                return fail(
                    FailureKind::Setup,
                    format!("cannot start an async runtime: {e}"),
                );
            }
        };
        let obs = rt.block_on(self.runtime.run(&test.module, suite.version(), &spec));
        drop(rt);
        self.check(suite, test, &spec, obs)
    }

    /// Checks what the run left against the spec's final expectations.
    fn check(&self, suite: &Suite, test: &TestCase, spec: &Spec, obs: Observation) -> TestOutcome {
        let color = self.options.color;
        let mut failures = obs.failures;
        let mut streams_shown = false;
        let mut blessed = Vec::new();
        if obs.completed {
            let streams = [
                ("stdout", &spec.stdout, &obs.stdout, obs.stdout_truncated),
                ("stderr", &spec.stderr, &obs.stderr, obs.stderr_truncated),
            ];
            for (name, inline, actual, truncated) in streams {
                let convention = self.golden_file(suite, test, name);
                let matcher = match inline {
                    Some(m) => Some(m.clone()),
                    None => convention
                        .filter(|p| p.is_file() || (self.options.bless && !actual.is_empty()))
                        .map(StreamMatcher::File),
                };
                let Some(matcher) = matcher else { continue };
                if let (true, StreamMatcher::File(path)) = (self.options.bless, &matcher) {
                    match bless(path, actual, &obs.redactions) {
                        Ok(()) => blessed.push(path.clone()),
                        Err(e) => failures.push(Failure::new(
                            FailureKind::Setup,
                            format!("cannot bless golden file {}: {e}", path.display()),
                        )),
                    }
                    continue;
                }
                let golden = match &matcher {
                    StreamMatcher::File(path) => match std::fs::read(path) {
                        Ok(bytes) => Some(bytes),
                        Err(e) => {
                            failures.push(Failure::new(
                                FailureKind::Spec,
                                format!(
                                    "golden file {} for {name} cannot be read: {e}",
                                    path.display()
                                ),
                            ));
                            continue;
                        }
                    },
                    _ => None,
                };
                if let Some(mut f) =
                    check::stream(name, &matcher, golden.as_deref(), actual, truncated, color)
                {
                    if golden.is_some() {
                        f.message.push_str(
                            "\nto accept the actual output as the golden file, rerun in bless mode \
                             (`--bless`, or WASI_CONFORM_BLESS=1 under cargo test)",
                        );
                    }
                    streams_shown = true;
                    failures.push(f);
                }
            }
            for (path, state) in &obs.files {
                let expected = spec.files.get(path).and_then(|e| e.as_deref());
                if let Some(f) = check::file(path, expected, state, color) {
                    failures.push(f);
                }
            }
            if let (Some(invoke), Some(GuestEnd::Returned(values))) = (&spec.invoke, &obs.end)
                && let Some(expected) = &invoke.result
                && let Some(f) = check::values(&invoke.call(), expected, values)
            {
                failures.push(f);
            }
        }
        // Show what the guest printed when that helps explain a failure.
        let ran = obs.end.is_some() || !obs.stdout.is_empty() || !obs.stderr.is_empty();
        if !failures.is_empty() && !streams_shown && ran {
            for (name, bytes) in [("stdout", &obs.stdout), ("stderr", &obs.stderr)] {
                if !bytes.is_empty() {
                    failures.push(Failure::new(
                        FailureKind::Stream,
                        format!("(the guest's {name}, for context)\n{}", excerpt(bytes)),
                    ));
                }
            }
        }
        TestOutcome {
            failures,
            not_reached: obs.not_reached,
            duration: Duration::ZERO,
            end: obs.end,
            stdout: obs.stdout,
            stderr: obs.stderr,
            stdout_truncated: obs.stdout_truncated,
            stderr_truncated: obs.stderr_truncated,
            blessed,
        }
    }

    /// `expected/SUITE_PATH/NAME.stdout` (or `.stderr`), whether it exists or not.
    fn golden_file(&self, suite: &Suite, test: &TestCase, stream: &str) -> Option<PathBuf> {
        let root = self.options.expected_dir.as_ref()?;
        let rel = suite.path.trim_start_matches('/');
        Some(root.join(rel).join(format!("{}.{stream}", test.name)))
    }
}

/// Writes a golden file: the actual output with sandbox paths redacted, so no
/// machine-specific path ends up in it.
fn bless(
    path: &std::path::Path,
    actual: &[u8],
    redactions: &[(String, String)],
) -> std::io::Result<()> {
    let bytes = match std::str::from_utf8(actual) {
        Ok(text) => redactions
            .iter()
            .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
            .into_bytes(),
        Err(_) => actual.to_vec(),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)
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

/// The end of a long output, made visible.
fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 2048;
    let (skipped, tail) = if bytes.len() > MAX {
        (bytes.len() - MAX, &bytes[bytes.len() - MAX..])
    } else {
        (0, bytes)
    };
    let text = String::from_utf8_lossy(tail);
    let mut out = String::new();
    if skipped > 0 {
        out.push_str(&format!("    ... ({skipped} earlier bytes not shown)\n"));
    }
    for line in text.split_inclusive('\n') {
        out.push_str("    ");
        out.push_str(&check::visible(line));
        out.push('\n');
    }
    out.trim_end().to_string()
}
