//! The embedded backend: modules run in-process on wasmtime 48.
//!
//! One [`Embedded`] (one `Engine` per configuration) serves every test of a
//! process; each run gets its own `Store`, dropped when the run ends. A test's
//! wall-clock limit stops a guest spinning in wasm (epoch interruption) and one
//! blocked in a host call (the driver's deadline) alike.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wasmtime::{Config, Engine, ExternType, Linker, Module, Store, UpdateDeadline, Val, ValType};
use wasmtime_wasi::p1::WasiP1Ctx;

use super::guest::{Guest, GuestFuture, HttpResponse};
use super::{Backend, Prepared, Program, RuntimeInfo, StartContext};
use crate::cache::{IncrementalCache, ModuleCache};
use crate::check::{self, Failure, FailureKind, GuestEnd, Trap, WasmValue};
use crate::discover::WasiVersion;
use crate::features::{Feature, FeatureSet};
use crate::module::{ModuleInfo, ModuleKind};
use crate::sandbox::Stdin;
use crate::spec::{Invoke, Spec, World};
use crate::watchdog::{LimitHit, Watchdog};

mod compile_worker;
pub mod component;
mod limiter;
mod poll;
pub mod threads;
mod threads_start;
mod trace_component;
mod trace_p1;
pub use compile_worker::{
    CompileLimits, DEFAULT_COMPILE_MEMORY_BYTES, DEFAULT_COMPILE_TIMEOUT, IN_PROCESS_MAX_COST,
    WORKER_SUBCOMMAND, worker_main,
};
use component::ComponentState;
pub use limiter::GuestLimiter;
use threads::ThreadState;

/// The wasmtime version this build embeds (pinned in Cargo.toml).
pub const WASMTIME_VERSION: &str = "48.0.8";
/// The name reports give the embedded runtime.
pub const RUNTIME_NAME: &str = "wasi-conform";
/// Most code the in-memory incremental cache keeps: 512 MiB.
const INCREMENTAL_CACHE_BYTES: usize = 512 << 20;
/// How often the epoch advances; a spinning guest is stopped within this of its deadline.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Bytes that `write` can queue on the guest's stdin before the guest reads them.
const STDIN_PIPE_BYTES: usize = 64 * 1024;
/// Threads the wasi-threads runtime may use for blocking work at once (all tests'
/// filesystem calls, waking atomic waiters at a program's end).
const THREADS_BLOCKING_THREADS: usize = 16;

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
    /// The persistent module cache's directory; `None` = no cache on disk.
    pub cache_dir: Option<PathBuf>,
    /// The most bytes the cache directory may hold (least recently used
    /// entries are evicted past it).
    pub cache_max_bytes: u64,
    /// Bounds on compiling a module (see [`CompileLimits`]).
    pub limits: CompileLimits,
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
            cache_max_bytes: crate::cache::DEFAULT_CACHE_MAX_BYTES,
            limits: CompileLimits::default(),
        }
    }
}

/// The store data of a core module's run.
struct GuestState {
    wasi: WasiP1Ctx,
    limits: GuestLimiter,
    /// The run's host calls (see [`trace_p1`]); `None` when tracing is off.
    tracer: Option<trace_p1::P1Tracer>,
}

/// What runs: in one store, or as a wasi-threads program.
enum Target {
    Store(StoreTarget),
    /// A wasi-threads command: each run is a [`threads::Program`].
    Threads {
        module: Module,
        linker: Linker<ThreadState>,
        /// The multi-threaded runtime its threads block on.
        runtime: tokio::runtime::Handle,
    },
}

/// What runs in one store: a core module's entry point, or a component command.
enum StoreTarget {
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

#[derive(Clone)]
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
    /// What the engine was made for, and the compiler it uses.
    key: EngineKey,
    compiler: Compiler,
    /// The wasm proposals enabled beyond the defaults.
    features: FeatureSet,
    core: Linker<GuestState>,
    component: wasmtime::component::Linker<ComponentState>,
    /// For wasi-threads modules; only engines with the threads proposal have one.
    threads: Option<threads::Host>,
}

/// What tells engines apart: fuel metering and the wasm proposals enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EngineKey {
    fuel: bool,
    features: FeatureSet,
}

/// The wasmtime configuration of an engine for `key` compiling with `compiler`
/// (the compile worker builds the same one, so its artifacts load here).
fn engine_config(key: &EngineKey, compiler: Compiler) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // Each module is instantiated by one test or a few: copying its data
    // segments is cheaper than the memfd image copy-on-write instantiation builds
    // (measured: the official wasip1 suite warm, 5% faster).
    config.memory_init_cow(false);
    config.consume_fuel(key.fuel);
    // The `threads` cargo feature turns the proposal on by default: keep it
    // off (and so ordinary modules' validation and cache keys as they were)
    // unless the key has `Feature::Threads`, which turns it back on below.
    config.wasm_threads(false);
    for f in key.features.iter() {
        f.enable(&mut config);
    }
    match compiler {
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
        }
    }
    config
}

impl EngineSet {
    fn new(
        key: &EngineKey,
        compile: &CompileConfig,
        incremental: &Option<Arc<IncrementalCache>>,
    ) -> wasmtime::Result<EngineSet> {
        let compiler = effective_compiler(compile.compiler, &key.features);
        let mut config = engine_config(key, compiler);
        if let (Compiler::Cranelift { .. }, Some(store)) = (compiler, incremental) {
            config.enable_incremental_compilation(store.clone())?;
        }
        let engine = Engine::new(&config)?;
        let mut core: Linker<GuestState> = Linker::new(&engine);
        if tracing_enabled() {
            trace_p1::add_to_linker(&mut core)?;
        } else {
            wasmtime_wasi::p1::add_to_linker_async(&mut core, |s| &mut s.wasi)?;
            poll::shadow_stock(&mut core)?;
        }
        wasmtime_wasi::p0::add_to_linker_async(&mut core, |s| &mut s.wasi)?;
        let component = component::linker(&engine)?;
        let threads = if key.features.contains(Feature::Threads) {
            Some(threads::Host::new(&engine)?)
        } else {
            None
        };
        Ok(EngineSet {
            engine,
            key: key.clone(),
            compiler,
            features: key.features.clone(),
            core,
            component,
            threads,
        })
    }
}

/// Whether guests' host calls are traced: yes, unless the environment says
/// `WASI_CONFORM_TRACE=0` (to measure what tracing costs; see BENCHMARKS.md).
/// Whether `module` imports `wasi_unstable`'s `poll_oneoff`, which
/// wasmtime-wasi answers with an uninterruptible sleep when the WASI context
/// may block its thread (see [`poll`]).
fn imports_unstable_poll(module: &Module) -> bool {
    module
        .imports()
        .any(|i| i.module() == "wasi_unstable" && i.name() == "poll_oneoff")
}

fn tracing_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("WASI_CONFORM_TRACE").map_or(true, |v| v != "0"))
}

/// The compiler that compiles modules needing `features`: the configured one,
/// unless it is Winch and Winch lacks one of them (then Cranelift).
fn effective_compiler(configured: Compiler, features: &FeatureSet) -> Compiler {
    match configured {
        Compiler::Winch if features.needs_cranelift() => Compiler::Cranelift { optimize: true },
        other => other,
    }
}

/// The engines made so far, each with its key.
type Engines = Vec<(EngineKey, Arc<EngineSet>)>;

/// The embedded wasmtime backend. Cheap to share by reference across threads.
pub struct Embedded {
    compile: CompileConfig,
    incremental: Option<Arc<IncrementalCache>>,
    /// Engines made so far, by key (the plain one first); the epoch ticker ticks them all.
    engines: Arc<Mutex<Engines>>,
    cache: ModuleCache,
    info: RuntimeInfo,
    stop_ticker: Arc<AtomicBool>,
    /// The multi-threaded runtime (one worker) that wasi-threads programs'
    /// threads block on, made on first use and shared by all tests. (Tests run
    /// on current-thread runtimes, whose timers only run while that thread
    /// polls them.)
    threads_rt: Mutex<Option<tokio::runtime::Runtime>>,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
        if let Some(rt) = lock(&self.threads_rt).take() {
            rt.shutdown_background();
        }
    }
}

impl Embedded {
    /// Creates the engines and starts the epoch ticker thread.
    pub fn new(compile: CompileConfig) -> wasmtime::Result<Embedded> {
        let incremental = compile
            .incremental
            .then(|| Arc::new(IncrementalCache::new(INCREMENTAL_CACHE_BYTES)));
        let plain = EngineKey {
            fuel: false,
            features: FeatureSet::default(),
        };
        let first = Arc::new(EngineSet::new(&plain, &compile, &incremental)?);
        let engines = Arc::new(Mutex::new(vec![(plain, first)]));
        let cache = ModuleCache::new(compile.cache_dir.clone(), compile.cache_max_bytes);
        let stop = Arc::new(AtomicBool::new(false));
        let (tick_engines, tick_stop) = (Arc::clone(&engines), stop.clone());
        std::thread::Builder::new()
            .name("wasi-conform-epoch".into())
            .spawn(move || {
                while !tick_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    for (_, set) in lock(&tick_engines).iter() {
                        set.engine.increment_epoch();
                    }
                }
            })
            .map_err(wasmtime::Error::from)?;
        Ok(Embedded {
            compile,
            incremental,
            engines,
            cache,
            info: RuntimeInfo {
                name: RUNTIME_NAME.into(),
                version: format!(
                    "{} (wasmtime {WASMTIME_VERSION})",
                    env!("CARGO_PKG_VERSION")
                ),
            },
            stop_ticker: stop,
            threads_rt: Mutex::new(None),
        })
    }

    /// The runtime of wasi-threads programs, started on first use.
    fn threads_runtime(&self) -> Result<tokio::runtime::Handle, Failure> {
        let mut slot = lock(&self.threads_rt);
        if let Some(rt) = slot.as_ref() {
            return Ok(rt.handle().clone());
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(THREADS_BLOCKING_THREADS)
            .thread_name("wasi-conform-threads")
            .enable_all()
            .build()
            .map_err(|e| {
                Failure::new(
                    FailureKind::Setup,
                    format!("cannot start the runtime of wasi-threads programs: {e}"),
                )
            })?;
        let handle = rt.handle().clone();
        *slot = Some(rt);
        Ok(handle)
    }

    /// The module cache.
    pub fn cache(&self) -> &ModuleCache {
        &self.cache
    }

    /// The engine (and linkers) for a key, made on first use.
    fn engine_for(&self, key: EngineKey) -> Result<Arc<EngineSet>, Failure> {
        let mut engines = lock(&self.engines);
        if let Some((_, set)) = engines.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(set));
        }
        let set = EngineSet::new(&key, &self.compile, &self.incremental).map_err(|e| {
            Failure::new(
                FailureKind::Setup,
                format!(
                    "cannot configure wasmtime for wasm features [{}]: {e:#}",
                    key.features
                ),
            )
        })?;
        let set = Arc::new(set);
        engines.push((key, Arc::clone(&set)));
        Ok(set)
    }

    /// Compiles (or loads from the cache) a module or component: in-process
    /// when its estimated cost is small, else in the compile worker under the
    /// compile limits (when there is a worker).
    fn compile<A: crate::cache::Artifact + Clone + Send + Sync + 'static>(
        &self,
        set: &EngineSet,
        path: &Path,
        info: &ModuleInfo,
    ) -> Result<A, Failure> {
        let bytes = &info.bytes;
        let limits = &self.compile.limits;
        let compiled = match &limits.worker {
            Some(worker) if info.compile_cost > compile_worker::IN_PROCESS_MAX_COST => self
                .cache
                .load_or_compile_with(&set.engine, bytes, |engine, wasm| {
                    compile_worker::compile_in_worker(
                        worker,
                        limits,
                        engine,
                        &set.key,
                        set.compiler,
                        wasm,
                    )
                }),
            _ => self.cache.load_or_compile(&set.engine, bytes),
        };
        compiled.map_err(|e| {
            let message = without_backtrace(&format!("{e:#}")).to_string();
            let hint = if message.contains("not enabled") && bytes.len() <= HINT_MAX_MODULE_BYTES {
                features_hint(bytes, &set.features)
            } else {
                String::new()
            };
            module_failure(format!(
                "{}: cannot compile: {message}{hint}",
                path.display()
            ))
        })
    }

    fn load_component(
        &self,
        set: &EngineSet,
        path: &Path,
        info: &ModuleInfo,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<Target, Failure> {
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
        let component: wasmtime::component::Component = self.compile(set, path, info)?;
        let pre = set.component.instantiate_pre(&component).map_err(|e| {
            module_failure(format!(
                "{}: cannot link: {e:#}\nhint: the harness provides WASI 0.2 and 0.3 \
                 (wasm32-wasip2, wasm32-wasip3) to components{}; the component may target \
                 another WASI version, or need a proposal the spec does not list",
                path.display(),
                version
                    .map(|v| format!(" (the suite declares {})", v.as_str()))
                    .unwrap_or_default()
            ))
        })?;
        if spec.world != World::HttpService {
            return Ok(Target::Store(StoreTarget::Component { pre }));
        }
        let pre = component::service_pre(pre).map_err(|e| {
            module_failure(format!(
                "{}: the spec's world is wasi:http/service, but the component exports \
                 neither wasi:http/handler@0.3 nor wasi:http/incoming-handler@0.2: {e:#}",
                path.display()
            ))
        })?;
        Ok(Target::Store(StoreTarget::Service { pre: Arc::new(pre) }))
    }

    fn load_core(
        &self,
        set: &EngineSet,
        path: &Path,
        info: &ModuleInfo,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<Target, Failure> {
        if spec.world == World::HttpService {
            return Err(module_failure(format!(
                "{}: the spec's world is wasi:http/service, which only a component can implement",
                path.display()
            )));
        }
        let module: Module = self.compile(set, path, info)?;
        let pre = set
            .core
            .instantiate_pre(&module)
            .map_err(|e| module_failure(link_error(path, &e, info, version)))?;
        let entry = match &spec.invoke {
            None => start_entry(&module)
                .map_err(|m| module_failure(format!("{}: {m}", path.display())))?,
            Some(invoke) => invoke_entry(&module, invoke).map_err(|m| {
                Failure::new(FailureKind::Spec, format!("{}: {m}", spec_name(spec)))
            })?,
        };
        Ok(Target::Store(StoreTarget::Core { pre, entry }))
    }

    /// A wasi-threads module: compiled with the threads proposal on, checked
    /// (one shared memory imported, only imports the threads host provides),
    /// run by [`threads::Program`]s.
    fn load_threads(
        &self,
        set: &EngineSet,
        path: &Path,
        info: &ModuleInfo,
        spec: &Spec,
    ) -> Result<Target, Failure> {
        if spec.invoke.is_some() {
            return Err(Failure::new(
                FailureKind::Spec,
                format!(
                    "{}: key `invoke`: {} is a wasi-threads module, which only runs as a \
                     command (`_start`)",
                    spec_name(spec),
                    path.display()
                ),
            ));
        }
        if spec.world == World::HttpService {
            return Err(module_failure(format!(
                "{}: the spec's world is wasi:http/service, which only a component can implement",
                path.display()
            )));
        }
        let host = set.threads.as_ref().ok_or_else(|| {
            Failure::new(
                FailureKind::Setup,
                "internal error: the engine has no threads host",
            )
        })?;
        let module: Module = self.compile(set, path, info)?;
        host.check_module(&module)
            .map_err(|m| module_failure(format!("{}: {m}", path.display())))?;
        let linker = host.linker().clone();
        let runtime = self.threads_runtime()?;
        Ok(Target::Threads {
            module,
            linker,
            runtime,
        })
    }
}

impl Backend for Embedded {
    fn info(&self) -> &RuntimeInfo {
        &self.info
    }

    fn load(
        &self,
        path: &Path,
        version: Option<WasiVersion>,
        spec: &Spec,
    ) -> Result<Prepared, Failure> {
        let info = ModuleInfo::read(path).map_err(|e| module_failure(e.to_string()))?;
        // Refused before compiling: a module built for another host would
        // otherwise compile (seconds, for a big one) only to fail to link.
        let foreign = info.foreign_imports();
        if !foreign.is_empty() {
            return Err(module_failure(foreign_imports_error(
                path, &foreign, version,
            )));
        }
        let threaded = info.uses_wasi_threads();
        let mut features = spec.features.clone();
        if threaded {
            features.extend([Feature::Threads]);
        }
        let set = self.engine_for(EngineKey {
            fuel: spec.limits.fuel.is_some(),
            features,
        })?;
        let target = match info.kind {
            ModuleKind::Component => self.load_component(&set, path, &info, version, spec)?,
            ModuleKind::Core if threaded => self.load_threads(&set, path, &info, spec)?,
            ModuleKind::Core => self.load_core(&set, path, &info, version, spec)?,
        };
        let mut notes = Vec::new();
        if self.compile.compiler == Compiler::Winch && set.features.needs_cranelift() {
            let lacks: Vec<&str> = set
                .features
                .winch_lacks()
                .iter()
                .map(|f| f.name())
                .collect();
            notes.push(format!(
                "compiled with Cranelift: Winch, the default compiler, lacks {}",
                lacks.join(", ")
            ));
        }
        Ok(Prepared::Ready(Box::new(EmbeddedProgram {
            engine: set.engine.clone(),
            target,
            notes,
        })))
    }
}

/// A compile error's text without the stack backtrace some compiler errors
/// carry in their message when `RUST_BACKTRACE` is set (it says nothing about
/// the module).
fn without_backtrace(message: &str) -> &str {
    message
        .split_once("\nStack backtrace:")
        .map_or(message, |(text, _)| text)
}

/// The largest module [`features_hint`] validates (validating is not
/// proportional to size either: deep nesting costs memory per level).
const HINT_MAX_MODULE_BYTES: usize = 4 << 20;

/// For a module that does not compile: the wasm proposals it uses that are not
/// enabled, all of them, and how to enable them.
fn features_hint(bytes: &[u8], enabled: &FeatureSet) -> String {
    let needed = crate::features::required_by(bytes, enabled);
    if needed.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = needed.iter().map(|f| f.name()).collect();
    format!(
        "\nhint: the module uses wasm proposals that are not enabled: {}; enable them with \
         `\"features\": [{}]` in the spec or the suite's manifest.json, or --wasm-features {}",
        names.join(", "),
        names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
        names.join(",")
    )
}

fn module_failure(message: String) -> Failure {
    Failure::new(FailureKind::Module, message)
}

/// A core module importing functions no WASI preview 1 host provides: which
/// (briefly), and a hint that fits: another WASI version when the unknown
/// imports are WASI ones, another host altogether when they are not.
fn foreign_imports_error(
    path: &Path,
    foreign: &[(String, usize, Vec<String>)],
    version: Option<WasiVersion>,
) -> String {
    let wasi_like = foreign.iter().any(|(m, ..)| m.starts_with("wasi"));
    let hint = if wasi_like {
        format!(
            "the module may target another WASI version than the harness provides ({}{})",
            "WASI preview 1: wasi_snapshot_preview1, wasi_unstable",
            version
                .map(|v| format!("; the suite declares {}", v.as_str()))
                .unwrap_or_default()
        )
    } else {
        "these are not WASI imports: the module was built for another host (an embedder's \
         own ABI), which the harness does not provide"
            .to_string()
    };
    format!(
        "{}: cannot link: it imports functions that no WASI preview 1 host provides: {}\nhint: {hint}",
        path.display(),
        crate::module::describe_foreign(foreign)
    )
}

/// Why a core module cannot be linked, with a hint on what the harness provides.
fn link_error(
    path: &Path,
    e: &wasmtime::Error,
    info: &ModuleInfo,
    version: Option<WasiVersion>,
) -> String {
    let declared = version
        .map(|v| format!("the suite declares {}", v.as_str()))
        .unwrap_or_else(|| "the suite declares no version".into());
    let foreign: Vec<&str> = info
        .imports
        .iter()
        .filter(|i| !i.starts_with("wasi_snapshot_preview1::") && !i.starts_with("wasi_unstable::"))
        .map(String::as_str)
        .collect();
    let imports = if foreign.is_empty() {
        String::new()
    } else {
        format!("; non-WASI imports: {}", foreign.join(", "))
    };
    format!(
        "{}: cannot link: {e}\nhint: the harness provides WASI preview 1 \
         (wasi_snapshot_preview1, wasi_unstable) and nothing else{imports}; \
         the module may target another WASI version than the harness was told \
         ({declared}), or need a host that provides those imports",
        path.display()
    )
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

/// Checks that the module is a WASI command (`_start: () -> ()`).
fn start_entry(module: &Module) -> Result<Entry, String> {
    match module.get_export("_start") {
        Some(ExternType::Func(ty)) if ty.params().len() == 0 && ty.results().len() == 0 => {
            Ok(Entry::Start)
        }
        Some(_) => Err("`_start` is not a `() -> ()` function".into()),
        None => Err(format!(
            "has no `_start` export, so it is not a WASI command; \
             to call one of its functions give `invoke` in the spec (exports: {})",
            export_names(module)
        )),
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

/// A module compiled and linked for one test.
struct EmbeddedProgram {
    engine: Engine,
    target: Target,
    notes: Vec<String>,
}

impl Program for EmbeddedProgram {
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn invokes(&self) -> bool {
        matches!(
            self.target,
            Target::Store(StoreTarget::Core {
                entry: Entry::Invoke { .. },
                ..
            })
        )
    }

    fn start(&self, ctx: StartContext<'_>) -> Result<Guest, Failure> {
        self.start_guest(ctx)
            .map_err(|m| Failure::new(FailureKind::Setup, m))
    }
}

impl EmbeddedProgram {
    fn start_guest(&self, ctx: StartContext<'_>) -> Result<Guest, String> {
        let watchdog = Arc::new(Mutex::new(Watchdog::new(
            ctx.sandbox_dir,
            ctx.limits.open_files,
            ctx.limits.disk_bytes,
        )));
        let ending = Ending::of(&ctx);
        let guest = match &self.target {
            Target::Store(target) => self.start_store(target, &ctx, &watchdog, ending)?,
            Target::Threads {
                module,
                linker,
                runtime,
            } => threads_start::start(module, linker, runtime, &ctx, &watchdog, ending)?,
        };
        Ok(guest.with_watch(Box::new(move || lock(&watchdog).check_all())))
    }
}

impl EmbeddedProgram {
    /// Starts a run in one store.
    fn start_store(
        &self,
        target: &StoreTarget,
        ctx: &StartContext<'_>,
        watchdog: &Arc<Mutex<Watchdog>>,
        ending: Ending,
    ) -> Result<Guest, String> {
        let (stdin, writer) = if ctx.interactive {
            let (reader, writer) = tokio::io::simplex(STDIN_PIPE_BYTES);
            (Stdin::Interactive(reader), Some(writer))
        } else {
            (Stdin::fixed(ctx.run).map_err(|e| e.to_string())?, None)
        };
        let mut builder = crate::sandbox::wasi_builder(ctx, stdin).map_err(|e| e.to_string())?;
        crate::sandbox::network(&mut builder, &ctx.spec.proposals);
        let limits = ctx.limits;
        let store_limits = store_limits(limits.memory_bytes);
        let guard = StoreGuard {
            fuel: limits.fuel,
            deadline: Arc::clone(&ctx.deadline),
            watchdog: Arc::clone(watchdog),
        };
        let http_allowed = ctx.spec.proposals.contains(&crate::spec::Proposal::Http);
        let trace =
            tracing_enabled().then(|| crate::trace::handle(ctx.trace_limits, ctx.trace_given()));
        let mut serve = None;
        let future: GuestFuture = match target {
            StoreTarget::Core { pre, entry } => {
                if imports_unstable_poll(pre.module()) {
                    builder.allow_blocking_current_thread(false);
                }
                let state = GuestState {
                    wasi: builder.build_p1(),
                    limits: store_limits,
                    tracer: trace.clone().map(trace_p1::P1Tracer::new),
                };
                let mut store = Store::new(&self.engine, state);
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let (pre, entry) = (pre.clone(), entry.clone());
                Box::pin(async move {
                    let r = run_core(&mut store, &pre, entry).await;
                    r.unwrap_or_else(|e| ending.classify(e))
                })
            }
            StoreTarget::Component { pre } => {
                let state = ComponentState::new(builder.build(), store_limits, http_allowed);
                let mut store = Store::new(&self.engine, state);
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let pre = pre.clone();
                trace_component::traced(
                    async move {
                        match component::run_command(&mut store, &pre).await {
                            Ok(true) => GuestEnd::Exited(0),
                            Ok(false) => GuestEnd::Exited(1),
                            Err(e) => ending.classify(e),
                        }
                    },
                    trace.clone(),
                )
            }
            StoreTarget::Service { pre } => {
                let state = ComponentState::new(builder.build(), store_limits, http_allowed);
                let mut store = Store::new(&self.engine, state);
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let pre = pre.clone();
                let (tx, rx) = tokio::sync::mpsc::channel(1);
                serve = Some(tx);
                trace_component::traced(
                    async move {
                        match component::serve(&mut store, &pre, rx).await {
                            Ok(()) => GuestEnd::Exited(0),
                            Err(e) => ending.classify(e),
                        }
                    },
                    trace.clone(),
                )
            }
        };
        let mut guest = Guest::new(future, ctx.stdout.clone(), ctx.stderr.clone());
        if let Some(trace) = trace {
            guest = guest.with_trace(trace);
        }
        if let Some(w) = writer {
            guest = guest.with_stdin(Box::pin(w));
        }
        if let Some(requests) = serve {
            guest = guest.with_serve(Box::new(move |op| {
                let requests = requests.clone();
                let request = component::request_for(op);
                Box::pin(async move {
                    let request = request?;
                    let (tx, rx) = futures::channel::oneshot::channel();
                    if requests.send((request, tx)).await.is_err() {
                        return Err("the service has stopped".to_string());
                    }
                    let response = match rx.await {
                        Ok(Ok(r)) => r,
                        Ok(Err(e)) => return Err(format!("the service failed: {e:#}")),
                        Err(_) => return Err("the service gave no response".to_string()),
                    };
                    use http_body_util::BodyExt;
                    let (parts, body) = response.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map_err(|e| format!("reading the response body failed: {e}"))?
                        .to_bytes();
                    Ok(HttpResponse {
                        status: parts.status.as_u16(),
                        headers: parts.headers,
                        body,
                    })
                })
            }));
        }
        Ok(guest)
    }
}

/// The limits of a store: `memory_bytes` for all its memories and tables together.
fn store_limits(memory_bytes: u64) -> GuestLimiter {
    GuestLimiter::new(memory_bytes)
}

/// Locks a mutex; a poisoned one (another test's thread panicked) is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The limits every store of a test gets: fuel, the deadline, the watchdog.
struct StoreGuard {
    fuel: Option<u64>,
    deadline: Arc<crate::run::deadline::Deadline>,
    watchdog: Arc<Mutex<Watchdog>>,
}

impl StoreGuard {
    fn apply<T: 'static>(&self, store: &mut Store<T>) -> Result<(), String> {
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel).map_err(|e| e.to_string())?;
        }
        let deadline = Arc::clone(&self.deadline);
        let watchdog = Arc::clone(&self.watchdog);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if deadline.expired() {
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
    entry: Entry,
) -> wasmtime::Result<GuestEnd> {
    let instance = pre.instantiate_async(&mut *store).await?;
    match entry {
        Entry::Start => {
            let start = instance.get_typed_func::<(), ()>(&mut *store, "_start")?;
            start.call_async(&mut *store, ()).await?;
            Ok(GuestEnd::Exited(0))
        }
        Entry::Invoke {
            func,
            args,
            results,
            initialize,
        } => {
            if initialize {
                let init = instance.get_typed_func::<(), ()>(&mut *store, "_initialize")?;
                init.call_async(&mut *store, ()).await?;
            }
            let f = instance
                .get_func(&mut *store, &func)
                .ok_or_else(|| wasmtime::format_err!("no function `{func}`"))?;
            let mut out = vec![Val::I32(0); results];
            f.call_async(&mut *store, &args, &mut out).await?;
            Ok(GuestEnd::Returned(
                out.iter().filter_map(from_val).collect(),
            ))
        }
    }
}

/// What is needed to say how an error ended a guest.
#[derive(Clone, Copy)]
struct Ending {
    timeout_ms: u128,
    fuel: Option<u64>,
    memory: u64,
}

impl Ending {
    fn of(ctx: &StartContext<'_>) -> Ending {
        Ending {
            timeout_ms: ctx.timeout.as_millis(),
            fuel: ctx.limits.fuel,
            memory: ctx.limits.memory_bytes,
        }
    }

    /// Turns an error that ended a guest into how it ended.
    fn classify(self, e: wasmtime::Error) -> GuestEnd {
        if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return GuestEnd::Exited(exit.0);
        }
        let backtrace = e
            .downcast_ref::<wasmtime::WasmBacktrace>()
            .map(|bt| bt.to_string())
            .filter(|s| !s.trim().is_empty());
        let message = if e.downcast_ref::<TimedOut>().is_some() {
            format!(
                "timeout: the test did not finish within {} ms (raise it with `timeout_ms` in the spec or --timeout)",
                self.timeout_ms
            )
        } else if let Some(hit) = e.downcast_ref::<LimitHit>() {
            hit.to_string()
        } else if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
            match trap {
                wasmtime::Trap::OutOfFuel => format!(
                    "fuel exhausted: the guest used up its fuel limit of {} (limits.fuel)",
                    self.fuel.unwrap_or(0)
                ),
                wasmtime::Trap::StackOverflow => format!("{trap} (stack overflow)"),
                other => other.to_string(),
            }
        } else {
            let text = format!("{e:#}");
            if text.contains("exceeds memory limits") || text.contains("memory limit") {
                format!(
                    "memory limit exceeded: {text} (limits.memory_bytes = {})",
                    self.memory
                )
            } else {
                text
            }
        };
        GuestEnd::Trapped(Trap { message, backtrace })
    }
}
