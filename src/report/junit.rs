//! JUnit XML (via quick-junit): a testsuite per suite, a testcase per test,
//! failures with their message and diff, skipped tests marked.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use super::by_suite;
use crate::runner::{Outcome, TestRecord, failure_message};

/// The JUnit XML of a run.
pub fn junit(records: &[TestRecord]) -> String {
    let mut report = Report::new("wasi-conform");
    for (first, members) in by_suite(records) {
        let name = if first.runtime.name == crate::run::embedded::RUNTIME_NAME {
            first.suite.name().to_string()
        } else {
            format!("{} [{}]", first.suite.name(), first.runtime.name)
        };
        let mut suite = TestSuite::new(name);
        for r in members {
            let status = match &r.outcome {
                Outcome::Pass => TestCaseStatus::success(),
                // Failed as expected: reported as skipped, with why it failed.
                Outcome::XFail => {
                    let mut s = TestCaseStatus::skipped();
                    let message = failure_message(r);
                    s.set_message(format!(
                        "expected to fail (xfail): {}",
                        message.lines().next().unwrap_or_default()
                    ));
                    s.set_description(message);
                    s
                }
                Outcome::Skip(reason) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(reason.as_str());
                    s
                }
                // Passed on a retry: a success with each failed attempt as a
                // `flakyFailure` (as nextest writes it).
                Outcome::Flaky => {
                    let mut s = TestCaseStatus::success();
                    for attempt in &r.failed_attempts {
                        let mut rerun = TestRerun::new(NonSuccessKind::Failure);
                        rerun.set_message(attempt.lines().next().unwrap_or_default());
                        rerun.set_description(attempt.as_str());
                        s.add_rerun(rerun);
                    }
                    s
                }
                Outcome::Fail | Outcome::XPass | Outcome::Error => {
                    let kind = if r.outcome.is_error() {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    let message = failure_message(r);
                    let first_line = message.lines().next().unwrap_or_default().to_string();
                    s.set_message(first_line);
                    s.set_type(r.outcome.as_str());
                    s.set_description(message);
                    s
                }
            };
            let mut case = TestCase::new(r.test.name.as_str(), status);
            case.set_classname(r.suite.path.as_str());
            case.set_time(r.duration());
            // Bounded excerpts, invisible characters made visible (valid XML).
            if let Some(out) = system_out(r) {
                case.set_system_out(out);
            }
            if !r.result.stderr.is_empty() {
                case.set_system_err(crate::check::excerpt_block(&r.result.stderr.bytes, ""));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .expect("a JUnit report always serializes")
}

/// A test's `system-out`: an excerpt of its stdout, then its host-call trace
/// when shown.
fn system_out(r: &TestRecord) -> Option<String> {
    let stdout = (!r.result.stdout.is_empty())
        .then(|| crate::check::excerpt_block(&r.result.stdout.bytes, ""));
    match (stdout, r.result.trace_text()) {
        (None, None) => None,
        (Some(out), None) => Some(out),
        (None, Some(trace)) => Some(trace),
        (Some(out), Some(trace)) => Some(format!("{out}\n\n{trace}")),
    }
}
