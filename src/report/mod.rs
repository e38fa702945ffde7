//! Reporting a run: the official JSON report, JUnit XML, GitHub Actions
//! annotations and step summary, and the terminal's per-test lines.

pub mod github;
pub mod json;
pub mod junit;
pub mod matrix;
pub mod merge;
pub mod terminal;
pub mod why;

use crate::runner::{Outcome, TestRecord};

pub use json::Report;

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub xfailed: usize,
    pub xpassed: usize,
    /// Tests the runtime could not run (`error`).
    pub errored: usize,
    /// Tests that failed, then passed on a retry (`flaky`).
    pub flaky: usize,
}

impl Counts {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail => self.failed += 1,
            Outcome::Skip(_) => self.skipped += 1,
            Outcome::XFail => self.xfailed += 1,
            Outcome::XPass => self.xpassed += 1,
            Outcome::Error => self.errored += 1,
            Outcome::Flaky => self.flaky += 1,
        }
    }

    pub fn of<'a>(records: impl IntoIterator<Item = &'a TestRecord>) -> Counts {
        let mut c = Counts::default();
        for r in records {
            c.add(&r.outcome);
        }
        c
    }

    /// Whether these outcomes fail a run.
    pub fn failing(&self) -> bool {
        self.failed + self.xpassed > 0
    }

    /// The run's status (and exit code) from these counts.
    pub fn status(&self) -> crate::outcome::RunStatus {
        use crate::outcome::RunStatus;
        if self.failing() {
            RunStatus::Failed
        } else if self.errored > 0 {
            RunStatus::Error
        } else {
            RunStatus::Ok
        }
    }
}

/// Records grouped by suite and runtime (the official report's `results`
/// entries): suites sorted by path, then runtimes in the order they ran, tests
/// sorted by name.
pub fn by_suite(records: &[TestRecord]) -> Vec<(&TestRecord, Vec<&TestRecord>)> {
    let mut runtimes: Vec<&crate::run::RuntimeInfo> = Vec::new();
    for r in records {
        if !runtimes.contains(&r.runtime.as_ref()) {
            runtimes.push(&r.runtime);
        }
    }
    let rank = |r: &TestRecord| runtimes.iter().position(|x| *x == r.runtime.as_ref());
    let mut sorted: Vec<&TestRecord> = records.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.suite.path, rank(a), &a.test.name).cmp(&(&b.suite.path, rank(b), &b.test.name))
    });
    let mut groups: Vec<(&TestRecord, Vec<&TestRecord>)> = Vec::new();
    for r in sorted {
        match groups.last_mut() {
            Some((first, members))
                if first.suite.path == r.suite.path && first.runtime == r.runtime =>
            {
                members.push(r)
            }
            _ => groups.push((r, vec![r])),
        }
    }
    groups
}

/// The contents of a test's `--trace-dir` file: the test and its outcome, the
/// failure (if it failed), the hints and every kept call. `None` when the test
/// has no trace (skipped, or not run on the embedded runtime).
pub fn trace_file(r: &TestRecord, show_runtime: bool) -> Option<String> {
    let trace = r.result.trace.as_ref()?;
    let mut out = format!("test {} ... {}\n", r.label(show_runtime), r.outcome);
    if r.outcome.is_failure() {
        out.push_str(&format!("\n{}\n", crate::runner::failure_message(r)));
    }
    out.push('\n');
    for hint in &r.result.hints {
        out.push_str(&format!("hint: {hint}\n"));
    }
    out.push_str(&trace.render());
    Some(out)
}
