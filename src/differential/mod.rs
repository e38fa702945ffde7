//! Differential runs: the same test on several runtimes, their observable
//! behaviour compared (how the guest ended, stdout, stderr). A disagreement is
//! a failure of its own, reported under the runtime name `differential`,
//! naming which runtimes agree and showing a diff between them.
//!
//! ```no_run
//! # fn records() -> Vec<wasi_conform::runner::TestRecord> { Vec::new() }
//! # let harness = wasi_conform::Harness::new(Default::default()).unwrap();
//! for r in wasi_conform::differential::compare(&records(), harness.runtimes()) {
//!     println!("{} {}", r.full_name(), r.outcome);
//! }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::check::{self, Failure, FailureKind, GuestEnd};
use crate::harness::{Output, TestOutcome};
use crate::run::RuntimeInfo;
use crate::runner::{Outcome, TestRecord};

/// The runtime name differential records are reported under.
pub const RUNTIME_NAME: &str = "differential";

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

/// What is compared of one runtime's run: how it ended and its whole streams
/// (by digest; the kept start of each shows the difference).
struct Behaviour<'a> {
    runtime: &'a RuntimeInfo,
    ending: Ending,
    stdout: &'a Output,
    stderr: &'a Output,
}

impl Behaviour<'_> {
    fn same(&self, other: &Behaviour<'_>) -> bool {
        self.ending == other.ending
            && same_stream(self.stdout, other.stdout)
            && same_stream(self.stderr, other.stderr)
    }
}

fn same_stream(a: &Output, b: &Output) -> bool {
    a.len == b.len && a.digest == b.digest
}

/// One differential record per test that ran on at least two runtimes (in the
/// order the tests first appear): passed when every runtime behaved alike.
/// `runtimes` is the order runtimes were selected in: the first of the largest
/// group of agreeing runtimes is the reference the others are diffed against.
pub fn compare(records: &[TestRecord], runtimes: &[Arc<RuntimeInfo>]) -> Vec<TestRecord> {
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
    let names: Vec<&str> = runtimes.iter().map(|r| r.name.as_str()).collect();
    let info = Arc::new(RuntimeInfo {
        name: RUNTIME_NAME.into(),
        version: names.join(" vs "),
    });
    order
        .into_iter()
        .filter_map(|key| {
            let mut members = groups[&key].clone();
            members.sort_by_key(|r| rank(r));
            let first = members[0];
            let (outcome, result) = judge(&members);
            (members.len() >= 2).then(|| TestRecord {
                suite: Arc::clone(&first.suite),
                test: first.test.clone(),
                runtime: Arc::clone(&info),
                outcome,
                result,
            })
        })
        .collect()
}

/// Compares the runs of one test.
fn judge(members: &[&TestRecord]) -> (Outcome, TestOutcome) {
    let ran: Vec<Behaviour<'_>> = members
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Skip(_)))
        .map(|r| Behaviour {
            runtime: &r.runtime,
            ending: Ending::of(&r.result.end),
            stdout: &r.result.stdout,
            stderr: &r.result.stderr,
        })
        .collect();
    if ran.len() < 2 {
        return (
            Outcome::Skip(format!(
                "ran on {} of {} runtimes; nothing to compare",
                ran.len(),
                members.len()
            )),
            TestOutcome::default(),
        );
    }
    // Classes of runtimes that behaved alike, largest first.
    let mut classes: Vec<Vec<&Behaviour<'_>>> = Vec::new();
    for b in &ran {
        match classes.iter_mut().find(|c| c[0].same(b)) {
            Some(c) => c.push(b),
            None => classes.push(vec![b]),
        }
    }
    if classes.len() == 1 {
        return (Outcome::Pass, TestOutcome::default());
    }
    // Largest group first; among equals, the one holding the earliest runtime
    // (a stable sort keeps the runtimes' order).
    classes.sort_by_key(|c| std::cmp::Reverse(c.len()));
    let names = |c: &[&Behaviour<'_>]| {
        c.iter()
            .map(|b| b.runtime.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let reference = classes[0][0];
    let mut message = format!(
        "the runtimes disagree: {} in {} groups; {} agree{}",
        ran.len(),
        classes.len(),
        names(&classes[0]),
        if classes[0].len() == 1 {
            "s with itself"
        } else {
            ""
        }
    );
    for class in &classes[1..] {
        let other = class[0];
        message.push_str(&format!(
            "\n\n{} differ{} from {}:",
            names(class),
            if class.len() == 1 { "s" } else { "" },
            reference.runtime.name
        ));
        if other.ending != reference.ending {
            message.push_str(&format!(
                "\n  ending: {} vs {}",
                reference.ending.describe(),
                other.ending.describe()
            ));
        }
        for (name, a, b) in [
            ("stdout", reference.stdout, other.stdout),
            ("stderr", reference.stderr, other.stderr),
        ] {
            if !same_stream(a, b) {
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
                    "\n  {name} ({} = expected, {} = actual){partial}:\n{}",
                    reference.runtime.name,
                    other.runtime.name,
                    indent(&check::diff(&a.bytes, &b.bytes, false))
                ));
            }
        }
    }
    let outcome = TestOutcome {
        failures: vec![Failure::new(FailureKind::Stream, message)],
        ..TestOutcome::default()
    };
    (Outcome::Fail, outcome)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::{Suite, TestCase};

    fn record(runtime: &str, end: GuestEnd, stdout: &str) -> TestRecord {
        let suite = Arc::new(Suite {
            dir: "s".into(),
            path: "s".into(),
            manifest: None,
            manifest_error: None,
            tests: Vec::new(),
            warnings: Vec::new(),
        });
        TestRecord {
            suite,
            test: TestCase {
                name: "t".into(),
                module: "s/t.wasm".into(),
                spec_file: None,
                problem: None,
            },
            runtime: Arc::new(RuntimeInfo {
                name: runtime.into(),
                version: "1".into(),
            }),
            outcome: Outcome::Pass,
            result: TestOutcome {
                end: Some(end),
                stdout: Output::new(stdout.as_bytes().to_vec(), false, true),
                ..TestOutcome::default()
            },
        }
    }

    #[test]
    fn agreement_passes_and_disagreement_names_the_groups() {
        let order: Vec<Arc<RuntimeInfo>> = ["a", "b", "c"]
            .iter()
            .map(|n| {
                Arc::new(RuntimeInfo {
                    name: n.to_string(),
                    version: "1".into(),
                })
            })
            .collect();
        let same = compare(
            &[
                record("b", GuestEnd::Exited(0), "x\n"),
                record("a", GuestEnd::Exited(0), "x\n"),
            ],
            &order,
        );
        assert_eq!(same.len(), 1);
        assert_eq!(same[0].outcome, Outcome::Pass);
        assert_eq!(same[0].runtime.name, "differential");

        let differ = compare(
            &[
                record("c", GuestEnd::Exited(1), "y\n"),
                record("a", GuestEnd::Exited(0), "x\n"),
                record("b", GuestEnd::Exited(0), "x\n"),
            ],
            &order,
        );
        assert_eq!(differ[0].outcome, Outcome::Fail);
        let m = &differ[0].result.failures[0].message;
        assert!(m.contains("a, b agree"), "{m}");
        assert!(m.contains("c differs from a"), "{m}");
        assert!(m.contains("exit code 0 vs exit code 1"), "{m}");
        assert!(m.contains("-x") && m.contains("+y"), "{m}");
    }

    #[test]
    fn skipped_runs_are_not_compared() {
        let mut skipped = record("b", GuestEnd::Exited(1), "");
        skipped.outcome = Outcome::Skip("no p3".into());
        let order: Vec<Arc<RuntimeInfo>> = ["a", "b"]
            .iter()
            .map(|n| {
                Arc::new(RuntimeInfo {
                    name: n.to_string(),
                    version: "1".into(),
                })
            })
            .collect();
        let r = compare(&[record("a", GuestEnd::Exited(0), ""), skipped], &order);
        assert!(matches!(r[0].outcome, Outcome::Skip(_)));
    }
}
