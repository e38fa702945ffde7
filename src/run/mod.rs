//! Running a test on embedded wasmtime: load the module, build its sandbox, drive
//! the spec's operations against the running guest, and record an [`Observation`].
//!
//! One [`Runtime`] (one `Engine`) serves every test of a process. Each run gets its
//! own `Store`, dropped when the run ends. A test's wall-clock limit stops a guest
//! spinning in wasm (epoch interruption) and one blocked in a host call (the
//! driver's deadline) alike.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use wasmtime::{Config, Engine, ExternType, Linker, Module, StoreLimits, Val, ValType};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::cache::{IncrementalCache, ModuleCache};
use crate::check::{self, Failure, FailureKind, FileState, GuestEnd, WasmValue};
use crate::component::ComponentState;
use crate::discover::WasiVersion;
use crate::module::{ModuleInfo, ModuleKind};
use crate::sandbox::Sandbox;
use crate::spec::{Invoke, Spec};
use crate::watchdog::{LimitHit, Watchdog};

mod driver;
use driver::Driver;

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
