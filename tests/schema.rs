//! The JSON Schema of specs (`docs/spec.schema.json`): committed in sync with
//! the code, valid for its draft, and in agreement with the parser on every spec
//! of `suites/`, on the meant-to-fail specs whose errors are of shape, and on
//! every spec of the official wasi-testsuite (`WASI_TESTSUITE`: without it, that
//! test is ignored with the reason).

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use wasi_conform::spec::Spec;
use wasi_conform::spec::schema::{spec_schema, spec_schema_text};

const COMMITTED: &str = "docs/spec.schema.json";
const REGENERATE: &str = "cargo run -- schema > docs/spec.schema.json";

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&spec_schema())
        .expect("the generated schema compiles")
}

fn read_json(file: &Path) -> Value {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Why the schema rejects `instance`, one line per error; empty when it accepts it.
fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect()
}

/// Checks that the schema and the parser both accept each spec file; returns how many.
fn check_accepted(files: &[PathBuf]) -> usize {
    let validator = validator();
    let mut problems = Vec::new();
    for file in files {
        let errors = schema_errors(&validator, &read_json(file));
        if !errors.is_empty() {
            problems.push(format!("{}: {}", file.display(), errors.join("; ")));
        }
        if let Err(e) = Spec::from_file(file) {
            problems.push(format!("the parser rejects it: {e}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    files.len()
}

fn committed_schema_is_what_the_code_generates() {
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == spec_schema_text(),
        "{COMMITTED} is not what the code generates; regenerate it with `{REGENERATE}` and commit it"
    );
}

fn schema_subcommand_prints_the_schema() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasi-conform"))
        .arg("schema")
        .output()
        .expect("run wasi-conform schema");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), spec_schema_text());
}

fn schema_is_valid_draft_2020_12() {
    if let Err(e) = jsonschema::meta::validate(&spec_schema()) {
        panic!(
            "the schema breaks its meta-schema: {e} at {}",
            e.instance_path()
        );
    }
}

fn every_spec_under_suites_validates() {
    let suites = wasi_conform::discover::discover(&["suites".into()]).expect("discover suites/");
    let files: Vec<PathBuf> = suites
        .iter()
        .flat_map(|s| s.tests.iter().filter_map(|t| t.spec_file.clone()))
        .collect();
    let n = check_accepted(&files);
    assert!(n > 100, "only {n} specs found under suites/");
    println!("{n} specs under suites/ validate against the schema");
}

/// Meant-to-fail specs whose error is of shape (an unknown key, a wrong type, a
/// conflicting pair, a malformed value): the schema must reject them too.
const SHAPE_ERRORS: &[&str] = &[
    "bad-clock-wall",
    "misspelt-key",
    "misspelt-nested-key",
    "misspelt-operation-key",
    "mixed-legacy-operations",
    "result-not-a-list",
    "stdin-in-operations",
    "trap-and-exit-code",
    "unknown-operation",
    "wrong-type",
    "wrong-type-nested",
    "wrong-type-timeout",
];

/// Meant-to-fail specs whose error is beyond a schema: what lies on disk, the
/// order of operations, the regular expression's syntax. The schema accepts them.
const OTHER_ERRORS: &[&str] = &[
    "invalid-regex",
    "missing-dirs-fixture",
    "missing-golden-file",
    "missing-root",
    "missing-stdin-file",
    "read-before-run",
    "run-without-wait",
    "send-undefined-connection",
];

fn shape_errors_are_rejected_by_the_schema_too() {
    let validator = validator();
    let dir = Path::new("tests/failing-suites/spec-errors");
    for name in SHAPE_ERRORS {
        let file = dir.join(format!("{name}.json"));
        assert!(Spec::from_file(&file).is_err(), "the parser accepts {name}");
        let errors = schema_errors(&validator, &read_json(&file));
        assert!(!errors.is_empty(), "the schema accepts {name}");
    }
    for name in OTHER_ERRORS {
        let file = dir.join(format!("{name}.json"));
        let errors = schema_errors(&validator, &read_json(&file));
        assert!(errors.is_empty(), "{name}: {}", errors.join("; "));
    }
}

fn every_spec_is_listed_as_a_shape_error_or_not() {
    let listed: Vec<&str> = SHAPE_ERRORS.iter().chain(OTHER_ERRORS).copied().collect();
    for entry in std::fs::read_dir("tests/failing-suites/spec-errors").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let is_spec = path.extension().is_some_and(|e| e == "json");
        if is_spec && name != "manifest" && name != "malformed-json" {
            assert!(
                listed.contains(&name.as_str()),
                "{name}.json is in neither list"
            );
        }
    }
}

/// Small specs (no paths, operations in order) and whether they are valid.
const CASES: &[(&str, bool)] = &[
    (r#"{}"#, true),
    (
        r#"{"$schema": "../docs/spec.schema.json", "exit_code": -1}"#,
        true,
    ),
    (r#"{"$schema": 1}"#, false),
    (r#"{"world": "wasi:http/service"}"#, true),
    (r#"{"world": "wasi:cli/run"}"#, false),
    (
        r#"{"proposals": ["sockets"], "debug": true, "limits": {"fuel": 5}}"#,
        true,
    ),
    (r#"{"proposals": ["threads"]}"#, false),
    (
        r#"{"args": [], "operations": [{"type": "run"}, {"type": "wait"}]}"#,
        false,
    ),
    (r#"{"operations": []}"#, false),
    (
        r#"{"operations": [{"type": "run", "args": "x"}, {"type": "wait"}]}"#,
        false,
    ),
    (
        r#"{"operations": [{"type": "run"}, {"type": "wait", "trap": "x", "exit_code": 1}]}"#,
        false,
    ),
    (
        r#"{"operations": [{"type": "run"}, {"type": "read", "id": "stdin"}, {"type": "wait"}]}"#,
        false,
    ),
    (
        r#"{"operations": [{"type": "run"}, {"type": "connect", "protocol_type": "udp"}, {"type": "send", "id": "server"}, {"type": "wait"}]}"#,
        true,
    ),
    (
        r#"{"operations": [{"type": "run"}, {"type": "request", "method": "post", "response": {"status": 201}}, {"type": "kill"}, {"type": "wait"}]}"#,
        true,
    ),
    (
        r#"{"operations": [{"type": "run"}, {"type": "request", "response": {"status": 70000}}, {"type": "wait"}]}"#,
        false,
    ),
    (
        r#"{"servers": [{"name": "a", "kind": "closed", "endpoints": []}]}"#,
        false,
    ),
    (r#"{"servers": [{"name": "a b"}]}"#, false),
    (
        r#"{"servers": [{"name": "a", "endpoints": [{"method": "Delete", "mode": "echo-headers"}]}]}"#,
        true,
    ),
    (
        r#"{"servers": [{"name": "a", "endpoints": [{"mode": "echo-body", "response": "x"}]}]}"#,
        false,
    ),
    (
        r#"{"servers": [{"name": "a", "endpoints": [{"response": {"trailers": {"a": "b"}}}]}]}"#,
        false,
    ),
    (
        r#"{"stdin": "x", "stdout": {"regex": "a+"}, "stderr": {"contains": "b"}}"#,
        true,
    ),
    (r#"{"stdout": {"contains": "a", "regex": "b"}}"#, false),
    (
        r#"{"files": {"/a": null, "/b": {"size": 3}, "/c": {"sha256": "AB"}}}"#,
        false,
    ),
    (
        r#"{"files": {"/a": {"exists": true}, "/b": {"sha256": "00000000000000000000000000000000000000000000000000000000000000ff"}}}"#,
        true,
    ),
    (r#"{"files": {"relative": "x"}}"#, false),
    (r#"{"env": {"A=B": "x"}}"#, false),
    (
        r#"{"invoke": {"func": "f", "args": [1, "-1", "nan"]}, "result": ["inf"]}"#,
        true,
    ),
    (r#"{"invoke": {"func": "f"}, "args": []}"#, false),
    (r#"{"result": [1]}"#, false),
    (
        r#"{"clock": {"wall": 0, "step_ns": 1}, "random_seed": 1, "features": ["gc"]}"#,
        true,
    ),
    (r#"{"features": ["gcc"]}"#, false),
    (r#"{"timeout_ms": 0}"#, false),
];

fn schema_and_parser_agree_on_small_specs() {
    let validator = validator();
    for (text, valid) in CASES {
        let value: Value = serde_json::from_str(text).unwrap();
        let errors = schema_errors(&validator, &value);
        assert_eq!(errors.is_empty(), *valid, "schema on {text}: {errors:?}");
        let parsed = Spec::from_json_str(text, Path::new("t.json"));
        assert_eq!(
            parsed.is_ok(),
            *valid,
            "parser on {text}: {:?}",
            parsed.err()
        );
    }
}

/// The ```json blocks of a markdown file that are JSON objects.
fn json_examples(markdown: &str) -> Vec<Value> {
    markdown
        .split("```json\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .collect()
}

fn the_reference_s_examples_validate() {
    let doc = std::fs::read_to_string("docs/spec-format.md").expect("docs/spec-format.md");
    let validator = validator();
    let examples = json_examples(&doc);
    // The manifest example is not a spec.
    let specs: Vec<&Value> = examples
        .iter()
        .filter(|v| v.get("version").is_none())
        .collect();
    assert!(specs.len() >= 8, "only {} spec examples found", specs.len());
    for spec in specs {
        let errors = schema_errors(&validator, spec);
        assert!(errors.is_empty(), "{spec}: {}", errors.join("; "));
    }
}

/// `ROOT/tests/*/testsuite/*/*.json` and `ROOT/tests/proposals/*/*.json`, but `manifest.json`.
fn official_specs(root: &Path) -> Vec<PathBuf> {
    let dirs = |dir: PathBuf| -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        out.sort();
        out
    };
    // The suites: `tests/LANG/testsuite/VERSION/` and `tests/proposals/NAME/`.
    let suites = dirs(root.join("tests"))
        .into_iter()
        .flat_map(|lang| dirs(lang.join("testsuite")))
        .chain(dirs(root.join("tests/proposals")));
    suites
        .flat_map(dirs)
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .filter(|f| f.file_name().is_some_and(|n| n != "manifest.json"))
        .collect()
}

fn every_spec_of_the_official_suite_validates() -> common::TestResult {
    let root = match common::wasi_testsuite() {
        Ok(root) => root,
        Err(why) => return common::ignored(why),
    };
    let files = official_specs(&root);
    assert!(!files.is_empty(), "no specs under {}", root.display());
    let n = check_accepted(&files);
    println!(
        "{n} specs of {} validate against the schema",
        root.display()
    );
    Ok(common::Completion::Completed)
}

tests!(
    committed_schema_is_what_the_code_generates,
    schema_subcommand_prints_the_schema,
    schema_is_valid_draft_2020_12,
    every_spec_under_suites_validates,
    shape_errors_are_rejected_by_the_schema_too,
    every_spec_is_listed_as_a_shape_error_or_not,
    schema_and_parser_agree_on_small_specs,
    the_reference_s_examples_validate,
    every_spec_of_the_official_suite_validates,
);
