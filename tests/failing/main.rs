//! Specs that are meant to fail: every test under `tests/failing-suites/` must end
//! as its `NAME.expect` file states, section by section: its outcome, each
//! failure's kind and whole message, what was not reached, and the hints and host
//! calls shown under it (wildcards where it varies; see `expect.rs` and
//! tests/failing-suites/README.md). This proves the harness catches failures and
//! says why, not only that it passes passes. The `matcher::*` tests prove that a
//! wrong `.expect` fails.
//!
//! `WASI_CONFORM_BLESS=1 cargo test --test failing` writes the actual text into
//! the `.expect` files that differ (refused where `CI` is set): review each, and
//! put back the wildcards it replaced.

mod expect;

use std::path::Path;
use std::sync::Arc;

use libtest_mimic::{Failed, Trial};
use wasi_conform::runner::{self, PlannedTest, Selection};
use wasi_conform::{Harness, HarnessOptions, discover};

const ROOT: &str = "tests/failing-suites";

fn harness() -> Harness {
    Harness::new(HarnessOptions {
        defaults: wasi_conform::run::RunDefaults {
            timeout: std::time::Duration::from_secs(5),
            ..Default::default()
        },
        compile: wasi_conform::run::CompileConfig {
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache")),
            // Costly modules compile in the binary as a compile worker, and
            // compile-locals-bomb must be stopped by the memory limit.
            limits: wasi_conform::run::CompileLimits {
                worker: Some(env!("CARGO_BIN_EXE_wasi-conform").into()),
                memory_bytes: 256 << 20,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("engine")
}

/// Runs `planned` and renders how it ended, as an `.expect` file states it.
fn run(harness: &Harness, planned: &PlannedTest) -> String {
    let record = runner::run_one(harness, planned, 0);
    expect::render(record.outcome.as_str(), &record.result)
}

/// Checks an actual rendering against the text of `expect_file`.
fn check(expect_file: &Path, expected: &str, actual: &str) -> Result<(), String> {
    expect::validate(expected).map_err(|e| format!("{}: {e}", expect_file.display()))?;
    if expect::matches(expected, actual) {
        return Ok(());
    }
    Err(format!(
        "the test did not end as {} states:\n{}\n--- actual (`[..]`: any text in a line; \
         `...`: any lines) ---\n{actual}",
        expect_file.display(),
        expect::diff(expected, actual)
    ))
}

/// The trial of one meant-to-fail test.
fn trial(harness: Arc<Harness>, planned: PlannedTest, bless: bool) -> Trial {
    Trial::test(planned.full_name(), move || {
        let expect_file = planned.test.module.with_extension("expect");
        let expected = std::fs::read_to_string(&expect_file).unwrap_or_default();
        let actual = run(&harness, &planned);
        match check(&expect_file, &expected, &actual) {
            Ok(()) => Ok(()),
            Err(_) if bless => std::fs::write(&expect_file, expect::blessed(&actual))
                .map_err(|e| Failed::from(format!("{}: {e}", expect_file.display()))),
            Err(_) if !expect_file.is_file() => Err(format!(
                "{} is missing: each meant-to-fail test states how it ends (write it with \
                 WASI_CONFORM_BLESS=1 cargo test --test failing, then review it)",
                expect_file.display()
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    })
}

// ---------------------------------------------------------------------------
// The matcher itself.

mod matcher {
    use super::*;

    /// The one planned test `SUITE::NAME` of `dir`.
    fn planned(dir: &str, name: &str) -> PlannedTest {
        let suites = discover::discover(&[dir.into()]).unwrap();
        let plan = runner::plan(&suites, &Selection::default(), &[]);
        plan.tests
            .into_iter()
            .find(|p| p.test.name == name)
            .unwrap_or_else(|| panic!("no test {name} in {dir}"))
    }

    pub fn wildcards_match_text_in_a_line_and_whole_lines() {
        let actual = "== outcome: fail\n== failure: exit\nexit code: expected 0, got 9\n\
                      == trace\nhost calls: 2\n    +0.1ms a()\n    +0.2ms b()\n";
        for fits in [
            actual,
            "== outcome: fail\n== failure: exit\nexit code: expected 0, got 9\n== trace\nhost calls: 2\n    +0.1ms a()\n    +0.2ms b()",
            "== outcome: fail\n== failure: exit\nexit code: expected [..], got [..]\n== trace\n...\n",
            "== outcome: fail\n== failure: exit\n[..]\n== trace\nhost calls: 2\n    +[..]ms a()\n    +[..]ms b()\n",
            "== outcome: fail\n...\n== trace\nhost calls: 2\n...\n    +0.2ms b()\n",
            "[..]\n...\n[..]b()\n",
        ] {
            assert!(expect::matches(fits, actual), "{fits}");
        }
        for wrong in [
            "== outcome: pass\n...\n",
            "== outcome: fail\n== failure: stream\n...\n",
            "== outcome: fail\n== failure: exit\nexit code: expected 0, got 8\n...\n",
            "== outcome: fail\n== failure: exit\nexit code: expected 0\n...\n",
            "== outcome: fail\n== failure: exit\nexit code: expected 0, got 9\n",
            "== outcome: fail\n== failure: exit\n[..] got 9 [..]\n...\n",
            "...\n    +[..]ms c()\n",
            "...\nextra line\n",
        ] {
            assert!(!expect::matches(wrong, actual), "{wrong}");
        }
    }

    pub fn a_wrong_expect_fails_with_the_difference() {
        let harness = harness();
        let planned = planned(&format!("{ROOT}/run-failures"), "wrong-exit-code");
        let file = planned.test.module.with_extension("expect");
        let committed = std::fs::read_to_string(&file).unwrap();
        let actual = run(&harness, &planned);
        check(&file, &committed, &actual).unwrap();
        // Another kind, another message, another outcome, a section left out:
        // each fails, showing the lines that differ.
        for (wrong, shown) in [
            (
                committed.replace("== failure: exit", "== failure: stream"),
                "-== failure: stream\n+== failure: exit",
            ),
            (
                committed.replace("got 17", "got 18"),
                "-exit code: expected 42, got 18\n+exit code: expected 42, got 17",
            ),
            (
                committed.replace("== outcome: fail", "== outcome: pass"),
                "-== outcome: pass\n+== outcome: fail",
            ),
            (
                committed[..committed.find("== trace").unwrap()].to_string(),
                "+== trace",
            ),
        ] {
            assert_ne!(wrong, committed);
            let e = check(&file, &wrong, &actual).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "the test did not end as {} states:\n",
                    file.display()
                )),
                "{e}"
            );
            assert!(e.contains(shown), "{shown:?} in:\n{e}");
        }
    }

    pub fn a_test_that_passes_fails_its_expect() {
        let harness = harness();
        let planned = planned("suites/exit", "exit-0");
        let actual = run(&harness, &planned);
        assert_eq!(actual, "== outcome: pass\n");
        let file = Path::new("exit-0.expect");
        let e = check(file, "== outcome: fail\n...\n", &actual).unwrap_err();
        assert!(
            e.contains("\n-== outcome: fail\n") && e.contains("\n+== outcome: pass\n"),
            "{e}"
        );
    }

    pub fn malformed_expect_files_name_the_file_and_line() {
        let file = Path::new("t.expect");
        let e = check(file, "exit code: expected 0\n", "== outcome: fail\n").unwrap_err();
        assert_eq!(
            e,
            "t.expect: line 1: the file must start with `== outcome: OUTCOME`"
        );
        let e = check(file, "== outcome: fail\n== failure: exitt\n", "").unwrap_err();
        assert_eq!(
            e,
            "t.expect: line 2: unknown failure kind `exitt` (kinds: spec, module, setup, \
             operation, exit, stream, file, result, runtime)"
        );
        let e = check(file, "== outcome: fail\n\n== traces\n", "").unwrap_err();
        assert_eq!(
            e,
            "t.expect: line 3: unknown section `== traces` (sections: `== failure: KIND`, \
             `== not reached`, `== trace`, `== skipped`)"
        );
    }
}

fn main() {
    // SAFETY: first thing in main; no other thread runs yet.
    unsafe { wasi_conform::quiet_error_backtraces() };
    let args = libtest_mimic::Arguments::from_args();
    let bless = std::env::var("WASI_CONFORM_BLESS").is_ok_and(|v| v == "1");
    if bless && let Err(e) = wasi_conform::harness::bless_allowed() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    let suites = discover::discover(&[ROOT.into()]).expect("tests/failing-suites exists");
    let plan = runner::plan(&suites, &Selection::default(), &[]);
    let harness = Arc::new(harness());
    let mut trials: Vec<Trial> = plan
        .tests
        .into_iter()
        .map(|planned| trial(harness.clone(), planned, bless))
        .collect();
    let own: [(&str, fn()); 4] = [
        (
            "matcher::wildcards_match_text_in_a_line_and_whole_lines",
            matcher::wildcards_match_text_in_a_line_and_whole_lines,
        ),
        (
            "matcher::a_wrong_expect_fails_with_the_difference",
            matcher::a_wrong_expect_fails_with_the_difference,
        ),
        (
            "matcher::a_test_that_passes_fails_its_expect",
            matcher::a_test_that_passes_fails_its_expect,
        ),
        (
            "matcher::malformed_expect_files_name_the_file_and_line",
            matcher::malformed_expect_files_name_the_file_and_line,
        ),
    ];
    trials.extend(own.map(|(name, test)| {
        Trial::test(name, move || {
            test();
            Ok(())
        })
    }));
    let conclusion = libtest_mimic::run(&args, trials);
    wasi_conform::sandbox::remove_run_dir();
    conclusion.exit();
}
