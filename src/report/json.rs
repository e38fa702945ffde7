//! The JSON report in the official runner's shape: one entry in `results` per suite.

use std::time::SystemTime;

use serde::Serialize;

use super::{Counts, by_suite};
use crate::runner::TestRecord;

#[derive(Debug, Serialize)]
pub struct Report {
    pub execution: Execution,
    pub results: Vec<SuiteResult>,
}

#[derive(Debug, Serialize)]
pub struct Execution {
    pub start_timestamp: String,
    pub finish_timestamp: String,
}

#[derive(Debug, Serialize)]
pub struct RuntimeInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize)]
pub struct SuiteResult {
    pub name: String,
    pub runtime: RuntimeInfo,
    pub duration_s: f64,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub xfailed: usize,
    pub xpassed: usize,
    /// wasi-conform's addition: tests the runtime could not run (`error`),
    /// counted in no official key.
    pub errored: usize,
    /// wasi-conform's addition: tests that passed only on a retry (`flaky`),
    /// also counted in `passed`.
    pub flaky: usize,
    pub tests: Vec<TestResult>,
}

#[derive(Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub executed: bool,
    pub outcome: &'static str,
    pub duration_s: f64,
    /// Each failure's message, as the official runner writes them.
    pub failures: Vec<String>,
    /// wasi-conform's addition: of `duration_s`, the time spent preparing the
    /// sandbox (copying fixtures), outside the test's timeout.
    pub setup_s: f64,
    /// wasi-conform's addition, only where the trace is shown (a failed test,
    /// `debug: true`, `--trace`): the host calls, with hints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<serde_json::Value>,
}

fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

impl Report {
    /// Builds the report of a run from its records (skipped tests included).
    pub fn new(records: &[TestRecord], start: SystemTime, finish: SystemTime) -> Report {
        let results = by_suite(records)
            .into_iter()
            .map(|(first, members)| {
                let counts = Counts::of(members.iter().copied());
                let tests: Vec<TestResult> = members
                    .iter()
                    .map(|r| TestResult {
                        name: r.test.name.clone(),
                        executed: !matches!(r.outcome, crate::runner::Outcome::Skip(_)),
                        outcome: r.outcome.as_str(),
                        duration_s: r.duration().as_secs_f64(),
                        failures: if r.outcome == crate::runner::Outcome::Flaky {
                            r.failed_attempts.clone()
                        } else {
                            r.result
                                .failures
                                .iter()
                                .map(|f| f.message.clone())
                                .collect()
                        },
                        setup_s: r.result.setup.as_secs_f64(),
                        trace: r.result.trace_json(),
                    })
                    .collect();
                // As the official runner counts: xfail among the passed, xpass
                // among the failed (and each also on its own); flaky among the
                // passed too, error in no official count.
                SuiteResult {
                    name: first.suite.name().to_string(),
                    runtime: RuntimeInfo {
                        name: first.runtime.name.clone(),
                        version: first.runtime.version.clone(),
                    },
                    duration_s: tests.iter().map(|t| t.duration_s).sum(),
                    passed: counts.passed + counts.xfailed + counts.flaky,
                    failed: counts.failed + counts.xpassed,
                    skipped: counts.skipped,
                    xfailed: counts.xfailed,
                    xpassed: counts.xpassed,
                    errored: counts.errored,
                    flaky: counts.flaky,
                    tests,
                }
            })
            .collect();
        Report {
            execution: Execution {
                start_timestamp: timestamp(start),
                finish_timestamp: timestamp(finish),
            },
            results,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }
}
