//! The verdict vocabulary: what a test's result means for the run.
//!
//! A test on one runtime ends in exactly one [`Outcome`]:
//!
//! | outcome | meaning | fails the run |
//! |---|---|---|
//! | `pass` | ran and passed | no |
//! | `fail` | ran and failed, not expected to | yes (exit 1) |
//! | `skip` | not run, for a reason (an expectation file, a runtime that cannot give what the spec needs) | no |
//! | `xfail` | failed, as an expectation file said it would | no |
//! | `xpass` | passed though expected to fail: the expectation is stale | yes (exit 1) |
//! | `error` | the runtime under test could not run the module at all (it failed its canary, gave a usage error, could not load the module): never a pass, never a conformance failure | yes (exit 2, or 1 when a test also failed) |
//! | `flaky` | failed, then passed when run again (`--retries`) | no (reported apart) |
//!
//! ```
//! use wasi_conform::outcome::{Outcome, RunStatus};
//! let outcomes = [Outcome::Pass, Outcome::Error];
//! assert_eq!(RunStatus::of(outcomes.iter()), RunStatus::Error);
//! assert_eq!(RunStatus::Error.exit_code(), 2);
//! ```

use std::fmt;

use crate::check::FailureKind;
use crate::expectations::Expected;

/// What a test's result means for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Ran and passed.
    Pass,
    /// Ran and failed, not expected to: fails the run.
    Fail,
    /// Not run, for this reason.
    Skip(String),
    /// Failed, as an expectation file said it would: does not fail the run.
    XFail,
    /// Passed though expected to fail: the expectation is stale; fails the run.
    XPass,
    /// The runtime could not run the module at all: neither a pass nor a
    /// conformance failure. The run exits 2 (1 when some test also failed).
    Error,
    /// Failed, then passed on a later attempt (`--retries`): does not fail the
    /// run, but is reported apart from the passes.
    Flaky,
}

impl Outcome {
    /// The report's spelling: the official runner's five, and `error`, `flaky`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip(_) => "skip",
            Outcome::XFail => "xfail",
            Outcome::XPass => "xpass",
            Outcome::Error => "error",
            Outcome::Flaky => "flaky",
        }
    }

    /// Parses a report's spelling (`skip` without its reason).
    pub fn parse(text: &str) -> Option<Outcome> {
        Some(match text {
            "pass" => Outcome::Pass,
            "fail" => Outcome::Fail,
            "skip" => Outcome::Skip(String::new()),
            "xfail" => Outcome::XFail,
            "xpass" => Outcome::XPass,
            "error" => Outcome::Error,
            "flaky" => Outcome::Flaky,
            _ => return None,
        })
    }

    /// Whether this outcome is a test failure that turns the run red (exit 1).
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Fail | Outcome::XPass)
    }

    /// Whether the runtime could not run the test (exit 2 unless a test failed).
    pub fn is_error(&self) -> bool {
        matches!(self, Outcome::Error)
    }

    /// Whether the test's failure is shown at the end of a run (with its rerun
    /// command): failures and errors.
    pub fn is_reported(&self) -> bool {
        self.is_failure() || self.is_error()
    }

    /// The outcome of an executed test given what was expected of it: a
    /// failure of kind [`FailureKind::Runtime`] makes it an `error` whatever
    /// was expected (a runtime that never ran the module passes and fails
    /// nothing).
    pub fn evaluate(expected: Expected, failures: &[crate::check::Failure]) -> Outcome {
        if failures.iter().any(|f| f.kind == FailureKind::Runtime) {
            return Outcome::Error;
        }
        match (expected, failures.is_empty()) {
            (Expected::Pass, true) => Outcome::Pass,
            (Expected::Pass, false) => Outcome::Fail,
            (Expected::Fail, false) => Outcome::XFail,
            (Expected::Fail, true) => Outcome::XPass,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a whole run ended, and its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// No test failed and no runtime failed: exit 0.
    Ok,
    /// A test failed (or passed against an `expected = "fail"` entry): exit 1.
    Failed,
    /// No test failed, but a runtime could not run some test: exit 2.
    Error,
}

impl RunStatus {
    /// The status of a run with these outcomes: a failure wins over an error
    /// (exit 1 says a test failed; 2 that nothing failed but something could
    /// not be judged).
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> RunStatus {
        let mut status = RunStatus::Ok;
        for o in outcomes {
            if o.is_failure() {
                return RunStatus::Failed;
            }
            if o.is_error() {
                status = RunStatus::Error;
            }
        }
        status
    }

    /// The process exit status: 0, 1 or 2.
    pub fn exit_code(self) -> u8 {
        match self {
            RunStatus::Ok => 0,
            RunStatus::Failed => 1,
            RunStatus::Error => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Failure;

    #[test]
    fn outcomes_follow_the_official_runner_and_errors_win() {
        let fail = [Failure::new(FailureKind::Exit, "x")];
        let error = [
            Failure::new(FailureKind::Exit, "exit code: expected 1, got 1"),
            Failure::new(FailureKind::Runtime, "the runtime gave a usage error"),
        ];
        assert_eq!(Outcome::evaluate(Expected::Pass, &[]), Outcome::Pass);
        assert_eq!(Outcome::evaluate(Expected::Pass, &fail), Outcome::Fail);
        assert_eq!(Outcome::evaluate(Expected::Fail, &fail), Outcome::XFail);
        assert_eq!(Outcome::evaluate(Expected::Fail, &[]), Outcome::XPass);
        assert_eq!(Outcome::evaluate(Expected::Pass, &error), Outcome::Error);
        assert_eq!(Outcome::evaluate(Expected::Fail, &error), Outcome::Error);
        assert!(Outcome::XPass.is_failure() && Outcome::Fail.is_failure());
        assert!(!Outcome::XFail.is_failure() && !Outcome::Skip(String::new()).is_failure());
        assert!(!Outcome::Error.is_failure() && Outcome::Error.is_reported());
        assert!(!Outcome::Flaky.is_failure() && !Outcome::Flaky.is_reported());
    }

    #[test]
    fn run_status_failure_beats_error_beats_ok() {
        let of = |o: &[Outcome]| RunStatus::of(o.iter()).exit_code();
        assert_eq!(of(&[]), 0);
        assert_eq!(of(&[Outcome::Pass, Outcome::Flaky, Outcome::XFail]), 0);
        assert_eq!(of(&[Outcome::Pass, Outcome::Error]), 2);
        assert_eq!(of(&[Outcome::Error, Outcome::Fail]), 1);
        assert_eq!(of(&[Outcome::XPass]), 1);
    }

    #[test]
    fn every_spelling_parses_back() {
        for o in [
            Outcome::Pass,
            Outcome::Fail,
            Outcome::Skip(String::new()),
            Outcome::XFail,
            Outcome::XPass,
            Outcome::Error,
            Outcome::Flaky,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("ok"), None);
    }
}
