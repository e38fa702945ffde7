//! Running many tests: selecting them by name, applying expectation files, and
//! running them on a pool of threads, each result handed back as it completes.
//!
//! ```no_run
//! use wasi_conform::runner::{self, Selection};
//! use wasi_conform::{discover, expectations::Expectations, Harness, HarnessOptions};
//! let harness = Harness::new(HarnessOptions::default()).unwrap();
//! let suites = discover::discover(&["suites".into()]).unwrap();
//! let plan = runner::plan(&suites, &Selection::default(), &[Expectations::default()]);
//! let schedule = runner::Schedule { jobs: 2, retries: 0 };
//! runner::run(&harness, &plan.tests, &schedule, |record| println!("{} {}", record.full_name(), record.outcome));
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::discover::{Suite, TestCase};
use crate::expectations::{Expectation, Expectations};
use crate::harness::{Harness, TestOutcome};
pub use crate::outcome::Outcome;
use crate::run::RuntimeInfo;

/// Which tests to run, by `SUITE_PATH::NAME`, as libtest selects them.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Substrings (or, with `exact`, whole names) of which a test must match one;
    /// none = every test.
    pub filters: Vec<String>,
    pub exact: bool,
    /// Substrings (or, with `exact`, whole names) of tests to leave out.
    pub skip: Vec<String>,
    /// Only this shard of the selected tests (`--partition`).
    pub partition: Option<Partition>,
}

/// One of N shards of a run, as cargo-nextest splits tests: `hash:K/N` (by a
/// hash of the suite's name and the test's name: stable across runs, machines
/// and working directories, and as tests come and go) or `count:K/N` (the
/// selected tests dealt round-robin in discovery order). K counts from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Hash { shard: u64, of: u64 },
    Count { shard: u64, of: u64 },
}

impl Partition {
    /// Parses `hash:K/N` or `count:K/N`.
    pub fn parse(text: &str) -> Result<Partition, String> {
        let bad = || format!("`{text}`: expected hash:K/N or count:K/N, with 1 <= K <= N");
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        let (k, n) = rest.split_once('/').ok_or_else(bad)?;
        let (shard, of): (u64, u64) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if shard == 0 || shard > of {
            return Err(bad());
        }
        match kind {
            "hash" => Ok(Partition::Hash { shard, of }),
            "count" => Ok(Partition::Count { shard, of }),
            _ => Err(bad()),
        }
    }

    /// Whether the `index`-th selected test, `test` of suite `suite`, is in this shard.
    fn holds(self, index: u64, suite: &str, test: &str) -> bool {
        match self {
            Partition::Count { shard, of } => index % of == shard - 1,
            Partition::Hash { shard, of } => {
                let mut h = blake3::Hasher::new();
                h.update(suite.as_bytes());
                h.update(b"\0");
                h.update(test.as_bytes());
                let bytes = h.finalize();
                let n = u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"));
                n % of == shard - 1
            }
        }
    }
}

impl Selection {
    /// Whether the test named `name` (`SUITE_PATH::NAME`) is selected.
    pub fn matches(&self, name: &str) -> bool {
        self.matches_any(&[name])
    }

    /// Whether a test is selected, given every name it goes by. With `exact`,
    /// a filter names a test by any of them: `SUITE_PATH::NAME` (as the
    /// terminal and `--list` print it), `SUITE::NAME` (the suite's manifest
    /// name, as reports group it) or the bare `NAME` (as reports print it).
    /// Substring filters look at the first name only.
    pub fn matches_any(&self, names: &[&str]) -> bool {
        let hit = |pattern: &str| {
            if self.exact {
                names.contains(&pattern)
            } else {
                names.first().is_some_and(|n| n.contains(pattern))
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(|f| hit(f)))
            && !self.skip.iter().any(|s| hit(s))
    }
}

/// A test selected to run on one runtime (or to be reported skipped).
#[derive(Debug, Clone)]
pub struct PlannedTest {
    pub suite: Arc<Suite>,
    pub test: TestCase,
    pub expectation: Expectation,
    /// Which of the harness's runtimes runs it (an index).
    pub runtime: usize,
}

impl PlannedTest {
    /// `SUITE_PATH::NAME`.
    pub fn full_name(&self) -> String {
        self.suite.test_name(&self.test)
    }
}

/// The tests of a run, in discovery order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub tests: Vec<PlannedTest>,
    /// How many discovered tests the selection left out.
    pub filtered_out: usize,
}

/// Selects tests and attaches their expectations: one planned test per selected
/// test and runtime, `expectations[i]` applying to runtime `i` (a single entry
/// applies to every runtime).
pub fn plan(suites: &[Suite], selection: &Selection, expectations: &[Expectations]) -> Plan {
    let mut plan = Plan::default();
    let none = Expectations::default();
    let runtimes = expectations.len().max(1);
    let mut selected = 0u64;
    for suite in suites {
        let shared = Arc::new(suite.clone());
        for test in &suite.tests {
            let full = suite.test_name(test);
            let by_suite_name = format!("{}::{}", suite.name(), test.name);
            if !selection.matches_any(&[&full, &by_suite_name, &test.name]) {
                plan.filtered_out += 1;
                continue;
            }
            selected += 1;
            if let Some(p) = selection.partition
                && !p.holds(selected - 1, suite.name(), &test.name)
            {
                plan.filtered_out += 1;
                continue;
            }
            for runtime in 0..runtimes {
                let e = expectations.get(runtime).unwrap_or(&none);
                plan.tests.push(PlannedTest {
                    suite: Arc::clone(&shared),
                    test: test.clone(),
                    expectation: e.lookup(suite.name(), &test.name),
                    runtime,
                });
            }
        }
    }
    plan
}

/// One finished (or skipped) test on one runtime.
#[derive(Debug, Clone)]
pub struct TestRecord {
    pub suite: Arc<Suite>,
    pub test: TestCase,
    /// The runtime that ran it.
    pub runtime: Arc<RuntimeInfo>,
    pub outcome: Outcome,
    /// What happened; empty for a skipped test. For a flaky test, the
    /// attempt that passed.
    pub result: TestOutcome,
    /// The failure messages of the attempts that failed before the one in
    /// `result` (`--retries`); empty when the first attempt counted.
    pub failed_attempts: Vec<String>,
}

impl TestRecord {
    /// `SUITE_PATH::NAME`.
    pub fn full_name(&self) -> String {
        self.suite.test_name(&self.test)
    }

    /// The name as printed: `SUITE_PATH::NAME`, then ` [runtime]` when the run
    /// names runtimes, with control characters made visible (a file name cannot
    /// forge report lines).
    pub fn label(&self, show_runtime: bool) -> String {
        let name = crate::check::visible(&self.full_name());
        if show_runtime {
            format!("{name} [{}]", crate::check::visible(&self.runtime.name))
        } else {
            name
        }
    }

    /// The file a CI annotation points at: the spec, else the module.
    pub fn location(&self) -> PathBuf {
        self.test
            .spec_file
            .clone()
            .unwrap_or_else(|| self.test.module.clone())
    }

    pub fn duration(&self) -> Duration {
        self.result.duration
    }
}

/// How a plan is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Tests run at once.
    pub jobs: usize,
    /// How many times a failed test is run again (`--retries`); one that then
    /// passes is `flaky`, never a plain pass.
    pub retries: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            jobs: default_jobs(),
            retries: 0,
        }
    }
}

/// Runs a test as planned: skipped without running, or run and evaluated (a
/// runtime that cannot run it reports it skipped, with its reason). A test
/// that fails is run again, up to `retries` times: if an attempt passes, the
/// test is `flaky` and keeps every failed attempt's message.
pub fn run_one(harness: &Harness, planned: &PlannedTest, retries: u32) -> TestRecord {
    let attempt = || -> (Outcome, TestOutcome) {
        let result = harness.run_test_on(planned.runtime, &planned.suite, &planned.test);
        let outcome = match &result.skipped {
            Some(reason) => Outcome::Skip(reason.clone()),
            None => Outcome::evaluate(planned.expectation.expected, &result.failures),
        };
        (outcome, result)
    };
    let (mut outcome, mut result) = match &planned.expectation.skip {
        Some(reason) => (Outcome::Skip(reason.clone()), TestOutcome::default()),
        None => attempt(),
    };
    let mut failed_attempts = Vec::new();
    let mut left = retries;
    while outcome == Outcome::Fail && left > 0 {
        left -= 1;
        failed_attempts.push(result.message());
        let (next, next_result) = attempt();
        result = next_result;
        outcome = match next {
            Outcome::Pass => Outcome::Flaky,
            other => other,
        };
    }
    if outcome != Outcome::Flaky {
        // Reported on its own (the last attempt's failure); the earlier ones
        // said the same or less.
        failed_attempts.clear();
    }
    TestRecord {
        suite: Arc::clone(&planned.suite),
        test: planned.test.clone(),
        runtime: Arc::clone(&harness.runtimes()[planned.runtime]),
        outcome,
        result,
        failed_attempts,
    }
}

/// Runs the plan on `schedule.jobs` threads; `emit` gets each record on the
/// calling thread, in the order tests finish.
pub fn run(
    harness: &Harness,
    plan: &[PlannedTest],
    schedule: &Schedule,
    mut emit: impl FnMut(TestRecord),
) {
    harness.prepare(plan);
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..schedule.jobs.max(1).min(plan.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(planned) = plan.get(i) else { break };
                    if tx
                        .send(run_one(harness, planned, schedule.retries))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for record in rx {
            emit(record);
        }
    });
}

/// Puts records in report order: runtimes in the order given (`runtimes`,
/// as the command line selected them; others, such as `differential`, after
/// them in order of first appearance), then suites by path, then tests by
/// name. Reports built from records in this order list runtimes in the
/// command line's order whatever order the tests finished in.
pub fn sort_records(records: &mut [TestRecord], runtimes: &[Arc<RuntimeInfo>]) {
    let mut order: Vec<&RuntimeInfo> = runtimes.iter().map(|r| r.as_ref()).collect();
    let extra: Vec<Arc<RuntimeInfo>> = records.iter().map(|r| Arc::clone(&r.runtime)).collect();
    for r in &extra {
        if !order.contains(&r.as_ref()) {
            order.push(r);
        }
    }
    let rank = |r: &TestRecord| order.iter().position(|x| *x == r.runtime.as_ref());
    records.sort_by(|a, b| {
        (rank(a), &a.suite.path, &a.test.name).cmp(&(rank(b), &b.suite.path, &b.test.name))
    });
}

/// What to print for a record that fails the run: the failures, for an xpass
/// why the expectation is stale, for a flaky test how its first attempt failed.
pub fn failure_message(record: &TestRecord) -> String {
    match record.outcome {
        Outcome::XPass => format!(
            "passed, but an expectation file says it fails (expected = \"fail\"): the entry is \
             stale; remove it from the expectation file for suite {:?}",
            record.suite.name()
        ),
        Outcome::Flaky => {
            let n = record.failed_attempts.len();
            let first = record.failed_attempts.first().map_or("", String::as_str);
            format!(
                "failed {n} time(s), then passed on attempt {} (--retries); the first failure:\n{first}",
                n + 1
            )
        }
        _ => record.result.message(),
    }
}

/// One libtest-mimic trial per planned test, named `SUITE_PATH::NAME`: tests an
/// expectation file skips are ignored trials, a test its runtime cannot run is
/// ignored with the reason (never a pass), xfail passes, fail and xpass fail
/// with their message followed by `rerun(name)`, a command that reruns just that test.
pub fn trials(
    harness: Arc<Harness>,
    plan: &Plan,
    rerun: impl Fn(&str) -> String + Send + Sync + 'static,
) -> Vec<libtest_mimic::Trial> {
    let rerun = Arc::new(rerun);
    plan.tests
        .iter()
        .map(|planned| {
            let name = planned.full_name();
            let skipped = planned.expectation.skip.is_some();
            let (harness, planned, rerun) =
                (Arc::clone(&harness), planned.clone(), Arc::clone(&rerun));
            libtest_mimic::Trial::ignorable_test(name, move || {
                let record = run_one(&harness, &planned, 0);
                trial_ending(&record, &rerun(&record.full_name()))
            })
            .with_ignored_flag(skipped)
        })
        .collect()
}

/// How a trial ends for a finished record: failed (with the message and the
/// `rerun` command), ignored with the reason (skipped), or completed.
fn trial_ending(
    record: &TestRecord,
    rerun: &str,
) -> Result<libtest_mimic::Completion, libtest_mimic::Failed> {
    if record.outcome.is_reported() {
        Err(format!("{}\n\nrerun: {rerun}", failure_message(record)).into())
    } else if let Outcome::Skip(reason) = &record.outcome {
        Ok(libtest_mimic::Completion::ignored_with(reason))
    } else {
        Ok(libtest_mimic::Completion::Completed)
    }
}

/// Descriptors kept back for the harness itself (engines, reports, pipes).
const RESERVED_FILES: u64 = 128;
/// Descriptors each running test needs besides its guest's (its sandbox, its
/// async runtime, a runtime process's pipes).
const PER_TEST_FILES: u64 = 32;

/// The most files one test's guest may hold open when `jobs` tests run at once,
/// so that one test hoarding descriptors cannot starve the others: the
/// process's soft limit (first raised to its hard limit where allowed), less
/// what the harness keeps, shared by the jobs.
pub fn open_files_budget(jobs: usize) -> u64 {
    let soft = raise_open_files_limit();
    let jobs = jobs.max(1) as u64;
    (soft.saturating_sub(RESERVED_FILES) / jobs)
        .saturating_sub(PER_TEST_FILES)
        .max(16)
}

/// Raises the soft limit on open files to the hard limit; returns the soft limit in force.
fn raise_open_files_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit on this process with a valid struct.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return 1024;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        #[allow(clippy::useless_conversion)]
        u64::from(limit.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        u64::MAX
    }
}

/// The default number of parallel jobs: the number of cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Failure;

    #[test]
    fn selection_like_libtest() {
        let s = Selection {
            filters: vec!["fs::".into()],
            exact: false,
            skip: vec!["slow".into()],
            partition: None,
        };
        assert!(s.matches("suites/fs::read"));
        assert!(!s.matches("suites/fs::slow-read"));
        assert!(!s.matches("suites/stdio::hello"));
        let exact = Selection {
            filters: vec!["suites/fs::read".into(), "suites/x::y".into()],
            exact: true,
            skip: vec![],
            partition: None,
        };
        assert!(exact.matches("suites/fs::read"));
        assert!(exact.matches("suites/x::y"));
        assert!(!exact.matches("suites/fs::read-more"));
        assert!(Selection::default().matches("anything"));
        // The names reports print select a test too, with --exact.
        let bare = Selection {
            filters: vec!["read".into(), "WASI C tests::close".into()],
            exact: true,
            skip: vec![],
            partition: None,
        };
        assert!(bare.matches_any(&["suites/fs::read", "fs::read", "read"]));
        assert!(bare.matches_any(&["c/wasm32-wasip1::close", "WASI C tests::close", "close"]));
        assert!(!bare.matches_any(&["suites/fs::read-more", "fs::read-more", "read-more"]));
    }

    #[test]
    fn partitions_split_every_test_into_exactly_one_shard() {
        assert_eq!(
            Partition::parse("hash:2/4"),
            Ok(Partition::Hash { shard: 2, of: 4 })
        );
        assert_eq!(
            Partition::parse("count:1/1"),
            Ok(Partition::Count { shard: 1, of: 1 })
        );
        for bad in ["hash:0/4", "hash:5/4", "slice:1/2", "count:1", "count:a/b"] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
        for kind in ["hash", "count"] {
            let shards: Vec<Partition> = (1..=4)
                .map(|k| Partition::parse(&format!("{kind}:{k}/4")).unwrap())
                .collect();
            for i in 0..200u64 {
                let name = format!("test{i}");
                let holders = shards.iter().filter(|p| p.holds(i, "suite", &name)).count();
                assert_eq!(holders, 1, "{kind} {name}");
            }
        }
    }

    /// A runtime that runs nothing: every test is unsupported.
    struct RunsNothing(RuntimeInfo);

    impl crate::run::Backend for RunsNothing {
        fn info(&self) -> &RuntimeInfo {
            &self.0
        }
        fn load(
            &self,
            _: &std::path::Path,
            _: Option<crate::discover::WasiVersion>,
            _: &crate::spec::Spec,
        ) -> Result<crate::run::Prepared, Failure> {
            Ok(crate::run::Prepared::Unsupported("runs nothing".into()))
        }
    }

    #[test]
    fn a_trial_its_runtime_cannot_run_is_ignored_never_passed() {
        let suites = crate::discover::discover(&["suites/exit".into()]).unwrap();
        let plan = plan(&suites, &Selection::default(), &[]);
        let info = RuntimeInfo {
            name: "none".into(),
            version: "0".into(),
        };
        let harness = Harness::with_backends(
            crate::HarnessOptions::default(),
            vec![Arc::new(RunsNothing(info))],
        );
        let record = run_one(&harness, &plan.tests[0], 0);
        assert_eq!(record.outcome, Outcome::Skip("runs nothing".into()));
        assert!(matches!(
            trial_ending(&record, "x"),
            Ok(libtest_mimic::Completion::Ignored { reason: Some(r) }) if r == "runs nothing"
        ));
    }
}
