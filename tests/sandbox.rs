//! Guarantees of the sandbox, each proven end to end: seeded runs are
//! reproducible, fixtures are byte-identical after every test, and no temporary
//! directory outlives its test (also after timeouts, traps and limits).

use std::path::{Path, PathBuf};
use std::process::Command;

use wasi_conform::discover::{self, Suite, TestCase};
use wasi_conform::{Harness, HarnessOptions};

fn harness() -> Harness {
    let mut options = HarnessOptions::default();
    options.compile.cache_dir =
        Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache"));
    Harness::new(options).expect("engine")
}

/// A one-test suite in a temporary directory: `module` copied in, `spec` beside it.
fn single(module: &str, spec: &str) -> (tempfile::TempDir, Suite, TestCase) {
    let dir = tempfile::tempdir().unwrap();
    let name = Path::new(module).file_name().unwrap();
    std::fs::copy(module, dir.path().join(name)).unwrap();
    let stem = Path::new(name)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    std::fs::write(dir.path().join(format!("{stem}.json")), spec).unwrap();
    let mut suites = discover::discover(&[dir.path().to_path_buf()]).unwrap();
    let suite = suites.remove(0);
    let test = suite.tests[0].clone();
    (dir, suite, test)
}

fn stdout_of(module: &str, spec: &str) -> Vec<u8> {
    let (_dir, suite, test) = single(module, spec);
    let outcome = harness().run_test(&suite, &test);
    assert!(outcome.passed(), "{}", outcome.message());
    outcome.stdout.bytes
}

#[test]
fn seeded_runs_are_identical_and_seeds_differ() {
    let module = "suites/clock-random/random-hex.wasm";
    let spec = |seed: u64| format!(r#"{{"random_seed": {seed}, "clock": {{"wall": 0}}}}"#);
    let a = stdout_of(module, &spec(1));
    let b = stdout_of(module, &spec(1));
    let c = stdout_of(module, &spec(2));
    assert_eq!(a, b, "the same seed must give the same bytes");
    assert_ne!(a, c, "different seeds must give different bytes");
    let unseeded = stdout_of(module, "{}");
    let unseeded2 = stdout_of(module, "{}");
    assert_ne!(unseeded, unseeded2, "without a seed, random is random");
}

#[test]
fn fixed_clock_runs_are_identical() {
    let module = "suites/clock-random/clock-fixed.wasm";
    let spec = r#"{"clock": {"wall": "2030-01-01T00:00:00Z", "step_ns": 7}}"#;
    assert_eq!(stdout_of(module, spec), stdout_of(module, spec));
}

/// Every file, directory and symlink under the `*.dir` fixtures of a tree, with
/// its content or link target.
fn fixture_snapshot(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.unwrap();
        let path = entry.path();
        if !path
            .components()
            .any(|c| c.as_os_str().to_string_lossy().ends_with(".dir"))
        {
            continue;
        }
        let ft = entry.file_type();
        let what = if ft.is_symlink() {
            format!("link -> {}", std::fs::read_link(path).unwrap().display())
        } else if ft.is_dir() {
            "dir".to_string()
        } else {
            format!("{:?}", std::fs::read(path).unwrap())
        };
        out.push((path.to_path_buf(), what));
    }
    out
}

#[test]
fn fixtures_are_unchanged_after_every_suite_test() {
    let before = fixture_snapshot(Path::new("suites"));
    assert!(!before.is_empty());
    let harness = harness();
    for suite in discover::discover(&["suites".into()]).unwrap() {
        for test in &suite.tests {
            harness.run_test(&suite, test);
        }
    }
    let after = fixture_snapshot(Path::new("suites"));
    assert_eq!(before, after, "a fixture changed on disk");
}

#[test]
fn no_temporary_directory_outlives_its_test() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wasi-conform"))
        .args(["run", "suites", "tests/failing-suites", "-q"])
        .env("TMPDIR", tmp.path())
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    // The failing suites fail; what matters is what is left behind.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
