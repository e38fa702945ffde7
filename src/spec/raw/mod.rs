//! A spec file as serde types: every key is declared once, here, with its type
//! (the shape the JSON Schema gives it and serde reads), its doc comment (the
//! schema's description) and its attributes (defaults, bounds, renames). The
//! JSON Schema ([`super::schema`]), the shape check with its messages
//! ([`super::shape`]), the validation into a [`super::Spec`] (`spec::validate`)
//! and `wasi-conform new` (which writes these types) all start from them.
//!
//! A rule between keys (`trap` or `exit_code`, `result` needs `invoke`) is
//! written twice on purpose: as schema keywords on the type (`extend`), for
//! editors, and as a check with its message in `spec::validate`;
//! `tests/schema.rs` keeps them in agreement.

pub mod http;
mod values;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use values::{Env, RelPath, Sha256Hex, StringMap, True, WasmValue};

use crate::features::Feature;
use crate::spec::{
    DEFAULT_CONNECTION_ID, DEFAULT_KILL_SIGNAL, Limits, OutputStream, Proposal, World,
};

/// The default of `timeout_ms`, for the schema.
const DEFAULT_TIMEOUT_MS: u64 = crate::run::DEFAULT_TIMEOUT.as_millis() as u64;

/// The JSON spec beside a test module: the legacy (single-run) form, or the operation form when any of operations, proposals, world, servers is present.
// Only its schema is used: a spec is read as one of its forms, chosen by its
// keys (a serde `untagged` choice would take `{}` for either form).
#[derive(JsonSchema)]
#[schemars(
    untagged,
    title = "wasi-conform test spec",
    transform = crate::spec::schema::choose_form_by_keys
)]
#[allow(dead_code)]
pub enum SpecFile {
    Operations(OperationSpec),
    Legacy(LegacySpec),
}

/// One run: args, env, root, then the expected exit code (or trap), streams and files.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "not" = {"required": ["trap", "exit_code"]},
    "dependentRequired" = {"result": ["invoke"]},
    "dependentSchemas" = {"invoke": {"not": {"anyOf": [{"required": ["args"]}, {"required": ["env"]}]}}},
))]
pub struct LegacySpec {
    #[serde(flatten)]
    pub run: LegacyKeys,
    #[serde(flatten)]
    pub common: CommonKeys,
    #[serde(flatten)]
    pub extensions: LegacyExtensions,
    #[serde(flatten)]
    pub editor: EditorKeys,
}

/// The official keys of the legacy form (beside an operation key, each is an
/// error that says where it belongs instead).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct LegacyKeys {
    /// Arguments after argv[0] (the module's file name).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = []))]
    pub args: Option<Vec<String>>,
    /// The guest's whole environment, in the order written; nothing of the host's leaks in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {}))]
    pub env: Option<Env>,
    /// Fixture directory (relative to the spec, inside the suite) preopened as `/`, as a temporary copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub root: Option<String>,
    /// The exit code the run must end with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 0))]
    pub exit_code: Option<i32>,
    /// The whole stdout of the run; unchecked when absent, unless a golden file exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<Matcher>,
    /// The whole stderr of the run; unchecked when absent, unless a golden file exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<Matcher>,
}

/// This project's keys of the legacy form only.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct LegacyExtensions {
    /// The guest's whole stdin, then EOF: text, or {"file": PATH}.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub stdin: Option<Stdin>,
    /// The run must trap (or hit a limit) with a message containing this text; not with exit_code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trap: Option<String>,
    /// Call this export instead of `_start` (args and env are not allowed beside it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke: Option<Invoke>,
    /// The values the invoked function must return.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Vec<WasmValue>>,
}

/// A list of operations driving the running guest; legacy keys are not allowed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationSpec {
    #[serde(flatten)]
    pub own: OperationKeys,
    #[serde(flatten)]
    pub common: CommonKeys,
    #[serde(flatten)]
    pub editor: EditorKeys,
}

/// The keys that make a spec an operation spec.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct OperationKeys {
    /// The steps, in order: run, write, read, wait, connect, send, recv, request, kill.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), extend("default" = [{"type": "run"}, {"type": "wait"}]))]
    pub operations: Option<Vec<Operation>>,
    /// WASI proposals the test needs; any of them opens loopback networking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("default" = []))]
    pub proposals: Vec<Proposal>,
    /// The world the module implements.
    #[serde(default)]
    pub world: World,
    /// HTTP servers the harness hosts; each address is given as env var HTTP_SERVER_<NAME>.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("default" = []))]
    pub servers: Vec<http::Server>,
}

/// Keys of both forms: the sandbox, limits and files.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct CommonKeys {
    /// More preopened directories (temporary copies), for every run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("default" = []))]
    pub dirs: Vec<Dir>,
    /// Wasm proposals to enable, named as wasmtime's -W flags (added to the manifest's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("default" = []))]
    pub features: Vec<Feature>,
    /// Deterministic clocks: the wall clock starts at `wall`, the monotonic one at 0; each reading advances either by step_ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<Clock>,
    /// Seed of one deterministic generator behind the secure and insecure random sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random_seed: Option<u64>,
    /// Wall-clock limit of the whole test in milliseconds (compilation excluded).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = DEFAULT_TIMEOUT_MS))]
    pub timeout_ms: Option<u64>,
    /// Resource limits; an absent one takes the harness default.
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    #[schemars(extend("default" = {}))]
    pub limits: Limits,
    /// Absolute guest paths and what each must be after the last run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": "^/"}, "default" = {}))]
    pub files: BTreeMap<String, FileExpectation>,
    /// Ask for diagnostics: the embedded runtime shows the test's trace of host calls even when it passes; an external runtime gets DEBUG=true. Never changes the guest's view.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(extend("default" = false))]
    pub debug: bool,
}

/// Keys of both forms for editors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct EditorKeys {
    /// Where editors find this schema (a URL or a relative path); ignored by wasi-conform.
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// The guest's whole stdin, then EOF: text, or {"file": PATH}.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Stdin {
    /// This text.
    Text(String),
    /// This file's bytes.
    File(FileRef),
}

/// A file of the suite: {"file": PATH}.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct FileRef {
    /// The file, relative to the spec's directory.
    #[schemars(length(min = 1))]
    pub file: String,
}

/// Exact text, or one of contains, regex, file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Matcher {
    /// Exactly this text, the whole stream.
    Exact(String),
    Check(MatcherCheck),
}

/// One check of a whole stream.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum MatcherCheck {
    /// The text must occur somewhere.
    Contains(String),
    /// A regular expression (Rust regex syntax) the whole content must match.
    Regex(String),
    /// A golden file (relative to the spec) the content must equal; bless writes it.
    File(RelPath),
}

/// Exact content, null (absent), or one of contains, regex, file, sha256, size, exists.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum FileExpectation {
    /// The file must not exist.
    Absent,
    /// Exactly this content.
    Exact(String),
    Check(FileCheck),
}

/// One check of a file's content.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum FileCheck {
    /// The text must occur somewhere.
    Contains(String),
    /// A regular expression (Rust regex syntax) the whole content must match.
    Regex(String),
    /// A golden file (relative to the spec) the content must equal; bless writes it.
    File(RelPath),
    /// The SHA-256 of the content, in hex.
    Sha256(Sha256Hex),
    /// The size in bytes.
    Size(u64),
    /// It exists, as anything.
    Exists(True),
}

/// A preopened directory: a fixture beside the spec, under its own name, or mounted at a guest path.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Dir {
    /// A fixture directory beside the spec, preopened under its own name.
    Name(RelPath),
    Mount(Mount),
}

/// A fixture preopened at a guest path.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct Mount {
    /// The fixture directory, relative to the spec, inside the suite.
    #[schemars(length(min = 1))]
    pub host: String,
    /// The absolute guest path it is preopened at.
    #[schemars(regex(pattern = r"^/"))]
    pub guest: String,
    /// Grant read permissions only.
    #[serde(default)]
    pub readonly: bool,
}

/// Deterministic clocks.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct Clock {
    /// Start of the wall clock: an RFC 3339 UTC time ending in Z, or nanoseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 0))]
    pub wall: Option<Wall>,
    /// Nanoseconds either clock advances at each reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = crate::spec::DEFAULT_CLOCK_STEP_NS))]
    pub step_ns: Option<u64>,
}

/// When the wall clock starts.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Wall {
    /// An RFC 3339 UTC time such as 2030-01-01T00:00:00Z.
    #[schemars(extend("format" = "date-time"))]
    Time(String),
    /// Nanoseconds since the Unix epoch.
    Nanos(u64),
}

/// Call this export instead of `_start` (args and env are not allowed beside it).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct Invoke {
    /// The exported function's name.
    #[schemars(length(min = 1))]
    pub func: String,
    /// The arguments, one per parameter.
    #[serde(default)]
    pub args: Vec<WasmValue>,
}

/// One step of an operation spec; its `type` says which.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
#[schemars(title = "operation", transform = crate::spec::schema::key_order::<Self>)]
pub enum Operation {
    /// Start the module (after the previous run's wait).
    Run {
        /// Arguments after argv[0] (the module's file name).
        #[serde(default)]
        args: Vec<String>,
        /// The guest's whole environment, in the order written; nothing of the host's leaks in.
        #[serde(default)]
        env: Env,
        /// Fixture directory (relative to the spec, inside the suite) preopened as `/`, as a temporary copy.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(length(min = 1))]
        root: Option<String>,
    },
    /// Write to the guest's stdin (closed at the next wait).
    Write {
        /// The stream written to.
        #[serde(default)]
        id: InputStream,
        /// The bytes, as text.
        #[serde(default)]
        payload: String,
    },
    /// Wait for exactly as many bytes as the payload has on a stream, and compare.
    Read {
        /// The stream read from.
        #[serde(default)]
        id: OutputStream,
        /// The bytes, as text.
        #[serde(default)]
        payload: String,
    },
    /// Close stdin, wait for the guest to end, and compare how it ended.
    #[schemars(extend("not" = {"required": ["trap", "exit_code"]}))]
    Wait {
        /// The exit code the run must end with.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(extend("default" = 0))]
        exit_code: Option<i32>,
        /// The run must trap (or hit a limit) with a message containing this text; not with exit_code.
        #[serde(skip_serializing_if = "Option::is_none")]
        trap: Option<String>,
    },
    /// Read the host:port line the guest prints on stdout and connect to it.
    Connect {
        /// The connection's name, for send and recv.
        #[serde(default = "default_connection_id")]
        id: String,
        /// The protocol: tcp, udp, or http (a TCP connection; HTTP is the payload).
        #[serde(default)]
        protocol_type: Protocol,
    },
    /// Send the payload over a connection.
    Send {
        /// The connection, named by an earlier connect.
        id: String,
        /// The bytes, as text.
        #[serde(default)]
        payload: String,
    },
    /// Receive as many bytes as the payload has over a connection, and compare.
    Recv {
        /// The connection, named by an earlier connect.
        id: String,
        /// The bytes, as text.
        #[serde(default)]
        payload: String,
    },
    /// Send an HTTP request to the served component and compare the response.
    Request(http::Request),
    /// Stop the running guest.
    Kill {
        /// The signal sent to an external runtime's process (the embedded one just stops).
        #[serde(default = "default_kill_signal")]
        #[schemars(extend("pattern" = kill_signal_pattern()))]
        signal: String,
    },
}

/// The guest's input stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputStream {
    #[default]
    Stdin,
}

/// A `connect`'s protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Http,
}

impl Protocol {
    /// As written in specs.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Http => "http",
        }
    }
}

fn default_connection_id() -> String {
    DEFAULT_CONNECTION_ID.to_string()
}

fn default_kill_signal() -> String {
    DEFAULT_KILL_SIGNAL.to_string()
}

/// `^(SIG)?(HUP|INT|...)$`: the signals a `kill` may name.
fn kill_signal_pattern() -> String {
    format!("^(SIG)?({})$", crate::spec::KILL_SIGNALS.join("|"))
}
