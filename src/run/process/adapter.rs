//! Adapters: how an external WASI runtime is found, how its version is read, and
//! how a test becomes the runtime's command line.
//!
//! An adapter is either a small declarative TOML file (built in for wasmtime,
//! wazero, WasmEdge, WAMR's iwasm, wasmer, Node.js and jco, or the user's own
//! with `--adapter FILE.toml`), or an unmodified official wasi-testsuite adapter
//! module (`--adapter adapters/wasmtime.py`), which a small Python helper loads
//! exactly as the official runner does. The built-in files reproduce the
//! official adapters' argv rule for rule; `docs/adapters.md` describes the
//! format.
//!
//! The flow: [`Adapter`] (a parsed definition) → [`Adapter::resolve`] finds the
//! command and reads its version → [`ResolvedRuntime`] answers
//! [`unsupported`](ResolvedRuntime::unsupported) (why a test must be skipped)
//! and [`compute_argv`](ResolvedRuntime::compute_argv) (the argv of many tests
//! at once). Spawning the argv, pipes and timeouts are the caller's job.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use wasi_conform::run::process::adapter::{Adapter, ArgvRequest};
//!
//! let adapter = Adapter::builtin("wasmtime").expect("a built-in adapter");
//! let runtime = adapter.resolve()?; // WASMTIME, else `wasmtime` on PATH
//! println!("{} {}", runtime.name, runtime.version);
//!
//! let mut req = ArgvRequest::new("tests/cli-env.wasm", "wasm32-wasip3");
//! req.args = vec!["a".into(), "b".into()];
//! req.env = vec![("foo".into(), "bar".into())];
//! req.root = Some(PathBuf::from("tests/fs-tests.dir"));
//! if let Some(reason) = runtime.unsupported(&req) {
//!     println!("skipped: {reason}");
//! } else {
//!     let argv = &runtime.compute_argv(&[req])?[0];
//!     // ["/usr/bin/wasmtime", "-Wcomponent-model-async", "-Sp3", "--env", "foo=bar",
//!     //  "--dir", "tests/fs-tests.dir::/", "tests/cli-env.wasm", "a", "b"]
//!     println!("{argv:?}");
//! }
//! # Ok::<(), wasi_conform::run::process::adapter::AdapterError>(())
//! ```

use std::ffi::{OsStr, OsString};
use std::fmt::{self, Write as _};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use toml::Value;

use crate::spec::{did_you_mean, unknown_key_message};

/// The built-in adapter files, compiled into the binary.
const BUILTIN_ADAPTERS: &[(&str, &str)] = &[
    ("wasmtime", include_str!("../../../adapters/wasmtime.toml")),
    ("wazero", include_str!("../../../adapters/wazero.toml")),
    ("wasmedge", include_str!("../../../adapters/wasmedge.toml")),
    ("wamr", include_str!("../../../adapters/wamr.toml")),
    ("wasmer", include_str!("../../../adapters/wasmer.toml")),
    ("node", include_str!("../../../adapters/node.toml")),
    ("jco", include_str!("../../../adapters/jco.toml")),
];

/// The names of [`BUILTIN_ADAPTERS`], in the same order.
const BUILTIN_NAMES: &[&str] = &[
    "wasmtime", "wazero", "wasmedge", "wamr", "wasmer", "node", "jco",
];

/// Runner scripts that adapters reference as `{script:NAME}`; written to a
/// private temporary directory when a runtime that uses them is resolved.
const BUILTIN_SCRIPTS: &[(&str, &str)] = &[
    (
        "node-wasi.cjs",
        include_str!("../../../adapters/node-wasi.cjs"),
    ),
    ("jco-run.mjs", include_str!("../../../adapters/jco-run.mjs")),
];

/// The helper that loads an official Python adapter (run as `python3 -c`).
const PYTHON_BRIDGE: &str = include_str!("adapter_bridge.py");

/// How long a version command may run.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes read from each output stream of a version command.
pub const VERSION_OUTPUT_BYTES: usize = 64 * 1024;
/// How long the Python helper may take to load an adapter and answer its meta
/// questions (this includes the adapter's own version command).
pub const PYTHON_META_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the Python helper may take to compute the argv of one batch.
pub const PYTHON_ARGV_TIMEOUT: Duration = Duration::from_secs(60);
/// Most bytes read from the Python helper's stdout (its JSON answer).
pub const PYTHON_OUTPUT_BYTES: usize = 64 << 20;
/// Most bytes read from the Python helper's stderr.
const PYTHON_STDERR_BYTES: usize = 1 << 20;
/// Longest version string accepted from a runtime.
const MAX_VERSION_CHARS: usize = 200;

/// Variables a version command (and, through [`ResolvedRuntime::process_env`],
/// a test process) keeps from the harness's environment; everything else is
/// dropped. An adapter file adds the variables its runtime needs with
/// `command.keep_env`.
pub const KEPT_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    // Windows needs these to start most programs at all.
    "SYSTEMROOT",
    "USERPROFILE",
    "TEMP",
    "TMP",
    "PATHEXT",
];

/// The WASI versions an adapter may declare (the official runner's list).
const WASI_VERSIONS: &[&str] = &["wasm32-wasip1", "wasm32-wasip2", "wasm32-wasip3"];
/// The worlds an adapter may declare.
const WORLDS: &[&str] = &["wasi:cli/command", "wasi:http/service"];
/// The proposals a spec may list.
const PROPOSALS: &[&str] = &["http", "sockets"];

/// The world of an ordinary command-line test.
pub const WORLD_COMMAND: &str = "wasi:cli/command";
/// The world of an HTTP service test.
pub const WORLD_HTTP_SERVICE: &str = "wasi:http/service";

/// What can go wrong loading an adapter, finding its runtime, or computing argv.
/// Each message says what, where (file, key) and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The adapter file cannot be read.
    #[error("{}: cannot read the adapter file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The adapter file is neither `.toml` nor `.py`.
    #[error(
        "{}: unknown kind of adapter file: give a `.toml` adapter data file (see docs/adapters.md) or an official wasi-testsuite adapter module (`.py`)",
        path.display()
    )]
    UnknownKind { path: PathBuf },
    /// The adapter file is not valid TOML.
    #[error("{origin}: invalid TOML: {message}")]
    Syntax { origin: String, message: String },
    /// A key of the adapter file is unknown, missing, or has a bad value.
    #[error("{origin}: key `{key}`: {message}")]
    Invalid {
        origin: String,
        key: String,
        message: String,
    },
    /// The variable naming the runtime's command is set to something unusable.
    #[error(
        "{adapter}: {var} is set to {value:?}, which {problem}; set {var} to the runtime's command line (for example {var}=/usr/local/bin/{adapter}), or unset it"
    )]
    BadCommandVariable {
        adapter: String,
        var: String,
        value: String,
        problem: String,
    },
    /// The runtime's program is not installed (or not where the variable says).
    #[error("{message}")]
    MissingRuntime {
        adapter: String,
        /// The program that was looked for.
        program: String,
        /// The variable that names the runtime's command, if the adapter has one.
        env_var: Option<String>,
        message: String,
    },
    /// The version command failed, hung, or printed something unusable.
    #[error("{adapter}: the version command `{command}` {problem}")]
    Version {
        adapter: String,
        command: String,
        problem: String,
    },
    /// No Python interpreter to load an official adapter module.
    #[error(
        "{}: cannot start Python to load this official adapter: {problem}; install python3 (3.10 or newer) or set PYTHON to its command",
        path.display()
    )]
    MissingPython { path: PathBuf, problem: String },
    /// The official adapter module raised an exception.
    #[error("{}: {stage} raised {exception}{hint}", path.display())]
    Python {
        path: PathBuf,
        /// Where: `import`, `get_version()`, `compute_argv() for TEST`, ...
        stage: String,
        /// `Type: message`, plus the tail of the traceback.
        exception: String,
        hint: String,
    },
    /// The Python helper itself failed (crashed, hung, printed no answer).
    #[error("{}: the Python helper that loads this adapter {problem}", path.display())]
    PythonBridge { path: PathBuf, problem: String },
    /// A path that must go into argv is not valid UTF-8.
    #[error("{adapter}: {what} {path:?} is not valid UTF-8; rename it or move it to a UTF-8 path")]
    NonUtf8Path {
        adapter: String,
        what: String,
        path: PathBuf,
    },
    /// [`ResolvedRuntime::compute_argv`] was given a request the runtime cannot
    /// run; ask [`ResolvedRuntime::unsupported`] first and skip such tests.
    #[error("{adapter}: cannot run {}: {reason}", module.display())]
    Unsupported {
        adapter: String,
        module: PathBuf,
        reason: String,
    },
    /// A runner script could not be written to its temporary directory.
    #[error("{adapter}: cannot write the runner script {name}: {source}")]
    Script {
        adapter: String,
        name: String,
        source: std::io::Error,
    },
}

/// A loaded adapter definition: a TOML data file (built in or the user's), or
/// an official Python adapter module.
#[derive(Debug, Clone)]
pub struct Adapter {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Template(Arc<Template>),
    Python { path: PathBuf, name: String },
}

impl Adapter {
    /// The built-in adapter called `name` (one of [`builtin_names`](Self::builtin_names)).
    pub fn builtin(name: &str) -> Option<Adapter> {
        let (name, text) = BUILTIN_ADAPTERS.iter().find(|(n, _)| *n == name)?;
        let template = Template::parse(text, Origin::Builtin(name))
            .unwrap_or_else(|e| panic!("the built-in adapter {name} is invalid: {e}"));
        Some(Adapter {
            kind: Kind::Template(Arc::new(template)),
        })
    }

    /// The names of the built-in adapters.
    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    /// Loads an adapter file: `.toml` (the format of `docs/adapters.md`; scripts
    /// it names as `{script:NAME}` are looked up next to it, then among the
    /// built-in ones) or `.py` (an unmodified official wasi-testsuite adapter,
    /// run by the Python helper when the runtime is resolved).
    pub fn load(path: &Path) -> Result<Adapter, AdapterError> {
        let extension = path.extension().and_then(OsStr::to_str).unwrap_or("");
        match extension {
            "toml" => {
                let text = std::fs::read_to_string(path).map_err(|source| AdapterError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
                let template = Template::parse(&text, Origin::File(absolute))?;
                Ok(Adapter {
                    kind: Kind::Template(Arc::new(template)),
                })
            }
            "py" => {
                std::fs::metadata(path)
                    .and_then(|m| {
                        if m.is_file() {
                            Ok(())
                        } else {
                            Err(std::io::Error::other("not a regular file"))
                        }
                    })
                    .map_err(|source| AdapterError::Read {
                        path: path.to_path_buf(),
                        source,
                    })?;
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(Adapter {
                    kind: Kind::Python {
                        path: absolute,
                        name,
                    },
                })
            }
            _ => Err(AdapterError::UnknownKind {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The adapter's name: the file's `name` key, or the stem of a `.py` file
    /// (its `get_name()` is only asked when the runtime is resolved).
    pub fn name(&self) -> &str {
        match &self.kind {
            Kind::Template(t) => &t.name,
            Kind::Python { name, .. } => name,
        }
    }

    /// The environment variable that names the runtime's command (`WASMTIME`,
    /// ...), if the adapter file declares one; `None` for Python adapters.
    pub fn env_var(&self) -> Option<&str> {
        match &self.kind {
            Kind::Template(t) => t.command_env.as_deref(),
            Kind::Python { .. } => None,
        }
    }

    /// Finds the command (the adapter's environment variable, shlex-split, else
    /// its default program looked up on PATH) and reads its version with a
    /// minimal environment ([`KEPT_ENV`] plus the adapter's `keep_env`), a
    /// timeout ([`VERSION_TIMEOUT`]) and a cap on the output read
    /// ([`VERSION_OUTPUT_BYTES`]). A missing program is
    /// [`AdapterError::MissingRuntime`], naming the variable to set.
    ///
    /// For a Python adapter, this starts the Python helper once: it imports the
    /// module and asks `get_name`, `get_version`, `get_wasi_versions`,
    /// `get_wasi_worlds` and `get_timeout_seconds`. The helper, and so the
    /// adapter, sees the harness's whole environment (an official adapter reads
    /// its runtime's variable, such as `WASMTIME`, at import).
    pub fn resolve(&self) -> Result<ResolvedRuntime, AdapterError> {
        self.resolve_in(Vars::from_process(), Limits::DEFAULT)
    }

    /// [`resolve`](Adapter::resolve) with these environment variables in place
    /// of the process's: where `PATH`, the adapter's variable (`WASMTIME`, ...),
    /// `PYTHON` and what a Python adapter reads come from. For embedding the
    /// harness, and for tests that cannot change their process's environment.
    pub fn resolve_with_env(
        &self,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<ResolvedRuntime, AdapterError> {
        self.resolve_in(Vars(vars.into_iter().collect()), Limits::DEFAULT)
    }

    fn resolve_in(&self, vars: Vars, limits: Limits) -> Result<ResolvedRuntime, AdapterError> {
        match &self.kind {
            Kind::Template(t) => resolve_template(t, vars, limits),
            Kind::Python { path, .. } => resolve_python(path, vars),
        }
    }
}

/// A runtime found and versioned by its adapter: what it declares, and how a
/// test becomes its argv.
#[derive(Debug, Clone)]
pub struct ResolvedRuntime {
    /// The adapter's name (`get_name()` for a Python adapter).
    pub name: String,
    /// The runtime's version, as the adapter reads it.
    pub version: String,
    /// The WASI versions it runs (`wasm32-wasip1`, `wasm32-wasip3`, ...).
    pub wasi_versions: Vec<String>,
    /// The worlds it runs (`wasi:cli/command`, `wasi:http/service`).
    pub worlds: Vec<String>,
    /// How long a test may take on this runtime, if the adapter says
    /// (`timeout_seconds`, `get_timeout_seconds()`); the official runner's
    /// default is 5 s.
    pub timeout: Option<Duration>,
    /// The runtime's command: the program as an absolute path, then any fixed
    /// options (from the variable or the adapter's default). Empty for a Python
    /// adapter, which builds its argv itself.
    pub command: Vec<String>,
    /// Where the adapter came from: `built-in adapter wasmtime` or a file path.
    pub adapter: String,
    /// How a run that never ran the module looks (the adapter file's
    /// `runtime_errors`; an official Python adapter gets the built-in
    /// adapter's of the same name).
    pub runtime_errors: Vec<super::runtime_errors::ErrorRule>,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Template {
        template: Arc<Template>,
        scripts: Arc<Scripts>,
        vars: Arc<Vars>,
    },
    Python {
        path: PathBuf,
        python: Vec<String>,
        vars: Arc<Vars>,
    },
}

/// One test to turn into argv.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArgvRequest {
    /// The test module, as the argv should name it.
    pub module: PathBuf,
    /// The guest's arguments (after its argv[0], which the runtime sets).
    pub args: Vec<String>,
    /// The guest's environment, in order; a repeated name keeps its first
    /// position and its last value (a Python dict's rule).
    pub env: Vec<(String, String)>,
    /// The directory preopened as the guest's `/`.
    pub root: Option<PathBuf>,
    /// Further preopened directories.
    pub dirs: Vec<DirRequest>,
    /// The spec's proposals (`http`, `sockets`).
    pub proposals: Vec<String>,
    /// The world (`wasi:cli/command` or `wasi:http/service`).
    pub world: String,
    /// The WASI version (`wasm32-wasip1`, `wasm32-wasip3`, ...).
    pub wasi_version: String,
    /// A cap on each linear memory, in bytes.
    pub memory_bytes: Option<u64>,
    /// A cap on executed instructions, as wasmtime's fuel.
    pub fuel: Option<u64>,
}

impl ArgvRequest {
    /// A request for `module` in the command world, with nothing else set.
    pub fn new(module: impl Into<PathBuf>, wasi_version: &str) -> ArgvRequest {
        ArgvRequest {
            module: module.into(),
            world: WORLD_COMMAND.to_string(),
            wasi_version: wasi_version.to_string(),
            ..ArgvRequest::default()
        }
    }
}

/// A directory preopened besides the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirRequest {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it (an absolute guest path).
    pub guest: String,
    /// Whether the guest may only read it.
    pub readonly: bool,
}

impl ResolvedRuntime {
    /// Why this runtime cannot run `req`, as a skip reason: a WASI version or
    /// world it does not declare, or a part of the request its adapter does not
    /// map to its command line (env, args, root, dirs, read-only dirs, memory or
    /// fuel limits). `None` if it can. Proposals are passed on as the official
    /// adapters do, never a reason to skip.
    /// Why a run that ended with `end` and printed `stderr` never ran the
    /// module (a usage error, a module the runtime could not load), when the
    /// adapter's `runtime_errors` say so.
    pub fn runtime_error(&self, end: &crate::check::GuestEnd, stderr: &[u8]) -> Option<String> {
        super::runtime_errors::matching(&self.runtime_errors, end, stderr)
    }

    pub fn unsupported(&self, req: &ArgvRequest) -> Option<String> {
        if !self.wasi_versions.contains(&req.wasi_version) {
            return Some(format!(
                "{} does not run {} modules (its adapter declares {})",
                self.name,
                quoted_or_nothing(&req.wasi_version),
                self.wasi_versions.join(", ")
            ));
        }
        if !self.worlds.contains(&req.world) {
            return Some(format!(
                "{} does not run the {} world (its adapter declares {})",
                self.name,
                quoted_or_nothing(&req.world),
                self.worlds.join(", ")
            ));
        }
        let maps = match &self.backend {
            Backend::Template { template, .. } => {
                let mut maps = Maps::default();
                maps.walk(&template.argv, req);
                maps
            }
            // The official interface: args, env and root, nothing else.
            Backend::Python { .. } => Maps {
                env: true,
                args: true,
                root: true,
                ..Maps::default()
            },
        };
        let needs: [(bool, bool, &str); 7] = [
            (
                !req.env.is_empty(),
                maps.env,
                "does not pass environment variables to the guest",
            ),
            (
                !req.args.is_empty(),
                maps.args,
                "does not pass arguments to the guest",
            ),
            (
                req.root.is_some(),
                maps.root,
                "does not preopen a root directory",
            ),
            (
                req.dirs.iter().any(|d| !d.readonly),
                maps.dirs,
                "does not map extra preopened directories (`dirs`)",
            ),
            (
                req.dirs.iter().any(|d| d.readonly),
                maps.readonly_dirs,
                "cannot preopen a directory read-only (`dirs` with `readonly`)",
            ),
            (
                req.memory_bytes.is_some(),
                maps.memory,
                "does not map a memory limit (`limits.memory_bytes`)",
            ),
            (
                req.fuel.is_some(),
                maps.fuel,
                "does not map a fuel limit (`limits.fuel`)",
            ),
        ];
        let what = match &self.backend {
            Backend::Template { .. } => format!("the {} adapter", self.name),
            Backend::Python { path, .. } => format!("the Python adapter {}", path.display()),
        };
        needs
            .iter()
            .find(|(needed, mapped, _)| *needed && !*mapped)
            .map(|(_, _, problem)| format!("{what} {problem}"))
    }

    /// The argv of each request, in order. A Python adapter answers all of them
    /// from one Python process. A request the runtime cannot run (see
    /// [`unsupported`](Self::unsupported)) is an [`AdapterError::Unsupported`].
    pub fn compute_argv(&self, reqs: &[ArgvRequest]) -> Result<Vec<Vec<String>>, AdapterError> {
        for req in reqs {
            if let Some(reason) = self.unsupported(req) {
                return Err(AdapterError::Unsupported {
                    adapter: self.name.clone(),
                    module: req.module.clone(),
                    reason,
                });
            }
        }
        match &self.backend {
            Backend::Template {
                template, scripts, ..
            } => reqs
                .iter()
                .map(|req| {
                    Expansion::new(template, req, &self.command, scripts)
                        .map(|e| e.argv(&template.argv))
                })
                .collect(),
            Backend::Python { path, python, vars } => python_argv(path, python, vars, reqs),
        }
    }

    /// The environment for the runtime's test processes: for an adapter file,
    /// only [`KEPT_ENV`] and its `keep_env` (as for the version command); for a
    /// Python adapter, the whole environment it was resolved with, as the
    /// official runner passes. With `debug` (a spec's `debug: true`), also
    /// `DEBUG=true`, as the official runner sets.
    pub fn process_env(&self, debug: bool) -> Vec<(OsString, OsString)> {
        let mut env = match &self.backend {
            Backend::Template { template, vars, .. } => vars.kept(&template.keep_env),
            Backend::Python { vars, .. } => vars.0.clone(),
        };
        if debug {
            env.retain(|(k, _)| k != "DEBUG");
            env.push(("DEBUG".into(), "true".into()));
        }
        env
    }
}

fn quoted_or_nothing(s: &str) -> String {
    if s.is_empty() {
        "(none given)".to_string()
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------
// The adapter file format.

/// Where an adapter definition came from, for messages and script lookup.
#[derive(Debug, Clone)]
enum Origin {
    Builtin(&'static str),
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin(name) => write!(f, "built-in adapter {name}"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A parsed adapter data file.
#[derive(Debug)]
struct Template {
    name: String,
    origin: Origin,
    wasi_versions: Vec<String>,
    worlds: Vec<String>,
    timeout: Option<Duration>,
    command_env: Option<String>,
    command_default: Vec<Text>,
    keep_env: Vec<String>,
    version: VersionSpec,
    proposal_flags: Vec<(String, String)>,
    argv: Vec<Item>,
    /// Every script the file references, and where its text comes from.
    scripts: Vec<(String, ScriptSource)>,
    /// How a run that never ran the module looks (`runtime_errors`).
    runtime_errors: Vec<super::runtime_errors::ErrorRule>,
}

#[derive(Debug, Clone)]
enum ScriptSource {
    /// A file next to the adapter file, used where it is.
    File(PathBuf),
    /// A built-in script, written to a temporary file at resolve time.
    Builtin(&'static str),
}

#[derive(Debug)]
struct VersionSpec {
    argv: Vec<Item>,
    line: Option<usize>,
    word: Option<usize>,
    strip: bool,
    regex: Option<regex::Regex>,
    map: Vec<(String, String)>,
}

/// One element of an argv list.
#[derive(Debug, Clone)]
enum Item {
    /// A string: one argument.
    Text(Text),
    /// A list placeholder standing alone: zero or more arguments.
    List(ListVar),
    /// Arguments added only when the condition holds (or once per element).
    When { cond: Cond, items: Vec<Item> },
}

type Text = Vec<Seg>;

#[derive(Debug, Clone)]
enum Seg {
    Lit(String),
    Var(Var),
    List(ListVar),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListVar {
    Command,
    CommandHead,
    CommandOptions,
    Args,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    Program,
    Script(String),
    Module,
    ModuleName,
    World,
    WasiVersion,
    ArgsJson,
    EnvJson,
    PreopensJson,
    ProposalFlags,
    Root,
    Key,
    Value,
    Host,
    Guest,
    MemoryBytes,
    Fuel,
}

#[derive(Debug, Clone)]
enum Cond {
    World(String),
    Version(String),
    Proposal(String),
    IfRoot,
    IfMemory,
    IfFuel,
    EachEnv,
    EachDir,
    EachReadonlyDir,
}

impl Cond {
    /// Whether the condition holds for `req` (an `each` always does).
    fn holds(&self, req: &ArgvRequest) -> bool {
        match self {
            Cond::World(w) => req.world == *w,
            Cond::Version(v) => req.wasi_version == *v,
            Cond::Proposal(p) => req.proposals.contains(p),
            Cond::IfRoot => req.root.is_some(),
            Cond::IfMemory => req.memory_bytes.is_some(),
            Cond::IfFuel => req.fuel.is_some(),
            Cond::EachEnv | Cond::EachDir | Cond::EachReadonlyDir => true,
        }
    }
}

/// Which list of the file a string belongs to: each allows other placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    CommandDefault,
    Version,
    Run,
}

/// The placeholders in scope at some point of a file.
#[derive(Debug, Clone, Copy)]
struct Scope {
    place: Place,
    root: bool,
    env: bool,
    dir: bool,
    memory: bool,
    fuel: bool,
}

impl Scope {
    fn new(place: Place) -> Scope {
        Scope {
            place,
            root: false,
            env: false,
            dir: false,
            memory: false,
            fuel: false,
        }
    }

    fn inside(mut self, cond: &Cond) -> Scope {
        match cond {
            Cond::IfRoot => self.root = true,
            Cond::IfMemory => self.memory = true,
            Cond::IfFuel => self.fuel = true,
            Cond::EachEnv => self.env = true,
            Cond::EachDir | Cond::EachReadonlyDir => self.dir = true,
            Cond::World(_) | Cond::Version(_) | Cond::Proposal(_) => {}
        }
        self
    }

    /// Whether a placeholder that needs `needs` is usable here.
    fn allows(&self, needs: Needs) -> bool {
        let run = self.place == Place::Run;
        match needs {
            Needs::VersionOrRun => self.place != Place::CommandDefault,
            Needs::Run => run,
            Needs::Root => run && self.root,
            Needs::Env => run && self.env,
            Needs::Dir => run && self.dir,
            Needs::Memory => run && self.memory,
            Needs::Fuel => run && self.fuel,
        }
    }

    /// The placeholder names usable here, for did-you-mean and messages.
    fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&str> = PLACEHOLDERS
            .iter()
            .filter(|(_, needs, _)| self.allows(*needs))
            .map(|(name, _, _)| *name)
            .collect();
        names.push("script:NAME");
        names
    }
}

/// Where a placeholder can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// In `version.argv` and `run.argv`.
    VersionOrRun,
    /// In `run.argv`.
    Run,
    /// In `run.argv`, inside `{ if = "root", ... }`; and so on.
    Root,
    Env,
    Dir,
    Memory,
    Fuel,
}

impl Needs {
    /// The item a placeholder must stand in, for messages.
    fn enclosing_item(self) -> Option<&'static str> {
        match self {
            Needs::VersionOrRun | Needs::Run => None,
            Needs::Root => Some("{ if = \"root\", args = [...] }"),
            Needs::Env => Some("{ each = \"env\", args = [...] }"),
            Needs::Dir => Some(
                "{ each = \"dir\", args = [...] } or { each = \"readonly_dir\", args = [...] }",
            ),
            Needs::Memory => Some("{ if = \"memory_bytes\", args = [...] }"),
            Needs::Fuel => Some("{ if = \"fuel\", args = [...] }"),
        }
    }
}

/// Every placeholder but `{script:NAME}`: its name, where it can be used, and
/// what it stands for.
const PLACEHOLDERS: &[(&str, Needs, Seg)] = &[
    ("command", Needs::VersionOrRun, Seg::List(ListVar::Command)),
    ("program", Needs::VersionOrRun, Seg::Var(Var::Program)),
    ("command_head", Needs::Run, Seg::List(ListVar::CommandHead)),
    (
        "command_options",
        Needs::Run,
        Seg::List(ListVar::CommandOptions),
    ),
    ("args", Needs::Run, Seg::List(ListVar::Args)),
    ("module", Needs::Run, Seg::Var(Var::Module)),
    ("module_name", Needs::Run, Seg::Var(Var::ModuleName)),
    ("world", Needs::Run, Seg::Var(Var::World)),
    ("wasi_version", Needs::Run, Seg::Var(Var::WasiVersion)),
    ("args_json", Needs::Run, Seg::Var(Var::ArgsJson)),
    ("env_json", Needs::Run, Seg::Var(Var::EnvJson)),
    ("preopens_json", Needs::Run, Seg::Var(Var::PreopensJson)),
    ("proposal_flags", Needs::Run, Seg::Var(Var::ProposalFlags)),
    ("root", Needs::Root, Seg::Var(Var::Root)),
    ("key", Needs::Env, Seg::Var(Var::Key)),
    ("value", Needs::Env, Seg::Var(Var::Value)),
    ("host", Needs::Dir, Seg::Var(Var::Host)),
    ("guest", Needs::Dir, Seg::Var(Var::Guest)),
    ("memory_bytes", Needs::Memory, Seg::Var(Var::MemoryBytes)),
    ("fuel", Needs::Fuel, Seg::Var(Var::Fuel)),
];

const TOP_KEYS: &[&str] = &[
    "name",
    "wasi_versions",
    "worlds",
    "timeout_seconds",
    "command",
    "version",
    "run",
    "runtime_errors",
];
const COMMAND_KEYS: &[&str] = &["env", "default", "keep_env"];
const VERSION_KEYS: &[&str] = &["argv", "line", "word", "strip", "regex", "map"];
const RUN_KEYS: &[&str] = &["argv", "proposal_flags"];
const PROPOSAL_FLAG_KEYS: &[&str] = &["proposal", "text"];
const CONDITION_KEYS: &[&str] = &["world", "version", "proposal", "if", "each"];
const IF_VALUES: &[&str] = &["root", "memory_bytes", "fuel"];
const EACH_VALUES: &[&str] = &["env", "dir", "readonly_dir"];

/// Reads a TOML document into a [`Template`], with errors naming the key.
struct FileParser {
    origin: Origin,
    scripts: Vec<(String, ScriptSource)>,
}

fn join_key(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

impl Template {
    fn parse(text: &str, origin: Origin) -> Result<Template, AdapterError> {
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| AdapterError::Syntax {
                    origin: origin.to_string(),
                    message: e.to_string().trim_end().to_string(),
                })?;
        let mut p = FileParser {
            origin,
            scripts: Vec::new(),
        };
        p.check_keys("", &table, TOP_KEYS)?;

        let name = p.string(&table, "", "name")?;
        if name.trim().is_empty() {
            return Err(p.invalid("name", "must not be empty"));
        }
        let wasi_versions = p.names(&table, "", "wasi_versions", WASI_VERSIONS)?;
        let worlds = p.names(&table, "", "worlds", WORLDS)?;
        let timeout = match table.get("timeout_seconds") {
            None => None,
            Some(v) => {
                let secs = match v {
                    Value::Integer(i) => *i as f64,
                    Value::Float(f) => *f,
                    other => {
                        return Err(p.invalid(
                            "timeout_seconds",
                            format!("expected a number of seconds, found {}", type_name(other)),
                        ));
                    }
                };
                if !(secs > 0.0 && secs <= 86_400.0) {
                    return Err(p.invalid(
                        "timeout_seconds",
                        format!("{secs} is not between 0 and 86400 seconds"),
                    ));
                }
                Some(Duration::from_secs_f64(secs))
            }
        };

        let command = p.table(&table, "", "command")?;
        p.check_keys("command", command, COMMAND_KEYS)?;
        let command_env = p.optional_string(command, "command", "env")?;
        if let Some(var) = &command_env
            && (var.is_empty() || var.contains('='))
        {
            return Err(p.invalid("command.env", "must be an environment variable name"));
        }
        let command_default = match command.get("default") {
            None => {
                return Err(p.invalid(
                    "command.default",
                    "missing: the runtime's default command, e.g. default = [\"wasmtime\"]",
                ));
            }
            Some(Value::String(s)) => {
                vec![p.text("command.default", s, Scope::new(Place::CommandDefault))?]
            }
            Some(Value::Array(items)) if !items.is_empty() => {
                let mut texts = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let at = format!("command.default[{i}]");
                    let Value::String(s) = item else {
                        return Err(p.invalid(
                            &at,
                            format!("expected a string, found {}", type_name(item)),
                        ));
                    };
                    texts.push(p.text(&at, s, Scope::new(Place::CommandDefault))?);
                }
                texts
            }
            Some(other) => {
                return Err(p.invalid(
                    "command.default",
                    format!(
                        "expected a program name or a non-empty list of strings, found {}",
                        type_name(other)
                    ),
                ));
            }
        };
        let keep_env = p.string_list(command, "command", "keep_env", false)?;

        let version = p.table(&table, "", "version")?;
        p.check_keys("version", version, VERSION_KEYS)?;
        let version = p.version(version)?;

        let run = p.table(&table, "", "run")?;
        p.check_keys("run", run, RUN_KEYS)?;
        let mut proposal_flags = Vec::new();
        if let Some(v) = run.get("proposal_flags") {
            let Value::Array(entries) = v else {
                return Err(p.invalid(
                    "run.proposal_flags",
                    format!(
                        "expected a list of {{ proposal = ..., text = ... }} tables, found {}",
                        type_name(v)
                    ),
                ));
            };
            for (i, entry) in entries.iter().enumerate() {
                let at = format!("run.proposal_flags[{i}]");
                let Value::Table(t) = entry else {
                    return Err(p.invalid(
                        &at,
                        format!(
                            "expected a {{ proposal = ..., text = ... }} table, found {}",
                            type_name(entry)
                        ),
                    ));
                };
                p.check_keys(&at, t, PROPOSAL_FLAG_KEYS)?;
                let proposal = p.one_of(t, &at, "proposal", PROPOSALS)?;
                let text = p.string(t, &at, "text")?;
                proposal_flags.push((proposal, text));
            }
        }
        let Some(argv) = run.get("argv") else {
            return Err(p.invalid(
                "run.argv",
                "missing: the list that builds a test's command line",
            ));
        };
        let argv = p.items("run.argv", argv, Scope::new(Place::Run))?;
        if argv.is_empty() {
            return Err(p.invalid("run.argv", "must not be empty"));
        }
        let runtime_errors = match table.get("runtime_errors") {
            None => Vec::new(),
            Some(v) => super::runtime_errors::parse(v).map_err(|(key, m)| p.invalid(key, m))?,
        };

        Ok(Template {
            name,
            origin: p.origin,
            wasi_versions,
            worlds,
            timeout,
            command_env,
            command_default,
            keep_env,
            version,
            proposal_flags,
            argv,
            scripts: p.scripts,
            runtime_errors,
        })
    }
}

impl FileParser {
    fn invalid(&self, key: impl Into<String>, message: impl Into<String>) -> AdapterError {
        AdapterError::Invalid {
            origin: self.origin.to_string(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn check_keys(
        &self,
        at: &str,
        table: &toml::Table,
        allowed: &[&str],
    ) -> Result<(), AdapterError> {
        match table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(self.invalid(join_key(at, key), unknown_key_message(key, allowed))),
            None => Ok(()),
        }
    }

    fn table<'t>(
        &self,
        t: &'t toml::Table,
        at: &str,
        key: &str,
    ) -> Result<&'t toml::Table, AdapterError> {
        match t.get(key) {
            Some(Value::Table(inner)) => Ok(inner),
            Some(other) => Err(self.invalid(
                join_key(at, key),
                format!("expected a table, found {}", type_name(other)),
            )),
            None => Err(self.invalid(
                join_key(at, key),
                format!("missing: add a [{}] table", join_key(at, key)),
            )),
        }
    }

    fn optional_string(
        &self,
        t: &toml::Table,
        at: &str,
        key: &str,
    ) -> Result<Option<String>, AdapterError> {
        match t.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.invalid(
                join_key(at, key),
                format!("expected a string, found {}", type_name(other)),
            )),
        }
    }

    fn string(&self, t: &toml::Table, at: &str, key: &str) -> Result<String, AdapterError> {
        self.optional_string(t, at, key)?
            .ok_or_else(|| self.invalid(join_key(at, key), "missing"))
    }

    fn string_list(
        &self,
        t: &toml::Table,
        at: &str,
        key: &str,
        required: bool,
    ) -> Result<Vec<String>, AdapterError> {
        let full = join_key(at, key);
        match t.get(key) {
            None if required => Err(self.invalid(full, "missing")),
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.invalid(
                        format!("{full}[{i}]"),
                        format!("expected a string, found {}", type_name(other)),
                    )),
                })
                .collect(),
            Some(other) => Err(self.invalid(
                full,
                format!("expected a list of strings, found {}", type_name(other)),
            )),
        }
    }

    /// A string that must be one of `allowed`.
    fn one_of(
        &self,
        t: &toml::Table,
        at: &str,
        key: &str,
        allowed: &[&str],
    ) -> Result<String, AdapterError> {
        let value = self.string(t, at, key)?;
        self.check_value(&join_key(at, key), &value, allowed)?;
        Ok(value)
    }

    fn check_value(&self, key: &str, value: &str, allowed: &[&str]) -> Result<(), AdapterError> {
        if allowed.contains(&value) {
            return Ok(());
        }
        let hint = did_you_mean(value, allowed)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        Err(self.invalid(
            key,
            format!(
                "unknown value `{value}`{hint} (known: {})",
                allowed.join(", ")
            ),
        ))
    }

    /// A non-empty list of names, each one of `allowed`.
    fn names(
        &self,
        t: &toml::Table,
        at: &str,
        key: &str,
        allowed: &[&str],
    ) -> Result<Vec<String>, AdapterError> {
        let names = self.string_list(t, at, key, true)?;
        if names.is_empty() {
            return Err(self.invalid(
                join_key(at, key),
                format!("must list at least one of {}", allowed.join(", ")),
            ));
        }
        for (i, name) in names.iter().enumerate() {
            self.check_value(&format!("{}[{i}]", join_key(at, key)), name, allowed)?;
        }
        Ok(names)
    }

    fn version(&mut self, t: &toml::Table) -> Result<VersionSpec, AdapterError> {
        let Some(argv) = t.get("argv") else {
            return Err(self.invalid("version.argv", "missing: the command that prints the version, e.g. argv = [\"{program}\", \"--version\"]"));
        };
        let argv = self.items("version.argv", argv, Scope::new(Place::Version))?;
        if argv.is_empty() {
            return Err(self.invalid("version.argv", "must not be empty"));
        }
        let index = |key: &str| -> Result<Option<usize>, AdapterError> {
            match t.get(key) {
                None => Ok(None),
                Some(Value::Integer(i)) if *i >= 0 => Ok(Some(*i as usize)),
                Some(other) => Err(self.invalid(
                    format!("version.{key}"),
                    format!(
                        "expected an index (0 for the first), found {}",
                        type_name(other)
                    ),
                )),
            }
        };
        let line = index("line")?;
        let word = index("word")?;
        let strip = match t.get("strip") {
            None => false,
            Some(Value::Boolean(b)) => *b,
            Some(other) => {
                return Err(self.invalid(
                    "version.strip",
                    format!("expected true or false, found {}", type_name(other)),
                ));
            }
        };
        let regex = match self.optional_string(t, "version", "regex")? {
            None => None,
            Some(pattern) => {
                if line.is_some() || word.is_some() {
                    return Err(self.invalid(
                        "version.regex",
                        "use either `regex` or `line`/`word`, not both",
                    ));
                }
                let re = regex::Regex::new(&pattern).map_err(|e| {
                    self.invalid("version.regex", format!("invalid regular expression: {e}"))
                })?;
                if re.captures_len() > 2 {
                    return Err(self.invalid(
                        "version.regex",
                        "use at most one capture group (the version)",
                    ));
                }
                Some(re)
            }
        };
        let mut map = Vec::new();
        match t.get("map") {
            None => {}
            Some(Value::Table(m)) => {
                for (from, to) in m {
                    let Value::String(to) = to else {
                        return Err(self.invalid(
                            format!("version.map.{from}"),
                            format!("expected a string, found {}", type_name(to)),
                        ));
                    };
                    map.push((from.clone(), to.clone()));
                }
            }
            Some(other) => {
                return Err(self.invalid(
                    "version.map",
                    format!(
                        "expected a table like {{ dev = \"0.0.0\" }}, found {}",
                        type_name(other)
                    ),
                ));
            }
        }
        Ok(VersionSpec {
            argv,
            line,
            word,
            strip,
            regex,
            map,
        })
    }

    fn items(&mut self, at: &str, v: &Value, scope: Scope) -> Result<Vec<Item>, AdapterError> {
        let Value::Array(items) = v else {
            return Err(self.invalid(at, format!("expected a list, found {}", type_name(v))));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.item(&format!("{at}[{i}]"), item, scope))
            .collect()
    }

    fn item(&mut self, at: &str, v: &Value, scope: Scope) -> Result<Item, AdapterError> {
        match v {
            Value::String(s) => {
                let text = self.text(at, s, scope)?;
                match text.as_slice() {
                    [Seg::List(list)] => Ok(Item::List(*list)),
                    _ => Ok(Item::Text(text)),
                }
            }
            Value::Table(t) if scope.place == Place::Run => {
                self.check_keys(at, t, &[CONDITION_KEYS, &["args"]].concat())?;
                let present: Vec<&str> = CONDITION_KEYS.iter().copied().filter(|k| t.contains_key(*k)).collect();
                let [key] = present.as_slice() else {
                    return Err(self.invalid(
                        at,
                        format!(
                            "a conditional item needs exactly one of `world`, `version`, `proposal`, `if`, `each` (found {})",
                            if present.is_empty() { "none".to_string() } else { present.join(", ") }
                        ),
                    ));
                };
                let cond = match *key {
                    "world" => Cond::World(self.one_of(t, at, "world", WORLDS)?),
                    "version" => Cond::Version(self.one_of(t, at, "version", WASI_VERSIONS)?),
                    "proposal" => Cond::Proposal(self.one_of(t, at, "proposal", PROPOSALS)?),
                    "if" => match self.one_of(t, at, "if", IF_VALUES)?.as_str() {
                        "root" => Cond::IfRoot,
                        "memory_bytes" => Cond::IfMemory,
                        _ => Cond::IfFuel,
                    },
                    _ => match self.one_of(t, at, "each", EACH_VALUES)?.as_str() {
                        "env" => Cond::EachEnv,
                        "dir" => Cond::EachDir,
                        _ => Cond::EachReadonlyDir,
                    },
                };
                let Some(args) = t.get("args") else {
                    return Err(self.invalid(join_key(at, "args"), "missing: the arguments this item adds"));
                };
                let items = self.items(&join_key(at, "args"), args, scope.inside(&cond))?;
                Ok(Item::When { cond, items })
            }
            other => Err(self.invalid(
                at,
                match scope.place {
                    Place::Run => format!(
                        "expected a string or a conditional table such as {{ if = \"root\", args = [\"--dir\", \"{{root}}::/\"] }}, found {}",
                        type_name(other)
                    ),
                    _ => format!("expected a string, found {}", type_name(other)),
                },
            )),
        }
    }

    /// Parses `{placeholder}`s; `{{` and `}}` stand for literal braces.
    fn text(&mut self, at: &str, s: &str, scope: Scope) -> Result<Text, AdapterError> {
        let mut segs = Vec::new();
        let mut lit = String::new();
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if matches!(chars.peek(), Some((_, '{'))) => {
                    chars.next();
                    lit.push('{');
                }
                '}' if matches!(chars.peek(), Some((_, '}'))) => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = &s[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(self.invalid(
                            at,
                            format!("unclosed `{{` in {s:?}; write `{{{{` for a literal brace"),
                        ));
                    };
                    let name = &rest[..end];
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                    if !lit.is_empty() {
                        segs.push(Seg::Lit(std::mem::take(&mut lit)));
                    }
                    segs.push(self.placeholder(at, name, scope)?);
                }
                '}' => {
                    return Err(self.invalid(
                        at,
                        format!("unmatched `}}` in {s:?}; write `}}}}` for a literal brace"),
                    ));
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            segs.push(Seg::Lit(lit));
        }
        if segs.len() > 1
            && let Some(Seg::List(list)) = segs.iter().find(|s| matches!(s, Seg::List(_)))
        {
            let name = list_name(*list);
            return Err(self.invalid(
                at,
                format!("`{{{name}}}` expands to a list of arguments and must be a whole item (\"{{{name}}}\"), not part of {s:?}"),
            ));
        }
        Ok(segs)
    }

    fn placeholder(&mut self, at: &str, name: &str, scope: Scope) -> Result<Seg, AdapterError> {
        if let Some(script) = name.strip_prefix("script:") {
            return self
                .script(at, script)
                .map(|()| Seg::Var(Var::Script(script.to_string())));
        }
        let Some((_, needs, seg)) = PLACEHOLDERS.iter().find(|(n, _, _)| *n == name) else {
            let names = scope.names();
            let hint = did_you_mean(name, &names)
                .map(|s| format!("; did you mean `{{{s}}}`?"))
                .unwrap_or_default();
            return Err(self.invalid(
                at,
                format!(
                    "unknown placeholder `{{{name}}}`{hint} (placeholders here: {})",
                    names
                        .iter()
                        .map(|n| format!("{{{n}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if scope.allows(*needs) {
            return Ok(seg.clone());
        }
        let message = match (scope.place, needs.enclosing_item()) {
            (Place::Run, Some(item)) => format!("`{{{name}}}` can only be used inside {item}"),
            (Place::CommandDefault, _) => format!(
                "`{{{name}}}` cannot be used in `command.default` (only {{script:NAME}} is allowed there)"
            ),
            _ => format!(
                "`{{{name}}}` cannot be used in `version.argv` (only {{program}}, {{command}} and {{script:NAME}} are allowed there)"
            ),
        };
        Err(self.invalid(at, message))
    }

    /// Records a `{script:NAME}` reference: next to the adapter file, else built in.
    fn script(&mut self, at: &str, name: &str) -> Result<(), AdapterError> {
        if name.is_empty() {
            return Err(self.invalid(
                at,
                "`{script:}` needs a file name, e.g. {script:node-wasi.cjs}",
            ));
        }
        if self.scripts.iter().any(|(n, _)| n == name) {
            return Ok(());
        }
        let builtin = BUILTIN_SCRIPTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text);
        let source = match &self.origin {
            Origin::File(path) => {
                let beside = path.parent().unwrap_or(Path::new(".")).join(name);
                if beside.is_file() {
                    ScriptSource::File(beside)
                } else if let Some(text) = builtin {
                    ScriptSource::Builtin(text)
                } else {
                    return Err(self.invalid(
                        at,
                        format!(
                            "script {name:?} not found: looked for {} (and among the built-in scripts: {})",
                            beside.display(),
                            builtin_script_names()
                        ),
                    ));
                }
            }
            Origin::Builtin(_) => match builtin {
                Some(text) => ScriptSource::Builtin(text),
                None => {
                    return Err(self.invalid(
                        at,
                        format!(
                            "no built-in script {name:?} (built-in scripts: {})",
                            builtin_script_names()
                        ),
                    ));
                }
            },
        };
        self.scripts.push((name.to_string(), source));
        Ok(())
    }
}

fn builtin_script_names() -> String {
    BUILTIN_SCRIPTS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_name(list: ListVar) -> &'static str {
    match list {
        ListVar::Command => "command",
        ListVar::CommandHead => "command_head",
        ListVar::CommandOptions => "command_options",
        ListVar::Args => "args",
    }
}

// ---------------------------------------------------------------------------
// Resolving: the command, its scripts, its version.

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
struct Vars(Vec<(OsString, OsString)>);

impl Vars {
    fn from_process() -> Vars {
        Vars(std::env::vars_os().collect())
    }

    fn get(&self, name: &str) -> Option<&OsStr> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_os_str())
    }

    /// The variables of [`KEPT_ENV`] and `extra` that are set.
    fn kept(&self, extra: &[String]) -> Vec<(OsString, OsString)> {
        let wanted =
            |k: &OsStr| KEPT_ENV.iter().any(|n| k == *n) || extra.iter().any(|n| k == n.as_str());
        self.0.iter().filter(|(k, _)| wanted(k)).cloned().collect()
    }
}

/// The scripts a runtime uses, by name, as paths for argv.
#[derive(Debug)]
struct Scripts {
    /// Owns the directory that built-in scripts were written to.
    _dir: Option<tempfile::TempDir>,
    paths: Vec<(String, String)>,
}

impl Scripts {
    fn materialize(t: &Template) -> Result<Scripts, AdapterError> {
        let mut dir: Option<tempfile::TempDir> = None;
        let mut paths = Vec::new();
        for (name, source) in &t.scripts {
            let path = match source {
                ScriptSource::File(path) => path.clone(),
                ScriptSource::Builtin(text) => {
                    let script_error = |source| AdapterError::Script {
                        adapter: t.name.clone(),
                        name: name.clone(),
                        source,
                    };
                    if dir.is_none() {
                        dir = Some(
                            tempfile::Builder::new()
                                .prefix("wasi-conform-scripts-")
                                .tempdir()
                                .map_err(script_error)?,
                        );
                    }
                    let Some(d) = dir.as_ref() else {
                        unreachable!()
                    };
                    let path = d.path().join(name);
                    std::fs::write(&path, text).map_err(script_error)?;
                    path
                }
            };
            let path =
                path.into_os_string()
                    .into_string()
                    .map_err(|p| AdapterError::NonUtf8Path {
                        adapter: t.name.clone(),
                        what: format!("the path of script {name}"),
                        path: PathBuf::from(p),
                    })?;
            paths.push((name.clone(), path));
        }
        Ok(Scripts { _dir: dir, paths })
    }

    fn path<'s>(&'s self, name: &'s str) -> &'s str {
        self.paths
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_str())
            .unwrap_or(name)
    }
}

/// The bounds of a version command (shorter in tests).
#[derive(Debug, Clone, Copy)]
struct Limits {
    version_timeout: Duration,
    version_output: usize,
}

impl Limits {
    const DEFAULT: Limits = Limits {
        version_timeout: VERSION_TIMEOUT,
        version_output: VERSION_OUTPUT_BYTES,
    };
}

fn resolve_template(
    t: &Arc<Template>,
    vars: Vars,
    limits: Limits,
) -> Result<ResolvedRuntime, AdapterError> {
    let scripts = Scripts::materialize(t)?;
    let from_var = t
        .command_env
        .as_deref()
        .and_then(|var| vars.get(var).map(|value| (var, value)));
    let mut command = match from_var {
        Some((var, value)) => {
            let bad = |problem: &str| AdapterError::BadCommandVariable {
                adapter: t.name.clone(),
                var: var.to_string(),
                value: value.to_string_lossy().into_owned(),
                problem: problem.to_string(),
            };
            let text = value.to_str().ok_or_else(|| bad("is not valid UTF-8"))?;
            let words = shlex::split(text)
                .ok_or_else(|| bad("cannot be split like a shell command (an unclosed quote?)"))?;
            if words.is_empty() {
                return Err(bad("is empty"));
            }
            words
        }
        None => t
            .command_default
            .iter()
            .map(|text| {
                expand_text(text, &|var| match var {
                    Var::Script(name) => scripts.path(name).to_string(),
                    _ => String::new(),
                })
            })
            .collect(),
    };

    let program = find_program(&command[0], &vars)
        .ok_or_else(|| missing_runtime(t, &command[0], from_var.map(|(v, _)| v)))?;
    command[0] = program
        .into_os_string()
        .into_string()
        .map_err(|p| AdapterError::NonUtf8Path {
            adapter: t.name.clone(),
            what: "the runtime's program".to_string(),
            path: PathBuf::from(p),
        })?;

    let version = read_version(t, &command, &scripts, &vars, limits)?;
    Ok(ResolvedRuntime {
        name: t.name.clone(),
        version,
        wasi_versions: t.wasi_versions.clone(),
        worlds: t.worlds.clone(),
        timeout: t.timeout,
        command,
        adapter: t.origin.to_string(),
        runtime_errors: t.runtime_errors.clone(),
        backend: Backend::Template {
            template: Arc::clone(t),
            scripts: Arc::new(scripts),
            vars: Arc::new(vars),
        },
    })
}

fn missing_runtime(t: &Template, program: &str, from_var: Option<&str>) -> AdapterError {
    let message = match (from_var, &t.command_env) {
        (Some(var), _) => format!(
            "{}: {var} names the program {program:?}, which does not exist or is not an executable file; fix {var}, or unset it to look for the default on PATH",
            t.name
        ),
        (None, Some(var)) => format!(
            "{}: cannot find {program:?} on PATH; install {} or set {var} to its command line (for example {var}=/opt/{}/bin/{program})",
            t.name, t.name, t.name
        ),
        (None, None) => format!(
            "{}: cannot find {program:?} on PATH; install it or fix `command.default` in {}",
            t.name, t.origin
        ),
    };
    AdapterError::MissingRuntime {
        adapter: t.name.clone(),
        program: program.to_string(),
        env_var: t.command_env.clone(),
        message,
    }
}

/// The program as an absolute path: a name with a path separator is taken
/// relative to the working directory, a bare name is looked up on PATH.
fn find_program(program: &str, vars: &Vars) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    let has_separator = program.contains('/') || (cfg!(windows) && program.contains('\\'));
    if has_separator {
        let path = std::path::absolute(program).ok()?;
        return is_executable(&path).then_some(path);
    }
    let search = vars.get("PATH")?;
    std::env::split_paths(search).find_map(|dir| {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        if is_executable(&candidate) {
            return std::path::absolute(&candidate).ok();
        }
        if cfg!(windows) {
            let exe = dir.join(format!("{program}.exe"));
            if is_executable(&exe) {
                return std::path::absolute(&exe).ok();
            }
        }
        None
    })
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

fn read_version(
    t: &Template,
    command: &[String],
    scripts: &Scripts,
    vars: &Vars,
    limits: Limits,
) -> Result<String, AdapterError> {
    let mut argv = Vec::new();
    for item in &t.version.argv {
        match item {
            Item::List(_) => argv.extend(command.iter().cloned()),
            Item::Text(text) => argv.push(expand_text(text, &|var| match var {
                Var::Program => command[0].clone(),
                Var::Script(name) => scripts.path(name).to_string(),
                _ => String::new(),
            })),
            Item::When { .. } => {}
        }
    }
    let shown = shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "));
    let fail = |problem: String| AdapterError::Version {
        adapter: t.name.clone(),
        command: shown.clone(),
        problem,
    };
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(vars.kept(&t.keep_env));
    let out = run_bounded(
        cmd,
        &[],
        limits.version_timeout,
        limits.version_output,
        limits.version_output,
    )
    .map_err(|f| fail(f.to_string()))?;
    if !out.status.success() {
        return Err(fail(format!(
            "failed ({}){}",
            describe_status(out.status),
            stream_excerpt("stderr", &out.stderr)
        )));
    }
    let stdout = String::from_utf8(out.stdout)
        .map_err(|_| fail("printed output that is not UTF-8 text".to_string()))?;
    t.version.extract(&stdout).map_err(|problem| {
        fail(format!(
            "{problem}{}",
            stream_excerpt("stdout", stdout.as_bytes())
        ))
    })
}

impl VersionSpec {
    /// The version in a version command's stdout, read the adapter's way.
    fn extract(&self, stdout: &str) -> Result<String, String> {
        let mut text = stdout;
        if let Some(re) = &self.regex {
            let caps = re.captures(stdout).ok_or_else(|| {
                format!(
                    "printed nothing that matches the adapter's regex {:?}",
                    re.as_str()
                )
            })?;
            text = caps
                .get(1)
                .or_else(|| caps.get(0))
                .map(|m| m.as_str())
                .unwrap_or("");
        }
        if let Some(n) = self.line {
            let lines = py_splitlines(text);
            text = lines.get(n).copied().ok_or_else(|| {
                format!(
                    "printed {} line(s); the adapter reads line {n} (counting from 0)",
                    lines.len()
                )
            })?;
        }
        if let Some(n) = self.word {
            let words: Vec<&str> = text.split(' ').collect();
            text = words
                .get(n)
                .copied()
                .ok_or_else(|| format!("printed {:?}, which has {} word(s); the adapter reads word {n} (counting from 0)", text, words.len()))?;
        }
        if self.strip {
            text = text.trim();
        }
        let version = self
            .map
            .iter()
            .find(|(from, _)| from == text)
            .map(|(_, to)| to.as_str())
            .unwrap_or(text);
        if version.is_empty() {
            return Err("printed no version".to_string());
        }
        if version.chars().count() > MAX_VERSION_CHARS || version.chars().any(char::is_control) {
            return Err(format!(
                "printed something that is not a version (more than one line, control characters, or over {MAX_VERSION_CHARS} characters): {:?}",
                truncate_chars(version, 80)
            ));
        }
        Ok(version.to_string())
    }
}

/// Python's `str.splitlines()`: lines without their breaks, no trailing empty line.
fn py_splitlines(text: &str) -> Vec<&str> {
    const BREAKS: &[char] = &[
        '\n', '\r', '\u{0b}', '\u{0c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}',
        '\u{2029}',
    ];
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if BREAKS.contains(&c) {
            lines.push(&text[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r'
                && let Some((j, '\n')) = iter.peek().copied()
            {
                iter.next();
                end = j + 1;
            }
            start = end;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(max).collect::<String>())
    }
}

/// "; it printed on STREAM: ..." for a message, or nothing if the stream is empty.
fn stream_excerpt(stream: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let tail: String = if text.chars().count() > 600 {
        let skip = text.chars().count() - 600;
        format!("...{}", text.chars().skip(skip).collect::<String>())
    } else {
        text.to_string()
    };
    format!("; {stream}: {tail}")
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    status.to_string()
}

// ---------------------------------------------------------------------------
// Running a helper command with bounded time and output.

struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

enum RunFailure {
    Start(std::io::Error),
    TimedOut(Duration),
    OutputOpen(Duration),
    TooMuch { stream: &'static str, limit: usize },
    Io(std::io::Error),
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunFailure::Start(e) => write!(f, "could not be started: {e}"),
            RunFailure::TimedOut(t) => write!(
                f,
                "did not finish within {} s and was killed",
                t.as_secs_f64()
            ),
            RunFailure::OutputOpen(t) => write!(
                f,
                "exited, but its output stayed open for {} s (a background process holding it?)",
                t.as_secs_f64()
            ),
            RunFailure::TooMuch { stream, limit } => {
                write!(
                    f,
                    "printed more than {limit} bytes on {stream} and was killed"
                )
            }
            RunFailure::Io(e) => write!(f, "could not be waited for: {e}"),
        }
    }
}

/// Runs `cmd` with `input` on its stdin, killing it after `timeout` or when a
/// stream exceeds its limit. Output is read by threads; if the program leaves
/// a process behind that holds the pipes open, those threads are abandoned
/// (they end when the pipes close) rather than waited for.
fn run_bounded(
    mut cmd: Command,
    input: &[u8],
    timeout: Duration,
    stdout_limit: usize,
    stderr_limit: usize,
) -> Result<Output, RunFailure> {
    cmd.stdin(if input.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(RunFailure::Start)?;
    let deadline = Instant::now() + timeout;

    if let Some(mut stdin) = child.stdin.take() {
        let data = input.to_vec();
        // A program that does not read its stdin must not block us: write from
        // a thread, and ignore a closed pipe.
        thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let (tx, rx) = mpsc::channel::<(usize, std::io::Result<Vec<u8>>)>();
    let limits = [stdout_limit, stderr_limit];
    let readers: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for (index, reader) in readers.into_iter().enumerate() {
        let Some(reader) = reader else { continue };
        let tx = tx.clone();
        let limit = limits[index];
        thread::spawn(move || {
            let mut buf = Vec::new();
            let result = reader
                .take(limit as u64 + 1)
                .read_to_end(&mut buf)
                .map(|_| buf);
            let _ = tx.send((index, result));
        });
    }
    drop(tx);

    let mut outputs: [Option<Vec<u8>>; 2] = [None, None];
    let mut status = None;
    let kill = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };
    loop {
        if status.is_none() {
            status = child.try_wait().map_err(RunFailure::Io)?;
        }
        if status.is_some() && outputs.iter().all(Option::is_some) {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            if status.is_none() {
                kill(&mut child);
                return Err(RunFailure::TimedOut(timeout));
            }
            return Err(RunFailure::OutputOpen(timeout));
        }
        let wait = (deadline - now).min(Duration::from_millis(10));
        match rx.recv_timeout(wait) {
            Ok((index, Ok(buf))) => {
                if buf.len() > limits[index] {
                    kill(&mut child);
                    return Err(RunFailure::TooMuch {
                        stream: if index == 0 { "stdout" } else { "stderr" },
                        limit: limits[index],
                    });
                }
                outputs[index] = Some(buf);
            }
            Ok((_, Err(e))) => {
                kill(&mut child);
                return Err(RunFailure::Io(e));
            }
            Err(_) => {}
        }
    }
    let [stdout, stderr] = outputs;
    Ok(Output {
        status: status.unwrap_or_else(|| unreachable!()),
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------
// Turning a request into argv.

/// Which parts of a request an adapter's argv maps, for the request's world,
/// WASI version and proposals.
#[derive(Debug, Default)]
struct Maps {
    env: bool,
    args: bool,
    root: bool,
    dirs: bool,
    readonly_dirs: bool,
    memory: bool,
    fuel: bool,
}

impl Maps {
    fn walk(&mut self, items: &[Item], req: &ArgvRequest) {
        for item in items {
            match item {
                Item::Text(text) => {
                    for seg in text {
                        match seg {
                            Seg::Var(Var::EnvJson) => self.env = true,
                            Seg::Var(Var::ArgsJson) => self.args = true,
                            Seg::Var(Var::PreopensJson) => {
                                self.root = true;
                                self.dirs = true;
                            }
                            _ => {}
                        }
                    }
                }
                Item::List(ListVar::Args) => self.args = true,
                Item::List(_) => {}
                Item::When { cond, items } => {
                    match cond {
                        Cond::World(_) | Cond::Version(_) | Cond::Proposal(_)
                            if !cond.holds(req) =>
                        {
                            continue;
                        }
                        Cond::IfRoot => self.root = true,
                        Cond::IfMemory => self.memory = true,
                        Cond::IfFuel => self.fuel = true,
                        Cond::EachEnv => self.env = true,
                        Cond::EachDir => self.dirs = true,
                        Cond::EachReadonlyDir => self.readonly_dirs = true,
                        _ => {}
                    }
                    self.walk(items, req);
                }
            }
        }
    }
}

/// Everything one request's argv is built from, converted to strings once.
struct Expansion<'a> {
    template: &'a Template,
    req: &'a ArgvRequest,
    command: &'a [String],
    scripts: &'a Scripts,
    module: &'a str,
    root: Option<String>,
    /// (host, guest, readonly)
    dirs: Vec<(String, &'a str, bool)>,
    env: Vec<(&'a str, &'a str)>,
}

/// The element an `each` item is expanding.
#[derive(Clone, Copy, Default)]
struct Binding<'b> {
    env: Option<(&'b str, &'b str)>,
    dir: Option<(&'b str, &'b str)>,
}

impl<'a> Expansion<'a> {
    fn new(
        template: &'a Template,
        req: &'a ArgvRequest,
        command: &'a [String],
        scripts: &'a Scripts,
    ) -> Result<Expansion<'a>, AdapterError> {
        let non_utf8 = |what: &str, path: &Path| AdapterError::NonUtf8Path {
            adapter: template.name.clone(),
            what: what.to_string(),
            path: path.to_path_buf(),
        };
        let module = req
            .module
            .to_str()
            .ok_or_else(|| non_utf8("the module path", &req.module))?;
        let root = match &req.root {
            Some(root) => {
                Some(pathlib_str(root).ok_or_else(|| non_utf8("the root directory", root))?)
            }
            None => None,
        };
        let mut dirs = Vec::new();
        for dir in &req.dirs {
            let host =
                pathlib_str(&dir.host).ok_or_else(|| non_utf8("the directory", &dir.host))?;
            dirs.push((host, dir.guest.as_str(), dir.readonly));
        }
        Ok(Expansion {
            template,
            req,
            command,
            scripts,
            module,
            root,
            dirs,
            env: dict_order(&req.env),
        })
    }

    fn argv(&self, items: &[Item]) -> Vec<String> {
        let mut out = Vec::new();
        self.expand(items, Binding::default(), &mut out);
        out
    }

    fn expand<'b>(&'b self, items: &[Item], binding: Binding<'b>, out: &mut Vec<String>) {
        for item in items {
            match item {
                Item::Text(text) => out.push(expand_text(text, &|var| self.value(var, binding))),
                Item::List(list) => out.extend(self.list(*list)),
                Item::When { cond, items } => match cond {
                    Cond::EachEnv => {
                        for (key, value) in &self.env {
                            let b = Binding {
                                env: Some((key, value)),
                                ..binding
                            };
                            self.expand(items, b, out);
                        }
                    }
                    Cond::EachDir | Cond::EachReadonlyDir => {
                        let readonly = matches!(cond, Cond::EachReadonlyDir);
                        for (host, guest, ro) in &self.dirs {
                            if *ro == readonly {
                                let b = Binding {
                                    dir: Some((host.as_str(), guest)),
                                    ..binding
                                };
                                self.expand(items, b, out);
                            }
                        }
                    }
                    _ => {
                        if cond.holds(self.req) {
                            self.expand(items, binding, out);
                        }
                    }
                },
            }
        }
    }

    fn list(&self, list: ListVar) -> Vec<String> {
        let split = splice_point(self.command);
        match list {
            ListVar::Command => self.command.to_vec(),
            ListVar::CommandHead => self.command[..split].to_vec(),
            ListVar::CommandOptions => self.command[split..].to_vec(),
            ListVar::Args => self.req.args.clone(),
        }
    }

    fn value(&self, var: &Var, binding: Binding<'_>) -> String {
        let req = self.req;
        match var {
            Var::Program => self.command[0].clone(),
            Var::Script(name) => self.scripts.path(name).to_string(),
            Var::Module => self.module.to_string(),
            Var::ModuleName => Path::new(self.module)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Var::World => req.world.clone(),
            Var::WasiVersion => req.wasi_version.clone(),
            Var::ArgsJson => py_json_list(req.args.iter().map(String::as_str)),
            Var::EnvJson => py_json_dict(&self.env),
            Var::PreopensJson => {
                // As jco.py builds it: the root as "/", then the other
                // (writable) directories.
                let preopens: Vec<String> = self
                    .root
                    .iter()
                    .map(|root| ("/", root.as_str()))
                    .chain(
                        self.dirs
                            .iter()
                            .filter(|d| !d.2)
                            .map(|(host, guest, _)| (*guest, host.as_str())),
                    )
                    .map(|(guest, host)| py_json_dict(&[("guest", guest), ("host", host)]))
                    .collect();
                format!("[{}]", preopens.join(", "))
            }
            Var::ProposalFlags => self
                .template
                .proposal_flags
                .iter()
                .filter(|(p, _)| req.proposals.contains(p))
                .map(|(_, text)| text.as_str())
                .collect(),
            Var::Root => self.root.clone().unwrap_or_default(),
            Var::Key => binding.env.map(|(k, _)| k.to_string()).unwrap_or_default(),
            Var::Value => binding.env.map(|(_, v)| v.to_string()).unwrap_or_default(),
            Var::Host => binding.dir.map(|(h, _)| h.to_string()).unwrap_or_default(),
            Var::Guest => binding.dir.map(|(_, g)| g.to_string()).unwrap_or_default(),
            Var::MemoryBytes => req.memory_bytes.map(|n| n.to_string()).unwrap_or_default(),
            Var::Fuel => req.fuel.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

fn expand_text(text: &Text, value: &dyn Fn(&Var) -> String) -> String {
    let mut s = String::new();
    for seg in text {
        match seg {
            Seg::Lit(lit) => s.push_str(lit),
            Seg::Var(var) => s.push_str(&value(var)),
            Seg::List(_) => {}
        }
    }
    s
}

/// Where the official wasmtime adapter splices its options into a command
/// (`WASMTIME="wasmtime run -Sfoo"`): before the trailing run of words that
/// start with `-`, but never before the program.
fn splice_point(command: &[String]) -> usize {
    let mut point = command.len();
    while point > 1 && command[point - 1].starts_with('-') {
        point -= 1;
    }
    point
}

/// A list of pairs in the order of a Python dict built from them: a repeated
/// key keeps its first position and takes its last value.
fn dict_order(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match out.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

/// `str(pathlib.Path(p))`: redundant separators and `.` components dropped.
fn pathlib_str(path: &Path) -> Option<String> {
    let mut s = String::new();
    for component in path.components() {
        let part = match component {
            Component::Prefix(prefix) => {
                s.push_str(prefix.as_os_str().to_str()?);
                continue;
            }
            Component::RootDir => {
                s.push(std::path::MAIN_SEPARATOR);
                continue;
            }
            Component::CurDir => continue,
            Component::ParentDir => "..",
            Component::Normal(name) => name.to_str()?,
        };
        if !s.is_empty() && !s.ends_with(std::path::MAIN_SEPARATOR) {
            s.push(std::path::MAIN_SEPARATOR);
        }
        s.push_str(part);
    }
    if s.is_empty() {
        s.push('.');
    }
    Some(s)
}

/// A string as Python's `json.dumps` writes it (ASCII only, lowercase `\u` escapes).
fn py_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// `json.dumps(list_of_strings)`.
fn py_json_list<'s>(items: impl Iterator<Item = &'s str>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        py_json_str(item, &mut out);
    }
    out.push(']');
    out
}

/// `json.dumps(dict_of_strings)`, in the given order.
fn py_json_dict(pairs: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        py_json_str(k, &mut out);
        out.push_str(": ");
        py_json_str(v, &mut out);
    }
    out.push('}');
    out
}

// ---------------------------------------------------------------------------
// Official Python adapters.

/// The Python command: `PYTHON` (shlex-split), else `python3` on PATH.
fn find_python(path: &Path, vars: &Vars) -> Result<Vec<String>, AdapterError> {
    let missing = |problem: String| AdapterError::MissingPython {
        path: path.to_path_buf(),
        problem,
    };
    let mut command = match vars.get("PYTHON") {
        Some(value) => {
            let text = value
                .to_str()
                .ok_or_else(|| missing("PYTHON is not valid UTF-8".to_string()))?;
            shlex::split(text)
                .filter(|w| !w.is_empty())
                .ok_or_else(|| {
                    missing(format!(
                        "PYTHON={text:?} is empty or cannot be split like a shell command"
                    ))
                })?
        }
        None => vec!["python3".to_string()],
    };
    let program = find_program(&command[0], vars).ok_or_else(|| {
        missing(if vars.get("PYTHON").is_some() {
            format!(
                "PYTHON names {:?}, which does not exist or is not executable",
                command[0]
            )
        } else {
            "python3 is not on PATH".to_string()
        })
    })?;
    command[0] = program
        .into_os_string()
        .into_string()
        .map_err(|p| missing(format!("its path {p:?} is not valid UTF-8")))?;
    Ok(command)
}

/// Runs the Python helper in `mode` (`meta` or `argv`) and returns its answer.
fn run_bridge(
    path: &Path,
    python: &[String],
    vars: &Vars,
    mode: &str,
    input: &[u8],
    timeout: Duration,
) -> Result<serde_json::Map<String, Json>, AdapterError> {
    let bridge_failed = |problem: String| AdapterError::PythonBridge {
        path: path.to_path_buf(),
        problem,
    };
    let mut cmd = Command::new(&python[0]);
    cmd.args(&python[1..])
        .arg("-c")
        .arg(PYTHON_BRIDGE)
        .arg(mode)
        .arg(path)
        .env_clear()
        .envs(vars.0.iter().map(|(k, v)| (k, v)))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8");
    let input = if input.is_empty() {
        b"[]" as &[u8]
    } else {
        input
    };
    let out = run_bounded(
        cmd,
        input,
        timeout,
        PYTHON_OUTPUT_BYTES,
        PYTHON_STDERR_BYTES,
    )
    .map_err(|f| match f {
        RunFailure::Start(e) => AdapterError::MissingPython {
            path: path.to_path_buf(),
            problem: format!("{} could not be started: {e}", python[0]),
        },
        other => bridge_failed(other.to_string()),
    })?;
    let answer: Option<serde_json::Map<String, Json>> = serde_json::from_slice(&out.stdout).ok();
    let Some(mut answer) = answer else {
        return Err(bridge_failed(format!(
            "ended ({}) without an answer{}",
            describe_status(out.status),
            stream_excerpt("stderr", &out.stderr)
        )));
    };
    if let Some(error) = answer.remove("error") {
        let field = |key: &str| {
            error
                .get(key)
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string()
        };
        let stage = field("stage");
        let kind = field("type");
        let mut exception = format!("{kind}: {}", field("message"));
        let detail = field("detail");
        if !detail.is_empty() {
            exception.push_str(&format!(" ({detail})"));
        }
        let traceback = field("traceback");
        if !traceback.is_empty() {
            exception.push_str(&format!("\n{}", traceback.trim_end()));
        }
        let hint = if stage.starts_with("get_version")
            && matches!(
                kind.as_str(),
                "FileNotFoundError" | "CalledProcessError" | "PermissionError"
            ) {
            "\nthe adapter could not run its runtime: install the runtime, or set the variable the adapter reads \
             (the official ones read WASMTIME, WAZERO, WASMEDGE, IWASM, JCO, WIZARD)"
                .to_string()
        } else {
            String::new()
        };
        return Err(AdapterError::Python {
            path: path.to_path_buf(),
            stage,
            exception,
            hint,
        });
    }
    Ok(answer)
}

fn resolve_python(path: &Path, vars: Vars) -> Result<ResolvedRuntime, AdapterError> {
    let python = find_python(path, &vars)?;
    let answer = run_bridge(path, &python, &vars, "meta", b"", PYTHON_META_TIMEOUT)?;
    let bad = |problem: String| AdapterError::PythonBridge {
        path: path.to_path_buf(),
        problem,
    };
    let string = |key: &str| -> Result<String, AdapterError> {
        answer
            .get(key)
            .and_then(Json::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(format!("answered without `{key}`")))
    };
    let strings = |key: &str| -> Result<Vec<String>, AdapterError> {
        answer
            .get(key)
            .and_then(Json::as_array)
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
            .ok_or_else(|| bad(format!("answered without `{key}`")))
    };
    let timeout = match answer.get("timeout_seconds") {
        None | Some(Json::Null) => None,
        Some(v) => {
            let secs = v
                .as_f64()
                .filter(|s| *s > 0.0 && s.is_finite() && *s <= 86_400.0);
            Some(Duration::from_secs_f64(secs.ok_or_else(|| {
                bad(format!("get_timeout_seconds() returned {v}, not a number of seconds between 0 and 86400"))
            })?))
        }
    };
    let name = string("name")?;
    let runtime_errors = builtin_runtime_errors(&name);
    Ok(ResolvedRuntime {
        name,
        version: string("version")?,
        wasi_versions: strings("wasi_versions")?,
        worlds: strings("worlds")?,
        timeout,
        command: Vec::new(),
        adapter: path.display().to_string(),
        runtime_errors,
        backend: Backend::Python {
            path: path.to_path_buf(),
            python,
            vars: Arc::new(vars),
        },
    })
}

/// The `runtime_errors` of the built-in adapter named `name` (an official
/// Python adapter of a runtime we know gets them), else none.
fn builtin_runtime_errors(name: &str) -> Vec<super::runtime_errors::ErrorRule> {
    match Adapter::builtin(name).map(|a| a.kind) {
        Some(Kind::Template(t)) => t.runtime_errors.clone(),
        _ => Vec::new(),
    }
}

fn python_argv(
    path: &Path,
    python: &[String],
    vars: &Vars,
    reqs: &[ArgvRequest],
) -> Result<Vec<Vec<String>>, AdapterError> {
    if reqs.is_empty() {
        return Ok(Vec::new());
    }
    let non_utf8 = |what: &str, p: &Path| AdapterError::NonUtf8Path {
        adapter: path.display().to_string(),
        what: what.to_string(),
        path: p.to_path_buf(),
    };
    let mut requests = Vec::with_capacity(reqs.len());
    for req in reqs {
        let module = req
            .module
            .to_str()
            .ok_or_else(|| non_utf8("the module path", &req.module))?;
        let root = match &req.root {
            Some(root) => Json::from(
                root.to_str()
                    .ok_or_else(|| non_utf8("the root directory", root))?,
            ),
            None => Json::Null,
        };
        requests.push(serde_json::json!({
            "test_path": module,
            "args": req.args,
            // Pairs, not an object: the adapter's dict keeps this order.
            "env": req.env.iter().map(|(k, v)| [k, v]).collect::<Vec<_>>(),
            "root": root,
            "proposals": req.proposals,
            "world": req.world,
            "wasi_version": req.wasi_version,
        }));
    }
    let input = serde_json::to_vec(&requests).unwrap_or_default();
    let answer = run_bridge(path, python, vars, "argv", &input, PYTHON_ARGV_TIMEOUT)?;
    let argvs: Option<Vec<Vec<String>>> = answer
        .get("argv")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    match argvs {
        Some(argvs) if argvs.len() == reqs.len() => Ok(argvs),
        _ => Err(AdapterError::PythonBridge {
            path: path.to_path_buf(),
            problem: format!(
                "answered without one argv for each of the {} requests",
                reqs.len()
            ),
        }),
    }
}

#[cfg(test)]
mod tests;
