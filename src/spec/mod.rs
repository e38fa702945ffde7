//! Test specs: the JSON file beside a module, parsed and validated into a [`Spec`].
//!
//! Both forms of the spec format (`docs/spec-format.md`) are read here: the legacy
//! single-run form (`args`, `env`, `root`, `dirs`, `exit_code`, `stdout`, `stderr`)
//! and the operation form (`operations`, `proposals`, `world`, `servers`), plus this
//! project's extensions. A legacy spec is converted to operations (`run`, `wait`), so
//! later stages see one shape. This module knows nothing of wasmtime.
//!
//! ```
//! use wasi_conform::spec::{Spec, Operation};
//! let spec = Spec::from_json_str(r#"{"args": ["a"], "exit_code": 3}"#, "t.json".as_ref()).unwrap();
//! assert!(matches!(spec.operations[0], Operation::Run(_)));
//! ```

pub mod http;
pub mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Why a spec cannot be used. Every variant names the spec file.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read (missing, not a regular file, too large, not UTF-8).
    #[error("cannot read the spec: {error}")]
    Read {
        #[source]
        error: crate::files::FileError,
    },
    /// The file is not valid JSON.
    #[error("{}: line {line}, column {column}: invalid JSON: {message}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A nested value is invalid; the message names its key.
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },
    /// A key is unknown, of the wrong type, conflicts with another, or its value is invalid.
    #[error("{}: key `{key}`: {message}", file.display())]
    Key {
        file: PathBuf,
        key: String,
        message: String,
    },
}

/// Keys of the legacy (single-run) form, as in the official runner.
pub const LEGACY_KEYS: &[&str] = &["args", "env", "root", "exit_code", "stdout", "stderr"];
/// Keys that make a spec an operation spec.
pub const OPERATION_KEYS: &[&str] = &["operations", "proposals", "world", "servers"];
/// This project's extensions allowed in both forms (plus `debug`, an official key).
pub const COMMON_KEYS: &[&str] = &[
    "dirs",
    "features",
    "clock",
    "random_seed",
    "timeout_ms",
    "limits",
    "files",
    "debug",
];
/// Extensions of the legacy form only.
pub const LEGACY_EXTENSION_KEYS: &[&str] = &["stdin", "trap", "invoke", "result"];
/// The top-level key that points editors at the JSON Schema; accepted (a string)
/// in both forms and otherwise ignored.
pub const SCHEMA_KEY: &str = "$schema";

/// Each operation `type` and the keys its object may hold (`type` included).
pub const OPERATION_FIELDS: &[(&str, &[&str])] = &[
    ("run", &["type", "args", "env", "root"]),
    ("write", &["type", "id", "payload"]),
    ("read", &["type", "id", "payload"]),
    ("wait", &["type", "exit_code", "trap"]),
    ("connect", &["type", "id", "protocol_type"]),
    ("send", &["type", "id", "payload"]),
    ("recv", &["type", "id", "payload"]),
    (
        "request",
        &["type", "method", "path", "headers", "body", "response"],
    ),
    ("kill", &["type", "signal"]),
];
/// Streams a `write` may name.
pub const WRITE_STREAMS: &[&str] = &["stdin"];
/// Streams a `read` may name (the first is the default).
pub const READ_STREAMS: &[&str] = &["stdout", "stderr"];
/// `connect` protocols (the first is the default).
pub const PROTOCOL_TYPES: &[&str] = &["tcp", "udp", "http"];
/// The connection id of a `connect` that names none.
pub const DEFAULT_CONNECTION_ID: &str = "server";
/// The signal of a `kill` that names none.
pub const DEFAULT_KILL_SIGNAL: &str = "SIGTERM";
/// Signals a `kill` may name, with or without the `SIG` prefix.
pub const KILL_SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "ALRM", "STOP", "CONT",
];

/// Whether `name` is one of [`KILL_SIGNALS`] (`SIGTERM` or `TERM`).
pub fn is_kill_signal(name: &str) -> bool {
    KILL_SIGNALS.contains(&name.strip_prefix("SIG").unwrap_or(name))
}
/// `proposals` names.
pub const PROPOSALS: &[&str] = &["http", "sockets"];
/// `world` names (the first is the default).
pub const WORLDS: &[&str] = &["wasi:cli/command", "wasi:http/service"];
/// Kinds of a `stdout`/`stderr` matcher object.
pub const STREAM_MATCHER_KINDS: &[&str] = &["contains", "regex", "file"];
/// Kinds of a `files` check object.
pub const FILE_CHECK_KINDS: &[&str] = &["contains", "regex", "file", "sha256", "size", "exists"];
/// Keys of a `dirs` entry in the object form.
pub const DIR_MOUNT_KEYS: &[&str] = &["host", "guest", "readonly"];
/// Keys of `clock`.
pub const CLOCK_KEYS: &[&str] = &["wall", "step_ns"];
/// Keys of `limits`.
pub const LIMIT_KEYS: &[&str] = &[
    "memory_bytes",
    "output_bytes",
    "fuel",
    "open_files",
    "disk_bytes",
];
/// Keys of `invoke`.
pub const INVOKE_KEYS: &[&str] = &["func", "args"];
/// Top-level keys that cannot stand beside `invoke` (they apply to `_start` runs).
pub const INVOKE_EXCLUDES: &[&str] = &["args", "env"];
/// Words a wasm value may be written as besides numbers (any case).
pub const WASM_VALUE_WORDS: &[&str] = &[
    "nan",
    "inf",
    "+inf",
    "-inf",
    "infinity",
    "-infinity",
    "-nan",
    "+nan",
];

/// The keys an operation of type `ty` may hold, or `None` for an unknown type.
pub fn operation_fields(ty: &str) -> Option<&'static [&'static str]> {
    OPERATION_FIELDS
        .iter()
        .find(|(t, _)| *t == ty)
        .map(|(_, fields)| *fields)
}

/// Every operation type, in the order of [`OPERATION_FIELDS`].
pub fn operation_types() -> Vec<&'static str> {
    OPERATION_FIELDS.iter().map(|(t, _)| *t).collect()
}

/// A validated test spec.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The spec file, or `None` for the default spec of a module without one.
    pub file: Option<PathBuf>,
    /// Directory that relative paths in the spec are resolved against.
    pub base_dir: PathBuf,
    /// Which form the file was written in.
    pub form: SpecForm,
    /// What to do, in order. A legacy spec becomes `run` then `wait`.
    pub operations: Vec<Operation>,
    /// Proposals the test needs (`sockets`, `http`).
    pub proposals: Vec<Proposal>,
    /// The world the module implements.
    pub world: World,
    /// HTTP endpoints the harness hosts for the guest.
    pub servers: Vec<http::ServerSpec>,
    /// More diagnostics from the runtime; never changes the guest's view.
    pub debug: bool,
    /// Directories preopened for every run besides a run's `root`.
    pub dirs: Vec<DirMount>,
    /// Deterministic clocks, if set.
    pub clock: Option<ClockSpec>,
    /// Seed of the deterministic random sources, if set.
    pub random_seed: Option<u64>,
    /// Wall-clock limit for the whole test, if set (else the harness default).
    pub timeout_ms: Option<u64>,
    /// Resource limits (each `None` takes the harness default).
    pub limits: Limits,
    /// Expected stdout of the whole (last) run.
    pub stdout: Option<StreamMatcher>,
    /// Expected stderr of the whole (last) run.
    pub stderr: Option<StreamMatcher>,
    /// Files to check after the last `wait`: guest path to what it must hold.
    pub files: BTreeMap<String, FileExpectation>,
    /// Wasm proposals to enable (wasmtime CLI `-W` names); the harness adds the
    /// suite manifest's and the command line's.
    pub features: crate::features::FeatureSet,
    /// Call this export instead of `_start`.
    pub invoke: Option<Invoke>,
}

/// The two shapes of a spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecForm {
    /// No spec file: run with nothing, expect exit code 0.
    Default,
    /// `args`/`env`/`root`/`exit_code`/`stdout`/`stderr` and extensions.
    Legacy,
    /// `operations` and friends.
    Operations,
}

/// One step of a test.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Start the module.
    Run(Run),
    /// Write to the guest's stdin while it runs.
    Write { id: String, payload: String },
    /// Read exactly `payload.len()` bytes from a stream and compare.
    Read { id: OutputStream, payload: String },
    /// Wait for the guest to end and compare how it ended.
    Wait(ExitExpectation),
    /// Connect to an address the guest prints (`host:port` line on stdout).
    Connect { id: String, protocol: String },
    /// Send over a connection.
    Send { id: String, payload: String },
    /// Receive over a connection and compare.
    Recv { id: String, payload: String },
    /// Send an HTTP request to a served component and compare the response.
    Request(http::RequestOp),
    /// Stop a long-running guest.
    Kill { signal: String },
}

impl Operation {
    /// The operation's `type` as written in specs.
    pub fn kind(&self) -> &'static str {
        match self {
            Operation::Run(_) => "run",
            Operation::Write { .. } => "write",
            Operation::Read { .. } => "read",
            Operation::Wait(_) => "wait",
            Operation::Connect { .. } => "connect",
            Operation::Send { .. } => "send",
            Operation::Recv { .. } => "recv",
            Operation::Request(_) => "request",
            Operation::Kill { .. } => "kill",
        }
    }
}

/// A `run` operation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Run {
    /// Arguments after argv[0] (the module's file name).
    pub args: Vec<String>,
    /// The whole environment, in the order written.
    pub env: Vec<(String, String)>,
    /// Fixture directory preopened as the guest's `/`.
    pub root: Option<PathBuf>,
    /// The guest's whole stdin (legacy `stdin`); `None` = empty, or fed by `write`.
    pub stdin: Option<StdinSource>,
}

/// Where the guest's stdin comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum StdinSource {
    /// This text, then EOF.
    Text(String),
    /// This file's bytes, then EOF.
    File(PathBuf),
    /// This process's own stdin, as it comes (ad-hoc runs from the command line
    /// only; a spec file cannot ask for it).
    Inherit,
}

/// The guest's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

impl fmt::Display for OutputStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
        })
    }
}

/// How a run must end.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitExpectation {
    /// Exit with this code (0 when nothing is said).
    Code(i32),
    /// Trap (or hit a limit) with a message containing this text.
    Trap(String),
}

/// An expectation on a whole output stream.
#[derive(Debug, Clone)]
pub enum StreamMatcher {
    /// Exactly this text.
    Exact(String),
    /// Contains this text.
    Contains(String),
    /// The whole stream matches this regular expression (on bytes: see [`Pattern`]).
    Regex(Pattern),
    /// Equals this golden file's contents.
    File(PathBuf),
}

/// A `regex` expectation: anchored to the whole text, matched on bytes, so
/// output that is not UTF-8 can still match (`.` matches one UTF-8 character,
/// or with `(?-u)` any byte).
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written in the spec.
    pub source: String,
    /// Anchored (`\A(?:...)\z`).
    pub regex: regex::bytes::Regex,
}

impl Pattern {
    /// Compiles `source`, anchored to the whole text; bounded in size.
    pub fn new(source: &str) -> Result<Pattern, String> {
        let regex = regex::bytes::RegexBuilder::new(&format!(r"\A(?:{source})\z"))
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 22)
            .build()
            .map_err(|e| format!("invalid regular expression: {e}"))?;
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    pub fn is_match(&self, bytes: &[u8]) -> bool {
        self.regex.is_match(bytes)
    }
}

/// What a file must be after the run (`files`).
#[derive(Debug, Clone)]
pub enum FileExpectation {
    /// `null`: must not exist.
    Absent,
    /// Exactly this text.
    Exact(String),
    /// Contains this text.
    Contains(String),
    /// The whole content matches.
    Regex(Pattern),
    /// Equals this golden file's bytes (bless writes it).
    File(PathBuf),
    /// The content's SHA-256, lowercase hex.
    Sha256(String),
    /// This many bytes.
    Size(u64),
    /// Exists (as anything).
    Exists,
}

impl PartialEq for StreamMatcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Exact(a), Self::Exact(b)) | (Self::Contains(a), Self::Contains(b)) => a == b,
            (Self::Regex(a), Self::Regex(b)) => a.source == b.source,
            (Self::File(a), Self::File(b)) => a == b,
            _ => false,
        }
    }
}

/// A preopened directory.
#[derive(Debug, Clone, PartialEq)]
pub struct DirMount {
    /// The fixture on the host (resolved against the spec's directory); copied per test.
    pub host: PathBuf,
    /// The name the guest sees.
    pub guest: String,
    /// Grant read permissions only.
    pub readonly: bool,
    /// Preopen the host directory itself instead of a temporary copy (only the
    /// command line's `--write-through` asks for this for writable directories).
    pub in_place: bool,
}

/// Deterministic clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSpec {
    /// Wall clock start, nanoseconds since the Unix epoch.
    pub wall_ns: u128,
    /// Advance of a clock at each reading.
    pub step_ns: u64,
}

/// Default clock step: 1 ms.
pub const DEFAULT_CLOCK_STEP_NS: u64 = 1_000_000;

/// Resource limits; `None` = the harness default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub memory_bytes: Option<u64>,
    pub output_bytes: Option<u64>,
    /// Files the guest may hold open at once (a wasi-conform addition).
    pub open_files: Option<u64>,
    /// Bytes the guest's preopened directories may grow to (a wasi-conform addition).
    pub disk_bytes: Option<u64>,
    pub fuel: Option<u64>,
}

/// Call an export instead of `_start`.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoke {
    pub func: String,
    /// Arguments as written (numbers, or strings for i64/float special values).
    pub args: Vec<Value>,
    /// Expected results, if the spec gives `result`.
    pub result: Option<Vec<Value>>,
}

impl Invoke {
    /// The call as written, e.g. `add(2, 3)`.
    pub fn call(&self) -> String {
        let args: Vec<String> = self.args.iter().map(Value::to_string).collect();
        format!("{}({})", self.func, args.join(", "))
    }
}

/// A WASI proposal a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proposal {
    Http,
    Sockets,
}

/// The world a module implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum World {
    #[default]
    CliCommand,
    HttpService,
}

impl Spec {
    /// The spec of a module without a JSON file: run with nothing, expect exit code 0.
    pub fn default_for(base_dir: &Path) -> Spec {
        Spec {
            file: None,
            base_dir: base_dir.to_path_buf(),
            form: SpecForm::Default,
            operations: vec![
                Operation::Run(Run::default()),
                Operation::Wait(ExitExpectation::Code(0)),
            ],
            proposals: Vec::new(),
            world: World::CliCommand,
            servers: Vec::new(),
            debug: false,
            dirs: Vec::new(),
            clock: None,
            random_seed: None,
            timeout_ms: None,
            limits: Limits::default(),
            stdout: None,
            stderr: None,
            files: BTreeMap::new(),
            features: Default::default(),
            invoke: None,
        }
    }

    /// Reads and validates a spec file.
    pub fn from_file(file: &Path) -> Result<Spec, SpecError> {
        let text = crate::files::read_text(file, crate::files::MAX_SPEC_BYTES)
            .map_err(|e| SpecError::Read { error: e })?;
        Spec::from_json_str(&text, file)
    }

    /// Parses and validates spec text; `file` names it in errors and anchors relative paths.
    pub fn from_json_str(text: &str, file: &Path) -> Result<Spec, SpecError> {
        let value: Value = serde_json::from_str(text).map_err(|e| SpecError::Syntax {
            file: file.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        Parser { file }.spec(&value)
    }

    /// The expectation of the last `wait`, if any.
    pub fn final_exit(&self) -> Option<&ExitExpectation> {
        self.operations.iter().rev().find_map(|op| match op {
            Operation::Wait(exit) => Some(exit),
            _ => None,
        })
    }
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

struct Parser<'a> {
    file: &'a Path,
}

impl Parser<'_> {
    fn err(&self, key: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError::Key {
            file: self.file.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn base_dir(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    fn spec(&self, value: &Value) -> Result<Spec, SpecError> {
        let Value::Object(obj) = value else {
            return Err(self.err(
                "(top level)",
                format!("a spec is a JSON object, found {}", type_name(value)),
            ));
        };
        let legacy: Vec<&str> = LEGACY_KEYS
            .iter()
            .copied()
            .filter(|k| obj.contains_key(*k))
            .collect();
        let operational: Vec<&str> = OPERATION_KEYS
            .iter()
            .copied()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if let (Some(l), Some(o)) = (legacy.first(), operational.first()) {
            return Err(self.err(
                *l,
                format!(
                    "legacy key `{l}` cannot be mixed with operation key `{o}` in one spec; \
                     move it into a `run` or `wait` operation, or drop `{o}`"
                ),
            ));
        }
        let form = if operational.is_empty() {
            SpecForm::Legacy
        } else {
            SpecForm::Operations
        };
        let allowed = top_level_keys(form);
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(self.unknown_key(key, &allowed, form));
            }
        }
        // Only for editors (the JSON Schema); it must still be a string.
        self.opt_string(obj, SCHEMA_KEY, SCHEMA_KEY)?;

        let mut spec = Spec::default_for(&self.base_dir());
        spec.file = Some(self.file.to_path_buf());
        spec.form = form;
        spec.debug = self.opt_bool(obj, "debug", "debug")?.unwrap_or(false);
        spec.dirs = self.dirs(obj)?;
        spec.clock = self.clock(obj)?;
        spec.random_seed = self.opt_u64(obj, "random_seed", "random_seed")?;
        spec.timeout_ms = self.opt_u64(obj, "timeout_ms", "timeout_ms")?;
        if spec.timeout_ms == Some(0) {
            return Err(self.err("timeout_ms", "must be at least 1 (milliseconds)"));
        }
        spec.limits = self.limits(obj)?;
        spec.files = self.files(obj)?;
        spec.features = self.features(obj)?;

        match form {
            SpecForm::Operations => {
                spec.proposals = self.proposals(obj)?;
                spec.world = self.world(obj)?;
                spec.servers = match obj.get("servers") {
                    None => Vec::new(),
                    Some(Value::Array(items)) => {
                        http::ServerSpec::parse_all(items).map_err(|message| {
                            SpecError::Invalid {
                                file: self.file.to_path_buf(),
                                message,
                            }
                        })?
                    }
                    Some(other) => {
                        return Err(self.wrong_type("servers", "a list of servers", other));
                    }
                };
                spec.operations = match obj.get("operations") {
                    None => Spec::default_for(&spec.base_dir).operations,
                    Some(Value::Array(items)) => {
                        if items.is_empty() {
                            return Err(self.err(
                                "operations",
                                "the list is empty, so nothing would run; add a `run` and a `wait`",
                            ));
                        }
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, op)| self.operation(i, op))
                            .collect::<Result<_, _>>()?
                    }
                    Some(other) => {
                        return Err(self.wrong_type("operations", "a list of operations", other));
                    }
                };
                self.check_order(&spec.operations)?;
            }
            _ => {
                let exit = self.exit_expectation(obj, "")?;
                let mut run = self.run(obj, "")?;
                run.stdin = self.stdin(obj)?;
                spec.operations = vec![Operation::Run(run), Operation::Wait(exit)];
                spec.stdout = self.matcher(obj, "stdout")?;
                spec.stderr = self.matcher(obj, "stderr")?;
                spec.invoke = self.invoke(obj)?;
            }
        }
        Ok(spec)
    }

    fn unknown_key(&self, key: &str, allowed: &[&str], form: SpecForm) -> SpecError {
        let all: Vec<&str> = LEGACY_KEYS
            .iter()
            .chain(OPERATION_KEYS)
            .chain(COMMON_KEYS)
            .chain(LEGACY_EXTENSION_KEYS)
            .copied()
            .collect();
        let message = if all.contains(&key) {
            match form {
                SpecForm::Operations => "not allowed in an operation spec (it belongs to the \
                                          legacy form); use `write` for stdin and a `wait` \
                                          operation's `trap`"
                    .to_string(),
                _ => "not allowed here".to_string(),
            }
        } else {
            unknown_key_message(key, allowed)
        };
        self.err(key, message)
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &Value) -> SpecError {
        self.err(
            key,
            format!("expected {expected}, found {}", describe(found)),
        )
    }

    fn opt_string(
        &self,
        obj: &Map<String, Value>,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, SpecError> {
        match obj.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    fn opt_bool(
        &self,
        obj: &Map<String, Value>,
        name: &str,
        key: &str,
    ) -> Result<Option<bool>, SpecError> {
        match obj.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    fn opt_u64(
        &self,
        obj: &Map<String, Value>,
        name: &str,
        key: &str,
    ) -> Result<Option<u64>, SpecError> {
        match obj.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, "a non-negative integer", v)),
        }
    }

    fn opt_exit_code(
        &self,
        obj: &Map<String, Value>,
        name: &str,
        key: &str,
    ) -> Result<Option<i32>, SpecError> {
        match obj.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, "an integer exit code", v)),
        }
    }

    fn string_list(&self, value: &Value, key: &str) -> Result<Vec<String>, SpecError> {
        let Value::Array(items) = value else {
            return Err(self.wrong_type(key, "a list of strings", value));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(self.wrong_type(&format!("{key}[{i}]"), "a string", other)),
            })
            .collect()
    }

    /// `args`, `env`, `root` of a legacy spec (`prefix` empty) or a `run` operation.
    fn run(&self, obj: &Map<String, Value>, prefix: &str) -> Result<Run, SpecError> {
        let args = match obj.get("args") {
            None => Vec::new(),
            Some(v) => self.string_list(v, &format!("{prefix}args"))?,
        };
        let env = match obj.get("env") {
            None => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => {
                        if k.is_empty() || k.contains('=') {
                            Err(self.err(
                                format!("{prefix}env.{k}"),
                                "an environment variable name must be non-empty and without `=`",
                            ))
                        } else {
                            Ok((k.clone(), s.clone()))
                        }
                    }
                    other => Err(self.wrong_type(&format!("{prefix}env.{k}"), "a string", other)),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(self.wrong_type(
                    &format!("{prefix}env"),
                    "an object of strings",
                    other,
                ));
            }
        };
        let root = match self.opt_string(obj, "root", &format!("{prefix}root"))? {
            None => None,
            Some(r) => Some(self.fixture_dir(&r, &format!("{prefix}root"))?),
        };
        Ok(Run {
            args,
            env,
            root,
            stdin: None,
        })
    }

    /// Resolves a fixture directory against the spec's directory and checks that it
    /// exists and, symlinks followed, lies inside the suite's directory.
    fn fixture_dir(&self, rel: &str, key: &str) -> Result<PathBuf, SpecError> {
        if rel.is_empty() {
            return Err(self.err(key, "the directory name is empty"));
        }
        let path = self.confined(rel, key)?;
        if !path.is_dir() {
            return Err(self.err(
                key,
                format!(
                    "directory `{}` does not exist (paths are relative to the spec's directory)",
                    path.display()
                ),
            ));
        }
        Ok(path)
    }

    /// A data file (golden file, stdin file) named by the spec: relative to the
    /// spec's directory and inside it. Whether it exists is checked when it is used.
    fn data_file(&self, rel: &str, key: &str) -> Result<PathBuf, SpecError> {
        if rel.is_empty() {
            return Err(self.err(key, "the path is empty"));
        }
        self.confined(rel, key)
    }

    /// `rel` against the spec's directory, refused unless it stays (symlinks
    /// followed) inside the suite's directory: a spec may not reach the rest of the host.
    fn confined(&self, rel: &str, key: &str) -> Result<PathBuf, SpecError> {
        let base = self.base_dir();
        let path = base.join(rel);
        let root = if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base.as_path()
        };
        if Path::new(rel).is_absolute() || !crate::files::is_inside(&path, root) {
            return Err(self.err(
                key,
                format!(
                    "`{rel}` is outside the suite's directory; paths in a spec are relative to \
                     it and stay inside it (symlinks included). To map another host \
                     directory, use the command line (`wasi-conform run MODULE --dir HOST`)"
                ),
            ));
        }
        Ok(path)
    }

    fn stdin(&self, obj: &Map<String, Value>) -> Result<Option<StdinSource>, SpecError> {
        match obj.get("stdin") {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(StdinSource::Text(s.clone()))),
            Some(Value::Object(map)) => {
                let file = self.file_object(map, "stdin")?;
                match std::fs::metadata(&file) {
                    Ok(m) if m.is_file() => {}
                    Ok(m) => {
                        return Err(self.err(
                            "stdin.file",
                            format!(
                                "`{}` is {}, not a regular file",
                                file.display(),
                                crate::files::kind_of(m.file_type())
                            ),
                        ));
                    }
                    Err(_) => {
                        return Err(self.err(
                            "stdin.file",
                            format!(
                                "file `{}` does not exist (paths are relative to the spec's directory)",
                                file.display()
                            ),
                        ));
                    }
                }
                Ok(Some(StdinSource::File(file)))
            }
            Some(other) => Err(self.wrong_type("stdin", "a string or {\"file\": PATH}", other)),
        }
    }

    /// `{"file": "PATH"}`, resolved against the spec's directory.
    fn file_object(&self, map: &Map<String, Value>, key: &str) -> Result<PathBuf, SpecError> {
        for k in map.keys() {
            if k != "file" {
                return Err(self.unknown_key_in(key, k, &["file"]));
            }
        }
        match map.get("file") {
            Some(Value::String(p)) if !p.is_empty() => self.data_file(p, &format!("{key}.file")),
            Some(other) => Err(self.wrong_type(&format!("{key}.file"), "a file path", other)),
            None => Err(self.err(key, "expected {\"file\": PATH}")),
        }
    }

    fn unknown_key_in(&self, parent: &str, key: &str, allowed: &[&str]) -> SpecError {
        self.err(format!("{parent}.{key}"), unknown_key_message(key, allowed))
    }

    fn check_keys(
        &self,
        map: &Map<String, Value>,
        parent: &str,
        allowed: &[&str],
    ) -> Result<(), SpecError> {
        match map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.unknown_key_in(parent, k, allowed)),
            None => Ok(()),
        }
    }

    fn matcher(
        &self,
        obj: &Map<String, Value>,
        key: &str,
    ) -> Result<Option<StreamMatcher>, SpecError> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(StreamMatcher::Exact(s.clone()))),
            Some(Value::Object(map)) => {
                self.check_keys(map, key, STREAM_MATCHER_KINDS)?;
                if map.len() != 1 {
                    return Err(self.err(key, "give exactly one of `contains`, `regex`, `file`"));
                }
                let (kind, v) = map.iter().next().expect("one entry");
                let Value::String(s) = v else {
                    return Err(self.wrong_type(&format!("{key}.{kind}"), "a string", v));
                };
                Ok(Some(match kind.as_str() {
                    "contains" => StreamMatcher::Contains(s.clone()),
                    "regex" => StreamMatcher::Regex(
                        Pattern::new(s).map_err(|m| self.err(format!("{key}.regex"), m))?,
                    ),
                    _ => StreamMatcher::File(self.data_file(s, &format!("{key}.file"))?),
                }))
            }
            Some(other) => Err(self.wrong_type(
                key,
                "a string or one of {\"contains\"|\"regex\"|\"file\": STRING}",
                other,
            )),
        }
    }

    fn dirs(&self, obj: &Map<String, Value>) -> Result<Vec<DirMount>, SpecError> {
        let Some(value) = obj.get("dirs") else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(self.wrong_type(
                "dirs",
                "a list of directory names or {host, guest, readonly}",
                value,
            ));
        };
        let mut mounts: Vec<DirMount> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let key = format!("dirs[{i}]");
            let mount = match item {
                Value::String(name)
                    if Path::new(name).components().any(|c| {
                        matches!(
                            c,
                            std::path::Component::ParentDir | std::path::Component::RootDir
                        )
                    }) =>
                {
                    return Err(self.err(
                        key,
                        format!(
                            "`{name}` is not a plain directory name: the short form preopens a \
                             fixture beside the spec under its own name; use \
                             {{\"host\": ..., \"guest\": ...}} for anything else"
                        ),
                    ));
                }
                Value::String(name) => DirMount {
                    host: self.fixture_dir(name, &key)?,
                    guest: name.clone(),
                    readonly: false,
                    in_place: false,
                },
                Value::Object(map) => {
                    self.check_keys(map, &key, DIR_MOUNT_KEYS)?;
                    let host = match map.get("host") {
                        Some(Value::String(h)) => self.fixture_dir(h, &format!("{key}.host"))?,
                        Some(other) => {
                            return Err(self.wrong_type(&format!("{key}.host"), "a string", other));
                        }
                        None => return Err(self.err(format!("{key}.host"), "missing")),
                    };
                    let guest = match map.get("guest") {
                        Some(Value::String(g)) if g.starts_with('/') => g.clone(),
                        Some(Value::String(g)) => {
                            return Err(self.err(
                                format!("{key}.guest"),
                                format!("`{g}` must be an absolute guest path such as `/data`"),
                            ));
                        }
                        Some(other) => {
                            return Err(self.wrong_type(
                                &format!("{key}.guest"),
                                "a string",
                                other,
                            ));
                        }
                        None => return Err(self.err(format!("{key}.guest"), "missing")),
                    };
                    let readonly = self
                        .opt_bool(map, "readonly", &format!("{key}.readonly"))?
                        .unwrap_or(false);
                    DirMount {
                        host,
                        guest,
                        readonly,
                        in_place: false,
                    }
                }
                other => {
                    return Err(self.wrong_type(
                        &key,
                        "a directory name or {host, guest, readonly}",
                        other,
                    ));
                }
            };
            if mounts.iter().any(|m| m.guest == mount.guest) {
                return Err(self.err(
                    key,
                    format!("guest path `{}` is preopened twice", mount.guest),
                ));
            }
            mounts.push(mount);
        }
        Ok(mounts)
    }

    fn clock(&self, obj: &Map<String, Value>) -> Result<Option<ClockSpec>, SpecError> {
        let Some(value) = obj.get("clock") else {
            return Ok(None);
        };
        let Value::Object(map) = value else {
            return Err(self.wrong_type("clock", "{\"wall\": ..., \"step_ns\": ...}", value));
        };
        self.check_keys(map, "clock", CLOCK_KEYS)?;
        let wall_ns = match map.get("wall") {
            None => 0,
            Some(Value::String(s)) => {
                let t = humantime::parse_rfc3339(s).map_err(|e| {
                    self.err(
                        "clock.wall",
                        format!(
                            "`{s}` is not an RFC 3339 UTC time such as 2030-01-01T00:00:00Z: {e}"
                        ),
                    )
                })?;
                t.duration_since(std::time::UNIX_EPOCH)
                    .map_err(|_| self.err("clock.wall", "must not be before 1970"))?
                    .as_nanos()
            }
            Some(v) => v.as_u64().map(u128::from).ok_or_else(|| {
                self.wrong_type(
                    "clock.wall",
                    "an RFC 3339 time string or nanoseconds since the epoch",
                    v,
                )
            })?,
        };
        let step_ns = self
            .opt_u64(map, "step_ns", "clock.step_ns")?
            .unwrap_or(DEFAULT_CLOCK_STEP_NS);
        Ok(Some(ClockSpec { wall_ns, step_ns }))
    }

    fn limits(&self, obj: &Map<String, Value>) -> Result<Limits, SpecError> {
        let Some(value) = obj.get("limits") else {
            return Ok(Limits::default());
        };
        let Value::Object(map) = value else {
            return Err(self.wrong_type(
                "limits",
                "{\"memory_bytes\", \"output_bytes\", \"fuel\", \"open_files\", \"disk_bytes\"}",
                value,
            ));
        };
        self.check_keys(map, "limits", LIMIT_KEYS)?;
        Ok(Limits {
            memory_bytes: self.opt_u64(map, "memory_bytes", "limits.memory_bytes")?,
            output_bytes: self.opt_u64(map, "output_bytes", "limits.output_bytes")?,
            fuel: self.opt_u64(map, "fuel", "limits.fuel")?,
            open_files: self.opt_u64(map, "open_files", "limits.open_files")?,
            disk_bytes: self.opt_u64(map, "disk_bytes", "limits.disk_bytes")?,
        })
    }

    fn files(
        &self,
        obj: &Map<String, Value>,
    ) -> Result<BTreeMap<String, FileExpectation>, SpecError> {
        let Some(value) = obj.get("files") else {
            return Ok(BTreeMap::new());
        };
        let Value::Object(map) = value else {
            return Err(self.wrong_type(
                "files",
                "an object of guest path to expected content, null, or a check",
                value,
            ));
        };
        map.iter()
            .map(|(path, v)| {
                if !path.starts_with('/') {
                    return Err(self.err(
                        format!("files.{path}"),
                        "a guest path is absolute, such as `/out.txt`",
                    ));
                }
                Ok((path.clone(), self.file_expectation(path, v)?))
            })
            .collect()
    }

    /// One `files` entry: a string, `null`, or one check object.
    fn file_expectation(&self, path: &str, v: &Value) -> Result<FileExpectation, SpecError> {
        const KINDS: &[&str] = FILE_CHECK_KINDS;
        let key = format!("files.{path}");
        let map = match v {
            Value::String(s) => return Ok(FileExpectation::Exact(s.clone())),
            Value::Null => return Ok(FileExpectation::Absent),
            Value::Object(map) => map,
            other => {
                return Err(self.wrong_type(
                    &key,
                    "the expected content (a string), null (must not exist), or one of \
                     {\"contains\"|\"regex\"|\"file\"|\"sha256\": STRING}, {\"size\": N}, {\"exists\": true}",
                    other,
                ));
            }
        };
        self.check_keys(map, &key, KINDS)?;
        let Some((kind, v)) = map.iter().next().filter(|_| map.len() == 1) else {
            return Err(self.err(key, format!("give exactly one of {}", KINDS.join(", "))));
        };
        let sub = format!("{key}.{kind}");
        let string = |v: &Value| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.wrong_type(&sub, "a string", other)),
        };
        Ok(match kind.as_str() {
            "contains" => FileExpectation::Contains(string(v)?),
            "regex" => FileExpectation::Regex(
                Pattern::new(&string(v)?).map_err(|m| self.err(sub.clone(), m))?,
            ),
            "file" => FileExpectation::File(self.data_file(&string(v)?, &sub)?),
            "sha256" => {
                let hex = string(v)?.to_ascii_lowercase();
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(self.err(sub, "expected 64 hexadecimal digits (a SHA-256)"));
                }
                FileExpectation::Sha256(hex)
            }
            "size" => FileExpectation::Size(
                v.as_u64()
                    .ok_or_else(|| self.wrong_type(&sub, "a non-negative integer", v))?,
            ),
            _ => match v {
                Value::Bool(true) => FileExpectation::Exists,
                other => {
                    return Err(self.wrong_type(
                        &sub,
                        "true (to check that it does not exist, give null instead of an object)",
                        other,
                    ));
                }
            },
        })
    }

    /// `features`: wasm proposals, named as the wasmtime CLI's `-W` flags.
    fn features(&self, obj: &Map<String, Value>) -> Result<crate::features::FeatureSet, SpecError> {
        match obj.get("features") {
            None => Ok(Default::default()),
            Some(v) => self
                .string_list(v, "features")?
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    crate::features::Feature::parse(f)
                        .map_err(|m| self.err(format!("features[{i}]"), m))
                })
                .collect(),
        }
    }

    fn invoke(&self, obj: &Map<String, Value>) -> Result<Option<Invoke>, SpecError> {
        let result = match obj.get("result") {
            None => None,
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    check_wasm_value(v).map_err(|m| self.err(format!("result[{i}]"), m))?;
                }
                Some(items.clone())
            }
            Some(other) => return Err(self.wrong_type("result", "a list of values", other)),
        };
        let Some(value) = obj.get("invoke") else {
            if result.is_some() {
                return Err(self.err("result", "`result` needs `invoke` (the function to call)"));
            }
            return Ok(None);
        };
        let Value::Object(map) = value else {
            return Err(self.wrong_type("invoke", "{\"func\": NAME, \"args\": [...]}", value));
        };
        self.check_keys(map, "invoke", INVOKE_KEYS)?;
        let func = match map.get("func") {
            Some(Value::String(f)) if !f.is_empty() => f.clone(),
            Some(other) => return Err(self.wrong_type("invoke.func", "a function name", other)),
            None => return Err(self.err("invoke.func", "missing: name the export to call")),
        };
        let args = match map.get("args") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    check_wasm_value(v).map_err(|m| self.err(format!("invoke.args[{i}]"), m))?;
                }
                items.clone()
            }
            Some(other) => return Err(self.wrong_type("invoke.args", "a list of values", other)),
        };
        for key in INVOKE_EXCLUDES {
            if obj.contains_key(*key) {
                return Err(self.err(
                    *key,
                    "`invoke` calls a function directly; `args` and `env` apply to `_start` runs",
                ));
            }
        }
        Ok(Some(Invoke { func, args, result }))
    }

    fn proposals(&self, obj: &Map<String, Value>) -> Result<Vec<Proposal>, SpecError> {
        match obj.get("proposals") {
            None => Ok(Vec::new()),
            Some(v) => self
                .string_list(v, "proposals")?
                .iter()
                .enumerate()
                .map(|(i, p)| match p.as_str() {
                    "http" => Ok(Proposal::Http),
                    "sockets" => Ok(Proposal::Sockets),
                    other => Err(self.err(
                        format!("proposals[{i}]"),
                        format!(
                            "unknown proposal `{other}` (known: {})",
                            PROPOSALS.join(", ")
                        ),
                    )),
                })
                .collect(),
        }
    }

    fn world(&self, obj: &Map<String, Value>) -> Result<World, SpecError> {
        match self.opt_string(obj, "world", "world")?.as_deref() {
            None | Some("wasi:cli/command") => Ok(World::CliCommand),
            Some("wasi:http/service") => Ok(World::HttpService),
            Some(other) => Err(self.err(
                "world",
                format!("unknown world `{other}` (known: {})", WORLDS.join(", ")),
            )),
        }
    }

    fn operation(&self, index: usize, value: &Value) -> Result<Operation, SpecError> {
        let key = format!("operations[{index}]");
        let Value::Object(map) = value else {
            return Err(self.wrong_type(&key, "an operation object with a `type`", value));
        };
        let (ty, fields) = self.operation_type(map, &key)?;
        self.check_keys(map, &key, fields)?;
        let op = OpFields {
            parser: self,
            map,
            key: &key,
        };
        Ok(match ty {
            "run" => Operation::Run(self.run(map, &format!("{key}."))?),
            "write" => op.write()?,
            "read" => op.read()?,
            "wait" => Operation::Wait(self.exit_expectation(map, &format!("{key}."))?),
            "connect" => op.connect()?,
            "send" => Operation::Send {
                id: op.connection()?,
                payload: op.payload()?,
            },
            "recv" => Operation::Recv {
                id: op.connection()?,
                payload: op.payload()?,
            },
            "request" => {
                Operation::Request(http::RequestOp::parse(value, &key).map_err(|message| {
                    SpecError::Invalid {
                        file: self.file.to_path_buf(),
                        message,
                    }
                })?)
            }
            "kill" => op.kill()?,
            other => unreachable!("operation type `{other}` is listed but not parsed"),
        })
    }

    /// An operation's `type` and the keys that type allows.
    fn operation_type<'v>(
        &self,
        map: &'v Map<String, Value>,
        key: &str,
    ) -> Result<(&'v str, &'static [&'static str]), SpecError> {
        let types = operation_types();
        let ty = match map.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(other) => return Err(self.wrong_type(&format!("{key}.type"), "a string", other)),
            None => {
                return Err(self.err(
                    format!("{key}.type"),
                    format!("missing (one of: {})", types.join(", ")),
                ));
            }
        };
        operation_fields(ty).map(|f| (ty, f)).ok_or_else(|| {
            let mut m = format!("unknown operation type `{ty}`");
            if let Some(s) = did_you_mean(ty, &types) {
                m.push_str(&format!("; did you mean `{s}`?"));
            }
            m.push_str(&format!(" (known: {})", types.join(", ")));
            self.err(format!("{key}.type"), m)
        })
    }

    /// `exit_code` or `trap` (not both) of a legacy spec (`prefix` empty) or a `wait`.
    fn exit_expectation(
        &self,
        obj: &Map<String, Value>,
        prefix: &str,
    ) -> Result<ExitExpectation, SpecError> {
        let trap = self.opt_string(obj, "trap", &format!("{prefix}trap"))?;
        let code = self.opt_exit_code(obj, "exit_code", &format!("{prefix}exit_code"))?;
        match (trap, code) {
            (Some(_), Some(_)) => Err(self.err(
                format!("{prefix}trap"),
                "`trap` and `exit_code` cannot both be given: a run either traps or exits",
            )),
            (Some(t), None) => Ok(ExitExpectation::Trap(t)),
            (None, c) => Ok(ExitExpectation::Code(c.unwrap_or(0))),
        }
    }

    /// The contract's ordering rules.
    fn check_order(&self, ops: &[Operation]) -> Result<(), SpecError> {
        let mut running = false;
        let mut connections: Vec<&str> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let key = format!("operations[{i}]");
            match op {
                Operation::Run(_) => {
                    if running {
                        return Err(self.err(
                            key,
                            "`run` while the previous run is still going: add a `wait` before it",
                        ));
                    }
                    running = true;
                    connections.clear();
                }
                Operation::Wait(_) => {
                    if !running {
                        return Err(self.err(key, "`wait` without a `run` before it"));
                    }
                    running = false;
                }
                other => {
                    if !running {
                        return Err(self.err(
                            key,
                            format!(
                                "`{}` must come after a `run` (and before its `wait`)",
                                other.kind()
                            ),
                        ));
                    }
                    match other {
                        Operation::Connect { id, .. } => {
                            if connections.contains(&id.as_str()) {
                                return Err(self.err(
                                    format!("{key}.id"),
                                    format!("connection id `{id}` is already defined"),
                                ));
                            }
                            connections.push(id);
                        }
                        Operation::Send { id, .. } | Operation::Recv { id, .. }
                            if !connections.contains(&id.as_str()) =>
                        {
                            return Err(self.err(
                                format!("{key}.id"),
                                format!("no connection `{id}`: add a `connect` with this id first"),
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
        if running {
            return Err(self.err(
                format!("operations[{}]", ops.len() - 1),
                "the last `run` has no `wait` after it",
            ));
        }
        Ok(())
    }
}

/// The fields of one operation object, read with its key for errors.
struct OpFields<'a> {
    parser: &'a Parser<'a>,
    map: &'a Map<String, Value>,
    key: &'a str,
}

impl OpFields<'_> {
    fn field(&self, name: &str) -> String {
        format!("{}.{name}", self.key)
    }

    fn string_or(&self, name: &str, default: &str) -> Result<String, SpecError> {
        Ok(self
            .parser
            .opt_string(self.map, name, &self.field(name))?
            .unwrap_or_else(|| default.to_string()))
    }

    fn payload(&self) -> Result<String, SpecError> {
        self.string_or("payload", "")
    }

    /// `id` of a `send`/`recv`: required.
    fn connection(&self) -> Result<String, SpecError> {
        self.parser
            .opt_string(self.map, "id", &self.field("id"))?
            .ok_or_else(|| {
                self.parser
                    .err(self.field("id"), "missing: name the connection")
            })
    }

    fn write(&self) -> Result<Operation, SpecError> {
        let id = self.string_or("id", WRITE_STREAMS[0])?;
        if !WRITE_STREAMS.contains(&id.as_str()) {
            return Err(self.parser.err(
                self.field("id"),
                format!("can only write to `stdin`, not `{id}`"),
            ));
        }
        Ok(Operation::Write {
            id,
            payload: self.payload()?,
        })
    }

    fn read(&self) -> Result<Operation, SpecError> {
        let stream = match self.string_or("id", READ_STREAMS[0])?.as_str() {
            "stdout" => OutputStream::Stdout,
            "stderr" => OutputStream::Stderr,
            other => {
                return Err(self.parser.err(
                    self.field("id"),
                    format!("can only read `stdout` or `stderr`, not `{other}`"),
                ));
            }
        };
        Ok(Operation::Read {
            id: stream,
            payload: self.payload()?,
        })
    }

    fn kill(&self) -> Result<Operation, SpecError> {
        let signal = self.string_or("signal", DEFAULT_KILL_SIGNAL)?;
        if !is_kill_signal(&signal) {
            return Err(self.parser.err(
                self.field("signal"),
                format!(
                    "unknown signal `{signal}` (known, with or without `SIG`: {})",
                    KILL_SIGNALS.join(", ")
                ),
            ));
        }
        Ok(Operation::Kill { signal })
    }

    fn connect(&self) -> Result<Operation, SpecError> {
        let protocol = self.string_or("protocol_type", PROTOCOL_TYPES[0])?;
        if !PROTOCOL_TYPES.contains(&protocol.as_str()) {
            return Err(self.parser.err(
                self.field("protocol_type"),
                format!(
                    "unknown protocol `{protocol}` (known: {})",
                    PROTOCOL_TYPES.join(", ")
                ),
            ));
        }
        Ok(Operation::Connect {
            id: self.string_or("id", DEFAULT_CONNECTION_ID)?,
            protocol,
        })
    }
}

/// The top-level keys a spec of this form may hold.
pub fn top_level_keys(form: SpecForm) -> Vec<&'static str> {
    let keys: Vec<&'static str> = match form {
        SpecForm::Operations => OPERATION_KEYS.iter().chain(COMMON_KEYS).copied().collect(),
        _ => LEGACY_KEYS
            .iter()
            .chain(COMMON_KEYS)
            .chain(LEGACY_EXTENSION_KEYS)
            .copied()
            .collect(),
    };
    keys.into_iter().chain([SCHEMA_KEY]).collect()
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

/// "unknown key; did you mean `x`? (allowed keys: ...)" for a key not in `allowed`.
pub fn unknown_key_message(key: &str, allowed: &[&str]) -> String {
    let hint = did_you_mean(key, allowed)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    format!("unknown key{hint} (allowed keys: {})", allowed.join(", "))
}

/// Suggests the closest allowed name for a misspelt one.
pub fn did_you_mean<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim::damerau_levenshtein(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn describe(v: &Value) -> String {
    let text = v.to_string();
    let text = match text.char_indices().nth(57) {
        Some((cut, _)) if text.chars().count() > 60 => format!("{}...", &text[..cut]),
        _ => text,
    };
    format!("{} ({text})", type_name(v))
}

#[cfg(test)]
mod tests {
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
            err(r#"{"args": "x"}"#)
                .contains("key `args`: expected a list of strings, found a string")
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
        for ty in operation_types() {
            let middle = match ty {
                "run" | "wait" => String::new(),
                "send" | "recv" => {
                    format!(r#", {{"type": "connect", "id": "c"}}, {{"type": "{ty}", "id": "c"}}"#)
                }
                _ => format!(r#", {{"type": "{ty}"}}"#),
            };
            let text =
                format!(r#"{{"operations": [{{"type": "run"}}{middle}, {{"type": "wait"}}]}}"#);
            let s = parse(&text).unwrap_or_else(|e| panic!("{ty}: {e}"));
            assert!(s.operations.iter().any(|o| o.kind() == ty), "{ty}");
        }
    }

    #[test]
    fn did_you_mean_finds_close_names() {
        assert_eq!(did_you_mean("stdot", &["stdout", "stderr"]), Some("stdout"));
        assert_eq!(did_you_mean("zzzzzz", &["stdout", "stderr"]), None);
    }
}
