use std::fs;

use super::*;

/// Writes an executable file (a fake runtime or helper).
#[cfg(unix)]
fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Variables for a resolve: PATH plus the given ones.
fn vars_with(pairs: &[(&str, &str)]) -> Vars {
    let mut vars: Vec<(OsString, OsString)> = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        vars.push(("PATH".into(), path));
    }
    for (k, v) in pairs {
        vars.push(((*k).into(), (*v).into()));
    }
    Vars(vars)
}

fn short_limits() -> Limits {
    Limits {
        version_timeout: Duration::from_millis(1500),
        version_output: 4096,
    }
}

fn parse(text: &str) -> Result<Template, AdapterError> {
    Template::parse(text, Origin::File(PathBuf::from("/x/my.toml")))
}

const MINIMAL: &str = r#"
name = "fake"
wasi_versions = ["wasm32-wasip1"]
worlds = ["wasi:cli/command"]
[command]
env = "FAKE"
default = ["fake"]
[version]
argv = ["{program}", "--version"]
line = 0
word = 1
[run]
argv = ["{command}", "{module}", "{args}"]
"#;

fn error_text(text: &str) -> String {
    parse(text)
        .expect_err("the adapter file should be rejected")
        .to_string()
}

#[test]
fn runtimes_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Adapter>();
    shared::<ResolvedRuntime>();
}

#[test]
fn builtins_are_valid_and_named() {
    assert_eq!(BUILTIN_NAMES.len(), BUILTIN_ADAPTERS.len());
    for (name, (listed, _)) in Adapter::builtin_names().iter().zip(BUILTIN_ADAPTERS) {
        assert_eq!(name, listed);
        let adapter = Adapter::builtin(name).unwrap();
        assert_eq!(adapter.name(), *name);
    }
    assert!(Adapter::builtin("nope").is_none());
    let env_vars: Vec<_> = BUILTIN_NAMES
        .iter()
        .map(|n| Adapter::builtin(n).unwrap().env_var().unwrap().to_string())
        .collect();
    assert_eq!(
        env_vars,
        [
            "WASMTIME", "WAZERO", "WASMEDGE", "IWASM", "WASMER", "NODE", "JCO"
        ]
    );
}

#[test]
fn unknown_keys_name_the_file_and_key_with_a_suggestion() {
    let text = MINIMAL.replace("name = \"fake\"", "nmae = \"fake\"");
    let e = error_text(&text);
    assert!(e.starts_with("/x/my.toml: key `nmae`: unknown key"), "{e}");
    assert!(e.contains("did you mean `name`?"), "{e}");

    let e = error_text(&MINIMAL.replace("line = 0", "lines = 0"));
    assert!(e.contains("key `version.lines`"), "{e}");
    assert!(e.contains("did you mean `line`?"), "{e}");

    let e = error_text(&MINIMAL.replace(
        "\"{args}\"]",
        "\"{args}\", { if = \"root\", arg = [\"{root}\"] }]",
    ));
    assert!(e.contains("key `run.argv[3].arg`"), "{e}");
    assert!(e.contains("did you mean `args`?"), "{e}");
}

#[test]
fn unknown_placeholders_and_values_are_errors_with_suggestions() {
    let e = error_text(&MINIMAL.replace("{module}", "{modul}"));
    assert!(e.contains("key `run.argv[1]`"), "{e}");
    assert!(
        e.contains("unknown placeholder `{modul}`; did you mean `{module}`?"),
        "{e}"
    );

    let e = error_text(&MINIMAL.replace("{module}", "{root}"));
    assert!(
        e.contains("`{root}` can only be used inside { if = \"root\""),
        "{e}"
    );

    let e = error_text(&MINIMAL.replace("{module}", "--x={args}"));
    assert!(e.contains("`{args}` expands to a list"), "{e}");

    let e = error_text(&MINIMAL.replace("{module}", "{module"));
    assert!(e.contains("unclosed `{`"), "{e}");

    let e = error_text(&MINIMAL.replace("\"{args}\"]", "\"{args}\", { if = \"rot\", args = [] }]"));
    assert!(e.contains("key `run.argv[3].if`"), "{e}");
    assert!(e.contains("did you mean `root`?"), "{e}");

    let e = error_text(&MINIMAL.replace(
        "\"{args}\"]",
        "\"{args}\", { world = \"wasi:http/service\", version = \"wasm32-wasip3\", args = [] }]",
    ));
    assert!(e.contains("exactly one of"), "{e}");

    let e = error_text(&MINIMAL.replace("wasm32-wasip1", "wasm32-wasi-p1"));
    assert!(e.contains("key `wasi_versions[0]`"), "{e}");
    assert!(e.contains("did you mean `wasm32-wasip1`?"), "{e}");

    let e = error_text(&MINIMAL.replace("{program}", "{module}"));
    assert!(e.contains("cannot be used in `version.argv`"), "{e}");

    let e =
        error_text(&MINIMAL.replace("default = [\"fake\"]", "default = [\"{script:nope.js}\"]"));
    assert!(e.contains("script \"nope.js\" not found"), "{e}");

    let e = error_text("name = ");
    assert!(e.starts_with("/x/my.toml: invalid TOML"), "{e}");
}

#[test]
fn literal_braces_are_doubled() {
    let t = parse(&MINIMAL.replace("{module}", "{{x}}{module}")).unwrap();
    let Item::Text(text) = &t.argv[1] else {
        panic!("a text item")
    };
    assert_eq!(expand_text(text, &|_| "M".to_string()), "{x}M");
}

#[test]
fn json_is_written_as_python_writes_it() {
    // json.dumps(["a", "é", '"q"', "\n", "😀", "\x7f", "\\"])
    assert_eq!(
        py_json_list(["a", "é", "\"q\"", "\n", "😀", "\u{7f}", "\\"].into_iter()),
        r#"["a", "\u00e9", "\"q\"", "\n", "\ud83d\ude00", "\u007f", "\\"]"#
    );
    assert_eq!(py_json_list(std::iter::empty()), "[]");
    assert_eq!(py_json_dict(&[]), "{}");
    assert_eq!(
        py_json_dict(&[("foo", "bar"), ("b", "\t")]),
        r#"{"foo": "bar", "b": "\t"}"#
    );
}

#[test]
fn helpers_follow_python() {
    assert_eq!(py_splitlines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
    assert_eq!(py_splitlines("a\n"), ["a"]);
    assert_eq!(py_splitlines("a\n\nb"), ["a", "", "b"]);
    assert!(py_splitlines("").is_empty());

    let cmd = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert_eq!(splice_point(&cmd("wasmtime")), 1);
    assert_eq!(splice_point(&cmd("wasmtime -Sfoo --bar")), 1);
    assert_eq!(splice_point(&cmd("wasmtime run -Sfoo")), 2);
    assert_eq!(splice_point(&cmd("-x -y")), 1);

    assert_eq!(pathlib_str(Path::new("a//b/./c/")).unwrap(), "a/b/c");
    assert_eq!(pathlib_str(Path::new("./a")).unwrap(), "a");
    assert_eq!(pathlib_str(Path::new("/")).unwrap(), "/");
    assert_eq!(pathlib_str(Path::new("")).unwrap(), ".");
    assert_eq!(pathlib_str(Path::new("../x")).unwrap(), "../x");

    let pairs = [("a", "1"), ("b", "2"), ("a", "3")].map(|(k, v)| (k.to_string(), v.to_string()));
    assert_eq!(dict_order(&pairs), [("a", "3"), ("b", "2")]);
}

fn version_spec(extra: &str) -> VersionSpec {
    let text = MINIMAL.replace("line = 0\nword = 1", extra);
    parse(&text).unwrap().version
}

#[test]
fn versions_are_read_the_official_way() {
    let wasmtime = version_spec("line = 0\nword = 1");
    assert_eq!(
        wasmtime
            .extract("wasmtime 48.0.8 (x 2026)\nmore\n")
            .unwrap(),
        "48.0.8"
    );
    let e = wasmtime.extract("").unwrap_err();
    assert!(e.contains("printed 0 line(s)"), "{e}");
    let e = wasmtime.extract("justoneword\n").unwrap_err();
    assert!(e.contains("has 1 word(s)"), "{e}");
    // Python's split(" "): two spaces make an empty word 1.
    assert!(wasmtime.extract("wasmtime  48\n").is_err());

    let wazero = version_spec("strip = true\nmap = { dev = \"0.0.0\" }");
    assert_eq!(wazero.extract("v1.9.0\n").unwrap(), "v1.9.0");
    assert_eq!(wazero.extract("dev\n").unwrap(), "0.0.0");
    let e = wazero.extract("line one\nline two\n").unwrap_err();
    assert!(e.contains("not a version"), "{e}");

    let re = version_spec("regex = 'version (\\d+\\.\\d+)'");
    assert_eq!(re.extract("tool version 3.14 (beta)").unwrap(), "3.14");
    assert!(re.extract("no numbers").is_err());
}

fn request(module: &str, version: &str) -> ArgvRequest {
    ArgvRequest::new(module, version)
}

#[cfg(unix)]
mod with_fake_runtimes {
    use super::*;

    /// A tempdir holding a fake runtime `name` that prints `version_line`.
    fn fake_runtime(name: &str, body: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        write_script(&path, &format!("#!/bin/sh\n{body}\n"));
        (dir, path)
    }

    fn resolve_builtin(name: &str, vars: Vars) -> Result<ResolvedRuntime, AdapterError> {
        Adapter::builtin(name)
            .unwrap()
            .resolve_in(vars, short_limits())
    }

    #[test]
    fn finds_the_runtime_through_its_variable_with_options() {
        // The version command gets the program alone, as the official adapter does.
        let (_dir, fake) = fake_runtime(
            "wasmtime",
            r#"[ "$#" = 1 ] && [ "$1" = --version ] && echo "wasmtime 48.0.8 (fake)" || exit 7"#,
        );
        let value = format!("{} -Sfoo --opt", fake.display());
        let rt = resolve_builtin("wasmtime", vars_with(&[("WASMTIME", &value)])).unwrap();
        assert_eq!(rt.version, "48.0.8");
        assert_eq!(rt.command, [fake.to_str().unwrap(), "-Sfoo", "--opt"]);

        let mut req = request("t.wasm", "wasm32-wasip3");
        req.world = WORLD_HTTP_SERVICE.to_string();
        req.proposals = vec!["sockets".into(), "http".into()];
        req.env = vec![("K".into(), "V".into())];
        let argv = rt.compute_argv(&[req]).unwrap().remove(0);
        assert_eq!(
            argv,
            [
                fake.to_str().unwrap(),
                "serve",
                "-Wcomponent-model-async",
                "-Sp3,http,inherit-network",
                "-Scli",
                "--addr=127.0.0.1:0",
                "-Sfoo",
                "--opt",
                "--env",
                "K=V",
                "t.wasm"
            ]
        );
    }

    #[test]
    fn a_missing_runtime_names_the_variable_to_set() {
        let empty = tempfile::tempdir().unwrap();
        let vars = Vars(vec![("PATH".into(), empty.path().into())]);
        let e = resolve_builtin("wazero", vars).unwrap_err();
        assert!(
            matches!(&e, AdapterError::MissingRuntime { env_var: Some(v), .. } if v == "WAZERO")
        );
        let text = e.to_string();
        assert!(text.contains("cannot find \"wazero\" on PATH"), "{text}");
        assert!(text.contains("set WAZERO"), "{text}");

        let e = resolve_builtin("wazero", vars_with(&[("WAZERO", "/nonexistent/wazero")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("WAZERO names the program \"/nonexistent/wazero\""),
            "{e}"
        );

        let e = resolve_builtin("wazero", vars_with(&[("WAZERO", "wazero \"unclosed")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("WAZERO is set to"), "{e}");
        assert!(e.contains("cannot be split"), "{e}");

        let e = resolve_builtin("wazero", vars_with(&[("WAZERO", "  ")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is empty"), "{e}");
    }

    #[test]
    fn bad_version_commands_give_clear_errors() {
        let cases = [
            ("exec sleep 20", "did not finish within 1.5 s"),
            (
                "head -c 100000 /dev/zero",
                "printed more than 4096 bytes on stdout",
            ),
            ("printf 'wasmtime \\377\\376\\n'", "not UTF-8"),
            (
                "echo broken >&2; exit 3",
                "failed (exit status 3); stderr: broken",
            ),
            ("printf ''", "printed 0 line(s)"),
            ("echo", "printed \"\", which has 1 word(s)"),
            ("echo wasmtime", "has 1 word(s)"),
            ("kill -9 $$", "killed by signal 9"),
            ("sleep 3 & echo wasmtime 1.0", "its output stayed open"),
        ];
        for (body, expected) in cases {
            let (_dir, fake) = fake_runtime("wasmtime", body);
            // Without the timeout, `sleep 20` would end with no output and
            // `sleep 3 &` with a version: the messages prove the bounds held.
            let e = resolve_builtin(
                "wasmtime",
                vars_with(&[("WASMTIME", fake.to_str().unwrap())]),
            )
            .expect_err(body);
            assert!(matches!(e, AdapterError::Version { .. }), "{body}: {e}");
            let text = e.to_string();
            assert!(text.contains(expected), "{body}: {text}");
            assert!(text.contains("the version command `"), "{text}");
        }
    }

    #[test]
    fn the_version_command_runs_with_a_minimal_environment() {
        let body = r#"if [ -n "$SECRET" ]; then echo "fake leaked"; else echo "fake clean"; fi"#;
        let (dir, fake) = fake_runtime("fake", body);
        let vars = vars_with(&[("FAKE", fake.to_str().unwrap()), ("SECRET", "x")]);
        let adapter_file = dir.path().join("fake.toml");
        fs::write(&adapter_file, MINIMAL).unwrap();
        let rt = Adapter::load(&adapter_file)
            .unwrap()
            .resolve_in(vars.clone(), short_limits())
            .unwrap();
        assert_eq!(rt.version, "clean");
        assert!(rt.process_env(false).iter().all(|(k, _)| k != "SECRET"));
        assert!(
            rt.process_env(true)
                .contains(&("DEBUG".into(), "true".into()))
        );

        let kept = MINIMAL.replace(
            "default = [\"fake\"]",
            "default = [\"fake\"]\nkeep_env = [\"SECRET\"]",
        );
        fs::write(&adapter_file, kept).unwrap();
        let rt = Adapter::load(&adapter_file)
            .unwrap()
            .resolve_in(vars, short_limits())
            .unwrap();
        assert_eq!(rt.version, "leaked");
    }

    #[test]
    fn scripts_are_found_next_to_the_adapter_file_or_built_in() {
        let dir = tempfile::tempdir().unwrap();
        write_script(
            &dir.path().join("helper.sh"),
            "#!/bin/sh\necho \"helper 2.0\"\n",
        );
        let text = MINIMAL
            .replace(
                "default = [\"fake\"]",
                "default = [\"sh\", \"{script:helper.sh}\"]",
            )
            .replace("{program}", "{command}")
            .replace(
                "\"{command}\", \"{module}\"",
                "\"{command}\", \"{script:node-wasi.cjs}\", \"{module}\"",
            );
        let file = dir.path().join("mine.toml");
        fs::write(&file, text).unwrap();
        let rt = Adapter::load(&file)
            .unwrap()
            .resolve_in(vars_with(&[]), short_limits())
            .unwrap();
        assert_eq!(rt.version, "2.0");
        let helper = dir.path().join("helper.sh");
        assert_eq!(rt.command[1], helper.to_str().unwrap());
        let argv = rt
            .compute_argv(&[request("m.wasm", "wasm32-wasip1")])
            .unwrap()
            .remove(0);
        // The built-in script was written to a private file with the same text.
        assert!(argv[2].ends_with("/node-wasi.cjs"), "{argv:?}");
        assert_eq!(fs::read_to_string(&argv[2]).unwrap(), BUILTIN_SCRIPTS[0].1);
        let script_dir = Path::new(&argv[2]).parent().unwrap().to_path_buf();
        drop(rt);
        assert!(
            !script_dir.exists(),
            "the script directory goes with the runtime"
        );
    }

    #[test]
    fn unsupported_requests_are_skipped_with_a_reason() {
        let (_dir, fake) = fake_runtime("w", "echo \"w 1.0\"");
        let fake = fake.to_str().unwrap();
        let wasmtime = resolve_builtin("wasmtime", vars_with(&[("WASMTIME", fake)])).unwrap();
        let wazero = resolve_builtin("wazero", vars_with(&[("WAZERO", fake)])).unwrap();

        let mut req = request("t.wasm", "wasm32-wasip1");
        req.root = Some("r".into());
        req.dirs = vec![DirRequest {
            host: "/h".into(),
            guest: "/g".into(),
            readonly: false,
        }];
        req.memory_bytes = Some(65536);
        req.fuel = Some(1000);
        assert_eq!(wasmtime.unsupported(&req), None);
        assert_eq!(
            wasmtime.compute_argv(std::slice::from_ref(&req)).unwrap()[0],
            [
                fake,
                "-W",
                "max-memory-size=65536",
                "-W",
                "fuel=1000",
                "--dir",
                "r::/",
                "--dir",
                "/h::/g",
                "t.wasm"
            ]
        );
        let reason = wazero.unsupported(&req).unwrap();
        assert_eq!(
            reason,
            "the wazero adapter does not map a memory limit (`limits.memory_bytes`)"
        );
        req.memory_bytes = None;
        req.fuel = None;
        req.dirs[0].readonly = true;
        assert_eq!(wazero.unsupported(&req), None);
        assert!(
            wazero.compute_argv(std::slice::from_ref(&req)).unwrap()[0]
                .contains(&"-mount=/h:/g:ro".to_string())
        );
        let reason = wasmtime.unsupported(&req).unwrap();
        assert!(
            reason.contains("cannot preopen a directory read-only"),
            "{reason}"
        );
        let e = wasmtime.compute_argv(&[req]).unwrap_err();
        assert!(matches!(e, AdapterError::Unsupported { .. }), "{e}");

        let p3 = request("t.wasm", "wasm32-wasip3");
        let reason = wazero.unsupported(&p3).unwrap();
        assert!(
            reason.contains("does not run wasm32-wasip3 modules"),
            "{reason}"
        );
        let mut http = request("t.wasm", "wasm32-wasip1");
        http.world = WORLD_HTTP_SERVICE.into();
        assert!(
            wazero
                .unsupported(&http)
                .unwrap()
                .contains("the wasi:http/service world")
        );
    }

    #[test]
    fn jco_passes_json_like_the_official_adapter() {
        let (_dir, fake) = fake_runtime("jco", "echo \" 1.27.0 \"");
        let fake = fake.to_str().unwrap();
        let rt = resolve_builtin("jco", vars_with(&[("JCO", fake)])).unwrap();
        assert_eq!(rt.version, "1.27.0");
        assert_eq!(rt.timeout, Some(Duration::from_secs(30)));
        let mut req = request("dir/cli-env.wasm", "wasm32-wasip3");
        req.args = vec!["a".into(), "é".into()];
        req.env = vec![("foo".into(), "bar".into()), ("baz".into(), "42".into())];
        req.root = Some("fs-tests.dir".into());
        assert_eq!(
            rt.compute_argv(&[req]).unwrap()[0],
            [
                fake,
                "--component",
                "dir/cli-env.wasm",
                "--test-name",
                "cli-env.wasm",
                "--args",
                r#"["a", "\u00e9"]"#,
                "--env",
                r#"{"foo": "bar", "baz": "42"}"#,
                "--preopens",
                r#"[{"guest": "/", "host": "fs-tests.dir"}]"#,
            ]
        );
    }

    #[test]
    fn run_bounded_reports_what_happened() {
        let sh = |script: &str| {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(script);
            cmd
        };
        let out = run_bounded(
            sh("cat; echo err >&2"),
            b"input",
            Duration::from_secs(5),
            100,
            100,
        )
        .unwrap_or_else(|f| panic!("{f}"));
        assert!(out.status.success());
        assert_eq!(out.stdout, b"input");
        assert_eq!(out.stderr, b"err\n");
        // A program that never reads its stdin does not block the writer.
        let big = vec![b'x'; 1 << 20];
        let out = run_bounded(sh("exit 0"), &big, Duration::from_secs(5), 100, 100)
            .unwrap_or_else(|f| panic!("{f}"));
        assert!(out.status.success());
        match run_bounded(
            sh("head -c 5000 /dev/zero >&2"),
            b"",
            Duration::from_secs(5),
            100,
            100,
        ) {
            Err(RunFailure::TooMuch {
                stream: "stderr", ..
            }) => {}
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("more than the limit was accepted"),
        }
        match run_bounded(
            Command::new("/nonexistent/program"),
            b"",
            Duration::from_secs(5),
            100,
            100,
        ) {
            Err(RunFailure::Start(_)) => {}
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("a missing program ran"),
        }
    }
}

// ---------------------------------------------------------------------------
// Python adapters: loading them needs python3, so those tests are in
// `tests/host/python.rs` and `tests/host/official_adapters.rs` (ignored, with
// the reason, where python3 or the official suite is missing).

#[test]
fn adapter_files_are_toml_or_python_and_must_be_readable() {
    let dir = tempfile::tempdir().unwrap();
    let e = Adapter::load(&dir.path().join("adapter.txt")).unwrap_err();
    assert!(matches!(e, AdapterError::UnknownKind { .. }), "{e}");
    let e = Adapter::load(&dir.path().join("absent.py")).unwrap_err();
    assert!(matches!(e, AdapterError::Read { .. }), "{e}");
}

#[test]
fn a_python_adapter_without_python_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.py");
    fs::write(&path, "def get_name():\n    return 'tiny'\n").unwrap();
    let adapter = Adapter::load(&path).unwrap();
    let empty = Vars(vec![("PATH".into(), dir.path().into())]);
    let e = adapter.resolve_in(empty, short_limits()).unwrap_err();
    assert!(matches!(e, AdapterError::MissingPython { .. }), "{e}");
    assert!(e.to_string().contains("python3 is not on PATH"), "{e}");
    let e = adapter
        .resolve_in(
            vars_with(&[("PYTHON", "/nonexistent/python")]),
            short_limits(),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("PYTHON names \"/nonexistent/python\", which does not exist"),
        "{e}"
    );
}

/// The example of the module documentation, which cannot be a doctest (the
/// module's path depends on where it is mounted).
#[cfg(unix)]
#[test]
fn module_documentation_example() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("wasmtime");
    write_script(&fake, "#!/bin/sh\necho 'wasmtime 48.0.8 (fake)'\n");
    let adapter = Adapter::builtin("wasmtime").expect("a built-in adapter");
    let runtime = adapter
        .resolve_in(
            vars_with(&[("WASMTIME", fake.to_str().unwrap())]),
            Limits::DEFAULT,
        )
        .unwrap();
    assert_eq!(
        (runtime.name.as_str(), runtime.version.as_str()),
        ("wasmtime", "48.0.8")
    );

    let mut req = ArgvRequest::new("tests/cli-env.wasm", "wasm32-wasip3");
    req.args = vec!["a".into(), "b".into()];
    req.env = vec![("foo".into(), "bar".into())];
    req.root = Some(PathBuf::from("tests/fs-tests.dir"));
    assert_eq!(runtime.unsupported(&req), None);
    let argv = &runtime.compute_argv(&[req]).unwrap()[0];
    assert_eq!(
        argv[1..],
        [
            "-Wcomponent-model-async",
            "-Sp3",
            "--env",
            "foo=bar",
            "--dir",
            "tests/fs-tests.dir::/",
            "tests/cli-env.wasm",
            "a",
            "b"
        ]
    );
}
