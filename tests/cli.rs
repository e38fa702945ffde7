//! End-to-end tests of the `wasi-conform` binary: exit statuses, per-test lines,
//! the JSON report, usage errors, and that fixtures are left untouched.

use std::path::Path;
use std::process::{Command, Output};

fn wasi_conform(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasi-conform"))
        .current_dir(dir)
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("the binary runs")
}

/// The status libtest prints for a test ("ok", "FAILED"), whatever the padding.
fn status<'a>(stdout: &'a str, name: &str) -> Option<&'a str> {
    stdout.lines().find_map(|l| {
        let rest = l.strip_prefix("test ")?.strip_prefix(name)?;
        rest.trim_start().strip_prefix("... ")
    })
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const HELLO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

/// A suite with one passing and one failing test, and a fixture directory.
fn suite(dir: &Path) {
    write(
        dir,
        "s/manifest.json",
        r#"{"name": "demo", "version": "wasm32-wasip1"}"#,
    );
    write(dir, "s/hello.wat", HELLO);
    write(
        dir,
        "s/hello.json",
        r#"{"stdout": "hello\n", "root": "data.dir"}"#,
    );
    write(dir, "s/data.dir/keep.txt", "fixture\n");
    write(dir, "s/data.dir/old.cleanup", "x");
    write(dir, "s/wrong.wat", HELLO);
    write(dir, "s/wrong.json", r#"{"stdout": "goodbye\n"}"#);
}

#[test]
fn passing_and_failing_tests_set_the_exit_status_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let out = wasi_conform(tmp.path(), &["run", "s", "--json", "report.json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(status(&stdout, "s::hello"), Some("ok"), "{stdout}");
    assert_eq!(status(&stdout, "s::wrong"), Some("FAILED"), "{stdout}");
    assert!(stdout.contains("-goodbye"), "{stdout}");
    assert!(stdout.contains("+hello"), "{stdout}");
    assert!(stdout.contains("1 passed; 1 failed"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("report.json")).unwrap())
            .unwrap();
    let suite = &report["results"][0];
    assert_eq!(suite["name"], "demo");
    assert_eq!(suite["passed"], 1);
    assert_eq!(suite["failed"], 1);
    let tests = suite["tests"].as_array().unwrap();
    let wrong = tests.iter().find(|t| t["name"] == "wrong").unwrap();
    assert_eq!(wrong["outcome"], "fail");
    assert_eq!(wrong["executed"], true);
    assert!(
        wrong["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("goodbye")
    );
    assert!(report["execution"]["start_timestamp"].is_string());

    // The fixture is exactly as before, *.cleanup included (the guest saw a copy).
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("s/data.dir/keep.txt")).unwrap(),
        "fixture\n"
    );
    assert!(tmp.path().join("s/data.dir/old.cleanup").exists());
}

#[test]
fn all_passing_exits_zero_and_filters_work() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let out = wasi_conform(tmp.path(), &["run", "s", "--filter", "s::hello", "--exact"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 passed; 0 failed"), "{stdout}");
    assert!(stdout.contains("1 filtered out"), "{stdout}");
}

#[test]
fn list_prints_test_names() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let out = wasi_conform(tmp.path(), &["run", "s", "--list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("s::hello: test"), "{stdout}");
    assert!(stdout.contains("s::wrong: test"), "{stdout}");
}

#[test]
fn usage_errors_exit_two() {
    let tmp = tempfile::tempdir().unwrap();
    let out = wasi_conform(tmp.path(), &["run"]);
    assert_eq!(out.status.code(), Some(2));
    let out = wasi_conform(tmp.path(), &["run", "missing-dir"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing-dir: no such file or directory"),
        "{stderr}"
    );
    let out = wasi_conform(tmp.path(), &["run", ".", "--timeout", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bad_spec_fails_only_its_own_test() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    write(tmp.path(), "s/broken.wat", HELLO);
    write(
        tmp.path(),
        "s/broken.json",
        "{\n  \"stdout\": \"hello\\n\",\n  \"args\": [1,]\n}",
    );
    let out = wasi_conform(tmp.path(), &["run", "s", "--skip", "wrong"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(status(&stdout, "s::hello"), Some("ok"), "{stdout}");
    assert!(stdout.contains("s/broken.json: line 3, column"), "{stdout}");
}
