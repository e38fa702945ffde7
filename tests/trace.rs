//! End-to-end tests of host-call traces and API coverage through the binary:
//! `--trace`, `debug: true`, `--trace-dir`, the JSON report's `trace` field,
//! JUnit's `system-out`, the GitHub group, an external runtime's note, and
//! `wasi-conform coverage` (markdown, JSON, HTML) on small suites.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wasi-conform"));
    c.current_dir(dir)
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CI")
        .env_remove("WASI_CONFORM_BLESS")
        .env_remove("WASI_CONFORM_TRACE")
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"));
    c
}

fn run(dir: &Path, args: &[&str]) -> (Output, String) {
    let out = command(dir, args).output().expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Opens `name` in the preopen at fd 3, prints "opened" on success, exits 1 otherwise.
fn opener(name: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "{name}")
  (data (i32.const 300) "opened\n")
  (func (export "_start")
    (if (call $open (i32.const 3) (i32.const 1) (i32.const 100) (i32.const {len})
                    (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200))
      (then (call $exit (i32.const 1))))
    (i32.store (i32.const 0) (i32.const 300))
    (i32.store (i32.const 4) (i32.const 7))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        len = name.len()
    )
}

/// A suite: `found` passes, `missing` fails (the file is not there), `debugged`
/// passes with `debug: true`.
fn suite(dir: &Path) {
    write(dir, "s/data.dir/here.txt", "x");
    for (name, file, debug) in [
        ("found", "here.txt", false),
        ("missing", "gone.txt", false),
        ("debugged", "here.txt", true),
    ] {
        write(dir, &format!("s/{name}.wat"), &opener(file));
        write(
            dir,
            &format!("s/{name}.json"),
            &format!(
                r#"{{"dirs": [{{"host": "data.dir", "guest": "/data"}}], "stdout": "opened\n", "debug": {debug}}}"#
            ),
        );
    }
}

const MISSING_CALL: &str = r#"path_open(fd=3 "/data", dirflags=SYMLINK_FOLLOW, path="gone.txt", oflags=0, rights=FD_READ, fdflags=0) -> ENOENT"#;
const FOUND_CALL: &str = r#"path="here.txt", oflags=0, rights=FD_READ, fdflags=0) -> ok opened="#;
const MISSING_HINT: &str = "hint: the guest tried to open /data/gone.txt: there is no such file in the directory preopened at /data";

/// The lines of `stdout` between `---- NAME ----` and the next blank-line block end.
fn failure_block<'a>(stdout: &'a str, name: &str) -> &'a str {
    let start = stdout
        .find(&format!("---- {name} ----"))
        .unwrap_or_else(|| panic!("no failure block for {name}:\n{stdout}"));
    let rest = &stdout[start..];
    &rest[..rest.find("rerun:").unwrap_or(rest.len())]
}

#[test]
fn a_failure_shows_its_calls_and_hints_and_passing_tests_show_none() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let (out, stdout) = run(tmp.path(), &["run", "s", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let block = failure_block(&stdout, "s::missing");
    assert!(block.contains(MISSING_CALL), "{block}");
    assert!(block.contains("proc_exit(code=1) -> exit(1)"), "{block}");
    assert!(block.contains(MISSING_HINT), "{block}");
    assert!(block.contains("host calls: 2\n"), "{block}");
    // The passing test without debug shows no calls; the debugged one does.
    let found_line = stdout
        .lines()
        .position(|l| l.starts_with("test s::found"))
        .unwrap();
    let next = stdout.lines().nth(found_line + 1).unwrap_or_default();
    assert!(!next.contains("host calls"), "{stdout}");
    let debugged = stdout
        .lines()
        .position(|l| l.starts_with("test s::debugged"))
        .unwrap();
    let after: Vec<&str> = stdout.lines().skip(debugged + 1).take(4).collect();
    assert!(after[0].contains("host calls: 2"), "{stdout}");
    assert!(after.iter().any(|l| l.contains(FOUND_CALL)), "{stdout}");
}

#[test]
fn trace_shows_passing_tests_calls_too() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let (_, stdout) = run(tmp.path(), &["run", "s", "--trace", "--filter", "found"]);
    let line = stdout
        .lines()
        .position(|l| l.starts_with("test s::found"))
        .unwrap();
    let after: Vec<&str> = stdout.lines().skip(line + 1).take(4).collect();
    assert!(after[0].contains("host calls: 2"), "{stdout}");
    assert!(after[1].contains(FOUND_CALL), "{stdout}");
    assert!(
        after[2]
            .contains(r#"fd_write(fd=1 "<stdout>", data="opened\n", len=7 bytes) -> ok written=7"#),
        "{stdout}"
    );
}

#[test]
fn trace_dir_writes_one_file_per_test() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let (out, stdout) = run(tmp.path(), &["run", "s", "--trace-dir", "traces"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let mut files: Vec<String> = std::fs::read_dir(tmp.path().join("traces"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["s__debugged.trace", "s__found.trace", "s__missing.trace"]
    );
    let missing = std::fs::read_to_string(tmp.path().join("traces/s__missing.trace")).unwrap();
    assert!(
        missing.starts_with("test s::missing ... fail\n"),
        "{missing}"
    );
    assert!(
        missing.contains("exit code: expected 0, got 1"),
        "{missing}"
    );
    assert!(missing.contains(MISSING_HINT), "{missing}");
    assert!(missing.contains(MISSING_CALL), "{missing}");
    let found = std::fs::read_to_string(tmp.path().join("traces/s__found.trace")).unwrap();
    assert!(found.contains(FOUND_CALL), "{found}");
    // The passing test's trace went to its file, not to the terminal.
    assert!(
        !stdout.contains(r#"path="here.txt""#) || stdout.contains("s::debugged"),
        "{stdout}"
    );
}

#[test]
fn the_json_report_has_a_trace_field_where_the_trace_is_shown() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    run(tmp.path(), &["run", "s", "--json", "r.json"]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap()).unwrap();
    let tests = report["results"][0]["tests"].as_array().unwrap();
    let test = |name: &str| tests.iter().find(|t| t["name"] == name).unwrap();
    let official = [
        "name",
        "executed",
        "outcome",
        "duration_s",
        "failures",
        "setup_s",
    ];
    let keys =
        |t: &serde_json::Value| -> Vec<String> { t.as_object().unwrap().keys().cloned().collect() };
    // A passing test keeps exactly the keys it had.
    let mut found = keys(test("found"));
    found.sort();
    let mut expected: Vec<String> = official.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);
    let missing = test("missing");
    assert!(missing["failures"].is_array());
    assert_eq!(missing["failures"].as_array().unwrap().len(), 2);
    let trace = &missing["trace"];
    assert_eq!(trace["total"], 2);
    assert_eq!(trace["dropped"], 0);
    assert_eq!(trace["calls"][0]["func"], "path_open");
    assert_eq!(trace["calls"][0]["result"], "ENOENT");
    assert!(
        trace["calls"][0]["args"]
            .as_str()
            .unwrap()
            .contains(r#"path="gone.txt""#)
    );
    assert_eq!(trace["hints"][0], MISSING_HINT.trim_start_matches("hint: "));
    assert_eq!(test("debugged")["trace"]["total"], 2);
}

#[test]
fn junit_system_out_and_the_github_group_hold_the_trace() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let out = command(tmp.path(), &["run", "s", "--junit", "r.xml"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let group = &stdout[stdout.find("::group::s::missing").expect("a group")..];
    let group = &group[..group.find("::endgroup::").unwrap()];
    assert!(group.contains(MISSING_CALL), "{group}");
    assert!(group.contains(MISSING_HINT), "{group}");
    let xml = std::fs::read_to_string(tmp.path().join("r.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("missing"))
        .unwrap();
    let out = case
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(out.contains(MISSING_CALL), "{out}");
    assert!(out.contains(MISSING_HINT), "{out}");
    let found = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("found"))
        .unwrap();
    let found_out = found
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(!found_out.contains("host calls"), "{found_out}");
}

#[test]
fn an_external_runtime_says_it_has_no_trace_when_one_is_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let adapter = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-runtimes/conform.toml");
    let out = command(
        tmp.path(),
        &[
            "run",
            "s",
            "--adapter",
            adapter.to_str().unwrap(),
            "--trace",
            "--filter",
            "found",
        ],
    )
    .env("WASI_CONFORM_FAKE", env!("CARGO_BIN_EXE_wasi-conform"))
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("host calls: not traced (this runtime runs outside wasi-conform"),
        "{stdout}"
    );
}

fn coverage_suite(dir: &Path) -> PathBuf {
    suite(dir);
    dir.join("s")
}

#[test]
fn coverage_counts_imports_and_calls_in_markdown_json_and_html() {
    let tmp = tempfile::tempdir().unwrap();
    coverage_suite(tmp.path());
    let (out, stdout) = run(
        tmp.path(),
        &[
            "coverage", "s", "--json", "c.json", "--html", "c.html", "-j", "1",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Three modules import path_open, fd_write and proc_exit; two opens
    // succeeded and one failed with ENOENT; proc_exit was called once.
    assert!(
        stdout.contains("| `path_open` | 3 / 3 | 3 | 3 | noent ×1, success ×2 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| `proc_exit` | 3 / 1 | 3 | 1 | exit ×1 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| **`sock_accept`** | — | 0 | 0 |  **not imported** |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| `wasi_snapshot_preview1` | 46 | 3 | 3 | 1 |"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("c.json")).unwrap()).unwrap();
    let p1 = &json["apis"][0];
    assert_eq!(p1["functions"].as_array().unwrap().len(), 46);
    assert_eq!(json["suites"][0]["tests_traced"], 3);
    let html = std::fs::read_to_string(tmp.path().join("c.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("path_open"));
    // Static only.
    let (_, stdout) = run(tmp.path(), &["coverage", "s", "--no-run"]);
    assert!(
        stdout.contains("| *`path_open`* | 3 / 0 | 3 | 0 |  *never called* |"),
        "{stdout}"
    );
}

#[test]
fn coverage_of_components_lists_the_interfaces_they_use() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/components");
    let (out, stdout) = run(
        tmp.path(),
        &[
            "coverage",
            suite.to_str().unwrap(),
            "--json",
            "c.json",
            "-j",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("c.json")).unwrap()).unwrap();
    let api = |name: &str| {
        json["apis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["api"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    let func = |api: &serde_json::Value, f: &str| {
        api["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == f)
            .unwrap_or_else(|| panic!("no {f}"))
            .clone()
    };
    // The components (wasm32-wasip2 commands) print through wasi:cli/stdout.
    let stdout_api = api("wasi:cli/stdout@0.2");
    let get_stdout = func(&stdout_api, "get-stdout");
    assert!(get_stdout["total"]["importers"].as_u64().unwrap() > 0);
    assert!(get_stdout["total"]["calls"].as_u64().unwrap() > 0);
    let streams = api("wasi:io/streams@0.2");
    let write = func(&streams, "[method]output-stream.blocking-write-and-flush");
    assert!(write["total"]["calls"].as_u64().unwrap() > 0, "{write}");
    assert!(stdout.contains("## `wasi:cli/stdout@0.2`"), "{stdout}");
}

#[test]
fn a_guest_making_many_calls_keeps_a_bounded_trace() {
    let tmp = tempfile::tempdir().unwrap();
    // 300 000 calls of sched_yield, then exit 3 (the spec expects 0: it fails).
    write(
        tmp.path(),
        "s/busy.wat",
        r#"(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (loop $again
      (drop (call $y))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 300000))))
    (call $exit (i32.const 3))))"#,
    );
    let (out, stdout) = run(
        tmp.path(),
        &["run", "s", "--trace-dir", "t", "--json", "r.json"],
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let block = failure_block(&stdout, "s::busy");
    assert!(block.contains("host calls: 300001 (100 shown)"), "{block}");
    assert!(
        block.contains("  ... 299901 calls not shown ..."),
        "{block}"
    );
    assert!(block.contains("proc_exit(code=3) -> exit(3)"), "{block}");
    assert!(block.lines().count() < 120, "{block}");
    let file = std::fs::read_to_string(tmp.path().join("t/s__busy.trace")).unwrap();
    assert!(file.contains("host calls: 300001 (300 shown)"), "{file}");
    assert!(file.contains("  ... 299701 calls not shown ..."), "{file}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap()).unwrap();
    let trace = &report["results"][0]["tests"][0]["trace"];
    assert_eq!(trace["total"], 300001);
    assert_eq!(trace["dropped"], 299701);
    assert_eq!(trace["calls"].as_array().unwrap().len(), 200);
    assert_eq!(trace["last_calls"].as_array().unwrap().len(), 100);
}
