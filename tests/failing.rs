//! Specs that are meant to fail: every test under `tests/failing-suites/` must fail,
//! and its failure message (with the hints and host calls shown under it) must
//! contain each line of its `NAME.expect` file. This
//! proves the harness catches failures (and says why), not only that it passes passes.

use std::sync::Arc;

use libtest_mimic::{Failed, Trial};
use wasi_conform::{Harness, HarnessOptions, discover};

fn main() {
    // SAFETY: first thing in main; no other thread runs yet.
    unsafe { wasi_conform::quiet_error_backtraces() };
    let args = libtest_mimic::Arguments::from_args();
    let suites =
        discover::discover(&["tests/failing-suites".into()]).expect("tests/failing-suites exists");
    let harness = Arc::new(
        Harness::new(HarnessOptions {
            defaults: wasi_conform::run::RunDefaults {
                timeout: std::time::Duration::from_secs(5),
                ..Default::default()
            },
            compile: wasi_conform::run::CompileConfig {
                cache_dir: Some(
                    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache"),
                ),
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
        .expect("engine"),
    );
    let mut trials = Vec::new();
    for suite in &suites {
        let suite = Arc::new(suite.clone());
        for test in &suite.tests {
            let (harness, suite, test) = (harness.clone(), suite.clone(), test.clone());
            trials.push(Trial::test(suite.test_name(&test), move || {
                let expect_file = test.module.with_extension("expect");
                let expected = std::fs::read_to_string(&expect_file)
                    .map_err(|e| Failed::from(format!("{}: {e}", expect_file.display())))?;
                let outcome = harness.run_test(&suite, &test);
                if outcome.passed() {
                    return Err("this test must fail, but it passed".into());
                }
                // The failure, then the hints and host calls shown under it.
                let message = format!(
                    "{}\n\n{}",
                    outcome.message(),
                    outcome.trace_text().unwrap_or_default()
                );
                let missing: Vec<&str> = expected
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !message.contains(l))
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "the failure message lacks {missing:?} (from {})\n--- message ---\n{message}",
                        expect_file.display()
                    )
                    .into())
                }
            }));
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    wasi_conform::sandbox::remove_run_dir();
    conclusion.exit();
}
