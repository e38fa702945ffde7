//! The validated [`Spec`]: what the rest of the harness reads. Built from a spec
//! file by [`super::validate`] (or by hand for the default spec and ad-hoc runs);
//! a legacy spec is already turned into operations (`run`, `wait`) here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    #[default]
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

/// Resource limits; an absent one takes the harness default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct Limits {
    /// Linear memory the guest may grow to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = crate::run::DEFAULT_MEMORY_BYTES))]
    pub memory_bytes: Option<u64>,
    /// Bytes kept of each output stream; the rest is dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = crate::run::DEFAULT_OUTPUT_BYTES))]
    pub output_bytes: Option<u64>,
    /// Executed-instruction budget (unlimited when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Files the guest may hold open at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = crate::run::DEFAULT_OPEN_FILES))]
    pub open_files: Option<u64>,
    /// Bytes the preopened directories may grow by.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = crate::run::DEFAULT_DISK_BYTES))]
    pub disk_bytes: Option<u64>,
}

impl Limits {
    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Proposal {
    Http,
    Sockets,
}

/// The world a module implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
pub enum World {
    /// A command: it runs and exits.
    #[default]
    #[serde(rename = "wasi:cli/command")]
    CliCommand,
    /// An HTTP service: the harness sends it requests.
    #[serde(rename = "wasi:http/service")]
    HttpService,
}

impl Spec {
    /// The spec of a module without a JSON file: run with nothing, expect exit code 0.
    pub fn default_for(base_dir: &std::path::Path) -> Spec {
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

    /// The expectation of the last `wait`, if any.
    pub fn final_exit(&self) -> Option<&ExitExpectation> {
        self.operations.iter().rev().find_map(|op| match op {
            Operation::Wait(exit) => Some(exit),
            _ => None,
        })
    }
}
