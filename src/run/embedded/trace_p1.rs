//! WASI preview 1 for core modules, with every call traced.
//!
//! Each of the 46 `wasi_snapshot_preview1` functions is a wrapper around
//! wasmtime-wasi's generated per-function entry point
//! (`p1::wasi_snapshot_preview1::*`, as wasi-threads uses in `threads.rs`),
//! doing what the stock `p1::add_to_linker_async` does (memory export, hostcall
//! fuel, sync or async as wasmtime-wasi declares each function) plus: decode the
//! arguments from the wasm parameters and guest memory before the call (path
//! strings, the data written, fds with the paths they were opened from), and
//! the errno and what was written back after it.
//!
//! Why wrappers and not wasmtime-wasi's own `tracing` spans: those record the
//! arguments as wiggle sees them — pointers (`GuestPtr<str>`), not the path
//! strings behind them — and know nothing of which path an fd came from.
//!
//! The trace lives in the store data ([`P1Tracer`]), so recording a call takes
//! no lock; when the store is dropped (the guest ended, or was stopped by its
//! deadline in the middle of a call), the trace moves to the shared slot that
//! the guest's owner reads.

use wasmtime::{AsContextMut, Caller, Extern, Linker};
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self as p1, WasiSnapshotPreview1 as _};
use wiggle::GuestMemory;

use super::GuestState;
use crate::trace::{self, Api, Call, Outcome, Trace, TraceHandle, p1 as decode};

const P1: &str = "wasi_snapshot_preview1";

/// A guest's trace while its store lives, and where it goes after.
pub(super) struct P1Tracer {
    trace: Trace,
    fds: decode::FdTable,
    slot: TraceHandle,
}

impl P1Tracer {
    /// Takes the (empty) trace out of `slot`; it goes back when this is dropped.
    pub(super) fn new(slot: TraceHandle) -> P1Tracer {
        let trace = {
            let mut shared = trace::lock(&slot);
            let limits = shared.limits;
            std::mem::replace(&mut *shared, Trace::new(limits))
        };
        let fds = decode::FdTable::new(&trace.given.preopens);
        P1Tracer { trace, fds, slot }
    }

    fn begin(&mut self, func: &'static str, raw: &[i64], mem: Option<&[u8]>) -> u64 {
        let max = self.trace.limits.string_bytes;
        let args = decode::decode_args(func, raw, mem, &self.fds, max);
        self.trace.begin(Call::new(Api::P1, func, args))
    }

    fn end<R: Returned>(
        &mut self,
        seq: u64,
        func: &'static str,
        raw: &[i64],
        mem: Option<&[u8]>,
        result: &wasmtime::Result<R>,
    ) {
        let max = self.trace.limits.string_bytes;
        let outcome = outcome(result, max);
        let mut outputs = Vec::new();
        if let (Outcome::Errno(0), Some(mem)) = (&outcome, mem) {
            outputs = decode::decode_outputs(func, raw, mem, max);
            self.fds.update(func, raw, mem, max);
        }
        self.trace.end(seq, outcome, outputs);
    }
}

impl Drop for P1Tracer {
    fn drop(&mut self) {
        let limits = self.trace.limits;
        *trace::lock(&self.slot) = std::mem::replace(&mut self.trace, Trace::new(limits));
    }
}

/// What a p1 function returns: an errno, or nothing (`proc_exit`).
trait Returned {
    fn errno(&self) -> Option<u16>;
}

impl Returned for i32 {
    fn errno(&self) -> Option<u16> {
        u16::try_from(*self).ok()
    }
}

impl Returned for () {
    fn errno(&self) -> Option<u16> {
        None
    }
}

/// How a call ended: its errno, an exit, or a trap.
fn outcome<R: Returned>(result: &wasmtime::Result<R>, max: usize) -> Outcome {
    match result {
        Ok(r) => r.errno().map_or(Outcome::Done, Outcome::Errno),
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Outcome::Exit(exit.0),
            None => {
                let text = format!("{e:#}");
                Outcome::Trap(trace::cut_str(&text, max).0.into())
            }
        },
    }
}

/// A wasm parameter as the decoder reads it (i32s zero-extended: pointers,
/// lengths and fds are unsigned).
trait Param {
    fn raw(self) -> i64;
}

impl Param for i32 {
    fn raw(self) -> i64 {
        i64::from(self as u32)
    }
}

impl Param for i64 {
    fn raw(self) -> i64 {
        self
    }
}

/// The guest memory as plain bytes, when it is not shared.
fn view<'a>(mem: &'a GuestMemory<'_>) -> Option<&'a [u8]> {
    match mem {
        GuestMemory::Unshared(m) => Some(m),
        _ => None,
    }
}

/// The memory export and the store data, with the hostcall fuel passed on,
/// as wiggle's generated functions take them.
pub(super) fn parts<'a>(
    caller: &'a mut Caller<'_, GuestState>,
    export: &'a Option<Extern>,
) -> wasmtime::Result<(GuestMemory<'a>, &'a mut GuestState)> {
    let fuel = caller.as_context_mut().hostcall_fuel();
    let (mem, state) = match export {
        Some(Extern::Memory(m)) => {
            let (mem, state) = m.data_and_store_mut(caller);
            (GuestMemory::Unshared(mem), state)
        }
        Some(Extern::SharedMemory(m)) => (GuestMemory::Shared(m.data()), caller.data_mut()),
        _ => wasmtime::bail!("missing required memory export"),
    };
    state.wasi.set_hostcall_fuel(fuel);
    Ok((mem, state))
}

/// The functions the traced ones call: wasmtime-wasi's, but for
/// [`poll_oneoff`](super::poll) (the explicit import shadows the glob's).
mod calls {
    pub(super) use super::p1::*;
    pub(super) use crate::run::embedded::poll::poll_oneoff;
}

macro_rules! maybe_await {
    (async, $e:expr) => {
        $e.await
    };
    (sync, $e:expr) => {
        $e
    };
}

/// The body of a traced function: decode, call, record.
macro_rules! traced_body {
    ($kind:tt, $caller:ident, $name:ident, $($a:ident),*) => {{
        let func = stringify!($name);
        let raw = [$(Param::raw($a)),*];
        let export = $caller.get_export("memory");
        let (mut mem, state) = parts(&mut $caller, &export)?;
        let seq = state.tracer.as_mut().map(|t| t.begin(func, &raw, view(&mem)));
        let result: wasmtime::Result<_> =
            maybe_await!($kind, calls::$name(&mut state.wasi, &mut mem, $($a),*));
        if let (Some(t), Some(seq)) = (state.tracer.as_mut(), seq) {
            t.end(seq, func, &raw, view(&mem), &result);
        }
        result
    }};
}

/// Defines `add_to_linker`, which adds the traced functions.
macro_rules! traced_p1 {
    ($($kind:tt $name:ident ($($a:ident : $t:ty),*) -> $r:ty;)*) => {
        /// Adds every `wasi_snapshot_preview1` function, traced.
        pub(super) fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
            $(traced_p1!(@add $kind linker $name ($($a : $t),*) -> $r);)*
            Ok(())
        }
    };
    (@add async $linker:ident $name:ident ($($a:ident : $t:ty),*) -> $r:ty) => {
        $linker.func_wrap_async(
            P1,
            stringify!($name),
            |mut caller: Caller<'_, GuestState>, ($($a,)*): ($($t,)*)| {
                Box::new(async move { traced_body!(async, caller, $name, $($a),*) })
            },
        )?;
    };
    (@add sync $linker:ident $name:ident ($($a:ident : $t:ty),*) -> $r:ty) => {
        $linker.func_wrap(
            P1,
            stringify!($name),
            |mut caller: Caller<'_, GuestState>, $($a: $t),*| -> wasmtime::Result<$r> {
                traced_body!(sync, caller, $name, $($a),*)
            },
        )?;
    };
}

traced_p1!(
    sync args_get(a0: i32, a1: i32) -> i32;
    sync args_sizes_get(a0: i32, a1: i32) -> i32;
    sync environ_get(a0: i32, a1: i32) -> i32;
    sync environ_sizes_get(a0: i32, a1: i32) -> i32;
    sync clock_res_get(a0: i32, a1: i32) -> i32;
    sync clock_time_get(a0: i32, a1: i64, a2: i32) -> i32;
    async fd_advise(a0: i32, a1: i64, a2: i64, a3: i32) -> i32;
    sync fd_allocate(a0: i32, a1: i64, a2: i64) -> i32;
    async fd_close(a0: i32) -> i32;
    async fd_datasync(a0: i32) -> i32;
    async fd_fdstat_get(a0: i32, a1: i32) -> i32;
    sync fd_fdstat_set_flags(a0: i32, a1: i32) -> i32;
    sync fd_fdstat_set_rights(a0: i32, a1: i64, a2: i64) -> i32;
    async fd_filestat_get(a0: i32, a1: i32) -> i32;
    async fd_filestat_set_size(a0: i32, a1: i64) -> i32;
    async fd_filestat_set_times(a0: i32, a1: i64, a2: i64, a3: i32) -> i32;
    async fd_pread(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32) -> i32;
    sync fd_prestat_get(a0: i32, a1: i32) -> i32;
    sync fd_prestat_dir_name(a0: i32, a1: i32, a2: i32) -> i32;
    async fd_pwrite(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32) -> i32;
    async fd_read(a0: i32, a1: i32, a2: i32, a3: i32) -> i32;
    async fd_readdir(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32) -> i32;
    async fd_renumber(a0: i32, a1: i32) -> i32;
    async fd_seek(a0: i32, a1: i64, a2: i32, a3: i32) -> i32;
    async fd_sync(a0: i32) -> i32;
    sync fd_tell(a0: i32, a1: i32) -> i32;
    async fd_write(a0: i32, a1: i32, a2: i32, a3: i32) -> i32;
    async path_create_directory(a0: i32, a1: i32, a2: i32) -> i32;
    async path_filestat_get(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32) -> i32;
    async path_filestat_set_times(a0: i32, a1: i32, a2: i32, a3: i32, a4: i64, a5: i64, a6: i32) -> i32;
    async path_link(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, a6: i32) -> i32;
    async path_open(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i64, a6: i64, a7: i32, a8: i32) -> i32;
    async path_readlink(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32) -> i32;
    async path_remove_directory(a0: i32, a1: i32, a2: i32) -> i32;
    async path_rename(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32) -> i32;
    async path_symlink(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32) -> i32;
    async path_unlink_file(a0: i32, a1: i32, a2: i32) -> i32;
    async poll_oneoff(a0: i32, a1: i32, a2: i32, a3: i32) -> i32;
    sync proc_exit(a0: i32) -> ();
    sync proc_raise(a0: i32) -> i32;
    sync sched_yield() -> i32;
    sync random_get(a0: i32, a1: i32) -> i32;
    sync sock_accept(a0: i32, a1: i32, a2: i32) -> i32;
    sync sock_recv(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32) -> i32;
    sync sock_send(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32) -> i32;
    sync sock_shutdown(a0: i32, a1: i32) -> i32;
);
