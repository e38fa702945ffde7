//! End-to-end tests of the `wasi-conform` binary: exit statuses, per-test lines,
//! the JSON report, usage errors, and that fixtures are left untouched.

use std::path::Path;
use std::process::{Command, Output};

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wasi-conform"));
    c.current_dir(dir)
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CI")
        .env_remove("WASI_CONFORM_BLESS")
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"));
    c
}

fn wasi_conform(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("the binary runs")
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
    // As the official runner writes them: a list of strings.
    assert!(wrong["failures"][0].as_str().unwrap().contains("goodbye"));
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
    suite(tmp.path());
    let out = wasi_conform(tmp.path(), &["run", "s", "--incremental"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--compiler cranelift"));
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

const EXPECTATIONS: &str = r#"
version = 1

[[suite]]
name = "demo"

[[suite.test]]
name = "wrong"
expected = "fail"

[[suite.test]]
name = "skipme"
action = "skip"
reason = "not today"

[[suite.test]]
name = "nosuchtest"
expected = "fail"
"#;

#[test]
fn expectation_files_give_skip_xfail_and_xpass() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    write(tmp.path(), "s/skipme.wat", HELLO);
    write(tmp.path(), "exp.toml", EXPECTATIONS);
    let out = wasi_conform(
        tmp.path(),
        &["run", "s", "--expectations", "exp.toml", "--json", "r.json"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // xfail and skip do not fail the run.
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(status(&stdout, "s::wrong"), Some("xfail"), "{stdout}");
    assert_eq!(
        status(&stdout, "s::skipme"),
        Some("skipped (not today)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 passed; 0 failed; 1 skipped; 1 xfail; 0 xpass"),
        "{stdout}"
    );
    assert!(
        stderr.contains("suite \"demo\" has no test \"nosuchtest\""),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap()).unwrap();
    let s = &report["results"][0];
    assert_eq!(
        (
            s["passed"].as_u64(),
            s["skipped"].as_u64(),
            s["xfailed"].as_u64()
        ),
        // The official runner counts an xfail among the passed too.
        (Some(2), Some(1), Some(1))
    );
    let skip = s["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "skipme")
        .unwrap();
    assert_eq!(skip["executed"], false);

    // A test expected to fail that passes is an xpass: the entry is stale, the run fails.
    write(tmp.path(), "s/wrong.json", r#"{"stdout": "hello\n"}"#);
    let out = wasi_conform(tmp.path(), &["run", "s", "--expectations", "exp.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(status(&stdout, "s::wrong"), Some("XPASS"), "{stdout}");
    assert!(stdout.contains("stale"), "{stdout}");
}

#[test]
fn the_embedded_runtime_is_named_embedded_or_wasi_conform() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    write(tmp.path(), "s/skipme.wat", HELLO);
    write(tmp.path(), "exp.toml", EXPECTATIONS);
    // `--runtime embedded` selects it, reports call it `wasi-conform`: an
    // expectation file is given to it under either name.
    for name in ["embedded", "wasi-conform"] {
        let value = format!("{name}=exp.toml");
        let out = wasi_conform(
            tmp.path(),
            &["run", "s", "--runtime", name, "--expectations", &value],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stdout}{stderr}");
        assert_eq!(status(&stdout, "s::wrong"), Some("xfail"), "{stdout}");
    }
    // Without --runtime, the embedded runtime is still `embedded`.
    let out = wasi_conform(
        tmp.path(),
        &["run", "s", "--expectations", "embedded=exp.toml"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Both names at once are one runtime given twice.
    let out = wasi_conform(
        tmp.path(),
        &[
            "run",
            "s",
            "--runtime",
            "embedded",
            "--runtime",
            "wasi-conform",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is given twice"),
        "{out:?}"
    );
    // A name that is no runtime of the run is still refused.
    let out = wasi_conform(tmp.path(), &["run", "s", "--expectations", "node=exp.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`node` is not a runtime of this run"),
        "{out:?}"
    );
}

#[test]
fn matrix_writes_files_with_matrix_as_run_does_or_with_out() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let out = wasi_conform(tmp.path(), &["run", "s", "--json", "r.json"]);
    assert_eq!(out.status.code(), Some(1));
    let out = wasi_conform(
        tmp.path(),
        &[
            "matrix", "r.json", "--matrix", "m.md", "--matrix", "m.html", "-o", "o.md", "--out",
            "out.md",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let md = std::fs::read_to_string(tmp.path().join("m.md")).unwrap();
    assert!(md.contains("| test | wasi-conform"), "{md}");
    for other in ["o.md", "out.md"] {
        assert_eq!(std::fs::read_to_string(tmp.path().join(other)).unwrap(), md);
    }
    let html = std::fs::read_to_string(tmp.path().join("m.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    // A file that is neither markdown nor HTML is refused.
    let out = wasi_conform(tmp.path(), &["matrix", "r.json", "--matrix", "m.txt"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A JSON value's type, numbers split into integers and floats (the official
/// runner writes counts as integers and durations as floats).
fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(n) if n.is_f64() => "float",
        serde_json::Value::Number(_) => "integer",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Every key of `official` is in `ours` with the same type, recursively; array
/// elements are compared with the first of ours (each official element must
/// fit it: the lists are homogeneous).
fn same_shape(official: &serde_json::Value, ours: &serde_json::Value, at: &str) {
    assert_eq!(
        json_type(official),
        json_type(ours),
        "{at}: official {official}, ours {ours}"
    );
    match (official, ours) {
        (serde_json::Value::Object(o), serde_json::Value::Object(w)) => {
            for (key, value) in o {
                let ours = w
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}: no `{key}` in our report: {ours}"));
                same_shape(value, ours, &format!("{at}.{key}"));
            }
        }
        (serde_json::Value::Array(o), serde_json::Value::Array(w)) => {
            if let Some(first) = w.first() {
                for (i, value) in o.iter().enumerate() {
                    same_shape(value, first, &format!("{at}[{i}]"));
                }
            }
        }
        _ => {}
    }
}

#[test]
fn our_json_report_has_every_field_of_the_official_one() {
    // tests/official-report/official.json: what the official runner wrote for
    // tests/official-report/suite (see the README there).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/official-report");
    let text = std::fs::read_to_string(root.join("official.json")).unwrap();
    let official: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("r.json");
    let out = wasi_conform(&root, &["run", "suite", "--json", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    same_shape(&official, &ours, "report");
    let suites = |r: &serde_json::Value| r["results"].as_array().unwrap().clone();
    let (official_suites, our_suites) = (suites(&official), suites(&ours));
    assert_eq!(official_suites.len(), 1);
    assert_eq!(our_suites.len(), 1);
    let (o, w) = (&official_suites[0], &our_suites[0]);
    assert_eq!(o["name"], w["name"]);
    for count in ["passed", "failed", "skipped", "xfailed", "xpassed"] {
        assert_eq!(o[count], w[count], "{count}");
    }
    let tests = |s: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
        s["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_string(), t.clone()))
            .collect()
    };
    let (official_tests, our_tests) = (tests(o), tests(w));
    assert_eq!(official_tests.len(), 2);
    assert_eq!(
        official_tests.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        our_tests.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for ((name, o), (_, w)) in official_tests.iter().zip(&our_tests) {
        // Each test entry, failing or passing, has every official key.
        same_shape(o, w, name);
        assert_eq!(o["outcome"], w["outcome"], "{name}");
        assert_eq!(o["executed"], w["executed"], "{name}");
        assert_eq!(
            o["failures"].as_array().unwrap().is_empty(),
            w["failures"].as_array().unwrap().is_empty(),
            "{name}"
        );
    }
    // The fixture names no path of the machine it was made on.
    assert!(
        !text.contains("/work/") && !text.contains("/home/"),
        "{text}"
    );
}

#[test]
fn junit_report_parses_with_the_right_counts() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    write(tmp.path(), "s/skipme.wat", HELLO);
    write(
        tmp.path(),
        "exp.toml",
        "version = 1\n[[suite]]\nname = \"demo\"\n[[suite.test]]\nname = \"skipme\"\naction = \"skip\"\n",
    );
    let out = wasi_conform(
        tmp.path(),
        &["run", "s", "--junit", "j.xml", "--expectations", "exp.toml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(tmp.path().join("j.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("name"), Some("demo"));
    assert_eq!(suite.attribute("tests"), Some("3"), "{xml}");
    assert_eq!(suite.attribute("failures"), Some("1"), "{xml}");
    assert_eq!(suite.attribute("skipped"), Some("1"), "{xml}");
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(
        failure.text().unwrap_or_default().contains("-goodbye"),
        "{xml}"
    );
}

#[test]
fn github_actions_annotations_and_step_summary() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let summary = tmp.path().join("summary.md");
    let out = command(tmp.path(), &["run", "s"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("::error file=s/wrong.json,title=s%3A%3Awrong::stdout differs"),
        "{stdout}"
    );
    assert!(stdout.contains("::group::s::wrong (fail)"), "{stdout}");
    assert!(stdout.contains("::endgroup::"), "{stdout}");
    let md = std::fs::read_to_string(summary).unwrap();
    assert!(
        md.contains("| suite | passed | failed | skipped | xfail | xpass |"),
        "{md}"
    );
    assert!(md.contains("| demo | 1 | 1 | 0 | 0 | 0 |"), "{md}");
    assert!(md.contains("`s::wrong` (fail)"), "{md}");
}

#[test]
fn failures_print_a_command_that_reruns_them() {
    let tmp = tempfile::tempdir().unwrap();
    suite(tmp.path());
    let out = wasi_conform(tmp.path(), &["run", "s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("rerun: "))
        .expect("a rerun line");
    let rerun: Vec<&str> = line["rerun: wasi-conform ".len()..].split(' ').collect();
    let again = wasi_conform(tmp.path(), &rerun);
    let again_out = String::from_utf8_lossy(&again.stdout);
    assert!(again_out.contains("running 1 test"), "{line}\n{again_out}");
    assert_eq!(status(&again_out, "s::wrong"), Some("FAILED"));
    assert!(stdout.contains("slowest: "), "{stdout}");
}

#[test]
fn bless_writes_golden_files_and_refuses_on_ci() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "s/hello.wat", HELLO);
    // No golden file yet: stdout is not checked.
    assert_eq!(
        wasi_conform(tmp.path(), &["run", "s"]).status.code(),
        Some(0)
    );
    let out = wasi_conform(tmp.path(), &["run", "s", "--bless"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let golden = tmp.path().join("expected/s/hello.stdout");
    assert_eq!(std::fs::read_to_string(&golden).unwrap(), "hello\n");
    assert!(
        !tmp.path().join("expected/s/hello.stderr").exists(),
        "empty output writes no file"
    );
    // A changed golden file fails the test and says how to bless.
    std::fs::write(&golden, "hi\n").unwrap();
    let out = wasi_conform(tmp.path(), &["run", "s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("golden file expected/s/hello.stdout"),
        "{stdout}"
    );
    assert!(stdout.contains("--bless"), "{stdout}");
    // Bless refuses under CI, by flag and by environment.
    let out = command(tmp.path(), &["run", "s", "--bless"])
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refuses to run where CI is set"));
    let out = command(tmp.path(), &["run", "s"])
        .env("CI", "true")
        .env("WASI_CONFORM_BLESS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&golden).unwrap(),
        "hi\n",
        "nothing written under CI"
    );
    // WASI_CONFORM_BLESS=1 blesses too.
    let out = command(tmp.path(), &["run", "s"])
        .env("WASI_CONFORM_BLESS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&golden).unwrap(), "hello\n");
}

#[test]
fn truncated_output_is_reported_even_when_the_test_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/hostile");
    let out = wasi_conform(
        tmp.path(),
        &["run", suite.to_str().unwrap(), "--filter", "output-forever"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("note: stdout was truncated at the output limit"),
        "{stdout}"
    );
}

/// The (suite, test, outcome) of every test of a JSON report, and each suite's counts.
fn outcomes(report: &serde_json::Value) -> (Vec<(String, String, String)>, Vec<String>) {
    let mut tests = Vec::new();
    let mut counts = Vec::new();
    for r in report["results"].as_array().unwrap() {
        let suite = r["name"].as_str().unwrap().to_string();
        counts.push(format!(
            "{suite}: {} {} {} {} {}",
            r["passed"], r["failed"], r["skipped"], r["xfailed"], r["xpassed"]
        ));
        for t in r["tests"].as_array().unwrap() {
            tests.push((
                suite.clone(),
                t["name"].as_str().unwrap().to_string(),
                t["outcome"].as_str().unwrap().to_string(),
            ));
        }
    }
    tests.sort();
    counts.sort();
    (tests, counts)
}

#[test]
fn shards_merged_give_exactly_the_single_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let suites = [
        "suites/exit",
        "suites/fs",
        "suites/stdio",
        "suites/args-env",
    ];
    let run = |extra: &[&str], json: &Path| {
        let mut args = vec!["run"];
        args.extend(suites);
        args.extend(extra);
        args.extend(["--json", json.to_str().unwrap()]);
        wasi_conform(root, &args)
    };
    let whole = tmp.path().join("whole.json");
    assert_eq!(run(&[], &whole).status.code(), Some(0));
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let expected = outcomes(&read(&whole));
    for kind in ["hash", "count"] {
        let mut shards = Vec::new();
        for k in 1..=4 {
            let json = tmp.path().join(format!("{kind}-{k}.json"));
            let partition = format!("{kind}:{k}/4");
            let out = run(&["--partition", &partition], &json);
            assert!(out.status.code() == Some(0), "{partition}");
            shards.push(json.to_str().unwrap().to_string());
        }
        let merged = tmp.path().join(format!("{kind}-merged.json"));
        let junit = tmp.path().join(format!("{kind}.xml"));
        let mut args = vec!["merge"];
        args.extend(shards.iter().map(String::as_str));
        args.extend([
            "--json",
            merged.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ]);
        let out = wasi_conform(root, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(outcomes(&read(&merged)), expected, "{kind}");
        assert!(roxmltree::Document::parse(&std::fs::read_to_string(&junit).unwrap()).is_ok());
    }
    // Overlapping shards are refused.
    let whole_str = whole.to_str().unwrap();
    let out = wasi_conform(root, &["merge", whole_str, whole_str]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("overlap"));
}
