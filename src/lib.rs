//! wasi-conform: a sandboxed test harness and conformance runner for WASI modules.
//!
//! The flow runs one way, a module per stage:
//! [`discover`] → [`spec`] → [`sandbox`] → [`run`] → [`check`] → [`report`],
//! with [`trace`] recording each guest's host calls on the embedded runtime.
//! [`Harness`] ties them together for the CLI and the `cargo test` target.
//!
//! ```no_run
//! use std::sync::Arc;
//! use wasi_conform::{discover, Harness, HarnessOptions};
//!
//! let harness = Arc::new(Harness::new(HarnessOptions::default())?);
//! let suites = discover::discover(&["suites".into()])?;
//! for suite in &suites {
//!     for test in &suite.tests {
//!         let outcome = harness.run_test(suite, test);
//!         println!("{} {}", suite.test_name(test), if outcome.passed() { "ok" } else { "FAILED" });
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cache;
pub mod check;
pub mod coverage;
pub mod differential;
pub mod discover;
pub mod expectations;
pub mod features;
pub mod files;
pub mod harness;
pub mod http;
pub mod module;
pub mod netns;
pub mod outcome;
pub mod report;
pub mod run;
pub mod runner;
pub mod sandbox;
pub mod spec;
pub mod stdio;
pub mod text;
pub mod trace;
pub mod watchdog;

pub use harness::{Harness, HarnessError, HarnessOptions, TestOutcome};

/// Turns off the stack backtraces that errors capture (`RUST_LIB_BACKTRACE=0`)
/// unless `RUST_LIB_BACKTRACE` is set: a guest's failing host calls create
/// errors by the thousand, and with `RUST_BACKTRACE=1` in the environment (as
/// many CI setups have) each captured a backtrace, and the call trace resolved
/// it to symbols: the official suite ran three times slower. Panics keep their
/// backtraces (`RUST_BACKTRACE` still governs those).
///
/// # Safety
///
/// It changes the process environment: call it first thing in `main`, before
/// any other thread starts.
///
/// ```
/// // First thing in `main`. SAFETY: no other thread runs yet.
/// unsafe { wasi_conform::quiet_error_backtraces() };
/// ```
pub unsafe fn quiet_error_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: the caller guarantees no other thread reads the environment.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}
