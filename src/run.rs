//! Running a test on embedded wasmtime: load the module, build its sandbox, drive
//! the spec's operations against the running guest, and record an [`Observation`].
//!
//! One [`Runtime`] (one `Engine`) serves every test of a process. Each run gets its
//! own `Store`, dropped when the run ends. A test's wall-clock limit stops a guest
//! spinning in wasm (epoch interruption) and one blocked in a host call (the
//! driver's deadline) alike.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use wasmtime::{
    Config, Engine, ExternType, Linker, Module, Store, StoreLimits, StoreLimitsBuilder,
    UpdateDeadline, Val, ValType,
};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::cache::{IncrementalCache, ModuleCache};
use crate::check::{self, Failure, FailureKind, FileState, GuestEnd, Trap, WasmValue};
use crate::component::ComponentState;
use crate::discover::WasiVersion;
use crate::module::{ModuleInfo, ModuleKind};
use crate::sandbox::{RunContext, Sandbox, Stdin};
use crate::spec::{ExitExpectation, Invoke, Operation, OutputStream, Run, Spec, SpecForm};
use crate::stdio::Capture;
use crate::watchdog::{LimitHit, Watchdog};

/// Default wall-clock limit of a test (compilation excluded): 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a guest's linear memories: 256 MiB.
pub const DEFAULT_MEMORY_BYTES: u64 = 256 << 20;
/// Default cap on each captured output stream: 16 MiB.
pub const DEFAULT_OUTPUT_BYTES: u64 = 16 << 20;
/// Default cap on files a guest holds open at once: 1024.
pub const DEFAULT_OPEN_FILES: u64 = 1024;
/// Default cap on the growth of a test's preopened directories: 1 GiB.
pub const DEFAULT_DISK_BYTES: u64 = 1 << 30;
/// How long an operation may still complete after the guest ended.
const AFTER_EXIT_GRACE: Duration = Duration::from_millis(200);
/// How often the watched limits are measured while the guest waits in a host call.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);
/// Most code the in-memory incremental cache keeps: 512 MiB.
const INCREMENTAL_CACHE_BYTES: usize = 512 << 20;
/// How often the epoch advances; a spinning guest is stopped within this of its deadline.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Bytes that `write` can queue on the guest's stdin before the guest reads them.
const STDIN_PIPE_BYTES: usize = 64 * 1024;

/// Which compiler turns wasm into machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiler {
    /// Cranelift, optimising (`speed`) or not (`none`).
    Cranelift { optimize: bool },
    /// Winch, the single-pass baseline compiler.
    Winch,
}

/// How modules are compiled and cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileConfig {
    pub compiler: Compiler,
    /// Share identical functions between modules (Cranelift's incremental cache,
    /// in memory for the process).
    pub incremental: bool,
    /// The persistent module cache's directory; `None` = no cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for CompileConfig {
    /// The defaults chosen from measurements (BENCHMARKS.md): Winch, which compiles
    /// several times faster than Cranelift and runs test programs fast enough, and
    /// the default on-disk cache.
    fn default() -> Self {
        CompileConfig {
            compiler: Compiler::Winch,
            incremental: false,
            cache_dir: crate::cache::default_dir(),
        }
    }
}

/// Limits that apply where a spec sets none, and how modules are compiled.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub timeout: Duration,
    pub memory_bytes: u64,
    pub output_bytes: u64,
    pub open_files: u64,
    pub disk_bytes: u64,
    pub compile: CompileConfig,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            output_bytes: DEFAULT_OUTPUT_BYTES,
            open_files: DEFAULT_OPEN_FILES,
            disk_bytes: DEFAULT_DISK_BYTES,
            compile: CompileConfig::default(),
        }
    }
}

/// What a test did.
#[derive(Debug, Default)]
pub struct Observation {
    /// Failures found while running (module, setup, operations, exit), in order.
    pub failures: Vec<Failure>,
    /// Whether every operation ran (the test was not cut short by a failure).
    pub completed: bool,
    /// How the last run ended.
    pub end: Option<GuestEnd>,
    /// The last run's whole stdout and stderr.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The state after the run of every file the spec's `files` names.
    pub files: Vec<(String, FileState)>,
    /// The operations that a failure kept from running.
    pub not_reached: Vec<String>,
    /// Sandbox paths and what to show instead (for golden files and messages).
    pub redactions: Vec<(String, String)>,
}

/// The store data of one run.
struct GuestState {
    wasi: WasiP1Ctx,
    limits: StoreLimits,
}

/// A core module ready to instantiate, plus what it will be called with.
struct Loaded {
    engine: Engine,
    target: Target,
}

/// What runs: a core module's entry point, or a component command.
enum Target {
    Core {
        pre: wasmtime::InstancePre<GuestState>,
        entry: Entry,
    },
    Component {
        pre: wasmtime::component::InstancePre<ComponentState>,
    },
    /// A `wasi:http/service` component, served to `request` operations.
    Service {
        pre: Arc<wasmtime_wasi_http::handler::ProxyPre<ComponentState>>,
    },
}

enum Entry {
    Start,
    Invoke {
        func: String,
        args: Vec<Val>,
        results: usize,
        initialize: bool,
    },
}

/// The error an epoch callback raises when a test's time is up.
#[derive(Debug)]
struct TimedOut;

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timeout")
    }
}
impl std::error::Error for TimedOut {}

/// An engine and its linkers for core modules and components.
struct EngineSet {
    engine: Engine,
    core: Linker<GuestState>,
    component: wasmtime::component::Linker<ComponentState>,
}

struct Engines {
    plain: EngineSet,
    fueled: EngineSet,
}

/// The shared engine(s) and the defaults. Cheap to share by reference across threads.
pub struct Runtime {
    engines: Engines,
    config: RuntimeConfig,
    cache: Option<ModuleCache>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

fn engine(
    fuel: bool,
    compile: &CompileConfig,
    incremental: &Option<Arc<IncrementalCache>>,
) -> wasmtime::Result<EngineSet> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.consume_fuel(fuel);
    match compile.compiler {
        Compiler::Winch => {
            config.strategy(wasmtime::Strategy::Winch);
        }
        Compiler::Cranelift { optimize } => {
            config.strategy(wasmtime::Strategy::Cranelift);
            config.cranelift_opt_level(if optimize {
                wasmtime::OptLevel::Speed
            } else {
                wasmtime::OptLevel::None
            });
            if let Some(store) = incremental {
                config.enable_incremental_compilation(store.clone())?;
            }
        }
    }
    let engine = Engine::new(&config)?;
    let mut core: Linker<GuestState> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut core, |s| &mut s.wasi)?;
    wasmtime_wasi::p0::add_to_linker_async(&mut core, |s| &mut s.wasi)?;
    let component = crate::component::linker(&engine)?;
    Ok(EngineSet {
        engine,
        core,
        component,
    })
}

impl Runtime {
    /// Creates the engines and starts the epoch ticker thread.
    pub fn new(config: RuntimeConfig) -> wasmtime::Result<Runtime> {
        let incremental = config
            .compile
            .incremental
            .then(|| Arc::new(IncrementalCache::new(INCREMENTAL_CACHE_BYTES)));
        let engines = Engines {
            plain: engine(false, &config.compile, &incremental)?,
            fueled: engine(true, &config.compile, &incremental)?,
        };
        let cache = config.compile.cache_dir.clone().map(ModuleCache::new);
        let stop = Arc::new(AtomicBool::new(false));
        let tick_engines = [engines.plain.engine.clone(), engines.fueled.engine.clone()];
        let tick_stop = stop.clone();
        std::thread::Builder::new()
            .name("wasi-conform-epoch".into())
            .spawn(move || {
                while !tick_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    for e in &tick_engines {
                        e.increment_epoch();
                    }
                }
            })
            .map_err(wasmtime::Error::from)?;
        Ok(Runtime {
            engines,
            config,
            cache,
            stop_ticker: stop,
        })
    }

    /// The persistent module cache, if enabled.
    pub fn cache(&self) -> Option<&ModuleCache> {
        self.cache.as_ref()
    }

    /// The defaults in force.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Runs one test: `module` under `spec`; `version` is the suite's declared WASI
    /// version, used in hints. Never panics on bad input: every problem becomes a
    /// [`Failure`] in the observation.
    pub async fn run(
        &self,
        module: &Path,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Observation {
        let mut obs = Observation::default();
        let loaded = match self.load(module, version, spec) {
            Ok(l) => l,
            Err(f) => {
                obs.failures.push(f);
                return obs;
            }
        };
        let mut sandbox = match Sandbox::new() {
            Ok(s) => s,
            Err(e) => {
                obs.failures
                    .push(Failure::new(FailureKind::Setup, e.to_string()));
                return obs;
            }
        };
        let timeout = spec
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.config.timeout);
        let deadline = Instant::now() + timeout;
        let program = module
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut driver = Driver {
            runtime: self,
            spec,
            loaded: &loaded,
            sandbox: &mut sandbox,
            program,
            deadline,
            timeout,
            guest: None,
            server_env: None,
        };
        let mut completed = true;
        for (i, op) in spec.operations.iter().enumerate() {
            if let Err(f) = driver.operation(i, op, &mut obs).await {
                obs.failures.push(f);
                obs.not_reached = spec.operations[i + 1..]
                    .iter()
                    .map(|o| o.kind().to_string())
                    .collect();
                completed = false;
                break;
            }
        }
        // A guest still running after a failure is stopped here.
        if let Some(guest) = driver.guest.take() {
            obs.stdout = guest.stdout.contents();
            obs.stderr = guest.stderr.contents();
        }
        obs.completed = completed;
        for path in spec.files.keys() {
            let state = sandbox
                .resolve(path)
                .map_or(FileState::Absent, |host| file_state(&host));
            obs.files.push((path.clone(), state));
        }
        for f in &mut obs.failures {
            f.message = sandbox.redact(&f.message);
        }
        obs.redactions = sandbox.redactions();
        obs
    }

    /// Reads, compiles and links the module, and checks its entry point.
    fn load(
        &self,
        path: &Path,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<Loaded, Failure> {
        let module_err = |m: String| Failure::new(FailureKind::Module, m);
        let spec_err =
            |m: String| Failure::new(FailureKind::Spec, format!("{}: {m}", spec_name(spec)));
        crate::http::ServerSpec::parse_all(&spec.servers).map_err(spec_err)?;
        for (i, op) in spec.operations.iter().enumerate() {
            if let Operation::Request(v) = op {
                crate::http::RequestOp::parse(v)
                    .map_err(|m| spec_err(format!("operations[{i}] (request): {m}")))?;
            }
        }
        let info = ModuleInfo::read(path).map_err(|e| module_err(e.to_string()))?;
        let set = if spec.limits.fuel.is_some() {
            &self.engines.fueled
        } else {
            &self.engines.plain
        };
        let (engine, linker) = (&set.engine, &set.core);
        if info.kind == ModuleKind::Core && spec.world == crate::spec::World::HttpService {
            return Err(module_err(format!(
                "{}: the spec's world is wasi:http/service, which only a component can implement",
                path.display()
            )));
        }
        if info.kind == ModuleKind::Component {
            if spec.invoke.is_some() {
                return Err(Failure::new(
                    FailureKind::Spec,
                    format!(
                        "{}: key `invoke`: calls a core module's export; {} is a component",
                        spec_name(spec),
                        path.display()
                    ),
                ));
            }
            let compiled = match &self.cache {
                Some(cache) => cache.load_or_compile(engine, &info.bytes),
                None => wasmtime::component::Component::from_binary(engine, &info.bytes),
            };
            let component = compiled
                .map_err(|e| module_err(format!("{}: cannot compile: {e:#}", path.display())))?;
            let pre = set.component.instantiate_pre(&component).map_err(|e| {
                module_err(format!(
                    "{}: cannot link: {e:#}\nhint: the harness provides WASI 0.2 and 0.3 \
                     (wasm32-wasip2, wasm32-wasip3) to components{}; the component may target \
                     another WASI version, or need a proposal the spec does not list",
                    path.display(),
                    version
                        .map(|v| format!(" (the suite declares {})", v.as_str()))
                        .unwrap_or_default()
                ))
            })?;
            let target = if spec.world == crate::spec::World::HttpService {
                let pre = crate::component::service_pre(pre).map_err(|e| {
                    module_err(format!(
                        "{}: the spec's world is wasi:http/service, but the component exports \
                         neither wasi:http/handler@0.3 nor wasi:http/incoming-handler@0.2: {e:#}",
                        path.display()
                    ))
                })?;
                Target::Service { pre: Arc::new(pre) }
            } else {
                Target::Component { pre }
            };
            return Ok(Loaded {
                engine: engine.clone(),
                target,
            });
        }
        let compiled = match &self.cache {
            Some(cache) => cache.load_or_compile(engine, &info.bytes),
            None => Module::from_binary(engine, &info.bytes),
        };
        let module = compiled
            .map_err(|e| module_err(format!("{}: cannot compile: {e:#}", path.display())))?;
        let pre = linker.instantiate_pre(&module).map_err(|e| {
            let declared = version
                .map(|v| format!("the suite declares {}", v.as_str()))
                .unwrap_or_else(|| "the suite declares no version".into());
            let foreign: Vec<&str> = info
                .imports
                .iter()
                .filter(|i| {
                    !i.starts_with("wasi_snapshot_preview1::") && !i.starts_with("wasi_unstable::")
                })
                .map(String::as_str)
                .collect();
            let imports = if foreign.is_empty() {
                String::new()
            } else {
                format!("; non-WASI imports: {}", foreign.join(", "))
            };
            module_err(format!(
                "{}: cannot link: {e}\nhint: the harness provides WASI preview 1 \
                 (wasi_snapshot_preview1, wasi_unstable) and nothing else{imports}; \
                 the module may target another WASI version than the harness was told \
                 ({declared}), or need a host that provides those imports",
                path.display()
            ))
        })?;
        let entry = match &spec.invoke {
            None => {
                match module.get_export("_start") {
                    Some(ExternType::Func(ty))
                        if ty.params().len() == 0 && ty.results().len() == 0 => {}
                    Some(_) => {
                        return Err(module_err(format!(
                            "{}: `_start` is not a `() -> ()` function",
                            path.display()
                        )));
                    }
                    None => {
                        return Err(module_err(format!(
                            "{}: has no `_start` export, so it is not a WASI command; \
                             to call one of its functions give `invoke` in the spec (exports: {})",
                            path.display(),
                            export_names(&module)
                        )));
                    }
                }
                Entry::Start
            }
            Some(invoke) => invoke_entry(&module, invoke).map_err(|m| {
                Failure::new(FailureKind::Spec, format!("{}: {m}", spec_name(spec)))
            })?,
        };
        Ok(Loaded {
            engine: engine.clone(),
            target: Target::Core { pre, entry },
        })
    }
}

fn spec_name(spec: &Spec) -> String {
    spec.file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "(default spec)".into())
}

fn export_names(module: &Module) -> String {
    let names: Vec<&str> = module.exports().map(|e| e.name()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Checks an `invoke` against the export's type and converts its arguments.
fn invoke_entry(module: &Module, invoke: &Invoke) -> Result<Entry, String> {
    let ty = match module.get_export(&invoke.func) {
        Some(ExternType::Func(ty)) => ty,
        Some(_) => {
            return Err(format!(
                "key `invoke.func`: export `{}` is not a function",
                invoke.func
            ));
        }
        None => {
            return Err(format!(
                "key `invoke.func`: the module exports no function `{}` (exports: {})",
                invoke.func,
                export_names(module)
            ));
        }
    };
    let params: Vec<ValType> = ty.params().collect();
    if params.len() != invoke.args.len() {
        return Err(format!(
            "key `invoke.args`: `{}` takes {} argument(s), the spec gives {}",
            invoke.func,
            params.len(),
            invoke.args.len()
        ));
    }
    let args = params
        .iter()
        .zip(&invoke.args)
        .enumerate()
        .map(|(i, (ty, v))| {
            to_val(ty, v).ok_or_else(|| format!("key `invoke.args[{i}]`: {v} is not a valid {ty}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results = ty.results().len();
    if let Some(expected) = &invoke.result
        && expected.len() != results
    {
        return Err(format!(
            "key `result`: `{}` returns {results} value(s), the spec expects {}",
            invoke.func,
            expected.len()
        ));
    }
    let initialize = matches!(module.get_export("_initialize"), Some(ExternType::Func(_)));
    Ok(Entry::Invoke {
        func: invoke.func.clone(),
        args,
        results,
        initialize,
    })
}

fn to_val(ty: &ValType, v: &Value) -> Option<Val> {
    Some(match ty {
        ValType::I32 => {
            let n = check::parse_int(v)?;
            Val::I32(
                i32::try_from(n)
                    .or_else(|_| u32::try_from(n).map(|u| u as i32))
                    .ok()?,
            )
        }
        ValType::I64 => {
            let n = check::parse_int(v)?;
            Val::I64(
                i64::try_from(n)
                    .or_else(|_| u64::try_from(n).map(|u| u as i64))
                    .ok()?,
            )
        }
        ValType::F32 => Val::F32((check::parse_float(v)? as f32).to_bits()),
        ValType::F64 => Val::F64(check::parse_float(v)?.to_bits()),
        _ => return None,
    })
}

fn from_val(v: &Val) -> Option<WasmValue> {
    Some(match v {
        Val::I32(n) => WasmValue::I32(*n),
        Val::I64(n) => WasmValue::I64(*n),
        Val::F32(b) => WasmValue::F32(f32::from_bits(*b)),
        Val::F64(b) => WasmValue::F64(f64::from_bits(*b)),
        _ => return None,
    })
}

/// A file's state, never following symlinks (a guest's symlink must not make the
/// harness read host files).
fn file_state(path: &Path) -> FileState {
    match std::fs::symlink_metadata(path) {
        Err(_) => FileState::Absent,
        Ok(meta) if meta.file_type().is_file() => match std::fs::read(path) {
            Ok(bytes) => FileState::Regular(bytes),
            Err(e) => FileState::Other(format!("unreadable: {e}")),
        },
        Ok(meta) if meta.file_type().is_dir() => FileState::Other("a directory".into()),
        Ok(meta) if meta.file_type().is_symlink() => FileState::Other("a symlink".into()),
        Ok(_) => FileState::Other("not a regular file".into()),
    }
}

type GuestFuture = Pin<Box<dyn Future<Output = GuestEnd> + Send>>;

/// A running guest.
struct Guest {
    future: GuestFuture,
    end: Option<GuestEnd>,
    stdout: Capture,
    stderr: Capture,
    stdin: Option<tokio::io::WriteHalf<tokio::io::SimplexStream>>,
    /// How far `read` has consumed stdout and stderr.
    cursors: [usize; 2],
    /// Shared with the epoch callback; also consulted while the guest waits in a host call.
    watchdog: Arc<Mutex<Watchdog>>,
    /// Connections made by `connect`, by id.
    connections: Vec<(String, Connection)>,
    /// Where `request` operations go, for a served component.
    requests: Option<tokio::sync::mpsc::Sender<crate::component::ServiceRequest>>,
}

/// A connection to the guest made by a `connect` operation.
enum Connection {
    Tcp(tokio::net::TcpStream),
    Udp(tokio::net::UdpSocket),
}

impl Connection {
    /// Up to `n` bytes: exactly `n` over TCP (fewer if the peer closes), one
    /// datagram over UDP.
    async fn receive(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        match self {
            Connection::Tcp(s) => {
                let mut buf = Vec::with_capacity(n);
                while buf.len() < n {
                    let mut chunk = vec![0u8; n - buf.len()];
                    let got = s.read(&mut chunk).await?;
                    if got == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..got]);
                }
                Ok(buf)
            }
            Connection::Udp(s) => {
                let mut buf = vec![0u8; 65536];
                let got = s.recv(&mut buf).await?;
                buf.truncate(got);
                Ok(buf)
            }
        }
    }
}

fn lock(w: &Mutex<Watchdog>) -> std::sync::MutexGuard<'_, Watchdog> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

impl Guest {
    fn capture(&self, stream: OutputStream) -> &Capture {
        match stream {
            OutputStream::Stdout => &self.stdout,
            OutputStream::Stderr => &self.stderr,
        }
    }

    fn finish(&mut self, end: GuestEnd) {
        self.end = Some(end);
        self.requests = None;
        // The future is complete (or abandoned): drop it, and with it the store.
        self.future = Box::pin(std::future::pending());
        self.stdin = None;
        self.stdout.close();
        self.stderr.close();
    }
}

struct Driver<'a> {
    runtime: &'a Runtime,
    spec: &'a Spec,
    loaded: &'a Loaded,
    sandbox: &'a mut Sandbox,
    program: String,
    deadline: Instant,
    timeout: Duration,
    guest: Option<Guest>,
    /// `HTTP_SERVER_<NAME>` variables of the hosted servers, once started.
    server_env: Option<Vec<(String, String)>>,
}

impl Driver<'_> {
    fn timeout_end(&self) -> GuestEnd {
        GuestEnd::Trapped(Trap {
            message: format!(
                "timeout: the test did not finish within {} ms (raise it with `timeout_ms` in the spec or --timeout)",
                self.timeout.as_millis()
            ),
            backtrace: None,
        })
    }

    async fn operation(
        &mut self,
        index: usize,
        op: &Operation,
        obs: &mut Observation,
    ) -> Result<(), Failure> {
        let op_err = |m: String| {
            Failure::new(
                FailureKind::Operation,
                format!("operations[{index}] ({}): {m}", op.kind()),
            )
        };
        match op {
            Operation::Run(run) => {
                if self.server_env.is_none() {
                    let specs = crate::http::ServerSpec::parse_all(&self.spec.servers)
                        .map_err(|m| Failure::new(FailureKind::Spec, m))?;
                    let addrs = crate::http::start_servers(&specs).await.map_err(|e| {
                        Failure::new(
                            FailureKind::Setup,
                            format!("cannot start the spec's HTTP servers: {e}"),
                        )
                    })?;
                    self.server_env =
                        Some(addrs.into_iter().map(|(k, a)| (k, a.to_string())).collect());
                }
                let guest = self
                    .start(run)
                    .map_err(|m| Failure::new(FailureKind::Setup, m))?;
                self.guest = Some(guest);
                Ok(())
            }
            Operation::Write { payload, .. } => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let guest = self.guest.as_mut().expect("validated: write follows run");
                let Some(mut stdin) = guest.stdin.take() else {
                    return Err(op_err("stdin is not writable in this run".into()));
                };
                let data = payload.clone().into_bytes();
                let written = drive(guest, deadline, &timeout_end, async {
                    let r = stdin.write_all(&data).await;
                    (r, stdin)
                })
                .await;
                match written {
                    Some((Ok(()), stdin)) => {
                        guest.stdin = Some(stdin);
                        Ok(())
                    }
                    Some((Err(_), _)) => Err(op_err(format!(
                        "could not write to stdin: the guest has ended ({})",
                        guest
                            .end
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    ))),
                    None => Err(op_err(format!(
                        "the guest was stopped while stdin was being written: {}",
                        stopped(guest)
                    ))),
                }
            }
            Operation::Read { id, payload } => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let color = false;
                let guest = self.guest.as_mut().expect("validated: read follows run");
                let slot = match id {
                    OutputStream::Stdout => 0,
                    OutputStream::Stderr => 1,
                };
                let start = guest.cursors[slot];
                let capture = guest.capture(*id).clone();
                let got = drive(
                    guest,
                    deadline,
                    &timeout_end,
                    capture.read_range(start, start + payload.len()),
                )
                .await;
                let Some(got) = got else {
                    let so_far = capture.contents();
                    return Err(op_err(format!(
                        "the guest was stopped while {} bytes were awaited on {id} (it had sent {:?}): {}",
                        payload.len(),
                        String::from_utf8_lossy(so_far.get(start..).unwrap_or_default()),
                        stopped(guest)
                    )));
                };
                guest.cursors[slot] = start + got.len();
                match check::read(&id.to_string(), payload, &got, color) {
                    None => Ok(()),
                    Some(mut f) => {
                        f.message = format!("operations[{index}] ({}): {}", op.kind(), f.message);
                        if let Some(end) = &guest.end {
                            f.message
                                .push_str(&format!("\n(the guest had ended: {end})"));
                        }
                        Err(f)
                    }
                }
            }
            Operation::Wait(expected) => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let mut guest = self.guest.take().expect("validated: wait follows run");
                if let Some(mut stdin) = guest.stdin.take() {
                    // EOF for the guest; shutting down never blocks on a simplex pipe.
                    let _ = stdin.shutdown().await;
                }
                let _ = drive_with_grace(
                    &mut guest,
                    deadline,
                    &timeout_end,
                    Duration::ZERO,
                    std::future::pending::<()>(),
                )
                .await;
                let end = guest
                    .end
                    .clone()
                    .expect("drive returns once the guest ended");
                obs.stdout = guest.stdout.contents();
                obs.stderr = guest.stderr.contents();
                obs.stdout_truncated = guest.stdout.truncated();
                obs.stderr_truncated = guest.stderr.truncated();
                obs.end = Some(end.clone());
                let expected = match (&self.loaded.target, expected) {
                    // An invoked function's result is checked against `result`, not an exit code.
                    (
                        Target::Core {
                            entry: Entry::Invoke { .. },
                            ..
                        },
                        ExitExpectation::Code(0),
                    ) if matches!(end, GuestEnd::Returned(_)) => {
                        return Ok(());
                    }
                    (_, e) => e,
                };
                match check::exit(expected, &end) {
                    None => Ok(()),
                    Some(mut f) => {
                        if self.spec.form == SpecForm::Operations {
                            f.message = format!("operations[{index}] (wait): {}", f.message);
                        }
                        Err(f)
                    }
                }
            }
            Operation::Connect { id, protocol } => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let guest = self.guest.as_mut().expect("validated: connect follows run");
                let start = guest.cursors[0];
                let capture = guest.stdout.clone();
                let Some(line) =
                    drive(guest, deadline, &timeout_end, capture.read_line(start)).await
                else {
                    return Err(op_err(format!(
                        "the guest was stopped before it printed its address: {}",
                        stopped(guest)
                    )));
                };
                guest.cursors[0] = start + line.len();
                let text = String::from_utf8_lossy(&line).trim().to_string();
                if let (true, Some(end)) = (text.is_empty(), &guest.end) {
                    return Err(op_err(format!(
                        "the guest {end} without printing the `host:port` to connect to on stdout"
                    )));
                }
                let addr: std::net::SocketAddr = text.parse().map_err(|_| {
                    op_err(format!(
                        "expected the guest to print `host:port` on stdout, got {text:?}"
                    ))
                })?;
                if !addr.ip().is_loopback() {
                    return Err(op_err(format!(
                        "the guest printed {addr}, which is not a loopback address; only loopback may be reached"
                    )));
                }
                let conn = match protocol.as_str() {
                    "tcp" => drive(
                        guest,
                        deadline,
                        &timeout_end,
                        tokio::net::TcpStream::connect(addr),
                    )
                    .await
                    .map(|r| r.map(Connection::Tcp)),
                    "udp" => drive(guest, deadline, &timeout_end, async {
                        let socket =
                            tokio::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
                        socket.connect(addr).await?;
                        Ok(socket)
                    })
                    .await
                    .map(|r| r.map(Connection::Udp)),
                    other => {
                        return Err(op_err(format!(
                            "connecting over `{other}` is not supported"
                        )));
                    }
                };
                match conn {
                    Some(Ok(c)) => {
                        guest.connections.push((id.clone(), c));
                        Ok(())
                    }
                    Some(Err(e)) => Err(op_err(format!(
                        "cannot connect to {addr} over {protocol}: {e}"
                    ))),
                    None => Err(op_err(format!(
                        "the guest was stopped while connecting to {addr}: {}",
                        stopped(guest)
                    ))),
                }
            }
            Operation::Send { id, payload } => {
                let data = payload.as_bytes();
                match self
                    .on_connection(id, async |conn| match conn {
                        Connection::Tcp(s) => s.write_all(data).await,
                        Connection::Udp(s) => s.send(data).await.map(|_| ()),
                    })
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(m) => Err(op_err(format!("sending on `{id}`: {m}"))),
                }
            }
            Operation::Recv { id, payload } => {
                let want = payload.len();
                match self
                    .on_connection(id, async |conn| conn.receive(want).await)
                    .await
                {
                    Ok(bytes) => {
                        match check::read(&format!("connection `{id}`"), payload, &bytes, false) {
                            None => Ok(()),
                            Some(mut f) => {
                                f.message = format!("operations[{index}] (recv): {}", f.message);
                                Err(f)
                            }
                        }
                    }
                    Err(m) => Err(op_err(format!("receiving {want} bytes on `{id}`: {m}"))),
                }
            }
            Operation::Request(value) => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let req = crate::http::RequestOp::parse(value).map_err(op_err)?;
                let guest = self.guest.as_mut().expect("validated: request follows run");
                let Some(requests) = guest.requests.clone() else {
                    return Err(op_err(
                        "`request` needs a served component: set \"world\": \"wasi:http/service\""
                            .into(),
                    ));
                };
                let http_req = req.to_http().map_err(op_err)?;
                let (tx, rx) = futures::channel::oneshot::channel();
                let what = format!("{} {}", req.method, req.path);
                let response = drive(guest, deadline, &timeout_end, async move {
                    if requests.send((http_req, tx)).await.is_err() {
                        return Err("the service has stopped".to_string());
                    }
                    match rx.await {
                        Ok(Ok(r)) => Ok(r),
                        Ok(Err(e)) => Err(format!("the service failed: {e:#}")),
                        Err(_) => Err("the service gave no response".to_string()),
                    }
                })
                .await;
                let response = match response {
                    Some(Ok(r)) => r,
                    Some(Err(m)) => {
                        return Err(op_err(format!("{what}: {m} ({})", stopped(guest))));
                    }
                    None => {
                        return Err(op_err(format!(
                            "the guest was stopped before it answered {what}: {}",
                            stopped(guest)
                        )));
                    }
                };
                let (parts, body) = response.into_parts();
                let body = drive(guest, deadline, &timeout_end, body.collect()).await;
                let body = match body {
                    Some(Ok(c)) => c.to_bytes(),
                    Some(Err(e)) => {
                        return Err(op_err(format!(
                            "{what}: reading the response body failed: {e}"
                        )));
                    }
                    None => {
                        return Err(op_err(format!(
                            "the guest was stopped while sending the body for {what}: {}",
                            stopped(guest)
                        )));
                    }
                };
                let problems = crate::http::compare_response(
                    &req.expect,
                    parts.status.as_u16(),
                    &parts.headers,
                    &body,
                );
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(Failure::new(
                        FailureKind::Operation,
                        format!(
                            "operations[{index}] (request {what}): {}",
                            problems.join("; ")
                        ),
                    ))
                }
            }
            Operation::Kill { .. } => {
                let guest = self.guest.as_mut().expect("validated: kill follows run");
                if guest.end.is_none() {
                    // Stopping a guest ends it as exit code 0, which the following
                    // `wait` expects by default (as the official runner treats services).
                    guest.finish(GuestEnd::Exited(0));
                }
                Ok(())
            }
        }
    }

    /// Runs `io` on connection `id` while the guest keeps running; `Err` says why
    /// it did not complete (an I/O error, or how the guest was stopped).
    async fn on_connection<T>(
        &mut self,
        id: &str,
        io: impl AsyncFnOnce(&mut Connection) -> std::io::Result<T>,
    ) -> Result<T, String> {
        let (deadline, timeout_end) = (self.deadline, self.timeout_end());
        let guest = self.guest.as_mut().expect("validated: follows run");
        let Some(pos) = guest.connections.iter().position(|(c, _)| c == id) else {
            return Err(format!("no connection `{id}`"));
        };
        let (name, mut conn) = guest.connections.swap_remove(pos);
        let result = drive(guest, deadline, &timeout_end, io(&mut conn)).await;
        guest.connections.push((name, conn));
        match result {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.to_string()),
            None => Err(format!("the guest was stopped first: {}", stopped(guest))),
        }
    }

    /// Builds the run's sandbox and store and starts the guest.
    fn start(&mut self, run: &Run) -> Result<Guest, String> {
        let preopens = self
            .sandbox
            .prepare(self.spec, run)
            .map_err(|e| e.to_string())?;
        let limits = &self.spec.limits;
        let output = limits
            .output_bytes
            .unwrap_or(self.runtime.config.output_bytes);
        let output = usize::try_from(output).unwrap_or(usize::MAX);
        let stdout = Capture::new(output);
        let stderr = Capture::new(output);
        let ctx = RunContext {
            spec: self.spec,
            run,
            program: &self.program,
            preopens: &preopens,
            extra_env: self.server_env.as_deref().unwrap_or_default(),
            stdout: stdout.clone(),
            stderr: stderr.clone(),
        };
        let (stdin, writer) = if self.spec.form == SpecForm::Operations {
            let (reader, writer) = tokio::io::simplex(STDIN_PIPE_BYTES);
            (Stdin::Interactive(reader), Some(writer))
        } else {
            (Stdin::fixed(run).map_err(|e| e.to_string())?, None)
        };
        let mut builder = ctx.builder(stdin).map_err(|e| e.to_string())?;
        crate::sandbox::network(&mut builder, &self.spec.proposals);
        let memory = limits
            .memory_bytes
            .unwrap_or(self.runtime.config.memory_bytes);
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(memory).unwrap_or(usize::MAX))
            .table_elements(1 << 20)
            .instances(1000)
            .tables(1000)
            .memories(1000)
            .trap_on_grow_failure(false)
            .build();
        let watchdog = Arc::new(Mutex::new(Watchdog::new(
            self.sandbox.path(),
            limits.open_files.unwrap_or(self.runtime.config.open_files),
            limits.disk_bytes.unwrap_or(self.runtime.config.disk_bytes),
        )));
        let guard = StoreGuard {
            fuel: limits.fuel,
            deadline: self.deadline.into_std(),
            watchdog: Arc::clone(&watchdog),
        };
        let timeout_ms = self.timeout.as_millis();
        let fuel = limits.fuel;
        let engine = &self.loaded.engine;
        let http_allowed = self.spec.proposals.contains(&crate::spec::Proposal::Http);
        let mut requests = None;
        let future: GuestFuture = match &self.loaded.target {
            Target::Core { pre, entry } => {
                let wasi = builder.build_p1();
                let mut store = Store::new(
                    engine,
                    GuestState {
                        wasi,
                        limits: store_limits,
                    },
                );
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let pre = pre.clone();
                let entry = match entry {
                    Entry::Start => None,
                    Entry::Invoke {
                        func,
                        args,
                        results,
                        initialize,
                    } => Some((func.clone(), args.clone(), *results, *initialize)),
                };
                Box::pin(async move {
                    let r = run_core(&mut store, &pre, entry).await;
                    r.unwrap_or_else(|e| classify(e, timeout_ms, fuel, memory))
                })
            }
            Target::Component { pre } => {
                let state = ComponentState::new(builder.build(), store_limits, http_allowed);
                let mut store = Store::new(engine, state);
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let pre = pre.clone();
                Box::pin(async move {
                    match crate::component::run_command(&mut store, &pre).await {
                        Ok(true) => GuestEnd::Exited(0),
                        Ok(false) => GuestEnd::Exited(1),
                        Err(e) => classify(e, timeout_ms, fuel, memory),
                    }
                })
            }
            Target::Service { pre } => {
                let state = ComponentState::new(builder.build(), store_limits, http_allowed);
                let mut store = Store::new(engine, state);
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let pre = pre.clone();
                let (tx, rx) = tokio::sync::mpsc::channel(1);
                requests = Some(tx);
                Box::pin(async move {
                    match crate::component::serve(&mut store, &pre, rx).await {
                        Ok(()) => GuestEnd::Exited(0),
                        Err(e) => classify(e, timeout_ms, fuel, memory),
                    }
                })
            }
        };
        Ok(Guest {
            future,
            end: None,
            stdout,
            stderr,
            stdin: writer,
            cursors: [0, 0],
            watchdog,
            connections: Vec::new(),
            requests,
        })
    }
}

/// The limits every store of a test gets: fuel, the deadline, the watchdog.
struct StoreGuard {
    fuel: Option<u64>,
    deadline: std::time::Instant,
    watchdog: Arc<Mutex<Watchdog>>,
}

impl StoreGuard {
    fn apply<T: 'static>(&self, store: &mut Store<T>) -> Result<(), String> {
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel).map_err(|e| e.to_string())?;
        }
        let deadline = self.deadline;
        let watchdog = Arc::clone(&self.watchdog);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if std::time::Instant::now() >= deadline {
                Err(wasmtime::Error::new(TimedOut))
            } else if let Err(hit) = lock(&watchdog).check() {
                Err(wasmtime::Error::new(hit))
            } else {
                // Yield so the driver (same thread) can run operations and watch the clock.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Ok(())
    }
}

/// Instantiates a core module and calls `_start` or the invoked export.
async fn run_core(
    store: &mut Store<GuestState>,
    pre: &wasmtime::InstancePre<GuestState>,
    entry: Option<(String, Vec<Val>, usize, bool)>,
) -> wasmtime::Result<GuestEnd> {
    let instance = pre.instantiate_async(&mut *store).await?;
    match entry {
        None => {
            let start = instance.get_typed_func::<(), ()>(&mut *store, "_start")?;
            start.call_async(&mut *store, ()).await?;
            Ok(GuestEnd::Exited(0))
        }
        Some((func, args, n, initialize)) => {
            if initialize {
                let init = instance.get_typed_func::<(), ()>(&mut *store, "_initialize")?;
                init.call_async(&mut *store, ()).await?;
            }
            let f = instance
                .get_func(&mut *store, &func)
                .ok_or_else(|| wasmtime::format_err!("no function `{func}`"))?;
            let mut results = vec![Val::I32(0); n];
            f.call_async(&mut *store, &args, &mut results).await?;
            Ok(GuestEnd::Returned(
                results.iter().filter_map(from_val).collect(),
            ))
        }
    }
}

/// Polls `step` and the guest together until `step` completes (or, for a pending
/// step, until the guest ends). `None` = the guest was stopped first, by the
/// test's deadline or by a watched limit; `guest.end` says which.
async fn drive<T>(
    guest: &mut Guest,
    deadline: Instant,
    timeout_end: &GuestEnd,
    step: impl Future<Output = T>,
) -> Option<T> {
    drive_with_grace(guest, deadline, timeout_end, AFTER_EXIT_GRACE, step).await
}

/// [`drive`], with how long a step may still take once the guest has ended (what
/// it sent just before ending may still be on its way through a socket).
async fn drive_with_grace<T>(
    guest: &mut Guest,
    deadline: Instant,
    timeout_end: &GuestEnd,
    grace: Duration,
    step: impl Future<Output = T>,
) -> Option<T> {
    let mut step = std::pin::pin!(step);
    // A guest blocked in a host call runs no wasm, so no epoch callback: its
    // watched limits are measured on this timer instead.
    let mut watch = tokio::time::interval(WATCH_INTERVAL);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        if guest.end.is_some() {
            // The guest is gone: a step waiting on its streams resolves at once
            // (they are closed), one waiting on a socket gets a moment for data
            // in flight; a step still pending after that is over.
            return tokio::time::timeout(grace, step).await.ok();
        }
        tokio::select! {
            biased;
            end = &mut guest.future => guest.finish(end),
            r = &mut step => return Some(r),
            _ = tokio::time::sleep_until(deadline) => {
                guest.finish(timeout_end.clone());
                return None;
            }
            _ = watch.tick() => {
                let hit = lock(&guest.watchdog).check_all().err();
                if let Some(hit) = hit {
                    guest.finish(GuestEnd::Trapped(Trap { message: hit.to_string(), backtrace: None }));
                    return None;
                }
            }
        }
    }
}

/// How a stopped guest ended, for messages.
fn stopped(guest: &Guest) -> String {
    guest
        .end
        .as_ref()
        .map_or_else(|| "still running".into(), ToString::to_string)
}

/// Turns an error that ended a guest into how it ended.
fn classify(e: wasmtime::Error, timeout_ms: u128, fuel: Option<u64>, memory: u64) -> GuestEnd {
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return GuestEnd::Exited(exit.0);
    }
    let backtrace = e
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|bt| bt.to_string())
        .filter(|s| !s.trim().is_empty());
    let message = if e.downcast_ref::<TimedOut>().is_some() {
        format!(
            "timeout: the test did not finish within {timeout_ms} ms (raise it with `timeout_ms` in the spec or --timeout)"
        )
    } else if let Some(hit) = e.downcast_ref::<LimitHit>() {
        hit.to_string()
    } else if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        match trap {
            wasmtime::Trap::OutOfFuel => format!(
                "fuel exhausted: the guest used up its fuel limit of {} (limits.fuel)",
                fuel.unwrap_or(0)
            ),
            wasmtime::Trap::StackOverflow => format!("{trap} (stack overflow)"),
            other => other.to_string(),
        }
    } else {
        let text = format!("{e:#}");
        if text.contains("exceeds memory limits") || text.contains("memory limit") {
            format!("memory limit exceeded: {text} (limits.memory_bytes = {memory})")
        } else {
            text
        }
    };
    GuestEnd::Trapped(Trap { message, backtrace })
}
