use super::*;
use crate::discover::{Suite, TestCase};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

fn suite() -> Arc<Suite> {
    Arc::new(Suite {
        dir: "s".into(),
        path: "s".into(),
        manifest: None,
        manifest_error: None,
        tests: vec![TestCase {
            name: "t".into(),
            module: "s/t.wasm".into(),
            spec_file: None,
            problem: None,
        }],
        warnings: Vec::new(),
    })
}

fn record(runtime: &str, end: GuestEnd, stdout: &str) -> TestRecord {
    TestRecord {
        suite: suite(),
        test: suite().tests[0].clone(),
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
        failed_attempts: Vec::new(),
    }
}

fn order(names: &[&str]) -> Vec<Arc<RuntimeInfo>> {
    names
        .iter()
        .map(|n| {
            Arc::new(RuntimeInfo {
                name: n.to_string(),
                version: "1".into(),
            })
        })
        .collect()
}

/// Reruns that behave exactly like the first run.
fn same(r: &TestRecord) -> TestRecord {
    r.clone()
}

#[test]
fn agreement_passes_and_a_reproduced_disagreement_names_the_groups() {
    let o = order(&["a", "b", "c"]);
    let agree = compare(
        &[
            record("b", GuestEnd::Exited(0), "x\n"),
            record("a", GuestEnd::Exited(0), "x\n"),
        ],
        &o,
        &Options::default(),
        &same,
    );
    assert_eq!(agree.records.len(), 1);
    assert_eq!(agree.records[0].outcome, Outcome::Pass);
    assert_eq!(agree.records[0].runtime.name, "differential");
    assert!(agree.records[0].result.notes.is_empty());

    let reruns = AtomicUsize::new(0);
    let counting = |r: &TestRecord| {
        reruns.fetch_add(1, Ordering::Relaxed);
        r.clone()
    };
    let differ = compare(
        &[
            record("c", GuestEnd::Exited(1), "y\n"),
            record("a", GuestEnd::Exited(0), "x\n"),
            record("b", GuestEnd::Exited(0), "x\n"),
        ],
        &o,
        &Options::default(),
        &counting,
    );
    // Each of the three runtimes ran it REPEATS more times.
    assert_eq!(reruns.load(Ordering::Relaxed), 3 * REPEATS);
    assert_eq!(differ.records[0].outcome, Outcome::Fail);
    let m = &differ.records[0].result.failures[0].message;
    assert!(
        m.starts_with(
            "the runtimes disagree: 3 in 2 groups; a, b agree (the same in each of 4 runs of \
             every runtime)\n\nc differs from a:\n  ending: exit code 0 vs exit code 1\n  \
             stdout (a = expected, c = actual):\n"
        ),
        "{m}"
    );
    assert!(m.contains("-x") && m.contains("+y"), "{m}");
}

#[test]
fn what_varies_between_runs_of_one_runtime_is_not_compared() {
    // b prints a hash map: its order changes from run to run.
    let n = AtomicUsize::new(0);
    let varying = |r: &TestRecord| {
        if r.runtime.name == "b" {
            let k = n.fetch_add(1, Ordering::Relaxed);
            let text = if k.is_multiple_of(2) {
                "{2, 1}\n"
            } else {
                "{1, 2}\n"
            };
            record("b", GuestEnd::Exited(0), text)
        } else {
            r.clone()
        }
    };
    let c = compare(
        &[
            record("a", GuestEnd::Exited(0), "{1, 2}\n"),
            record("b", GuestEnd::Exited(0), "{2, 1}\n"),
        ],
        &order(&["a", "b"]),
        &Options::default(),
        &varying,
    );
    assert_eq!(c.records[0].outcome, Outcome::Pass);
    assert_eq!(
        c.records[0].result.notes,
        [
            "nondeterministic: stdout differed between runs of b (of 4 runs each), so it was not \
          compared"
        ]
    );
    // What does not vary is still compared: an exit code that differs every time fails.
    let c = compare(
        &[
            record("a", GuestEnd::Exited(0), "{1, 2}\n"),
            record("b", GuestEnd::Exited(3), "{2, 1}\n"),
        ],
        &order(&["a", "b"]),
        &Options::default(),
        &|r: &TestRecord| {
            let mut again = varying(r);
            again.result.end = r.result.end.clone();
            again
        },
    );
    assert_eq!(c.records[0].outcome, Outcome::Fail);
    let m = &c.records[0].result.failures[0].message;
    assert!(m.contains("ending: exit code 0 vs exit code 3"), "{m}");
    assert!(!m.contains("stdout ("), "{m}");
}

#[test]
fn accepted_disagreements_are_xfail_and_unused_entries_stale() {
    let accepted = Accepted::parse(
        "version = 1\n[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\n\
         runtimes = [\"b\"]\nreason = \"b numbers fds its own way\"\n",
        Path::new("accept.toml"),
    )
    .unwrap();
    let options = Options {
        accepted,
        ..Options::default()
    };
    let o = order(&["a", "b", "c"]);
    let c = compare(
        &[
            record("a", GuestEnd::Exited(0), "fd 3\n"),
            record("b", GuestEnd::Exited(0), "fd 4\n"),
            record("c", GuestEnd::Exited(0), "fd 3\n"),
        ],
        &o,
        &options,
        &same,
    );
    assert_eq!(c.records[0].outcome, Outcome::XFail);
    assert!(
        c.records[0].result.failures[0]
            .message
            .starts_with("accepted by accept.toml (runtimes b): b numbers fds its own way\n"),
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // A disagreement of another runtime is not accepted by the entry for b.
    let c = compare(
        &[
            record("a", GuestEnd::Exited(0), "fd 3\n"),
            record("b", GuestEnd::Exited(0), "fd 4\n"),
            record("c", GuestEnd::Exited(0), "fd 5\n"),
        ],
        &o,
        &options,
        &same,
    );
    assert_eq!(c.records[0].outcome, Outcome::Fail);
    // No disagreement: the entry is stale.
    let c = compare(
        &[
            record("a", GuestEnd::Exited(0), "fd 3\n"),
            record("b", GuestEnd::Exited(0), "fd 3\n"),
        ],
        &o,
        &options,
        &same,
    );
    assert_eq!(c.records[0].outcome, Outcome::Pass);
    assert_eq!(
        c.warnings,
        [
            "accept.toml: suite \"s\", test \"t\": no disagreement of b in this run to accept (the \
          entry is stale: remove it)"
        ]
    );
}

#[test]
fn skipped_and_errored_runs_are_not_compared() {
    let mut skipped = record("b", GuestEnd::Exited(1), "");
    skipped.outcome = Outcome::Skip("no p3".into());
    let mut errored = record("c", GuestEnd::Exited(2), "");
    errored.outcome = Outcome::Error;
    let c = compare(
        &[record("a", GuestEnd::Exited(0), ""), skipped, errored],
        &order(&["a", "b", "c"]),
        &Options::default(),
        &same,
    );
    assert_eq!(
        c.records[0].outcome,
        Outcome::Skip("ran on 1 of 3 runtimes; nothing to compare".into())
    );
}
