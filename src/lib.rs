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
pub mod report;
pub mod run;
pub mod runner;
pub mod sandbox;
pub mod spec;
pub mod stdio;
pub mod trace;
pub mod watchdog;

pub use harness::{Harness, HarnessError, HarnessOptions, TestOutcome};
