//! The JSON report in the official runner's shape: one entry in `results` per suite.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::discover::Suite;
use crate::harness::TestRecord;

/// The wasmtime version this build embeds (pinned in Cargo.toml).
pub const WASMTIME_VERSION: &str = "48.0.8";

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
    pub tests: Vec<TestResult>,
}

#[derive(Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub executed: bool,
    pub outcome: &'static str,
    pub duration_s: f64,
    pub failures: Vec<FailureEntry>,
}

#[derive(Debug, Serialize)]
pub struct FailureEntry {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
}

fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

impl Report {
    /// Builds the report of a run: every discovered test appears; tests that did not
    /// run (filtered out) are `skip` with `executed: false`.
    pub fn new(
        suites: &[Suite],
        records: &[TestRecord],
        start: SystemTime,
        finish: SystemTime,
    ) -> Report {
        let by_key: BTreeMap<(&str, &str), &TestRecord> = records
            .iter()
            .map(|r| ((r.suite_path.as_str(), r.name.as_str()), r))
            .collect();
        let runtime = || RuntimeInfo {
            name: "wasi-conform".into(),
            version: format!(
                "{} (wasmtime {WASMTIME_VERSION})",
                env!("CARGO_PKG_VERSION")
            ),
        };
        let results = suites
            .iter()
            .map(|suite| {
                let tests: Vec<TestResult> = suite
                    .tests
                    .iter()
                    .map(
                        |t| match by_key.get(&(suite.path.as_str(), t.name.as_str())) {
                            Some(r) => TestResult {
                                name: t.name.clone(),
                                executed: true,
                                outcome: if r.outcome.passed() { "pass" } else { "fail" },
                                duration_s: r.outcome.duration.as_secs_f64(),
                                failures: r
                                    .outcome
                                    .failures
                                    .iter()
                                    .map(|f| FailureEntry {
                                        kind: f.kind.report_type(),
                                        message: f.message.clone(),
                                    })
                                    .collect(),
                            },
                            None => TestResult {
                                name: t.name.clone(),
                                executed: false,
                                outcome: "skip",
                                duration_s: 0.0,
                                failures: Vec::new(),
                            },
                        },
                    )
                    .collect();
                let count = |o: &str| tests.iter().filter(|t| t.outcome == o).count();
                SuiteResult {
                    name: suite.name().to_string(),
                    runtime: runtime(),
                    duration_s: tests.iter().map(|t| t.duration_s).sum(),
                    passed: count("pass"),
                    failed: count("fail"),
                    skipped: count("skip"),
                    xfailed: count("xfail"),
                    xpassed: count("xpass"),
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
