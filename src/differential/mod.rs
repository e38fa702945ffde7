//! Differential runs: the same test on several runtimes, their observable
//! behaviour compared (how the guest ended, stdout, stderr). A disagreement is
//! a failure of its own, reported under the runtime name `differential`,
//! naming which runtimes agree and showing a diff between them.
//!
//! A disagreement must reproduce before it is reported: each runtime runs the
//! test [`REPEATS`] more times, and what varies between the runs of one
//! runtime (a stream printing a hash map, an exit code depending on timing)
//! is *nondeterministic*: it is not compared, and the record says so. Known
//! disagreements are accepted with an [`accept`] file (an `xfail` under
//! `differential`); an entry that accepts nothing is stale (a warning).
//!
//! ```no_run
//! # fn records() -> Vec<wasi_conform::runner::TestRecord> { Vec::new() }
//! # let harness = wasi_conform::Harness::new(Default::default()).unwrap();
//! use wasi_conform::differential::{self, Options};
//! let rerun = |r: &wasi_conform::runner::TestRecord| r.clone();
//! let done = differential::compare(&records(), harness.runtimes(), &Options::default(), &rerun);
//! for r in &done.records {
//!     println!("{} {}", r.full_name(), r.outcome);
//! }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::check::{self, Failure, FailureKind, GuestEnd};
use crate::harness::{Output, TestOutcome};
use crate::run::RuntimeInfo;
use crate::runner::{Outcome, TestRecord};

pub mod accept;

pub use accept::Accepted;

/// The runtime name differential records are reported under.
pub const RUNTIME_NAME: &str = "differential";
/// How many more times each runtime runs a test whose runtimes disagree.
pub const REPEATS: usize = 3;

/// How runs are compared.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs of each runtime besides the first, when they disagree.
    pub repeats: usize,
    /// Known disagreements.
    pub accepted: Accepted,
    /// Tests run at once while repeating.
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            repeats: REPEATS,
            accepted: Accepted::default(),
            jobs: 1,
        }
    }
}

/// The result of a comparison: one record per test that ran on two runtimes
/// or more, and warnings (stale accept entries).
#[derive(Debug, Default)]
pub struct Comparison {
    pub records: Vec<TestRecord>,
    pub warnings: Vec<String>,
}

/// How a run ended, as compared across runtimes: trap messages differ between
/// runtimes, so any trap is one class.
#[derive(Debug, Clone, PartialEq)]
enum Ending {
    Exit(i32),
    Trap,
    Signal(i32),
    Returned(String),
    None,
}

impl Ending {
    fn of(end: &Option<GuestEnd>) -> Ending {
        match end {
            Some(GuestEnd::Exited(c)) => Ending::Exit(*c),
            Some(GuestEnd::Trapped(_)) => Ending::Trap,
            Some(GuestEnd::Signaled(s)) => Ending::Signal(*s),
            Some(GuestEnd::Returned(v)) => Ending::Returned(format!("{v:?}")),
            None => Ending::None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Ending::Exit(c) => format!("exit code {c}"),
            Ending::Trap => "a trap".into(),
            Ending::Signal(s) => format!("signal {s}"),
            Ending::Returned(v) => format!("returned {v}"),
            Ending::None => "did not run".into(),
        }
    }
}

/// What is compared of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Aspect {
    Ending,
    Stdout,
    Stderr,
}

impl Aspect {
    const ALL: [Aspect; 3] = [Aspect::Ending, Aspect::Stdout, Aspect::Stderr];

    fn name(self) -> &'static str {
        match self {
            Aspect::Ending => "how it ended",
            Aspect::Stdout => "stdout",
            Aspect::Stderr => "stderr",
        }
    }
}

/// One run's behaviour: how it ended and its whole streams (by digest; the
/// kept start of each shows the difference).
#[derive(Debug, Clone)]
struct Behaviour<'a> {
    ending: Ending,
    stdout: &'a Output,
    stderr: &'a Output,
}

impl Behaviour<'_> {
    fn of(r: &TestRecord) -> Behaviour<'_> {
        Behaviour {
            ending: Ending::of(&r.result.end),
            stdout: &r.result.stdout,
            stderr: &r.result.stderr,
        }
    }

    fn same(&self, other: &Behaviour<'_>, aspect: Aspect) -> bool {
        match aspect {
            Aspect::Ending => self.ending == other.ending,
            Aspect::Stdout => same_stream(self.stdout, other.stdout),
            Aspect::Stderr => same_stream(self.stderr, other.stderr),
        }
    }
}

fn same_stream(a: &Output, b: &Output) -> bool {
    a.len == b.len && a.digest == b.digest
}

/// Whether a record's run can be compared (the runtime ran the module).
fn compared(r: &TestRecord) -> bool {
    !matches!(r.outcome, Outcome::Skip(_) | Outcome::Error)
}

/// One differential record per test that ran on at least two runtimes (in the
/// order the tests first appear): passed when every runtime behaved alike
/// (once what varies between a runtime's own runs is set aside), `xfail` for
/// an accepted disagreement, failed otherwise. `runtimes` is the order
/// runtimes were selected in: the first of the largest group of agreeing
/// runtimes is the reference the others are diffed against. `rerun` runs a
/// record's test again on the record's runtime.
pub fn compare(
    records: &[TestRecord],
    runtimes: &[Arc<RuntimeInfo>],
    options: &Options,
    rerun: &(dyn Fn(&TestRecord) -> TestRecord + Sync),
) -> Comparison {
    let mut groups: BTreeMap<(String, String), Vec<&TestRecord>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for r in records {
        let key = (r.suite.path.clone(), r.test.name.clone());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    let rank = |r: &TestRecord| runtimes.iter().position(|x| **x == *r.runtime);
    for members in groups.values_mut() {
        members.sort_by_key(|r| rank(r));
    }
    // The runs to repeat: every compared run of every test whose first runs disagree.
    let disagreeing: Vec<&(String, String)> = order
        .iter()
        .filter(|k| {
            let ran: Vec<Behaviour<'_>> = groups[*k]
                .iter()
                .filter(|r| compared(r))
                .map(|r| Behaviour::of(r))
                .collect();
            ran.len() >= 2
                && Aspect::ALL
                    .iter()
                    .any(|a| ran.iter().any(|b| !b.same(&ran[0], *a)))
        })
        .collect();
    let to_repeat: Vec<&TestRecord> = disagreeing
        .iter()
        .flat_map(|k| groups[*k].iter().copied().filter(|r| compared(r)))
        .collect();
    let repeated = repeat_all(&to_repeat, options, rerun);
    let names: Vec<&str> = runtimes.iter().map(|r| r.name.as_str()).collect();
    let info = Arc::new(RuntimeInfo {
        name: RUNTIME_NAME.into(),
        version: names.join(" vs "),
    });
    let mut out = Comparison::default();
    let mut used: Vec<(String, String)> = Vec::new();
    for key in &order {
        let members = &groups[key];
        if members.len() < 2 {
            continue;
        }
        let first = members[0];
        let runs: Vec<(&TestRecord, Vec<&TestRecord>)> = members
            .iter()
            .filter(|r| compared(r))
            .map(|r| {
                (
                    *r,
                    repeated
                        .get(&ptr(r))
                        .map_or_else(Vec::new, |v| v.iter().collect()),
                )
            })
            .collect();
        let judged = judge(members.len(), &runs);
        let accepted = options.accepted.entry(first.suite.name(), &first.test.name);
        let (outcome, result) = match (judged, accepted) {
            (Judged::Disagree(classes, result), Some(entry)) if accepts(&classes, entry) => {
                used.push((first.suite.name().to_string(), first.test.name.clone()));
                (Outcome::XFail, accepted_result(result, entry))
            }
            (Judged::Disagree(_, result), _) => (Outcome::Fail, result),
            (Judged::Agree(result), _) => (Outcome::Pass, result),
            (Judged::Skip(reason), _) => (Outcome::Skip(reason), TestOutcome::default()),
        };
        out.records.push(TestRecord {
            suite: Arc::clone(&first.suite),
            test: first.test.clone(),
            runtime: Arc::clone(&info),
            outcome,
            result,
            failed_attempts: Vec::new(),
        });
    }
    out.warnings = stale_entries(&options.accepted, &out.records, &used);
    out
}

/// A record's identity while repeating.
fn ptr(r: &TestRecord) -> usize {
    r as *const TestRecord as usize
}

/// Runs each record's test `options.repeats` more times on its runtime, on
/// `options.jobs` threads.
fn repeat_all(
    records: &[&TestRecord],
    options: &Options,
    rerun: &(dyn Fn(&TestRecord) -> TestRecord + Sync),
) -> BTreeMap<usize, Vec<TestRecord>> {
    let work: Vec<&TestRecord> = records
        .iter()
        .flat_map(|r| std::iter::repeat_n(*r, options.repeats))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(BTreeMap::<usize, Vec<TestRecord>>::new());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1).min(work.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(r) = work.get(i) else { break };
                    let again = rerun(r);
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(ptr(r))
                        .or_default()
                        .push(again);
                }
            });
        }
    });
    done.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// What the runs of one test show.
enum Judged {
    /// Every compared aspect agrees (the result carries notes on what varied).
    Agree(TestOutcome),
    /// The runtimes disagree: the classes of agreeing runtimes (names,
    /// largest first), and the failure.
    Disagree(Vec<Vec<String>>, TestOutcome),
    Skip(String),
}

/// Compares the runs of one test: each runtime's first run and its repeats.
fn judge(members: usize, runs: &[(&TestRecord, Vec<&TestRecord>)]) -> Judged {
    if runs.len() < 2 {
        return Judged::Skip(format!(
            "ran on {} of {members} runtimes; nothing to compare",
            runs.len()
        ));
    }
    // Aspects that vary between the runs of one runtime are not compared.
    let mut varying: Vec<(Aspect, Vec<&str>)> = Vec::new();
    for aspect in Aspect::ALL {
        let who: Vec<&str> = runs
            .iter()
            .filter(|(first, again)| {
                let b = Behaviour::of(first);
                again.iter().any(|r| !Behaviour::of(r).same(&b, aspect))
            })
            .map(|(first, _)| first.runtime.name.as_str())
            .collect();
        if !who.is_empty() {
            varying.push((aspect, who));
        }
    }
    let aspects: Vec<Aspect> = Aspect::ALL
        .into_iter()
        .filter(|a| !varying.iter().any(|(v, _)| v == a))
        .collect();
    let behaviours: Vec<(&RuntimeInfo, Behaviour<'_>)> = runs
        .iter()
        .map(|(r, _)| (r.runtime.as_ref(), Behaviour::of(r)))
        .collect();
    let mut classes: Vec<Vec<&(&RuntimeInfo, Behaviour<'_>)>> = Vec::new();
    for b in &behaviours {
        match classes
            .iter_mut()
            .find(|c| aspects.iter().all(|a| c[0].1.same(&b.1, *a)))
        {
            Some(c) => c.push(b),
            None => classes.push(vec![b]),
        }
    }
    let notes: Vec<String> = varying
        .iter()
        .map(|(aspect, who)| {
            format!(
                "nondeterministic: {} differed between runs of {} (of {} runs each), so it \
                 was not compared",
                aspect.name(),
                who.join(", "),
                runs[0].1.len() + 1
            )
        })
        .collect();
    if classes.len() == 1 {
        return Judged::Agree(TestOutcome {
            notes,
            ..TestOutcome::default()
        });
    }
    // Largest group first; among equals, the one holding the earliest runtime
    // (a stable sort keeps the runtimes' order).
    classes.sort_by_key(|c| std::cmp::Reverse(c.len()));
    let names: Vec<Vec<String>> = classes
        .iter()
        .map(|c| c.iter().map(|(r, _)| r.name.clone()).collect())
        .collect();
    let message = disagreement(&classes, &names, &aspects, runs.len(), runs[0].1.len() + 1);
    Judged::Disagree(
        names,
        TestOutcome {
            failures: vec![Failure::new(FailureKind::Stream, message)],
            notes,
            ..TestOutcome::default()
        },
    )
}

/// The message of a disagreement: who agrees, and how each other group differs.
fn disagreement(
    classes: &[Vec<&(&RuntimeInfo, Behaviour<'_>)>],
    names: &[Vec<String>],
    aspects: &[Aspect],
    ran: usize,
    runs_each: usize,
) -> String {
    let (reference_runtime, reference) = classes[0][0];
    let mut message = format!(
        "the runtimes disagree: {ran} in {} groups; {} agree{} (the same in each of {runs_each} \
         runs of every runtime)",
        classes.len(),
        names[0].join(", "),
        if names[0].len() == 1 {
            "s with itself"
        } else {
            ""
        }
    );
    for (class, class_names) in classes.iter().zip(names).skip(1) {
        let other = &class[0].1;
        message.push_str(&format!(
            "\n\n{} differ{} from {}:",
            class_names.join(", "),
            if class_names.len() == 1 { "s" } else { "" },
            reference_runtime.name
        ));
        if aspects.contains(&Aspect::Ending) && other.ending != reference.ending {
            message.push_str(&format!(
                "\n  ending: {} vs {}",
                reference.ending.describe(),
                other.ending.describe()
            ));
        }
        for (aspect, a, b) in [
            (Aspect::Stdout, reference.stdout, other.stdout),
            (Aspect::Stderr, reference.stderr, other.stderr),
        ] {
            if aspects.contains(&aspect) && !same_stream(a, b) {
                let partial = if a.complete() && b.complete() {
                    String::new()
                } else {
                    format!(
                        " (the first {} and {} of {} and {} bytes)",
                        a.bytes.len(),
                        b.bytes.len(),
                        a.len,
                        b.len
                    )
                };
                message.push_str(&format!(
                    "\n  {} ({} = expected, {} = actual){partial}:\n{}",
                    aspect.name(),
                    reference_runtime.name,
                    class_names[0],
                    indent(&check::diff(&a.bytes, &b.bytes, false))
                ));
            }
        }
    }
    message
}

/// Whether an accept entry covers a disagreement: set its runtimes aside, and
/// the others all agree.
fn accepts(classes: &[Vec<String>], entry: &accept::Entry) -> bool {
    classes
        .iter()
        .filter(|c| c.iter().any(|r| !entry.runtimes.contains(r)))
        .count()
        <= 1
}

/// An accepted disagreement's result: the failure, marked accepted with the reason.
fn accepted_result(mut result: TestOutcome, entry: &accept::Entry) -> TestOutcome {
    for f in &mut result.failures {
        f.message = format!(
            "accepted by {} (runtimes {}): {}\n{}",
            entry.file.display(),
            entry.runtimes.join(", "),
            entry.reason,
            f.message
        );
    }
    result
}

/// Accept entries that accepted nothing though their test was compared, and
/// entries naming a test of a compared suite that does not exist.
fn stale_entries(
    accepted: &Accepted,
    records: &[TestRecord],
    used: &[(String, String)],
) -> Vec<String> {
    let mut out = Vec::new();
    for ((suite, test), entry) in accepted.entries() {
        if used.iter().any(|(s, t)| s == suite && t == test) {
            continue;
        }
        let compared = records
            .iter()
            .any(|r| r.suite.name() == suite && &r.test.name == test);
        let suite_ran = records.iter().any(|r| r.suite.name() == suite);
        if compared {
            out.push(format!(
                "{}: suite {suite:?}, test {test:?}: no disagreement of {} in this run to \
                 accept (the entry is stale: remove it)",
                entry.file.display(),
                entry.runtimes.join(", ")
            ));
        } else if suite_ran
            && !records
                .iter()
                .any(|r| r.suite.name() == suite && r.suite.tests.iter().any(|t| &t.name == test))
        {
            out.push(format!(
                "{}: suite {suite:?} has no test {test:?}",
                entry.file.display()
            ));
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
