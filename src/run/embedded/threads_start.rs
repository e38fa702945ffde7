//! Starting a run of a wasi-threads module for a test: its stdin (the one
//! rule that differs from other modules, see [`program_stdin`]), its WASI
//! contexts, the watchdog from its threads' epoch callbacks, and the guest
//! that ends as the [`threads::Program`] does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::{Linker, Module};
use wasmtime_wasi::cli::{AsyncStdinStream, IsTerminal, StdinStream};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use super::threads::{self, ThreadState};
use super::{EPOCH_TICK, Ending, STDIN_PIPE_BYTES, lock, store_limits};
use crate::check::GuestEnd;
use crate::run::StartContext;
use crate::run::guest::{Guest, GuestFuture, StdinSink};
use crate::sandbox::Stdin;
use crate::watchdog::Watchdog;

/// A stdin that several WASI contexts share: a wasi-threads program's shared
/// context and its threads' private ones read the same stream.
#[derive(Clone)]
struct SharedStdin(Arc<dyn StdinStream + Sync>);

impl SharedStdin {
    fn new(stdin: impl StdinStream + Sync + 'static) -> SharedStdin {
        SharedStdin(Arc::new(stdin))
    }
}

impl IsTerminal for SharedStdin {
    fn is_terminal(&self) -> bool {
        self.0.is_terminal()
    }
}

impl StdinStream for SharedStdin {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        self.0.async_stream()
    }
    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::InputStream> {
        self.0.p2_stream()
    }
}

/// A wasi-threads run's stdin.
struct ProgramStdin {
    stdin: SharedStdin,
    /// The end `write` operations write to (operations form).
    sink: Option<StdinSink>,
    /// The unused end of a stdin that stays open until the program ends.
    keep_open: Option<tokio::io::WriteHalf<tokio::io::SimplexStream>>,
}

/// The stdin of a wasi-threads program, for all its threads.
///
/// As for other modules, a run gets the spec's `stdin` (text, file or
/// `inherit`), and in operations form the pipe that `write` operations feed and
/// `wait` closes. But **a wasi-threads program whose spec gives no stdin gets a
/// stdin that stays open, never at EOF, until the program ends**: reads of it
/// block (until the program ends), where other modules get an empty stdin at
/// EOF. Threaded programs park threads in a read of stdin while others work
/// (the official wasi-threads tests `*_wasi_read` do, and fail if that read
/// returns at once). A threaded program that should see an empty stdin at EOF
/// gets one with `"stdin": ""` in its spec.
fn program_stdin(ctx: &StartContext<'_>) -> Result<ProgramStdin, String> {
    if ctx.interactive || ctx.run.stdin.is_none() {
        let (reader, writer) = tokio::io::simplex(STDIN_PIPE_BYTES);
        let stdin = SharedStdin::new(AsyncStdinStream::new(reader));
        let (sink, keep_open) = if ctx.interactive {
            (Some(Box::pin(writer) as StdinSink), None)
        } else {
            (None, Some(writer))
        };
        return Ok(ProgramStdin {
            stdin,
            sink,
            keep_open,
        });
    }
    let stdin = match Stdin::fixed(ctx.run).map_err(|e| e.to_string())? {
        Stdin::Bytes(bytes) => SharedStdin::new(MemoryInputPipe::new(bytes)),
        Stdin::Interactive(reader) => SharedStdin::new(AsyncStdinStream::new(reader)),
        Stdin::Inherited => SharedStdin::new(AsyncStdinStream::new(tokio::io::stdin())),
    };
    Ok(ProgramStdin {
        stdin,
        sink: None,
        keep_open: None,
    })
}

/// A clock shared by a program's WASI contexts (a spec's fixed clocks count
/// their readings: all threads must see one sequence).
struct SharedClock<C>(Arc<C>);

impl<C: HostWallClock + Sync> HostWallClock for SharedClock<C> {
    fn resolution(&self) -> Duration {
        self.0.resolution()
    }
    fn now(&self) -> Duration {
        self.0.now()
    }
}

impl<C: HostMonotonicClock + Sync> HostMonotonicClock for SharedClock<C> {
    fn resolution(&self) -> u64 {
        self.0.resolution()
    }
    fn now(&self) -> u64 {
        self.0.now()
    }
}

/// The WASI contexts of a wasi-threads run: the shared one (what other modules
/// get, with `stdin`) and a maker of the private ones its threads use for
/// blocking calls on stdio (the same stdio and clocks, nothing else).
fn wasi_contexts(ctx: &StartContext<'_>, stdin: SharedStdin) -> Result<threads::Wasi, String> {
    // The placeholder stdin is replaced below, by the one all contexts share.
    let mut shared =
        crate::sandbox::wasi_builder(ctx, Stdin::Bytes(Vec::new())).map_err(|e| e.to_string())?;
    // Threads' calls never block their thread: `poll_oneoff` on one relative
    // clock would be an uninterruptible sleep (see `poll`).
    shared.allow_blocking_current_thread(false);
    crate::sandbox::network(&mut shared, &ctx.spec.proposals);
    let (stdout, stderr) = (ctx.stdout.clone(), ctx.stderr.clone());
    let clocks = ctx.spec.clock.map(|c| {
        (
            Arc::new(crate::sandbox::FixedWallClock::new(c)),
            Arc::new(crate::sandbox::FixedMonotonicClock::new(c)),
        )
    });
    let builder = move |b: &mut WasiCtxBuilder| {
        b.stdin(stdin.clone());
        if let Some((wall, monotonic)) = &clocks {
            b.wall_clock(SharedClock(Arc::clone(wall)));
            b.monotonic_clock(SharedClock(Arc::clone(monotonic)));
        }
    };
    builder(&mut shared);
    let private = move || {
        let mut b = WasiCtxBuilder::new();
        b.stdout(stdout.clone()).stderr(stderr.clone());
        builder(&mut b);
        b.build_p1()
    };
    Ok(threads::Wasi {
        shared: shared.build_p1(),
        private: Box::new(private),
    })
}

/// The watchdog, checked from the epoch callbacks of a program's threads: at
/// most once per epoch tick for the whole program (each thread sees each tick).
fn watchdog_check(watchdog: &Arc<Mutex<Watchdog>>) -> threads::EpochCheck {
    let watchdog = Arc::clone(watchdog);
    let next = Mutex::new(std::time::Instant::now());
    Box::new(move || {
        let now = std::time::Instant::now();
        {
            let mut next = lock(&next);
            if now < *next {
                return Ok(());
            }
            *next = now + EPOCH_TICK;
        }
        lock(&watchdog).check().map_err(wasmtime::Error::new)
    })
}

/// A started wasi-threads program and the stdin kept open for it. Dropping it
/// stops the program first (fields drop in order), then closes that stdin, so
/// no thread sees EOF while the program still runs.
struct ThreadsRun {
    program: threads::Program,
    _stdin_open: Option<tokio::io::WriteHalf<tokio::io::SimplexStream>>,
}

/// Starts a run of a wasi-threads module. Its guest ends as the program does
/// (`_start` returning is exit 0; `proc_exit` in any thread, traps, limits as
/// for other core modules); dropping the guest stops every thread.
pub(super) fn start(
    module: &Module,
    linker: &Linker<ThreadState>,
    runtime: &tokio::runtime::Handle,
    ctx: &StartContext<'_>,
    watchdog: &Arc<Mutex<Watchdog>>,
    ending: Ending,
) -> Result<Guest, String> {
    let stdin = program_stdin(ctx)?;
    let setup = threads::Setup {
        wasi: wasi_contexts(ctx, stdin.stdin)?,
        store_limits: store_limits(ctx.limits.memory_bytes),
        memory_bytes: ctx.limits.memory_bytes,
        max_threads: threads::MAX_LIVE_THREADS,
        fuel: ctx.limits.fuel,
        deadline: Arc::clone(&ctx.deadline),
        epoch_check: Some(watchdog_check(watchdog)),
    };
    let future: GuestFuture = match threads::Program::start(linker, module, setup, runtime.clone())
    {
        Ok(program) => {
            let run = ThreadsRun {
                program,
                _stdin_open: stdin.keep_open,
            };
            Box::pin(async move {
                match run.program.wait().await {
                    Ok(()) => GuestEnd::Exited(0),
                    Err(e) => ending.classify(e),
                }
            })
        }
        // As when a core module fails to instantiate (e.g. its memory is over the limit).
        Err(e) => Box::pin(std::future::ready(ending.classify(e))),
    };
    let guest = Guest::new(future, ctx.stdout.clone(), ctx.stderr.clone());
    Ok(match stdin.sink {
        Some(sink) => guest.with_stdin(sink),
        None => guest,
    })
}
