//! Property tests over the untrusted inputs: no spec text and no module bytes make
//! the spec parser, the module inspector or the harness panic or hang; each bad
//! input becomes an error (or a failed test) with a message.

use proptest::prelude::*;
use serde_json::{Map, Value};
use wasi_conform::module::ModuleInfo;
use wasi_conform::spec::Spec;

/// Keys that specs use, so generated objects reach deep into the validator.
const KEYS: &[&str] = &[
    "args",
    "env",
    "root",
    "dirs",
    "exit_code",
    "stdout",
    "stderr",
    "stdin",
    "trap",
    "files",
    "invoke",
    "result",
    "clock",
    "random_seed",
    "timeout_ms",
    "limits",
    "operations",
    "type",
    "payload",
    "id",
    "proposals",
    "world",
    "servers",
    "debug",
    "host",
    "guest",
    "readonly",
    "contains",
    "regex",
    "file",
    "func",
    "wall",
    "step_ns",
    "memory_bytes",
    "output_bytes",
    "fuel",
    "open_files",
    "disk_bytes",
    "run",
    "wait",
    "read",
    "write",
    "kill",
    "signal",
];

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
            proptest::sample::select(KEYS).prop_map(|k| Value::String(k.to_string())),
            Just(Value::String("2030-01-01T00:00:00Z".into())),
            Just(Value::String("(".into())),
        ],
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
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
