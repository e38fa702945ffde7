//! Verdicts that can be trusted, end to end through the binary: a runtime
//! that never ran a module makes no test pass (its canary fails, or its
//! adapter's `runtime_errors` recognise the run), a selection that runs no
//! test is not green, `--exact` takes the names reports print, reports list
//! runtimes in the command line's order and hold no sandbox path, `--retries`
//! reports a test that passes on a retry as flaky, and `--differential`
//! reports only disagreements that reproduce, with accepted ones kept green.
//! Fake runtimes live in `tests/fake-runtimes/`; modules are generated here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wasi-conform");
/// A run that takes longer than this is hung: the test fails instead of waiting.
const HANG_GUARD: Duration = Duration::from_secs(300);

fn fake(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fake-runtimes")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

/// Runs the binary in `dir` with `envs`, killing it if it outlives [`HANG_GUARD`].
fn run_with(dir: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI")
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("WASI_CONFORM_FAKE", BIN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("wasi-conform {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_with(dir, args, &[])
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A WAT module that writes `text` to `fd` (1 or 2) and exits with `code`.
fn printing(fd: u32, text: &str, code: i32) -> String {
    let escaped: String = text.bytes().map(|b| format!("\\{b:02x}")).collect();
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{escaped}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const {len}))
    (drop (call $w (i32.const {fd}) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $e (i32.const {code}))))"#,
        len = text.len()
    )
}

/// A WAT module that prints 8 random bytes in hex: different on every run.
const RANDOM: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "0123456789abcdef")
  (func (export "_start") (local $i i32) (local $b i32)
    (drop (call $r (i32.const 0) (i32.const 8)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const 8)))
      (local.set $b (i32.load8_u (local.get $i)))
      (i32.store8 (i32.add (i32.const 64) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const 32) (i32.shr_u (local.get $b) (i32.const 4)))))
      (i32.store8 (i32.add (i32.const 65) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const 32) (i32.and (local.get $b) (i32.const 15)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store8 (i32.const 80) (i32.const 10))
    (i32.store (i32.const 16) (i32.const 64))
    (i32.store (i32.const 20) (i32.const 17))
    (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;

/// A suite directory `dir/name` with these files.
fn suite(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let s = dir.join(name);
    std::fs::create_dir_all(&s).unwrap();
    for (file, body) in files {
        std::fs::write(s.join(file), body).unwrap();
    }
    s
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The outcomes of a JSON report: (runtime, test, outcome), in report order.
fn outcomes(report: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for r in report["results"].as_array().unwrap() {
        for t in r["tests"].as_array().unwrap() {
            out.push((
                r["runtime"]["name"].as_str().unwrap().to_string(),
                t["name"].as_str().unwrap().to_string(),
                t["outcome"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// Whether `text` matches `pattern`, where `[..]` stands for any text on one
/// line and a line `...` for any number of lines (as snapbox writes them).
fn matches(pattern: &str, text: &str) -> bool {
    let lines: Vec<String> = pattern
        .split('\n')
        .map(|line| {
            if line == "..." {
                "(?:[^\n]*\n)*?".to_string()
            } else {
                let parts: Vec<String> = line.split("[..]").map(regex::escape).collect();
                format!("{}\n", parts.join("[^\n]*"))
            }
        })
        .collect();
    regex::Regex::new(&format!("^{}$", lines.concat()))
        .unwrap()
        .is_match(&format!("{text}\n"))
}

#[test]
fn a_runtime_that_runs_nothing_passes_nothing_not_even_an_expected_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    suite(
        tmp.path(),
        "s",
        &[
            ("exit-1.wat", &printing(1, "", 1)),
            ("exit-1.json", r#"{"exit_code": 1}"#),
            ("exit-0.wat", &printing(1, "hi\n", 0)),
        ],
    );
    let out = run(
        tmp.path(),
        &[
            "run",
            "s",
            "--adapter",
            &fake("usage-error"),
            "--json",
            "r.json",
            "--junit",
            "r.xml",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = json(&tmp.path().join("r.json"));
    assert_eq!(
        outcomes(&report),
        [
            ("usage-error".into(), "exit-0".into(), "error".into()),
            ("usage-error".into(), "exit-1".into(), "error".into()),
        ]
    );
    let entry = &report["results"][0];
    let count = |k: &str| entry[k].as_u64().unwrap();
    assert_eq!(
        [
            count("passed"),
            count("failed"),
            count("errored"),
            count("flaky")
        ],
        [0, 0, 2, 0]
    );
    // Every test carries the canary's failure, whole.
    let failure = entry["tests"][1]["failures"][0].as_str().unwrap();
    let expected = "runtime usage-error 1.0 failed its canary, so it did not run this test: a \
wasm32-wasip1 module that prints its argument, the variable WASI_CONFORM_CANARY and the file \
nonce.txt of the directory preopened at /canary (each set to one nonce, as far as the adapter \
passes them), then exits with code 17, run through the same adapter as every test, did not do so.
command: [..]/sh [..]/usage-error.sh --env WASI_CONFORM_CANARY=<nonce> --dir <canary>/canary.dir::/canary <canary>/canary.wasm <nonce>
expected: exit code 17 and stdout \"wasi-conform canary: arg=<nonce> env=<nonce> file=<nonce>\\n\"
got: it exited with code 1; stdout: (empty); stderr:
    usage: usage-error [--map DIR] MODULE [ARGS]
    error: unknown option '--env'
Every test of this runtime for wasm32-wasip1 is reported as an error (not a failure, never a \
pass). Check that the runtime runs wasm32-wasip1 modules, and its adapter's command line \
(docs/adapters.md).";
    assert!(matches(expected, failure), "{failure}");
    let junit = std::fs::read_to_string(tmp.path().join("r.xml")).unwrap();
    assert_eq!(junit.matches("<error ").count(), 2, "{junit}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("test s::exit-1 [usage-error] ... ERROR"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains(
            "test result: ERROR. 0 passed; 0 failed; 0 skipped; 0 xfail; 0 xpass; 2 errors;"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn the_matcher_of_these_tests_fails_what_differs() {
    assert!(matches("a [..] c\n...\nend", "a b c\nx\ny\nend"));
    assert!(matches("a [..] c\n...\nend", "a  c\nend"));
    assert!(!matches("a [..] c\nend", "a b c\nx\nend"));
    assert!(!matches("a [..] c", "a b d"));
}

#[test]
fn a_run_its_adapter_names_a_runtime_error_is_an_error_whatever_the_test_expects() {
    let tmp = tempfile::tempdir().unwrap();
    suite(
        tmp.path(),
        "s",
        &[
            // Exits 1 as its spec expects, but prints what the adapter's
            // runtime_errors call "the runtime could not load the module".
            (
                "loader.wat",
                &printing(2, "loader: cannot load this module\n", 1),
            ),
            ("loader.json", r#"{"exit_code": 1}"#),
            ("plain.wat", &printing(2, "plain: fine\n", 1)),
            ("plain.json", r#"{"exit_code": 1}"#),
        ],
    );
    let out = run(
        tmp.path(),
        &[
            "run",
            "s",
            "--adapter",
            &fake("loud-loader"),
            "--json",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = json(&tmp.path().join("r.json"));
    assert_eq!(
        outcomes(&report),
        [
            ("loud-loader".into(), "loader".into(), "error".into()),
            ("loud-loader".into(), "plain".into(), "pass".into()),
        ]
    );
    let failure = report["results"][0]["tests"][0]["failures"][0]
        .as_str()
        .unwrap();
    assert_eq!(
        failure,
        "the runtime did not run the module: it exited with code 1 printing `loader: cannot \
         load this module` on stderr, which its adapter's runtime_errors[0] names as a usage \
         error or a module it could not load (so this is no verdict on the module; check the \
         runtime's command line with the `command:` below, or the adapter)"
    );
    // The terminal shows the command that ran it, with no sandbox path.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\ncommand: sh ") && stdout.contains("<sandbox>/module/loader.wasm"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_selection_that_runs_no_test_is_not_green() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path(), "s", &[("ok.wat", &printing(1, "", 0))]);
    let out = run(tmp.path(), &["run", "s", "--filter", "no-such-test"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no test to run: the selection (--filter, --skip, --exact, --partition) left out \
         all 1 test(s) found; check the names with --list (with --exact, give a name as --list \
         prints it, SUITE_PATH::NAME, or the bare NAME), or pass --no-tests=pass\n"
    );
    let out = run(
        tmp.path(),
        &["run", "s", "--filter", "no-such-test", "--no-tests", "pass"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(
        tmp.path(),
        &[
            "run",
            "s",
            "--filter",
            "no-such-test",
            "--no-tests",
            "warn",
            "--deny-warnings",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn exact_takes_the_names_reports_print() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(
        tmp.path(),
        "s",
        &[
            ("a.wat", &printing(1, "", 0)),
            ("ab.wat", &printing(1, "", 0)),
            ("manifest.json", r#"{"name": "My suite"}"#),
        ],
    );
    let _ = dir;
    for name in ["s::a", "a", "My suite::a"] {
        let out = run(tmp.path(), &["run", "s", "--filter", name, "--exact"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("test s::a ... ok") && !stdout.contains("s::ab"),
            "{name}: {}",
            text(&out)
        );
        assert!(stdout.contains("1 passed;"), "{name}: {}", text(&out));
    }
}

#[test]
fn reports_list_runtimes_in_the_command_lines_order_and_hold_no_sandbox_path() {
    let tmp = tempfile::tempdir().unwrap();
    suite(
        tmp.path(),
        "s",
        &[
            ("hello.wat", &printing(1, "hello\n", 0)),
            // Fails on purpose, so that its stderr (where `decorated` prints its
            // command line, host paths and all) is shown in the failure.
            ("fails.wat", &printing(1, "", 3)),
        ],
    );
    for order in [["embedded", "decorated"], ["decorated", "embedded"]] {
        let mut args = vec!["run", "s", "--json", "r.json", "--matrix", "m.md"];
        for r in order {
            if r == "embedded" {
                args.extend(["--runtime", "embedded"]);
            } else {
                args.extend(["--adapter", Box::leak(fake(r).into_boxed_str())]);
            }
        }
        let out = run(tmp.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let report = json(&tmp.path().join("r.json"));
        let runtimes: Vec<&str> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["runtime"]["name"].as_str().unwrap())
            .collect();
        let names: Vec<&str> = order
            .iter()
            .map(|r| if *r == "embedded" { "wasi-conform" } else { r })
            .collect();
        assert_eq!(runtimes, names);
        let md = std::fs::read_to_string(tmp.path().join("m.md")).unwrap();
        let header = md.lines().find(|l| l.starts_with("| test |")).unwrap();
        let first = header.find(names[0]).unwrap();
        let second = header.find(names[1]).unwrap();
        assert!(first < second, "{header}");
        let all = format!("{}{}{}", text(&out), report, md);
        assert!(!all.contains("wasi-conform-run-"), "{all}");
        let decorated = outcomes(&report)
            .into_iter()
            .position(|(r, t, _)| r == "decorated" && t == "fails")
            .unwrap();
        let _ = decorated;
        let failures = report.to_string();
        assert!(failures.contains("decorated: "), "{failures}");
        assert!(failures.contains("<sandbox>"), "{failures}");
    }
}

#[test]
fn a_test_that_passes_only_on_a_retry_is_flaky_not_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path(), "s", &[("once.wat", &printing(1, "once\n", 0))]);
    let state = tmp.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let envs = [("FLAKY_STATE", state.as_path())];
    let args = |retries: &'static str| {
        vec![
            "run".to_string(),
            "s".into(),
            "--adapter".into(),
            fake("flaky"),
            "--retries".into(),
            retries.into(),
            "--json".into(),
            "r.json".into(),
            "--junit".into(),
            "r.xml".into(),
        ]
    };
    let words = args("1");
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let out = run_with(tmp.path(), &words, &envs);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json(&tmp.path().join("r.json"));
    assert_eq!(
        outcomes(&report),
        [("flaky".into(), "once".into(), "flaky".into())]
    );
    let entry = &report["results"][0];
    assert_eq!(
        (entry["flaky"].as_u64(), entry["passed"].as_u64()),
        (Some(1), Some(1))
    );
    let failure = entry["tests"][0]["failures"][0].as_str().unwrap();
    assert!(
        matches(
            "exit code: expected 0, got 3\n...\n    first attempt fails\n...",
            failure
        ) || failure.starts_with("[1/"),
        "{failure}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("test s::once [flaky] ... flaky\n"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("flaky (failed, then passed on a retry):\n    s::once [flaky]\n        failed 1 time(s), then passed on attempt 2 (--retries); the first failure:"),
        "{}",
        text(&out)
    );
    let junit = std::fs::read_to_string(tmp.path().join("r.xml")).unwrap();
    assert!(junit.contains("<flakyFailure"), "{junit}");
    // Without retries, the first attempt's failure is the verdict.
    std::fs::remove_file(state.join("failed-once")).unwrap();
    let words = args("0");
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let out = run_with(tmp.path(), &words, &envs);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        outcomes(&json(&tmp.path().join("r.json"))),
        [("flaky".into(), "once".into(), "fail".into())]
    );
}

#[test]
fn differential_reports_what_reproduces_and_accepts_known_disagreements() {
    let tmp = tempfile::tempdir().unwrap();
    suite(
        tmp.path(),
        "s",
        &[
            ("hello.wat", &printing(1, "hello\n", 0)),
            ("random.wat", RANDOM),
            ("manifest.json", r#"{"name": "S"}"#),
        ],
    );
    let base = [
        "run",
        "s",
        "--runtime",
        "embedded",
        "--adapter",
        &fake("decorated"),
        "--differential",
        "--json",
        "r.json",
    ];
    let out = run(tmp.path(), &base);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&tmp.path().join("r.json"));
    let diff: Vec<(String, String)> = outcomes(&report)
        .into_iter()
        .filter(|(r, _, _)| r == "differential")
        .map(|(_, t, o)| (t, o))
        .collect();
    assert_eq!(
        diff,
        [
            ("hello".into(), "fail".into()),
            ("random".into(), "pass".into())
        ]
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "note: nondeterministic: stdout differed between runs of wasi-conform, decorated \
             (of 4 runs each), so it was not compared"
        ),
        "{}",
        text(&out)
    );
    // Accepted: green, with the reason; an entry for a test that agrees is stale.
    std::fs::write(
        tmp.path().join("accept.toml"),
        "version = 1\n[[suite]]\nname = \"S\"\n\
         [[suite.test]]\nname = \"hello\"\nruntimes = [\"decorated\"]\nreason = \"it signs its work\"\n\
         [[suite.test]]\nname = \"random\"\nruntimes = [\"embedded\"]\nreason = \"stale\"\n",
    )
    .unwrap();
    let mut accepted = base.to_vec();
    accepted.extend(["--accept", "accept.toml"]);
    let out = run(tmp.path(), &accepted);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = regex::Regex::new(r"test s::hello \[differential\] +\.\.\. xfail\n").unwrap();
    assert!(line.is_match(&stdout), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "warning: accept.toml: suite \"S\", test \"random\": no disagreement of wasi-conform in \
         this run to accept (the entry is stale: remove it)\n"
    );
    accepted.push("--deny-warnings");
    let out = run(tmp.path(), &accepted);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // Expectation files are not how disagreements are accepted.
    let mut wrong = base.to_vec();
    wrong.extend(["--expectations", "differential=accept.toml"]);
    let out = run(tmp.path(), &wrong);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("are accepted with --accept FILE"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_runtime_that_loses_what_it_is_given_runs_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    suite(
        tmp.path(),
        "s",
        &[("hello.wat", &printing(1, "hello\n", 0))],
    );
    let out = run(
        tmp.path(),
        &[
            "run",
            "s",
            "--adapter",
            &fake("drop-args"),
            "--json",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "warning: runtime drop-args {version}: its wasm32-wasip1 canary ran, but the \
             argument did not reach the module: tests that need them fail on it\n"
        )
    );
    assert_eq!(
        outcomes(&json(&tmp.path().join("r.json"))),
        [("drop-args".into(), "hello".into(), "pass".into())]
    );
    // Denied, the warning is an error; the reports are written first.
    std::fs::remove_file(tmp.path().join("r.json")).unwrap();
    let out = run(
        tmp.path(),
        &[
            "run",
            "s",
            "--adapter",
            &fake("drop-args"),
            "--json",
            "r.json",
            "--deny-warnings",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(tmp.path().join("r.json").exists());
}
