//! Unit tests of spec parsing: both forms, every message kind, the extensions.

use std::path::PathBuf;

use super::*;

fn parse(text: &str) -> Result<Spec, SpecError> {
    Spec::from_json_str(text, Path::new("dir/t.json"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn legacy_becomes_run_and_wait() {
    let s = parse(r#"{"args": ["a", "b"], "env": {"X": "1"}, "exit_code": 3, "stdout": "hi"}"#)
        .unwrap();
    assert_eq!(s.form, SpecForm::Legacy);
    assert_eq!(
        s.operations,
        vec![
            Operation::Run(Run {
                args: vec!["a".into(), "b".into()],
                env: vec![("X".into(), "1".into())],
                root: None,
                stdin: None
            }),
            Operation::Wait(ExitExpectation::Code(3)),
        ]
    );
    assert_eq!(s.stdout, Some(StreamMatcher::Exact("hi".into())));
    assert_eq!(s.stderr, None);
}

#[test]
fn kill_signals_are_checked_when_parsed() {
    let ops = |signal: &str| {
        format!(
            r#"{{"operations": [{{"type": "run"}}, {{"type": "kill", "signal": "{signal}"}}, {{"type": "wait"}}]}}"#
        )
    };
    for good in ["SIGKILL", "TERM", "SIGUSR1"] {
        assert!(parse(&ops(good)).is_ok(), "{good}: {:?}", parse(&ops(good)));
    }
    let e = err(&ops("SIGFOO"));
    assert!(
        e.contains("unknown signal `SIGFOO`") && e.contains("HUP"),
        "{e}"
    );
}

#[test]
fn syntax_error_has_line_and_column() {
    let e = err("{\n  \"args\": [\n  \"a\",,\n]}");
    assert!(e.contains("dir/t.json: line 3, column"), "{e}");
    assert!(e.contains("invalid JSON"), "{e}");
}

#[test]
fn misspelt_key_suggests() {
    let e = err(r#"{"exit_cod": 1}"#);
    assert!(e.contains("dir/t.json"), "{e}");
    assert!(e.contains("`exit_cod`"), "{e}");
    assert!(e.contains("did you mean `exit_code`?"), "{e}");
}

#[test]
fn wrong_types_name_the_key() {
    assert!(
        err(r#"{"args": "x"}"#).contains("key `args`: expected a list of strings, found a string")
    );
    assert!(err(r#"{"args": [1]}"#).contains("key `args[0]`"));
    assert!(err(r#"{"env": {"A": 1}}"#).contains("key `env.A`"));
    assert!(err(r#"{"exit_code": "1"}"#).contains("key `exit_code`"));
    assert!(err(r#"{"limits": {"fuel": -1}}"#).contains("key `limits.fuel`"));
    assert!(err(r#"{"limits": {"fule": 1}}"#).contains("did you mean `fuel`?"));
}

#[test]
fn conflicts_are_errors() {
    assert!(err(r#"{"trap": "x", "exit_code": 1}"#).contains("cannot both"));
    let e = err(r#"{"args": [], "operations": []}"#);
    assert!(e.contains("cannot be mixed"), "{e}");
    assert!(err(r#"{"result": [1]}"#).contains("needs `invoke`"));
    assert!(
        err(r#"{"operations": [{"type": "run"}, {"type": "wait"}], "stdin": "x"}"#)
            .contains("key `stdin`: not allowed in an operation spec")
    );
}

#[test]
fn missing_fixture_is_named() {
    let e = err(r#"{"root": "nope.dir"}"#);
    assert!(e.contains("key `root`") && e.contains("nope.dir"), "{e}");
}

#[test]
fn matchers() {
    let s = parse(r#"{"stdout": {"contains": "x"}, "stderr": {"regex": "a+"}}"#).unwrap();
    assert_eq!(s.stdout, Some(StreamMatcher::Contains("x".into())));
    let Some(StreamMatcher::Regex(re)) = &s.stderr else {
        panic!()
    };
    assert!(re.is_match(b"aaa"));
    assert!(!re.is_match(b"aaab"), "regex must match the whole stream");
    assert!(err(r#"{"stdout": {"regex": "("}}"#).contains("stdout.regex"));
    assert!(err(r#"{"stdout": {"contain": "x"}}"#).contains("did you mean `contains`?"));
    let s = parse(r#"{"stdout": {"file": "out.txt"}}"#).unwrap();
    assert_eq!(
        s.stdout,
        Some(StreamMatcher::File(PathBuf::from("dir/out.txt")))
    );
}

#[test]
fn operations_parse_and_order() {
    let s = parse(
        r#"{"operations": [
            {"type": "run", "args": ["x"]},
            {"type": "write", "id": "stdin", "payload": "hi\n"},
            {"type": "read", "id": "stdout", "payload": "HI\n"},
            {"type": "wait", "trap": "unreachable"}
        ], "timeout_ms": 100}"#,
    )
    .unwrap();
    assert_eq!(s.form, SpecForm::Operations);
    assert_eq!(s.operations.len(), 4);
    assert_eq!(
        s.final_exit(),
        Some(&ExitExpectation::Trap("unreachable".into()))
    );
    assert_eq!(s.timeout_ms, Some(100));
    assert!(err(r#"{"operations": [{"type": "read"}]}"#).contains("must come after a `run`"));
    assert!(err(r#"{"operations": [{"type": "run"}]}"#).contains("has no `wait`"));
    assert!(err(r#"{"operations": [{"type": "rn"}]}"#).contains("did you mean `run`?"));
    assert!(
        err(r#"{"operations": [{"type": "run"}, {"type": "send", "id": "x"}, {"type": "wait"}]}"#)
            .contains("no connection `x`")
    );
}

#[test]
fn http_parts_are_validated_with_their_keys() {
    let e = err(
        r#"{"operations": [{"type": "run"}, {"type": "request", "response": {"status": "x"}}, {"type": "wait"}]}"#,
    );
    assert!(
        e.contains("dir/t.json") && e.contains("operations[1].response.status"),
        "{e}"
    );
    let e = err(r#"{"servers": [{"name": "a b"}]}"#);
    assert!(
        e.contains("dir/t.json") && e.contains("servers[0].name"),
        "{e}"
    );
    let e = err(r#"{"servers": [{"name": "a", "endpoints": [{"pth": "/"}]}]}"#);
    assert!(
        e.contains("servers[0].endpoints[0].pth") && e.contains("did you mean `path`?"),
        "{e}"
    );
    let e = err(r#"{"servers": [{"name": "a", "kind": "closed", "endpoints": []}]}"#);
    assert!(e.contains("takes no endpoints"), "{e}");
    let e = err(
        r#"{"servers": [{"name": "a", "endpoints": [{"response": {"body": "x", "chunks": []}}]}]}"#,
    );
    assert!(e.contains("not both"), "{e}");
    let s = parse(
        r#"{"servers": [{"name": "main", "endpoints": [{"path": "/x", "mode": "echo-body"}]}],
            "operations": [{"type": "run"}, {"type": "request", "path": "/x"}, {"type": "kill"}, {"type": "wait"}]}"#,
    )
    .unwrap();
    assert_eq!(s.servers[0].env_var(), "HTTP_SERVER_MAIN");
    assert!(matches!(&s.operations[1], Operation::Request(r) if r.path == "/x"));
}

#[test]
fn extensions() {
    let s = parse(
        r#"{"clock": {"wall": "2030-01-01T00:00:00Z"}, "random_seed": 7,
            "limits": {"memory_bytes": 65536}, "files": {"/a": "x", "/b": null},
            "invoke": {"func": "f", "args": [1, "-1", "nan"]}, "result": ["inf"]}"#,
    )
    .unwrap();
    assert_eq!(
        s.clock,
        Some(ClockSpec {
            wall_ns: 1_893_456_000 * 1_000_000_000,
            step_ns: DEFAULT_CLOCK_STEP_NS
        })
    );
    assert_eq!(s.random_seed, Some(7));
    assert_eq!(s.limits.memory_bytes, Some(65536));
    assert!(matches!(s.files.get("/b"), Some(FileExpectation::Absent)));
    assert_eq!(s.invoke.as_ref().unwrap().func, "f");
    assert!(err(r#"{"invoke": {"func": "f", "args": ["abc"]}}"#).contains("invoke.args[0]"));
    assert!(err(r#"{"clock": {"wall": "tomorrow"}}"#).contains("clock.wall"));
}

#[test]
fn schema_key_is_accepted_and_ignored() {
    let s = parse(r#"{"$schema": "../../docs/spec.schema.json", "exit_code": 2}"#).unwrap();
    assert_eq!(s.form, SpecForm::Legacy);
    assert_eq!(s.final_exit(), Some(&ExitExpectation::Code(2)));
    let s = parse(
        r#"{"$schema": "https://example.org/spec.schema.json",
            "operations": [{"type": "run"}, {"type": "wait"}]}"#,
    )
    .unwrap();
    assert_eq!(s.form, SpecForm::Operations);
    let s = parse(r#"{"$schema": "spec.schema.json"}"#).unwrap();
    assert_eq!(s.operations, Spec::default_for(Path::new("dir")).operations);
    let e = err(r#"{"$schema": 1}"#);
    assert!(e.contains("key `$schema`: expected a string"), "{e}");
}

#[test]
fn every_listed_operation_type_parses() {
    for ty in schema::operation_types() {
        let middle = match ty.as_str() {
            "run" | "wait" => String::new(),
            "send" | "recv" => {
                format!(r#", {{"type": "connect", "id": "c"}}, {{"type": "{ty}", "id": "c"}}"#)
            }
            _ => format!(r#", {{"type": "{ty}"}}"#),
        };
        let text = format!(r#"{{"operations": [{{"type": "run"}}{middle}, {{"type": "wait"}}]}}"#);
        let s = parse(&text).unwrap_or_else(|e| panic!("{ty}: {e}"));
        assert!(s.operations.iter().any(|o| o.kind() == ty), "{ty}");
    }
}

#[test]
fn did_you_mean_finds_close_names() {
    assert_eq!(did_you_mean("stdot", &["stdout", "stderr"]), Some("stdout"));
    assert_eq!(did_you_mean("zzzzzz", &["stdout", "stderr"]), None);
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = parse(
        r#"{"args": "x", "exit_cod": 1, "root": "nope.dir", "limits": {"fule": 1},
            "stdout": {"regex": "("}, "trap": "t", "exit_code": 2}"#,
    )
    .unwrap_err();
    let keys: Vec<&str> = e.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "exit_cod",
            "args",
            "limits.fule",
            "trap",
            "root",
            "stdout.regex"
        ],
        "{e}"
    );
    let text = e.to_string();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("dir/t.json: key `"))
            .count(),
        6,
        "{text}"
    );
    assert!(
        text.contains("key `exit_cod`: unknown key; did you mean `exit_code`?"),
        "{text}"
    );
    assert!(
        text.contains("key `root`: directory `dir/nope.dir` does not exist"),
        "{text}"
    );
}

#[test]
fn a_key_with_a_problem_of_shape_does_not_hide_the_others_problems() {
    // `invoke` is there but broken: `result` does not also "need" it.
    let e = err(r#"{"invoke": {"fun": "f"}, "result": [1], "root": "nope.dir"}"#);
    assert!(
        e.contains("key `invoke.fun`: unknown key; did you mean `func`?"),
        "{e}"
    );
    assert!(
        !e.contains("invoke.func"),
        "the misspelt key is not also missing: {e}"
    );
    assert!(!e.contains("needs `invoke`"), "{e}");
    assert!(e.contains("key `root`"), "{e}");
}

#[test]
fn env_keeps_the_order_written() {
    let s = parse(r#"{"env": {"B": "1", "A": "2", "C": ""}}"#).unwrap();
    let Operation::Run(run) = &s.operations[0] else {
        panic!("{:?}", s.operations)
    };
    let names: Vec<&str> = run.env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["B", "A", "C"]);
    let s = parse(
        r#"{"operations": [{"type": "run", "env": {"Z": "1", "Y": "2"}}, {"type": "wait"}]}"#,
    )
    .unwrap();
    let Operation::Run(run) = &s.operations[0] else {
        panic!("{:?}", s.operations)
    };
    assert_eq!(
        run.env,
        [("Z".into(), "1".into()), ("Y".into(), "2".into())]
    );
}

#[test]
fn an_optional_key_is_absent_or_has_a_value() {
    let e = err(r#"{"trap": null}"#);
    assert!(
        e.contains("key `trap`: expected a string, found null"),
        "{e}"
    );
    let e = err(r#"{"args": ["a"], "args": ["b"]}"#);
    assert!(e.contains("dir/t.json: line 1, column"), "{e}");
    assert!(e.contains("duplicate field `args`"), "{e}");
}

#[test]
fn names_and_numbers_out_of_their_range() {
    let e = err(r#"{"operations": [{"type": "rn"}], "proposals": ["threads"]}"#);
    assert!(
        e.contains("key `operations[0].type`: unknown operation type `rn`; did you mean `run`?"),
        "{e}"
    );
    assert!(
        e.contains("key `proposals[0]`: unknown proposal `threads` (known: http, sockets)"),
        "{e}"
    );
    let e = err(r#"{"exit_code": 3000000000, "timeout_ms": 0}"#);
    assert!(
        e.contains("key `exit_code`: must be at most 2147483647"),
        "{e}"
    );
    assert!(e.contains("key `timeout_ms`: must be at least 1"), "{e}");
    let e = err(r#"{"dirs": [5], "files": {"/a": 4}}"#);
    assert!(
        e.contains("key `dirs[0]`: expected a string or an object with keys host, guest, readonly, found a number (5)"),
        "{e}"
    );
    assert!(
        e.contains(r#"key `files./a`: expected null, a string or one of {"contains"|"regex"|"file"|"sha256"|"size"|"exists": ...}"#),
        "{e}"
    );
}

#[test]
fn lists_of_keys_follow_the_order_declared() {
    assert_eq!(
        err(r#"{"exit_cod": 1}"#),
        "dir/t.json: key `exit_cod`: unknown key; did you mean `exit_code`? (allowed keys: args, \
         env, root, exit_code, stdout, stderr, dirs, features, clock, random_seed, timeout_ms, \
         limits, files, debug, stdin, trap, invoke, result, $schema)"
    );
    assert_eq!(
        err(r#"{"operations": [{"type": "run"}, {"type": "wait", "exit_cod": 0}]}"#),
        "dir/t.json: key `operations[1].exit_cod`: unknown key; did you mean `exit_code`? \
         (allowed keys: type, exit_code, trap)"
    );
    assert_eq!(
        err(r#"{"limits": {"memroy_bytes": 1}}"#),
        "dir/t.json: key `limits.memroy_bytes`: unknown key; did you mean `memory_bytes`? \
         (allowed keys: memory_bytes, output_bytes, fuel, open_files, disk_bytes)"
    );
    assert_eq!(
        err(r#"{"invoke": {"func": "f"}, "result": 5}"#),
        "dir/t.json: key `result`: expected a list of values, found a number (5)"
    );
}

#[test]
fn the_spec_file_types_round_trip() {
    let text = r#"{"args": ["a"], "env": {"B": "1", "A": "2"}, "exit_code": 3,
        "stdout": {"contains": "x"}, "stdin": "in", "dirs": [{"host": ".", "guest": "/d", "readonly": true}],
        "limits": {"fuel": 5}, "files": {"/a": null, "/b": {"sha256": "00"}}, "debug": true}"#;
    let raw: raw::LegacySpec = serde_json::from_str(text).unwrap();
    let again: raw::LegacySpec =
        serde_json::from_str(&serde_json::to_string(&raw).unwrap()).unwrap();
    assert_eq!(raw, again);
    let written = serde_json::to_string(&raw).unwrap();
    assert!(
        written.starts_with(r#"{"args":["a"],"env":{"B":"1","A":"2"},"exit_code":3"#),
        "{written}"
    );
    assert_eq!(
        written.matches("null").count(),
        1,
        "only the absent file: {written}"
    );
    assert!(!written.contains("trap"), "{written}");
}
