//! What the test targets share: a `main` for `harness = false` targets whose
//! tests can be *ignored with a reason* when something they need is missing
//! (libtest's `#[test]` cannot decide that at run time), the checks for those
//! prerequisites, and running the binary under a hang guard.
//!
//! A `harness = false` target lists its tests in [`tests!`]; libtest's
//! arguments work as usual (a filter, `--exact`, `--skip`, `--list`,
//! `--ignored`, `--include-ignored`, `--test-threads`, `--format terse` as
//! `cargo nextest` uses it). A test is a `fn()` that panics to fail (as a
//! `#[test]` does) or a `fn() -> TestResult` that may return [`ignored`]. A
//! `#[test]` attribute does nothing in such a target: `tests/host/targets.rs`
//! checks that none is left there.

// Each target uses a part of this module.
#![allow(dead_code, unused_macros)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub use libtest_mimic::{Completion, Failed};

/// How a test ended: ran to completion, ignored with a reason, or failed.
pub type TestResult = Result<Completion, Failed>;

/// The test did not run, for this reason (printed as `ignored (REASON)`).
pub fn ignored(reason: impl ToString) -> TestResult {
    Ok(Completion::ignored_with(reason))
}

/// What a test function returns: nothing (it panics to fail) or a [`TestResult`].
pub trait Ending {
    fn into_result(self) -> TestResult;
}

impl Ending for () {
    fn into_result(self) -> TestResult {
        Ok(Completion::Completed)
    }
}

impl Ending for TestResult {
    fn into_result(self) -> TestResult {
        self
    }
}

/// One test, named as libtest names it (`module::function`).
pub fn trial<E: Ending + 'static>(name: &str, test: fn() -> E) -> libtest_mimic::Trial {
    libtest_mimic::Trial::ignorable_test(name.replace(' ', ""), move || test().into_result())
}

/// Runs the tests with libtest's command line and exits with its status.
pub fn run(trials: Vec<libtest_mimic::Trial>) -> ! {
    // SAFETY: first thing in main; no other thread runs yet.
    unsafe { wasi_conform::quiet_error_backtraces() };
    let args = libtest_mimic::Arguments::from_args();
    let conclusion = libtest_mimic::run(&args, trials);
    wasi_conform::sandbox::remove_run_dir();
    conclusion.exit()
}

/// `fn main` running the listed test functions (paths, such as `wit::matches`).
macro_rules! tests {
    ($($test:path),+ $(,)?) => {
        fn main() {
            common::run(vec![$(common::trial(stringify!($test), $test)),+])
        }
    };
}

// ---------------------------------------------------------------------------
// Prerequisites: each gives what the test needs, or why it cannot run.

/// The reason a test that needs the official suite is ignored without it.
pub const NO_WASI_TESTSUITE: &str =
    "set WASI_TESTSUITE to a checkout of WebAssembly/wasi-testsuite prod/testsuite-base";

/// The official suite's checkout, from `WASI_TESTSUITE` (relative to the crate
/// root, where cargo runs tests). Unset: the reason to ignore the test. Set to
/// something else than a checkout: a panic (the test fails), since it was asked for.
pub fn wasi_testsuite() -> Result<PathBuf, String> {
    let root = match std::env::var_os("WASI_TESTSUITE") {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => return Err(NO_WASI_TESTSUITE.to_string()),
    };
    assert!(
        root.join("tests").is_dir() && root.join("adapters").is_dir(),
        "WASI_TESTSUITE={} is not a checkout of WebAssembly/wasi-testsuite prod/testsuite-base \
         (it has no tests/ and adapters/ directories)",
        root.display()
    );
    Ok(root)
}

/// Whether a Python 3 is at hand as wasi-conform looks for one: `PYTHON` set,
/// or `python3` on `PATH`; else why not.
pub fn python() -> Result<(), String> {
    if std::env::var_os("PYTHON").is_some_and(|v| !v.is_empty()) {
        return Ok(());
    }
    match on_path("python3") {
        Some(_) => Ok(()),
        None => Err(
            "python3 is not on PATH; install Python 3 (`apt-get install python3`) \
             or set PYTHON to its command"
                .to_string(),
        ),
    }
}

/// `program` as found on `PATH`, if it is there and executable.
pub fn on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

// ---------------------------------------------------------------------------
// Running the binary.

/// A run that takes longer than this is hung: the test fails instead of waiting.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Runs `command` to its end, its stdout and stderr captured (`Stdio::piped()`
/// must be set by the caller), and panics if it has not ended, and closed its
/// output, within [`HANG_GUARD`] (killing it). It waits on events (the exit,
/// each pipe's end), not in steps.
pub fn output_within_guard(mut command: Command) -> Output {
    use std::io::Read;
    enum Event {
        Exit(std::io::Result<std::process::ExitStatus>),
        Stdout(Vec<u8>),
        Stderr(Vec<u8>),
    }
    let mut child = command.spawn().expect("the program starts");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    // Both pipes are drained while it runs: a pipe left unread blocks a child
    // that writes more than it holds, which would look like a hang.
    let drain = |pipe: Option<Box<dyn Read + Send>>, wrap: fn(Vec<u8>) -> Event| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            let _ = tx.send(wrap(bytes));
        });
    };
    drain(child.stdout.take().map(|p| Box::new(p) as _), Event::Stdout);
    drain(child.stderr.take().map(|p| Box::new(p) as _), Event::Stderr);
    std::thread::spawn(move || {
        let _ = tx.send(Event::Exit(child.wait()));
    });
    let deadline = std::time::Instant::now() + HANG_GUARD;
    let (mut status, mut stdout, mut stderr) = (None, None, None);
    while status.is_none() || stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(Event::Exit(s)) => status = Some(s.expect("wait for the program")),
            Ok(Event::Stdout(b)) => stdout = Some(b),
            Ok(Event::Stderr(b)) => stderr = Some(b),
            Err(_) => {
                if status.is_none() {
                    // SAFETY: kill(2) on our child, not yet reaped (its waiter
                    // has not reported).
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                }
                panic!("{command:?} did not end within {HANG_GUARD:?}");
            }
        }
    }
    Output {
        status: status.expect("the loop ends with the exit"),
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
    }
}

/// The crate's root (where cargo runs the tests).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
