//! Property tests over the untrusted inputs: no spec text and no module bytes make
//! the spec parser, the module inspector or the harness panic or hang; each bad
//! input becomes an error (or a failed test) with a message.

use proptest::prelude::*;
use serde_json::{Map, Value};
use wasi_conform::module::ModuleInfo;
use wasi_conform::spec::Spec;

/// Every name the spec's JSON Schema knows (keys, operation types, allowed
/// values), so generated objects reach deep into the validator. Taken from the
/// schema, so a key added to the spec's types is fuzzed without a list to update.
fn keys() -> Vec<String> {
    fn collect(schema: &Value, out: &mut Vec<String>) {
        match schema {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    out.extend(props.keys().cloned());
                }
                for word in ["const", "enum"] {
                    match map.get(word) {
                        Some(Value::String(s)) => out.push(s.clone()),
                        Some(Value::Array(items)) => {
                            out.extend(items.iter().filter_map(Value::as_str).map(String::from))
                        }
                        _ => {}
                    }
                }
                map.values().for_each(|v| collect(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(&wasi_conform::spec::schema::spec_schema(), &mut out);
    out.sort();
    out.dedup();
    out
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            "[a-z./]{0,12}".prop_map(Value::String),
            proptest::sample::select(keys()).prop_map(Value::String),
            Just(Value::String("2030-01-01T00:00:00Z".into())),
            Just(Value::String("(".into())),
        ],
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((proptest::sample::select(keys()), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

#[test]
fn the_schema_s_names_reach_every_level() {
    let keys = keys();
    for name in [
        "args",
        "exit_code",
        "operations",
        "type",
        "run",
        "wait",
        "signal",
        "fuel",
        "step_ns",
        "host",
        "readonly",
        "contains",
        "sha256",
        "exists",
        "func",
        "endpoints",
        "trailers",
        "echo-body",
        "sockets",
        "wasi:http/service",
        "$schema",
    ] {
        assert!(keys.iter().any(|k| k == name), "{name} is not in {keys:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn spec_parser_never_panics_on_text(text in "\\PC{0,200}") {
        let _ = Spec::from_json_str(&text, "fuzz.json".as_ref());
    }

    #[test]
    fn spec_parser_never_panics_on_json(value in json_value()) {
        match Spec::from_json_str(&value.to_string(), "fuzz.json".as_ref()) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.to_string().starts_with("fuzz.json"), "{e}"),
        }
    }

    #[test]
    fn module_inspector_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = ModuleInfo::inspect(bytes);
    }

    #[test]
    fn module_inspector_never_panics_on_damaged_modules(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                (memory 1) (func (export "_start") (call 0 (i32.const 3))))"#,
        ).unwrap();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let _ = ModuleInfo::inspect(bytes);
    }
}

/// Damaged modules through the whole harness (compile, link, run): each is a failed
/// or passed test, never a panic or a hang.
#[test]
fn harness_survives_damaged_modules() {
    use proptest::test_runner::{Config, TestRunner};
    let harness = wasi_conform::Harness::new(wasi_conform::HarnessOptions {
        defaults: wasi_conform::run::RunDefaults {
            timeout: std::time::Duration::from_millis(500),
            ..Default::default()
        },
        compile: wasi_conform::run::CompileConfig {
            cache_dir: None,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let base = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1) (data (i32.const 8) "hi")
            (func (export "_start") (i32.store (i32.const 0) (i32.const 8)) (i32.store (i32.const 4) (i32.const 2))
              (drop (call 0 (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(
            &prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            |flips| {
                let mut bytes = base.clone();
                for (at, b) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
                std::fs::write(dir.path().join("m.wasm"), &bytes).unwrap();
                let suites = wasi_conform::discover::discover(&[dir.path().to_path_buf()]).unwrap();
                let outcome = harness.run_test(&suites[0], &suites[0].tests[0]);
                prop_assert!(outcome.passed() || !outcome.message().is_empty());
                prop_assert!(
                    !outcome.message().contains("internal error"),
                    "{}",
                    outcome.message()
                );
                Ok(())
            },
        )
        .unwrap();
}
