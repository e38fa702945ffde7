//! From the spec file's types ([`super::raw`], read after the shape check) to a
//! validated [`Spec`]: the rules serde cannot say (keys that exclude each
//! other, paths that must stay inside the suite, fixtures that must exist,
//! regular expressions that must compile, the order of operations). Every
//! problem is recorded with its key, so a spec's errors come all at once. A
//! legacy spec becomes a `run` and a `wait` here.

mod operations;
mod paths;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::{Problem, describe};
use super::http::ServerSpec;
use super::raw::{self, WasmValue};
use super::{
    ClockSpec, DEFAULT_CLOCK_STEP_NS, DirMount, ExitExpectation, FileExpectation, Invoke,
    Operation, Pattern, Run, Spec, SpecForm, StdinSource, StreamMatcher, WASM_VALUE_WORDS,
};

/// Validates one spec file's contents; collects its problems.
pub(crate) struct Validator<'a> {
    file: &'a Path,
    /// The spec's directory: relative paths start there.
    base: PathBuf,
    /// Top-level keys present but left out for a problem of shape: not absent.
    broken: Vec<String>,
    pub problems: Vec<Problem>,
}

impl<'a> Validator<'a> {
    pub fn new(file: &'a Path, broken: Vec<String>) -> Validator<'a> {
        Validator {
            file,
            base: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            broken,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    /// A legacy spec: one `run` and its `wait`.
    pub fn legacy(&mut self, raw: raw::LegacySpec) -> Spec {
        let raw::LegacySpec {
            run: keys,
            common,
            extensions: ext,
            editor: _,
        } = raw;
        let mut spec = self.common(common, SpecForm::Legacy);
        let exit = self.exit_expectation(keys.exit_code, ext.trap, "");
        let beside_invoke: Vec<&str> = [("args", keys.args.is_some()), ("env", keys.env.is_some())]
            .into_iter()
            .filter_map(|(k, given)| given.then_some(k))
            .collect();
        spec.invoke = self.invoke(ext.invoke, ext.result, &beside_invoke);
        let mut run = self.run(keys.args, keys.env, keys.root, "");
        run.stdin = ext.stdin.and_then(|s| self.stdin(s));
        spec.operations = vec![
            Operation::Run(run),
            Operation::Wait(exit.unwrap_or(ExitExpectation::Code(0))),
        ];
        spec.stdout = keys.stdout.and_then(|m| self.matcher(m, "stdout"));
        spec.stderr = keys.stderr.and_then(|m| self.matcher(m, "stderr"));
        spec
    }

    /// An operation spec.
    pub fn operation_form(&mut self, raw: raw::OperationSpec) -> Spec {
        let mut spec = self.common(raw.common, SpecForm::Operations);
        spec.proposals = raw.own.proposals;
        spec.world = raw.own.world;
        spec.servers = ServerSpec::from_raw(raw.own.servers, &mut self.problems);
        if let Some(ops) = raw.own.operations {
            spec.operations = self.operations(ops);
        }
        spec
    }

    /// The keys of both forms.
    fn common(&mut self, c: raw::CommonKeys, form: SpecForm) -> Spec {
        let mut spec = Spec::default_for(&self.base);
        spec.file = Some(self.file.to_path_buf());
        spec.form = form;
        spec.debug = c.debug;
        spec.dirs = self.dirs(c.dirs);
        spec.clock = c.clock.and_then(|clock| self.clock(clock));
        spec.random_seed = c.random_seed;
        spec.timeout_ms = c.timeout_ms;
        spec.limits = c.limits;
        spec.files = self.files(c.files);
        spec.features = c.features.into_iter().collect();
        spec
    }

    /// `args`, `env`, `root` of a legacy spec (`prefix` empty) or a `run` operation.
    fn run(
        &mut self,
        args: Option<Vec<String>>,
        env: Option<raw::Env>,
        root: Option<String>,
        prefix: &str,
    ) -> Run {
        let env = env.map(|e| e.0.0).unwrap_or_default();
        for (name, _) in &env {
            if name.is_empty() || name.contains('=') {
                self.problem(
                    format!("{prefix}env.{name}"),
                    "an environment variable name must be non-empty and without `=`",
                );
            }
        }
        Run {
            args: args.unwrap_or_default(),
            env,
            root: root.and_then(|r| self.fixture_dir(&r, &format!("{prefix}root"))),
            stdin: None,
        }
    }

    /// `exit_code` or `trap` (not both) of a legacy spec (`prefix` empty) or a `wait`.
    fn exit_expectation(
        &mut self,
        code: Option<i32>,
        trap: Option<String>,
        prefix: &str,
    ) -> Option<ExitExpectation> {
        match (trap, code) {
            (Some(_), Some(_)) => {
                self.problem(
                    format!("{prefix}trap"),
                    "`trap` and `exit_code` cannot both be given: a run either traps or exits",
                );
                None
            }
            (Some(t), None) => Some(ExitExpectation::Trap(t)),
            (None, c) => Some(ExitExpectation::Code(c.unwrap_or(0))),
        }
    }

    fn stdin(&mut self, stdin: raw::Stdin) -> Option<StdinSource> {
        match stdin {
            raw::Stdin::Text(text) => Some(StdinSource::Text(text)),
            raw::Stdin::File(f) => self
                .existing_file(&f.file, "stdin.file")
                .map(StdinSource::File),
        }
    }

    fn matcher(&mut self, matcher: raw::Matcher, key: &str) -> Option<StreamMatcher> {
        use raw::MatcherCheck;
        Some(match matcher {
            raw::Matcher::Exact(text) => StreamMatcher::Exact(text),
            raw::Matcher::Check(MatcherCheck::Contains(text)) => StreamMatcher::Contains(text),
            raw::Matcher::Check(MatcherCheck::Regex(source)) => {
                StreamMatcher::Regex(self.pattern(&source, &format!("{key}.regex"))?)
            }
            raw::Matcher::Check(MatcherCheck::File(file)) => {
                StreamMatcher::File(self.data_file(&file.0, &format!("{key}.file"))?)
            }
        })
    }

    fn pattern(&mut self, source: &str, key: &str) -> Option<Pattern> {
        Pattern::new(source)
            .map_err(|message| self.problem(key, message))
            .ok()
    }

    fn dirs(&mut self, dirs: Vec<raw::Dir>) -> Vec<DirMount> {
        let mut mounts: Vec<DirMount> = Vec::new();
        for (i, dir) in dirs.into_iter().enumerate() {
            let key = format!("dirs[{i}]");
            let Some(mount) = self.dir(dir, &key) else {
                continue;
            };
            if mounts.iter().any(|m| m.guest == mount.guest) {
                self.problem(
                    key,
                    format!("guest path `{}` is preopened twice", mount.guest),
                );
                continue;
            }
            mounts.push(mount);
        }
        mounts
    }

    fn dir(&mut self, dir: raw::Dir, key: &str) -> Option<DirMount> {
        let mount = |host, guest, readonly| DirMount {
            host,
            guest,
            readonly,
            in_place: false,
        };
        match dir {
            raw::Dir::Name(raw::RelPath(name)) => {
                let plain = !Path::new(&name).components().any(|c| {
                    matches!(
                        c,
                        std::path::Component::ParentDir | std::path::Component::RootDir
                    )
                });
                if !plain {
                    self.problem(
                        key,
                        format!(
                            "`{name}` is not a plain directory name: the short form preopens a \
                             fixture beside the spec under its own name; use \
                             {{\"host\": ..., \"guest\": ...}} for anything else"
                        ),
                    );
                    return None;
                }
                Some(mount(self.fixture_dir(&name, key)?, name, false))
            }
            raw::Dir::Mount(m) => {
                let host = self.fixture_dir(&m.host, &format!("{key}.host"));
                if !m.guest.starts_with('/') {
                    self.problem(
                        format!("{key}.guest"),
                        format!(
                            "`{}` must be an absolute guest path such as `/data`",
                            m.guest
                        ),
                    );
                    return None;
                }
                Some(mount(host?, m.guest, m.readonly))
            }
        }
    }

    fn clock(&mut self, clock: raw::Clock) -> Option<ClockSpec> {
        let wall_ns = match clock.wall {
            None => 0,
            Some(raw::Wall::Nanos(n)) => u128::from(n),
            Some(raw::Wall::Time(s)) => {
                let Ok(t) = humantime::parse_rfc3339(&s).map_err(|e| {
                    self.problem(
                        "clock.wall",
                        format!(
                            "`{s}` is not an RFC 3339 UTC time such as 2030-01-01T00:00:00Z: {e}"
                        ),
                    )
                }) else {
                    return None;
                };
                let Ok(since) = t.duration_since(std::time::UNIX_EPOCH) else {
                    self.problem("clock.wall", "must not be before 1970");
                    return None;
                };
                since.as_nanos()
            }
        };
        Some(ClockSpec {
            wall_ns,
            step_ns: clock.step_ns.unwrap_or(DEFAULT_CLOCK_STEP_NS),
        })
    }

    fn files(
        &mut self,
        files: BTreeMap<String, raw::FileExpectation>,
    ) -> BTreeMap<String, FileExpectation> {
        let mut out = BTreeMap::new();
        for (path, expectation) in files {
            let key = format!("files.{path}");
            if !path.starts_with('/') {
                self.problem(key, "a guest path is absolute, such as `/out.txt`");
                continue;
            }
            if let Some(e) = self.file_expectation(expectation, &key) {
                out.insert(path, e);
            }
        }
        out
    }

    /// One `files` entry: a string, `null`, or one check.
    fn file_expectation(&mut self, e: raw::FileExpectation, key: &str) -> Option<FileExpectation> {
        use raw::FileCheck;
        Some(match e {
            raw::FileExpectation::Absent => FileExpectation::Absent,
            raw::FileExpectation::Exact(text) => FileExpectation::Exact(text),
            raw::FileExpectation::Check(check) => match check {
                FileCheck::Contains(text) => FileExpectation::Contains(text),
                FileCheck::Regex(source) => {
                    FileExpectation::Regex(self.pattern(&source, &format!("{key}.regex"))?)
                }
                FileCheck::File(file) => {
                    FileExpectation::File(self.data_file(&file.0, &format!("{key}.file"))?)
                }
                FileCheck::Sha256(hex) => {
                    let hex = hex.0.to_ascii_lowercase();
                    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        self.problem(
                            format!("{key}.sha256"),
                            "expected 64 hexadecimal digits (a SHA-256)",
                        );
                        return None;
                    }
                    FileExpectation::Sha256(hex)
                }
                FileCheck::Size(n) => FileExpectation::Size(n),
                FileCheck::Exists(raw::True) => FileExpectation::Exists,
            },
        })
    }

    /// `invoke` and `result`; `beside` lists the keys given that cannot stand beside `invoke`.
    fn invoke(
        &mut self,
        invoke: Option<raw::Invoke>,
        result: Option<Vec<WasmValue>>,
        beside: &[&str],
    ) -> Option<Invoke> {
        let result = result.map(|values| self.wasm_values(values, "result"));
        let Some(invoke) = invoke else {
            if result.is_some() && !self.broken.iter().any(|k| k == "invoke") {
                self.problem("result", "`result` needs `invoke` (the function to call)");
            }
            return None;
        };
        if invoke.func.is_empty() {
            self.problem(
                "invoke.func",
                format!(
                    "expected a function name, found {}",
                    describe(&Value::from(""))
                ),
            );
        }
        let args = self.wasm_values(invoke.args, "invoke.args");
        for key in beside {
            self.problem(
                *key,
                "`invoke` calls a function directly; `args` and `env` apply to `_start` runs",
            );
        }
        Some(Invoke {
            func: invoke.func,
            args,
            result,
        })
    }

    /// Values as written, each checked to stand for a wasm number.
    fn wasm_values(&mut self, values: Vec<WasmValue>, key: &str) -> Vec<Value> {
        let values: Vec<Value> = values.into_iter().map(|v| v.0).collect();
        for (i, v) in values.iter().enumerate() {
            if let Err(m) = check_wasm_value(v) {
                self.problem(format!("{key}[{i}]"), m);
            }
        }
        values
    }
}

/// Checks that a JSON value can stand for a wasm number.
fn check_wasm_value(v: &Value) -> Result<(), String> {
    match v {
        Value::Number(_) => Ok(()),
        Value::String(s) => {
            let t = s.trim();
            let lower = t.to_ascii_lowercase();
            if WASM_VALUE_WORDS.contains(&lower.as_str())
                || t.parse::<i128>().is_ok()
                || t.parse::<f64>().is_ok()
            {
                Ok(())
            } else {
                Err(format!(
                    "`{s}` is not a number (use an integer, a float, or \"nan\"/\"inf\"/\"-inf\")"
                ))
            }
        }
        other => Err(format!(
            "expected a number or a numeric string, found {}",
            describe(other)
        )),
    }
}
