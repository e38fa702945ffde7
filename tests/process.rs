//! The process backend, end to end, against fake runtimes kept in
//! `tests/fake-runtimes/` (no external runtime needed): one that runs modules
//! correctly (wasi-conform's own ad-hoc mode behind an adapter file), and ones
//! that hang, ignore signals, flood output, die by a signal or print a garbage
//! version. Also: skips with reasons, reports per runtime, the matrix, the
//! differential mode, ad-hoc runs and `new`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_wasi-conform");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fake(name: &str) -> String {
    root()
        .join("tests/fake-runtimes")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

/// Runs the binary in `dir`, killing it if it outlives [`common::HANG_GUARD`].
fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI")
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("WASI_CONFORM_FAKE", BIN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::output_within_guard(command)
}

fn run(args: &[&str]) -> Output {
    run_in(&root(), args)
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_correct_runtime_agrees_with_the_embedded_one() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("r.json");
    let md = tmp.path().join("m.md");
    let html = tmp.path().join("m.html");
    let out = run(&[
        "run",
        "suites/args-env",
        "suites/exit",
        "suites/fs",
        "suites/operations",
        "--runtime",
        "embedded",
        "--adapter",
        &fake("conform"),
        "--differential",
        "--json",
        json.to_str().unwrap(),
        "--matrix",
        md.to_str().unwrap(),
        "--matrix",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("suites/fs::append [fake-conform]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("suites/fs::append [differential]"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let runtimes: std::collections::BTreeSet<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["runtime"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        runtimes.into_iter().collect::<Vec<_>>(),
        ["differential", "fake-conform", "wasi-conform"]
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| test | wasi-conform "), "{md}");
    assert!(md.contains("fake-conform 0.1.0"), "{md}");
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("only rows where runtimes differ")
    );

    // The matrix subcommand reads the report back.
    let out = run(&["matrix", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("### wasi-conform fs"));
}

/// A one-test suite in a temporary directory.
fn one_test(spec: Option<&str>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root().join("suites/exit/exit-0.wasm"), dir.join("t.wasm")).unwrap();
    if let Some(spec) = spec {
        std::fs::write(dir.join("t.json"), spec).unwrap();
    }
    tmp
}

#[test]
fn misbehaving_runtimes_are_contained_by_the_timeout() {
    for name in ["hang", "ignore-signals", "flood"] {
        let tmp = one_test(None);
        let out = run_in(
            tmp.path(),
            &["run", "s", "--adapter", &fake(name), "--timeout", "500"],
        );
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {all}");
        assert!(
            all.contains("timeout: the test did not finish within 500 ms"),
            "{name}: {all}"
        );
        if name == "flood" {
            assert!(
                all.contains("stdout was truncated at the output limit"),
                "{all}"
            );
            assert!(
                out.stdout.len() < 1 << 20,
                "{} bytes of report",
                out.stdout.len()
            );
        }
    }
}

#[test]
fn a_runtime_killed_by_a_signal_fails_with_the_signal() {
    let tmp = one_test(None);
    let out = run_in(
        tmp.path(),
        &["run", "s", "--adapter", &fake("die-by-signal")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("killed by signal 11"), "{all}");
    assert!(all.contains("about to crash"), "{all}");
}

#[test]
fn bad_or_missing_runtimes_are_usage_errors() {
    let tmp = one_test(None);
    let out = run_in(
        tmp.path(),
        &["run", "s", "--adapter", &fake("garbage-version")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not UTF-8"), "{}", text(&out));

    let out = Command::new(BIN)
        .current_dir(tmp.path())
        .args(["run", "s", "--runtime", "wasmtime"])
        .env("WASMTIME", "/nonexistent/wasmtime")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("WASMTIME"), "{}", text(&out));

    let out = run_in(tmp.path(), &["run", "s", "--runtime", "nosuch"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown runtime; known: embedded, wasmtime"),
        "{}",
        text(&out)
    );
}

#[test]
fn what_a_runtime_cannot_give_is_skipped_with_the_reason() {
    let tmp = one_test(Some(r#"{"clock": {"wall": "2030-01-01T00:00:00Z"}}"#));
    let json = tmp.path().join("r.json");
    let out = run_in(
        tmp.path(),
        &[
            "run",
            "s",
            "--adapter",
            &fake("conform"),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("skipped (needs deterministic clocks"),
        "{}",
        text(&out)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let test = &report["results"][0]["tests"][0];
    assert_eq!(test["outcome"], "skip");
    assert_eq!(test["executed"], false);
}

#[test]
fn a_disagreement_is_a_failure_with_a_diff() {
    // The same module, and a runtime that adds a line of its own after a
    // module named hello.wasm (tests/fake-runtimes/decorated.sh): a
    // disagreement that reproduces on every run. (Output that varies from
    // run to run, such as unseeded random bytes, is nondeterministic, not a
    // disagreement: tests/verdicts.rs.)
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root().join("suites/stdio/hello.wasm"), dir.join("r.wasm")).unwrap();
    std::fs::copy(
        root().join("suites/stdio/hello.wasm"),
        dir.join("hello.wasm"),
    )
    .unwrap();
    let out = run_in(
        tmp.path(),
        &[
            "run",
            "s",
            "--runtime",
            "embedded",
            "--adapter",
            &fake("decorated"),
            "--differential",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("s::hello [differential] ... FAILED"), "{all}");
    assert!(all.contains("s::r [differential]     ... ok"), "{all}");
    assert!(all.contains("decorated differs from wasi-conform"), "{all}");
    assert!(all.contains("first difference at byte"), "{all}");

    // The rerun hint of the disagreement selects both runtimes and
    // --differential, so pasting it reproduces the failure.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("rerun: ") && l.contains("--differential"))
        .expect("a rerun line with --differential");
    assert!(line.contains("--runtime embedded --adapter "), "{line}");
    let words: Vec<&str> = line["rerun: wasi-conform ".len()..].split(' ').collect();
    let again = run_in(tmp.path(), &words);
    let again_all = text(&again);
    assert_eq!(again.status.code(), Some(1), "{line}\n{again_all}");
    assert!(
        again_all.contains("s::hello [differential] ... FAILED"),
        "{line}\n{again_all}"
    );
}

#[test]
fn an_adapter_timeout_raises_the_default_timeout_for_its_runtime() {
    // A 20 ms sleep under a 1 ms default timeout: too short for the embedded
    // runtime, while an adapter asking for 30 s gets 30 s.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        root().join("suites/limits/sleep-short.wasm"),
        dir.join("sleep.wasm"),
    )
    .unwrap();
    std::fs::write(
        dir.join("sleep.json"),
        r#"{"stdout": "slept at least 20 ms: yes\n"}"#,
    )
    .unwrap();
    let fakes = root().join("tests/fake-runtimes");
    let adapter = std::fs::read_to_string(fakes.join("conform.toml")).unwrap();
    let patient = adapter.replacen("worlds = [", "timeout_seconds = 30\nworlds = [", 1);
    assert_ne!(patient, adapter);
    std::fs::copy(fakes.join("conform.sh"), tmp.path().join("conform.sh")).unwrap();
    std::fs::write(tmp.path().join("patient.toml"), patient).unwrap();
    std::fs::write(tmp.path().join("hasty.toml"), adapter).unwrap();
    let with = |adapter: &str| {
        run_in(
            tmp.path(),
            &["run", "s", "--timeout", "1", "--adapter", adapter],
        )
    };
    let out = with("patient.toml");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = with("hasty.toml");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("timeout"), "{}", text(&out));
}

#[test]
fn ad_hoc_runs_print_like_a_runtime_and_new_records_a_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("args.wasm");
    std::fs::copy(root().join("suites/args-env/args.wasm"), &module).unwrap();
    let out = run_in(tmp.path(), &["run", "args.wasm", "--", "one", "two words"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "argc=3\nargv[0]=[args.wasm]\nargv[1]=[one]\nargv[2]=[two words]\n"
    );
    std::fs::copy(
        root().join("suites/exit/exit-33.wasm"),
        tmp.path().join("e.wasm"),
    )
    .unwrap();
    let out = run_in(tmp.path(), &["run", "e.wasm", "--"]);
    assert_eq!(out.status.code(), Some(33), "{}", text(&out));

    let out = run_in(tmp.path(), &["new", "args.wasm", "--", "x"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let spec = std::fs::read_to_string(tmp.path().join("args.json")).unwrap();
    assert!(spec.contains("\"args\""), "{spec}");
    let out = run_in(tmp.path(), &["run", "args.wasm"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the recorded spec passes: {}",
        text(&out)
    );
    // It is a real spec: a changed expectation fails.
    std::fs::write(tmp.path().join("args.json"), spec.replace("[x]", "[y]")).unwrap();
    let out = run_in(tmp.path(), &["run", "args.wasm"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // And `new` does not overwrite a spec unless told to.
    let out = run_in(tmp.path(), &["new", "args.wasm"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
}

/// Prints each entry of its environment on a line, in the order the host gives them.
const PRINT_ENV_IN_ORDER: &str = r#"(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32) (local $len i32)
    ;; counts at 0 and 4; pointers from 16; the strings from 1024, NUL-separated
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 16) (i32.const 1024)))
    (local.set $len (i32.load (i32.const 4)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (if (i32.eqz (i32.load8_u (i32.add (i32.const 1024) (local.get $i))))
        (then (i32.store8 (i32.add (i32.const 1024) (local.get $i)) (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store (i32.const 8) (i32.const 1024))
    (i32.store (i32.const 12) (local.get $len))
    (drop (call $write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))))"#;

#[test]
fn new_records_the_environment_in_the_order_given() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("env.wat"), PRINT_ENV_IN_ORDER).unwrap();
    let out = run_in(
        tmp.path(),
        &[
            "new", "env.wat", "--env", "ZED=1", "--env", "ALPHA=2", "--env", "MID=3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let spec = std::fs::read_to_string(tmp.path().join("env.json")).unwrap();
    assert!(
        spec.contains("\"ZED\": \"1\",\n    \"ALPHA\": \"2\",\n    \"MID\": \"3\""),
        "the spec keeps the order given: {spec}"
    );
    assert!(
        spec.contains(r#""stdout": "ZED=1\nALPHA=2\nMID=3\n""#),
        "{spec}"
    );
    let out = run_in(tmp.path(), &["run", "env.wat"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the recorded spec passes: {}",
        text(&out)
    );
    // The guest sees the order written: the same variables in another order fail.
    std::fs::write(
        tmp.path().join("env.json"),
        spec.replace(
            "\"ZED\": \"1\",\n    \"ALPHA\": \"2\"",
            "\"ALPHA\": \"2\",\n    \"ZED\": \"1\"",
        ),
    )
    .unwrap();
    let out = run_in(tmp.path(), &["run", "env.wat"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("stdout differs"), "{}", text(&out));
}

/// A runtime that prepares, and reports the args of the spec it is given as
/// its reason for not running the test.
struct EchoesArgs(wasi_conform::run::RuntimeInfo);

impl wasi_conform::run::Backend for EchoesArgs {
    fn info(&self) -> &wasi_conform::run::RuntimeInfo {
        &self.0
    }

    fn prepares(&self) -> bool {
        true
    }

    fn load(
        &self,
        _: &Path,
        _: Option<wasi_conform::discover::WasiVersion>,
        spec: &wasi_conform::spec::Spec,
    ) -> Result<wasi_conform::run::Prepared, wasi_conform::check::Failure> {
        let args = match &spec.operations[0] {
            wasi_conform::spec::Operation::Run(run) => run.args.join(" "),
            other => format!("{other:?}"),
        };
        Ok(wasi_conform::run::Prepared::Unsupported(args))
    }
}

#[test]
fn a_spec_prepared_for_a_runtime_is_not_parsed_again_to_run() {
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("s");
    std::fs::create_dir(&suite).unwrap();
    for name in ["good", "bad"] {
        std::fs::write(suite.join(format!("{name}.wat")), "(module)").unwrap();
    }
    std::fs::write(suite.join("good.json"), r#"{"args": ["as", "prepared"]}"#).unwrap();
    std::fs::write(suite.join("bad.json"), r#"{"args": "x"}"#).unwrap();
    let suites = wasi_conform::discover::discover(std::slice::from_ref(&suite)).unwrap();
    let plan = wasi_conform::runner::plan(&suites, &Default::default(), &[]);
    let info = wasi_conform::run::RuntimeInfo {
        name: "echo".into(),
        version: "0".into(),
    };
    let harness =
        wasi_conform::Harness::with_backends(Default::default(), vec![Arc::new(EchoesArgs(info))]);
    harness.prepare(&plan.tests);
    // Changed on disk after `prepare`: the run sees what was prepared.
    std::fs::write(suite.join("good.json"), r#"{"args": ["read", "again"]}"#).unwrap();
    std::fs::write(suite.join("bad.json"), r#"{"args": ["fixed"]}"#).unwrap();
    let outcome = |name: &str| {
        let test = plan.tests.iter().find(|t| t.test.name == name).unwrap();
        harness.run_test(&test.suite, &test.test)
    };
    assert_eq!(outcome("good").skipped.as_deref(), Some("as prepared"));
    let bad = outcome("bad");
    assert!(
        bad.message()
            .contains("bad.json: key `args`: expected a list of strings"),
        "{}",
        bad.message()
    );
}
