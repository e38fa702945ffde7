//! wasi-threads on the embedded backend (wasmtime 48 dropped `wasmtime-wasi-threads`).
//!
//! A wasi-threads module imports `wasi`/`thread-spawn: (i32) -> i32` (or the older
//! `thread_spawn`) and one shared memory, exports `wasi_thread_start(tid: i32,
//! arg: i32)`, and uses `wasi_snapshot_preview1` for the rest. This module runs
//! one such *program* per run:
//!
//! - **Threads.** Every wasm thread, `_start` included, is a fresh instance of the
//!   module in its own `Store`, run by `call_async` on its own OS thread (a thread
//!   blocked in `memory.atomic.wait32` blocks its OS thread, so wasm threads can
//!   neither share an OS thread nor run on the test's runtime). The OS threads
//!   drive their futures with `Handle::block_on` on a multi-threaded tokio runtime
//!   (its workers run the timers and I/O). All instances import the program's one
//!   `SharedMemory`.
//! - **WASI.** `WasiP1Ctx` is not `Clone` and the stock linker wants it in the
//!   store's data, so the p1 imports are wrappers around wasmtime-wasi's
//!   generated per-function entry points (`p1::wasi_snapshot_preview1::*`). They
//!   run against the program's one context behind an async mutex (one fd table,
//!   preopens, stdio). Calls that may block for long never take that lock: reads
//!   of stdin (fd 0) and `poll_oneoff` on clocks and stdio run on a private
//!   per-thread context with the same stdio and clocks (stdin reads serialized by
//!   their own lock); `proc_exit` and `sched_yield` need no context.
//! - **Ending.** The first of: `_start` returning (exit 0), `proc_exit` or a trap
//!   in any thread, the deadline, the watchdog, or the embedder dropping the
//!   [`Program`] decides how it ended; then every thread is stopped: spinning ones
//!   by the epoch callback, ones in host calls by dropping their `call_async`
//!   future, ones in `memory.atomic.wait*` by notifying every address of the
//!   shared memory. [`Program::wait`] returns once all threads are gone.
//! - **Limits.** At most [`MAX_LIVE_THREADS`] spawned threads alive at once
//!   (`thread-spawn` returns -1 beyond it). The memory cap clamps the shared
//!   memory's maximum (growing a shared memory never consults a store's
//!   `ResourceLimiter`), so it is counted once for all threads. Fuel, store
//!   limits (tables, instances, non-shared memories) and the epoch deadline are
//!   per thread store.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};
use wasmtime::error::Context as _;
use wasmtime::{
    AsContextMut, Caller, Engine, Extern, ExternType, Func, FuncType, InstancePre, Linker,
    MemoryType, Module, SharedMemory, Store, TypedFunc, UpdateDeadline, ValType,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self as p1, WasiSnapshotPreview1 as _};
use wiggle::GuestMemory;

use super::TimedOut;

/// Cap on the spawned threads of one test alive at once (the main thread is not
/// counted). Past it, `thread-spawn` returns -1, which wasi-libc turns into
/// `EAGAIN` from `pthread_create`.
pub const MAX_LIVE_THREADS: usize = 64;
/// The export a spawned thread runs.
const THREAD_ENTRY: &str = "wasi_thread_start";
/// The names of the spawn import, in module `wasi` (the second is the older one).
const SPAWN_NAMES: [&str; 2] = ["thread-spawn", "thread_spawn"];
/// How long [`Program::wait`] waits for threads to go once the program has ended.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(5);
/// How long the reaper lets threads stop by themselves before waking every
/// atomic waiter, the first time and then again.
const REAP_FIRST: Duration = Duration::from_millis(2);
const REAP_INTERVAL: Duration = Duration::from_millis(10);
const P1: &str = "wasi_snapshot_preview1";

/// Programs of this process not yet wholly gone: their last thread's store is
/// not dropped yet, or the embedder still holds them.
static LIVE_PROGRAMS: AtomicUsize = AtomicUsize::new(0);

/// How many programs are not yet wholly gone (each thread's store holds its
/// program): 0 once every program has ended and all their threads are gone.
pub fn live_programs() -> usize {
    LIVE_PROGRAMS.load(Ordering::Relaxed)
}

/// Why a thread stops once its program has ended (never a program's result:
/// the end was decided before).
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("thread stopped: the program has ended")
    }
}
impl std::error::Error for Stopped {}

/// Why a program ended: the embedder dropped it (no one sees this result).
#[derive(Debug)]
struct Killed;

impl std::fmt::Display for Killed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped by the harness")
    }
}
impl std::error::Error for Killed {}

/// A check run at every epoch tick of every thread; `Err` ends the program.
pub(super) type EpochCheck = Box<dyn Fn() -> wasmtime::Result<()> + Send + Sync>;

/// A program's WASI contexts.
pub(super) struct Wasi {
    /// The program's context (fd table, preopens, args, env, stdio), shared by
    /// all its threads.
    pub shared: WasiP1Ctx,
    /// Builds a thread's private context, used for calls that may block: reads
    /// of fd 0 and `poll_oneoff` on clocks and fds 0-2. It must have the same
    /// stdin (a shared one), stdout, stderr and clocks as `shared`; it needs no
    /// preopens. Called at most once per thread, on first use.
    pub private: Box<dyn Fn() -> WasiP1Ctx + Send + Sync>,
}

/// What a program runs with.
pub(super) struct Setup {
    pub wasi: Wasi,
    /// Limits of each thread's store (tables, instances, non-shared memories).
    pub store_limits: super::GuestLimiter,
    /// Cap on the shared memory, in bytes: its maximum is clamped to it.
    pub memory_bytes: u64,
    /// Cap on spawned threads alive at once.
    pub max_threads: usize,
    /// Fuel of each thread's store: every thread gets the whole amount, since
    /// wasmtime meters fuel per store.
    pub fuel: Option<u64>,
    /// When the program is stopped with [`TimedOut`].
    pub deadline: Arc<crate::run::deadline::Deadline>,
    /// Run at each epoch tick by the thread that sees it (e.g. the watchdog).
    pub epoch_check: Option<EpochCheck>,
}

/// The store data of one thread.
pub(super) struct ThreadState {
    program: Arc<Shared>,
    /// The thread's private WASI context, made on first use.
    private_wasi: Option<WasiP1Ctx>,
    limits: super::GuestLimiter,
}

impl ThreadState {
    fn private_wasi(&mut self) -> &mut WasiP1Ctx {
        let program = &self.program;
        self.private_wasi
            .get_or_insert_with(|| (program.private_factory)())
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Phase {
    /// The program has ended: threads must stop.
    stopping: bool,
    /// OS threads running wasm (whose stores are not yet dropped).
    live: usize,
    /// Of those, the ones spawned by `thread-spawn`.
    spawned_live: usize,
}

/// What all threads of a program share.
struct Shared {
    engine: Engine,
    rt: Handle,
    memory: SharedMemory,
    pre: OnceLock<InstancePre<ThreadState>>,
    wasi: tokio::sync::Mutex<WasiP1Ctx>,
    private_factory: Box<dyn Fn() -> WasiP1Ctx + Send + Sync>,
    /// Serializes reads of stdin through private contexts (wasmtime-wasi's
    /// stdin streams trap on concurrent reads).
    stdin: tokio::sync::Mutex<()>,
    /// Off once the guest closes or renumbers fds 0-2 or changes their flags:
    /// from then on every call goes to the shared context.
    route_stdio: AtomicBool,
    store_limits: super::GuestLimiter,
    max_threads: usize,
    fuel: Option<u64>,
    deadline: Arc<crate::run::deadline::Deadline>,
    epoch_check: Option<EpochCheck>,
    has_entry: bool,
    next_tid: AtomicI32,
    stopping: AtomicBool,
    phase: watch::Sender<Phase>,
    end: Mutex<Option<wasmtime::Result<()>>>,
}

/// A running program. Dropping it stops all its threads (in the background).
pub(super) struct Program {
    shared: Arc<Shared>,
}

impl Drop for Program {
    fn drop(&mut self) {
        self.shared.finish(Err(wasmtime::Error::new(Killed)));
    }
}

enum Kind {
    Main(Store<ThreadState>),
    Spawned {
        arg: i32,
        ready: oneshot::Sender<wasmtime::Result<()>>,
    },
}

/// The threads host of one engine: the linker every program clones (to add
/// its memory), and the types of the functions it defines, to check a module's
/// imports before any run.
pub(super) struct Host {
    linker: Linker<ThreadState>,
    functions: Vec<(String, String, FuncType)>,
}

impl Host {
    pub(super) fn new(engine: &Engine) -> wasmtime::Result<Host> {
        Ok(Host {
            linker: linker(engine)?,
            functions: provided_functions(engine)?,
        })
    }

    pub(super) fn linker(&self) -> &Linker<ThreadState> {
        &self.linker
    }

    /// Checks that a compiled module can run here: one imported memory,
    /// shared; only function imports this host defines, with their types;
    /// `_start: () -> ()`.
    pub(super) fn check_module(&self, module: &Module) -> Result<(), String> {
        memory_import(module)?;
        let problems: Vec<String> = module
            .imports()
            .filter_map(|i| self.import_problem(i.module(), i.name(), &i.ty()))
            .collect();
        if !problems.is_empty() {
            return Err(format!(
                "cannot link: {}\nhint: wasi-threads modules get `wasi`::`thread-spawn` \
                 and wasi_snapshot_preview1, and nothing else",
                problems.join("; ")
            ));
        }
        match module.get_export("_start") {
            Some(ExternType::Func(ty)) if ty.params().len() == 0 && ty.results().len() == 0 => {
                Ok(())
            }
            _ => Err("a wasi-threads module must export `_start: () -> ()`".into()),
        }
    }

    /// What is wrong with a function import, if anything.
    fn import_problem(&self, module: &str, name: &str, ty: &ExternType) -> Option<String> {
        let ExternType::Func(ty) = ty else {
            return None;
        };
        let provided = self
            .functions
            .iter()
            .find(|(m, n, _)| m == module && n == name);
        match provided {
            None => Some(format!("unknown import {module}::{name}")),
            Some((_, _, want)) if !ty.matches(want) => Some(format!(
                "import {module}::{name} has type {}, but the host's is {}",
                signature(ty),
                signature(want)
            )),
            Some(_) => None,
        }
    }
}

/// A function type as WAT writes it: `(func (param i32) (result i32))`.
fn signature(ty: &FuncType) -> String {
    let list = |kind: &str, types: Vec<String>| {
        if types.is_empty() {
            String::new()
        } else {
            format!(" ({kind} {})", types.join(" "))
        }
    };
    let params = list("param", ty.params().map(|t| t.to_string()).collect());
    let results = list("result", ty.results().map(|t| t.to_string()).collect());
    format!("(func{params}{results})")
}

/// The types of the functions [`linker`] defines: wasmtime-wasi's p1 ones (as
/// its own linker has them) and `thread-spawn: (i32) -> i32`.
fn provided_functions(engine: &Engine) -> wasmtime::Result<Vec<(String, String, FuncType)>> {
    let mut reference: Linker<WasiP1Ctx> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut reference, |ctx| ctx)?;
    let mut store = Store::new(engine, wasmtime_wasi::WasiCtxBuilder::new().build_p1());
    let funcs: Vec<(String, Func)> = reference
        .iter(&mut store)
        .filter_map(|(module, name, item)| match item {
            Extern::Func(f) if module == P1 => Some((name.to_string(), f)),
            _ => None,
        })
        .collect();
    let mut functions: Vec<(String, String, FuncType)> = funcs
        .into_iter()
        .map(|(name, f)| (P1.to_string(), name, f.ty(&store)))
        .collect();
    for name in SPAWN_NAMES {
        let ty = FuncType::new(engine, [ValType::I32], [ValType::I32]);
        functions.push(("wasi".into(), name.into(), ty));
    }
    Ok(functions)
}

/// The module's one imported memory, which must be shared.
fn memory_import(module: &Module) -> Result<(String, String, MemoryType), String> {
    let mut memories = module.imports().filter_map(|i| match i.ty() {
        ExternType::Memory(m) => Some((i.module().to_string(), i.name().to_string(), m)),
        _ => None,
    });
    match (memories.next(), memories.next()) {
        (Some((module, name, ty)), None) if ty.is_shared() => Ok((module, name, ty)),
        _ => Err("a wasi-threads module must import exactly one memory, a shared one".into()),
    }
}

/// Whether the module exports `wasi_thread_start: (i32, i32) -> ()`.
fn has_thread_entry(module: &Module) -> bool {
    match module.get_export(THREAD_ENTRY) {
        Some(ExternType::Func(f)) => {
            f.params().len() == 2 && f.params().all(|p| p.is_i32()) && f.results().len() == 0
        }
        _ => false,
    }
}

impl Program {
    /// Starts `module`'s `_start` on a new thread. `linker` comes from [`Host::linker`];
    /// `rt` is a multi-threaded runtime whose workers drive timers and I/O.
    pub(super) fn start(
        linker: &Linker<ThreadState>,
        module: &Module,
        setup: Setup,
        rt: Handle,
    ) -> wasmtime::Result<Program> {
        let (mem_module, mem_name, ty) = memory_import(module).map_err(wasmtime::Error::msg)?;
        let memory = SharedMemory::new(module.engine(), clamp(&ty, setup.memory_bytes)?)
            .context("cannot create the shared memory")?;
        let shared = Shared::new(module, memory.clone(), setup, rt);
        // From here on, an error drops `program`, which stops what was started.
        let program = Program {
            shared: Arc::clone(&shared),
        };
        let store = shared.new_store()?;
        let mut linker = linker.clone();
        linker.define(&store, &mem_module, &mem_name, memory)?;
        let pre = linker.instantiate_pre(module).context("cannot link")?;
        let _ = shared.pre.set(pre);
        shared.watch_deadline();
        shared.phase.send_modify(|p| p.live += 1);
        if let Err(e) = shared.start_thread(0, Kind::Main(store)) {
            shared.phase.send_modify(|p| p.live -= 1);
            return Err(e);
        }
        Ok(program)
    }

    /// Waits until the program has ended and its threads are gone (or
    /// `TEARDOWN_LIMIT` has passed: they are then stopped in the background).
    /// `Ok` = `_start` returned; `Err` holds `wasmtime_wasi::I32Exit`
    /// (`proc_exit` in any thread), [`TimedOut`], a `wasmtime::Trap` (with its
    /// `WasmBacktrace`), a watchdog `LimitHit`, or another host error.
    pub(super) async fn wait(&self) -> wasmtime::Result<()> {
        let mut rx = self.shared.phase.subscribe();
        let _ = rx.wait_for(|p| p.stopping).await;
        let _ = tokio::time::timeout(TEARDOWN_LIMIT, rx.wait_for(|p| p.live == 0)).await;
        lock(&self.shared.end)
            .take()
            .unwrap_or_else(|| Err(wasmtime::format_err!("the program's end was already taken")))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shared memory's type with its maximum clamped to the memory cap.
fn clamp(ty: &MemoryType, cap_bytes: u64) -> wasmtime::Result<MemoryType> {
    let cap_pages = cap_bytes / ty.page_size();
    if ty.minimum() > cap_pages {
        wasmtime::bail!(
            "the shared memory's minimum of {} pages ({} bytes) is more than the memory \
             limit of {cap_bytes} bytes",
            ty.minimum(),
            ty.minimum().saturating_mul(ty.page_size())
        );
    }
    let max = ty.maximum().map_or(cap_pages, |m| m.min(cap_pages));
    MemoryType::builder()
        .min(ty.minimum())
        .max(Some(max))
        .shared(true)
        .memory64(ty.is_64())
        .page_size_log2(ty.page_size_log2())
        .build()
}

impl Drop for Shared {
    fn drop(&mut self) {
        LIVE_PROGRAMS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Shared {
    fn new(module: &Module, memory: SharedMemory, setup: Setup, rt: Handle) -> Arc<Shared> {
        LIVE_PROGRAMS.fetch_add(1, Ordering::Relaxed);
        Arc::new(Shared {
            engine: module.engine().clone(),
            rt,
            memory,
            pre: OnceLock::new(),
            wasi: tokio::sync::Mutex::new(setup.wasi.shared),
            private_factory: setup.wasi.private,
            stdin: tokio::sync::Mutex::new(()),
            route_stdio: AtomicBool::new(true),
            store_limits: setup.store_limits,
            max_threads: setup.max_threads,
            fuel: setup.fuel,
            deadline: setup.deadline,
            epoch_check: setup.epoch_check,
            has_entry: has_thread_entry(module),
            next_tid: AtomicI32::new(0),
            stopping: AtomicBool::new(false),
            phase: watch::channel(Phase::default()).0,
            end: Mutex::new(None),
        })
    }

    /// A thread's store: its own limits and fuel, and the epoch callback that
    /// stops it (program ended, deadline, watchdog).
    fn new_store(self: &Arc<Self>) -> wasmtime::Result<Store<ThreadState>> {
        let state = ThreadState {
            program: Arc::clone(self),
            private_wasi: None,
            limits: self.store_limits.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel)?;
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            let p = &ctx.data().program;
            p.running()?;
            if p.deadline.expired() {
                return Err(wasmtime::Error::new(TimedOut));
            }
            if let Some(check) = &p.epoch_check {
                check()?;
            }
            // Yield so that this thread's `block_on` sees a stop promptly.
            Ok(UpdateDeadline::Yield(1))
        });
        Ok(store)
    }

    /// Ends the program with [`TimedOut`] at the deadline, even if no thread
    /// runs wasm then (all blocked in host calls or atomic waits).
    fn watch_deadline(self: &Arc<Self>) {
        let s = Arc::clone(self);
        let mut rx = self.phase.subscribe();
        let deadline = Arc::clone(&self.deadline);
        self.rt.spawn(async move {
            let expired = async {
                loop {
                    tokio::time::sleep_until(deadline.at().into()).await;
                    if deadline.expired() {
                        break;
                    }
                }
            };
            tokio::select! {
                _ = expired => {
                    s.finish(Err(wasmtime::Error::new(TimedOut)));
                }
                _ = rx.wait_for(|p| p.stopping) => {}
            }
        });
    }

    fn pre(&self) -> wasmtime::Result<InstancePre<ThreadState>> {
        self.pre
            .get()
            .cloned()
            .ok_or_else(|| wasmtime::format_err!("internal error: thread started before linking"))
    }

    fn running(&self) -> wasmtime::Result<()> {
        if self.stopping.load(Ordering::Acquire) {
            Err(wasmtime::Error::new(Stopped))
        } else {
            Ok(())
        }
    }

    /// Records how the program ended (the first call wins) and stops every thread.
    fn finish(self: &Arc<Self>, result: wasmtime::Result<()>) {
        lock(&self.end).get_or_insert(result);
        if self.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        // Every store's epoch deadline is now reached: a thread in wasm runs its
        // epoch callback at its next function entry or loop header, and stops.
        self.engine.increment_epoch();
        // Threads in a host call: their `block_on` drops the call.
        self.phase.send_modify(|p| p.stopping = true);
        // Threads in `memory.atomic.wait*`: woken by the reaper.
        let s = Arc::clone(self);
        self.rt.spawn(async move { s.reap().await });
    }

    /// Until all threads are gone: every `REAP_INTERVAL`, wake every waiter of
    /// the shared memory. The host cannot know which addresses are waited on
    /// (wasmtime's parking spot is private, keyed by host address, and ignores
    /// `Thread::unpark`), so it notifies each 4-byte-aligned address: about
    /// 5 ms per MiB of memory, and only when a thread outlives the end by 2 ms.
    async fn reap(self: Arc<Self>) {
        let mut rx = self.phase.subscribe();
        let start = Instant::now();
        let mut interval = REAP_FIRST;
        loop {
            let wait = std::mem::replace(&mut interval, REAP_INTERVAL);
            if tokio::time::timeout(wait, rx.wait_for(|p| p.live == 0))
                .await
                .is_ok()
            {
                return;
            }
            if start.elapsed() > TEARDOWN_LIMIT * 12 {
                eprintln!(
                    "wasi-conform: {} wasi-threads thread(s) would not stop; giving up on them",
                    rx.borrow().live
                );
                return;
            }
            let s = Arc::clone(&self);
            let _ = tokio::task::spawn_blocking(move || s.wake_all_waiters()).await;
        }
    }

    /// Notifies every aligned address of the shared memory; stops early once
    /// no thread is left (checked every MiB).
    fn wake_all_waiters(&self) {
        let size = self.memory.data_size() as u64;
        let mut addr = 0u64;
        while addr + 4 <= size {
            let _ = self.memory.atomic_notify(addr, u32::MAX);
            addr += 4;
            if addr.is_multiple_of(1 << 20) && self.phase.borrow().live == 0 {
                break;
            }
        }
    }

    /// Starts an OS thread for wasm thread `tid`. The caller has counted it live.
    fn start_thread(self: &Arc<Self>, tid: i32, kind: Kind) -> wasmtime::Result<()> {
        let s = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("wasi-thread-{tid}"))
            .spawn(move || s.thread_main(tid, kind))
            .context("cannot start an OS thread")?;
        Ok(())
    }

    /// The body of a wasm thread's OS thread.
    fn thread_main(self: Arc<Self>, tid: i32, kind: Kind) {
        let spawned = matches!(kind, Kind::Spawned { .. });
        // Its waiting for a CPU counts too (see `run::deadline`).
        self.deadline.watch_this_thread();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.rt.block_on(Arc::clone(&self).run_thread(tid, kind))
        }))
        .unwrap_or_else(|_| Err(wasmtime::format_err!("host panic in wasi-thread-{tid}")));
        // The store is dropped: this thread no longer counts.
        self.phase.send_modify(|p| {
            p.live -= 1;
            if spawned {
                p.spawned_live -= 1;
            }
        });
        match result {
            Ok(()) if !spawned => self.finish(Ok(())),
            // A spawned thread returning ends only itself.
            Ok(()) => {}
            Err(e) => self.finish(Err(e)),
        }
    }

    /// Runs a thread until it ends or the program stops it. Its store is
    /// dropped before this returns.
    async fn run_thread(self: Arc<Self>, tid: i32, kind: Kind) -> wasmtime::Result<()> {
        let mut rx = self.phase.subscribe();
        let work = async {
            match kind {
                Kind::Main(store) => self.run_main(store).await,
                Kind::Spawned { arg, ready } => self.run_spawned(tid, arg, ready).await,
            }
        };
        tokio::select! {
            biased;
            _ = rx.wait_for(|p| p.stopping) => Err(wasmtime::Error::new(Stopped)),
            r = work => r,
        }
    }

    async fn run_main(&self, mut store: Store<ThreadState>) -> wasmtime::Result<()> {
        let instance = self.pre()?.instantiate_async(&mut store).await?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call_async(&mut store, ()).await
    }

    /// Instantiates the module for a spawned thread, tells the spawning thread
    /// whether that worked (a failure ends only the spawn: -1), then runs
    /// `wasi_thread_start(tid, arg)`.
    async fn run_spawned(
        self: &Arc<Self>,
        tid: i32,
        arg: i32,
        ready: oneshot::Sender<wasmtime::Result<()>>,
    ) -> wasmtime::Result<()> {
        let (mut store, entry) = match self.instantiate_thread().await {
            Ok(started) => started,
            Err(e) => {
                let _ = ready.send(Err(e));
                return Ok(());
            }
        };
        if ready.send(Ok(())).is_err() {
            return Ok(()); // the spawning thread was stopped
        }
        entry.call_async(&mut store, (tid, arg)).await
    }

    async fn instantiate_thread(
        self: &Arc<Self>,
    ) -> wasmtime::Result<(Store<ThreadState>, TypedFunc<(i32, i32), ()>)> {
        let mut store = self.new_store()?;
        let instance = self.pre()?.instantiate_async(&mut store).await?;
        let entry = instance.get_typed_func::<(i32, i32), ()>(&mut store, THREAD_ENTRY)?;
        Ok((store, entry))
    }

    /// Counts a new spawned thread live if the program runs and is under its cap.
    fn admit(&self) -> bool {
        let mut admitted = false;
        self.phase.send_if_modified(|p| {
            if p.stopping || p.spawned_live >= self.max_threads {
                return false;
            }
            p.live += 1;
            p.spawned_live += 1;
            admitted = true;
            true
        });
        admitted
    }

    /// Undoes [`Shared::admit`] for a thread that did not start.
    fn release(&self) {
        self.phase.send_modify(|p| {
            p.live -= 1;
            p.spawned_live -= 1;
        });
    }

    /// The next thread id, 1..=0x1FFFFFFF; `None` once they are used up.
    fn next_tid(&self) -> Option<i32> {
        self.next_tid
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                (v < 0x1fff_ffff).then_some(v + 1)
            })
            .ok()
            .map(|v| v + 1)
    }

    /// `thread-spawn`: a new thread id, or -1 if the cap is reached, the module
    /// has no `wasi_thread_start (i32, i32)`, or the thread could not start.
    async fn spawn(self: &Arc<Self>, arg: i32) -> wasmtime::Result<i32> {
        self.running()?;
        if !self.has_entry {
            return Ok(-1);
        }
        if !self.admit() {
            self.running()?;
            return Ok(-1);
        }
        let Some(tid) = self.next_tid() else {
            self.release();
            return Ok(-1);
        };
        let (ready, started) = oneshot::channel();
        if self
            .start_thread(tid, Kind::Spawned { arg, ready })
            .is_err()
        {
            self.release();
            return Ok(-1);
        }
        match started.await {
            Ok(Ok(())) => Ok(tid),
            _ => {
                self.running()?;
                Ok(-1)
            }
        }
    }
}

/// Reads `N` bytes of guest memory at `at`, if in bounds.
fn read_bytes<const N: usize>(mem: &SharedMemory, at: u64) -> Option<[u8; N]> {
    let data = mem.data();
    let start = usize::try_from(at).ok()?;
    let cells = data.get(start..start.checked_add(N)?)?;
    let mut out = [0u8; N];
    for (o, c) in out.iter_mut().zip(cells) {
        // SAFETY: a racy read of guest memory, as any host call does; the
        // bytes are only inspected to route the call.
        *o = unsafe { std::ptr::read_volatile(c.get()) };
    }
    Some(out)
}

/// Whether `poll_oneoff`'s subscriptions only concern clocks and fds 0-2, and
/// whether one reads fd 0. `None`: something else (or unreadable).
fn poll_is_stdio(mem: &SharedMemory, subs: i32, n: i32) -> Option<bool> {
    let (subs, n) = (u64::from(subs as u32), u64::from(n as u32));
    if n == 0 || n > 64 {
        return None;
    }
    let mut reads_stdin = false;
    for i in 0..n {
        let base = subs + 48 * i;
        let [tag] = read_bytes::<1>(mem, base + 8)?;
        match tag {
            0 => {}
            1 | 2 => {
                let fd = u32::from_le_bytes(read_bytes::<4>(mem, base + 16)?);
                if fd > 2 {
                    return None;
                }
                reads_stdin |= tag == 1 && fd == 0;
            }
            _ => return None,
        }
    }
    Some(reads_stdin)
}

macro_rules! maybe_await {
    (async, $e:expr) => {
        $e.await
    };
    (sync, $e:expr) => {
        $e
    };
}

/// Defines `add_shared_p1`, which adds the p1 functions that run against the
/// program's shared context.
macro_rules! shared_p1 {
    ($($kind:tt $name:ident ($($a:ident : $t:ty),*);)*) => {
        fn add_shared_p1(linker: &mut Linker<ThreadState>) -> wasmtime::Result<()> {
            $(linker.func_wrap_async(
                P1,
                stringify!($name),
                |mut caller: Caller<'_, ThreadState>, ($($a,)*): ($($t,)*)| {
                    Box::new(async move {
                        let program = Arc::clone(&caller.data().program);
                        let fuel = caller.as_context_mut().hostcall_fuel();
                        program.running()?;
                        let memory = program.memory.clone();
                        let mut mem = GuestMemory::Shared(memory.data());
                        let mut ctx = program.wasi.lock().await;
                        ctx.set_hostcall_fuel(fuel);
                        let r = maybe_await!($kind, p1::$name(&mut *ctx, &mut mem, $($a),*))?;
                        Ok(r)
                    })
                },
            )?;)*
            Ok(())
        }
    };
}

shared_p1!(
    sync args_get(a0: i32, a1: i32);
    sync args_sizes_get(a0: i32, a1: i32);
    sync environ_get(a0: i32, a1: i32);
    sync environ_sizes_get(a0: i32, a1: i32);
    sync clock_res_get(a0: i32, a1: i32);
    sync clock_time_get(a0: i32, a1: i64, a2: i32);
    async fd_advise(a0: i32, a1: i64, a2: i64, a3: i32);
    sync fd_allocate(a0: i32, a1: i64, a2: i64);
    async fd_datasync(a0: i32);
    async fd_fdstat_get(a0: i32, a1: i32);
    sync fd_fdstat_set_rights(a0: i32, a1: i64, a2: i64);
    async fd_filestat_get(a0: i32, a1: i32);
    async fd_filestat_set_size(a0: i32, a1: i64);
    async fd_filestat_set_times(a0: i32, a1: i64, a2: i64, a3: i32);
    async fd_pread(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32);
    sync fd_prestat_get(a0: i32, a1: i32);
    sync fd_prestat_dir_name(a0: i32, a1: i32, a2: i32);
    async fd_pwrite(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32);
    async fd_readdir(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32);
    async fd_seek(a0: i32, a1: i64, a2: i32, a3: i32);
    async fd_sync(a0: i32);
    sync fd_tell(a0: i32, a1: i32);
    async fd_write(a0: i32, a1: i32, a2: i32, a3: i32);
    async path_create_directory(a0: i32, a1: i32, a2: i32);
    async path_filestat_get(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32);
    async path_filestat_set_times(a0: i32, a1: i32, a2: i32, a3: i32, a4: i64, a5: i64, a6: i32);
    async path_link(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, a6: i32);
    async path_open(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i64, a6: i64, a7: i32, a8: i32);
    async path_readlink(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32);
    async path_remove_directory(a0: i32, a1: i32, a2: i32);
    async path_rename(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32);
    async path_symlink(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32);
    async path_unlink_file(a0: i32, a1: i32, a2: i32);
    sync proc_raise(a0: i32);
    sync random_get(a0: i32, a1: i32);
    sync sock_accept(a0: i32, a1: i32, a2: i32);
    sync sock_recv(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32);
    sync sock_send(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32);
    sync sock_shutdown(a0: i32, a1: i32);
);

/// Runs a p1 call on the thread's private context (`private`, taking the stdin
/// lock too with `stdin`) or on the program's shared one.
async fn routed<F, R>(
    caller: &mut Caller<'_, ThreadState>,
    private: bool,
    stdin: bool,
    call: F,
) -> wasmtime::Result<R>
where
    F: AsyncFnOnce(&mut WasiP1Ctx, &mut GuestMemory<'_>) -> wasmtime::Result<R>,
{
    let program = Arc::clone(&caller.data().program);
    let fuel = caller.as_context_mut().hostcall_fuel();
    program.running()?;
    let memory = program.memory.clone();
    let mut mem = GuestMemory::Shared(memory.data());
    if private {
        let _stdin = if stdin {
            Some(program.stdin.lock().await)
        } else {
            None
        };
        let ctx = caller.data_mut().private_wasi();
        ctx.set_hostcall_fuel(fuel);
        call(ctx, &mut mem).await
    } else {
        let mut ctx = program.wasi.lock().await;
        ctx.set_hostcall_fuel(fuel);
        call(&mut ctx, &mut mem).await
    }
}

/// Ends the private stdio route if `fd` is 0, 1 or 2.
fn touches_stdio(caller: &Caller<'_, ThreadState>, fd: i32) {
    if (0..=2).contains(&fd) {
        let program = &caller.data().program;
        program.route_stdio.store(false, Ordering::Release);
    }
}

/// A linker with wasi-threads' `thread-spawn` and wasi_snapshot_preview1 for
/// [`Program`]s (one per engine; each program clones it to add its memory).
fn linker(engine: &Engine) -> wasmtime::Result<Linker<ThreadState>> {
    let mut l: Linker<ThreadState> = Linker::new(engine);
    for name in SPAWN_NAMES {
        l.func_wrap_async(
            "wasi",
            name,
            |caller: Caller<'_, ThreadState>, (arg,): (i32,)| {
                Box::new(async move {
                    let program = Arc::clone(&caller.data().program);
                    program.spawn(arg).await
                })
            },
        )?;
    }
    add_shared_p1(&mut l)?;
    add_stdio_changes(&mut l)?;
    add_blocking(&mut l)?;
    add_contextless(&mut l)?;
    Ok(l)
}

/// Calls that change what fds 0-2 are: they end the private stdio route.
fn add_stdio_changes(l: &mut Linker<ThreadState>) -> wasmtime::Result<()> {
    l.func_wrap_async(
        P1,
        "fd_close",
        |mut caller: Caller<'_, ThreadState>, (fd,): (i32,)| {
            Box::new(async move {
                touches_stdio(&caller, fd);
                routed(&mut caller, false, false, async |ctx, mem| {
                    p1::fd_close(ctx, mem, fd).await
                })
                .await
            })
        },
    )?;
    l.func_wrap_async(
        P1,
        "fd_renumber",
        |mut caller: Caller<'_, ThreadState>, (from, to): (i32, i32)| {
            Box::new(async move {
                touches_stdio(&caller, from);
                touches_stdio(&caller, to);
                routed(&mut caller, false, false, async |ctx, mem| {
                    p1::fd_renumber(ctx, mem, from, to).await
                })
                .await
            })
        },
    )?;
    l.func_wrap_async(
        P1,
        "fd_fdstat_set_flags",
        |mut caller: Caller<'_, ThreadState>, (fd, flags): (i32, i32)| {
            Box::new(async move {
                touches_stdio(&caller, fd);
                routed(&mut caller, false, false, async |ctx, mem| {
                    p1::fd_fdstat_set_flags(ctx, mem, fd, flags)
                })
                .await
            })
        },
    )?;
    Ok(())
}

/// Calls that may block for long: on stdio, they run on the private context.
fn add_blocking(l: &mut Linker<ThreadState>) -> wasmtime::Result<()> {
    l.func_wrap_async(
        P1,
        "fd_read",
        |mut caller: Caller<'_, ThreadState>, (fd, iovs, n, out): (i32, i32, i32, i32)| {
            Box::new(async move {
                let program = &caller.data().program;
                let stdin = fd == 0 && program.route_stdio.load(Ordering::Acquire);
                routed(&mut caller, stdin, stdin, async |ctx, mem| {
                    p1::fd_read(ctx, mem, fd, iovs, n, out).await
                })
                .await
            })
        },
    )?;
    l.func_wrap_async(
        P1,
        "poll_oneoff",
        |mut caller: Caller<'_, ThreadState>, (subs, events, n, out): (i32, i32, i32, i32)| {
            Box::new(async move {
                let program = Arc::clone(&caller.data().program);
                let route = if program.route_stdio.load(Ordering::Acquire) {
                    poll_is_stdio(&program.memory, subs, n)
                } else {
                    None
                };
                let (private, stdin) = (route.is_some(), route == Some(true));
                routed(&mut caller, private, stdin, async |ctx, mem| {
                    p1::poll_oneoff(ctx, mem, subs, events, n, out).await
                })
                .await
            })
        },
    )?;
    Ok(())
}

/// Calls that need no context.
fn add_contextless(l: &mut Linker<ThreadState>) -> wasmtime::Result<()> {
    l.func_wrap(
        P1,
        "proc_exit",
        |_: Caller<'_, ThreadState>, status: i32| -> wasmtime::Result<()> {
            // The same check as wasmtime-wasi's p1 `proc_exit`.
            if !(0..126).contains(&status) {
                wasmtime::bail!("exit with invalid exit status outside of [0..126)");
            }
            Err(wasmtime_wasi::I32Exit(status).into())
        },
    )?;
    l.func_wrap_async(
        P1,
        "sched_yield",
        |caller: Caller<'_, ThreadState>, (): ()| {
            Box::new(async move {
                caller.data().program.running()?;
                tokio::task::yield_now().await;
                Ok(0i32)
            })
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::Config;

    fn engine() -> Engine {
        let mut config = Config::new();
        config.wasm_threads(true).shared_memory(true);
        config.epoch_interruption(true);
        Engine::new(&config).unwrap()
    }

    #[test]
    fn the_linker_defines_every_function_it_declares_with_its_type() {
        let engine = engine();
        let host = Host::new(&engine).unwrap();
        assert!(host.functions.len() >= 47, "{}", host.functions.len());
        let mut wat = String::from("(module\n");
        for (module, name, ty) in &host.functions {
            let ty = signature(ty);
            wat.push_str(&format!("  (import \"{module}\" \"{name}\" {ty})\n"));
        }
        wat.push(')');
        let module = Module::new(&engine, &wat).unwrap();
        host.linker().instantiate_pre(&module).unwrap();
    }

    #[test]
    fn checks_the_imports_of_wasi_threads_modules() {
        let engine = engine();
        let host = Host::new(&engine).unwrap();
        let check = |wat: &str| host.check_module(&Module::new(&engine, wat).unwrap());
        let ok = r#"(module (import "env" "memory" (memory 1 1 shared))
            (import "wasi" "thread-spawn" (func (param i32) (result i32)))
            (func (export "_start")))"#;
        check(ok).unwrap();
        let unshared = r#"(module (import "env" "memory" (memory 1 1))
            (func (export "_start")))"#;
        let e = check(unshared).unwrap_err();
        assert!(e.contains("a shared one"), "{e}");
        let foreign = r#"(module (import "env" "memory" (memory 1 1 shared))
            (import "env" "f" (func)) (func (export "_start")))"#;
        let e = check(foreign).unwrap_err();
        assert!(e.contains("unknown import env::f"), "{e}");
        let mistyped = r#"(module (import "env" "memory" (memory 1 1 shared))
            (import "wasi_snapshot_preview1" "proc_exit" (func (param i64)))
            (func (export "_start")))"#;
        let e = check(mistyped).unwrap_err();
        assert!(e.contains("proc_exit has type"), "{e}");
        let no_start = r#"(module (import "env" "memory" (memory 1 1 shared)))"#;
        let e = check(no_start).unwrap_err();
        assert!(e.contains("_start"), "{e}");
    }

    /// This process's OS threads: how many have each name (cut to 15 bytes).
    fn os_threads() -> std::collections::BTreeMap<String, usize> {
        let mut names = std::collections::BTreeMap::new();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return names;
        };
        for task in tasks.filter_map(Result::ok) {
            if let Ok(name) = std::fs::read_to_string(task.path().join("comm")) {
                *names.entry(name.trim_end().to_string()).or_default() += 1;
            }
        }
        names
    }

    /// OS threads of this process running wasm threads.
    fn wasm_threads() -> usize {
        os_threads()
            .iter()
            .filter(|(name, _)| name.starts_with("wasi-thread-"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Waits until no program and no wasm thread is left (at most 60 s, a hang
    /// guard: the asserts after it fail if any is left); how long.
    fn settle() -> Duration {
        let start = Instant::now();
        while (live_programs() > 0 || wasm_threads() > 0)
            && start.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        start.elapsed()
    }

    /// Runs the threads suite and the hostile `thread-*` tests 20 times in one
    /// process, two at a time: each passes every time, and then no program,
    /// store or wasm thread is left, and the process has no more OS threads
    /// than after a first round but for the threads runtime's idle blocking
    /// pool. Run alone:
    /// `cargo test --lib threads_leave_nothing_behind -- --ignored --nocapture`
    #[test]
    #[ignore = "slow: 20 rounds of the threaded suite tests"]
    fn threads_leave_nothing_behind() {
        use crate::discover::{Suite, TestCase};
        let dirs = ["suites/threads".into(), "suites/hostile".into()];
        let suites = crate::discover::discover(&dirs).unwrap();
        let tests: Vec<(&Suite, &TestCase)> = suites
            .iter()
            .flat_map(|s| s.tests.iter().map(move |t| (s, t)))
            .filter(|(s, t)| s.path.ends_with("threads") || t.name.starts_with("thread-"))
            .collect();
        assert!(tests.len() >= 15, "{} tests", tests.len());
        let mut options = crate::HarnessOptions::default();
        options.compile.cache_dir = None;
        let harness = crate::Harness::new(options).unwrap();
        let round = |n: usize| {
            std::thread::scope(|scope| {
                for half in tests.chunks(tests.len().div_ceil(2)) {
                    let harness = &harness;
                    scope.spawn(move || {
                        for (suite, test) in half {
                            let o = harness.run_test(suite, test);
                            assert!(
                                o.failures.is_empty(),
                                "round {n}: {}: {:?}",
                                test.name,
                                o.failures
                            );
                        }
                    });
                }
            });
        };
        round(0);
        settle();
        let before = os_threads();
        assert!(!before.is_empty(), "/proc/self/task cannot be read");
        let start = Instant::now();
        for n in 1..=20 {
            round(n);
        }
        let elapsed = start.elapsed();
        let settled = settle();
        let after = os_threads();
        eprintln!(
            "{} tests x 20 in {elapsed:?}, the last threads gone {settled:?} later; \
             OS threads by name before: {before:?}; after: {after:?}",
            tests.len()
        );
        assert_eq!(live_programs(), 0, "programs left");
        assert_eq!(wasm_threads(), 0, "wasm threads left");
        let count = |threads: &std::collections::BTreeMap<String, usize>| -> usize {
            threads.values().sum()
        };
        assert!(count(&after) <= count(&before) + super::super::THREADS_BLOCKING_THREADS);
    }

    #[test]
    fn the_memory_cap_clamps_the_maximum() {
        let ty = MemoryType::shared(1, 16384);
        let clamped = clamp(&ty, 2 << 20).unwrap();
        assert_eq!(clamped.maximum(), Some(32));
        assert!(clamped.is_shared());
        let e = clamp(&MemoryType::shared(64, 64), 2 << 20).unwrap_err();
        assert!(format!("{e}").contains("more than the memory limit"), "{e}");
    }
}
