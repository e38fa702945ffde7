//! `poll_oneoff` on one relative clock: a sleep the deadline can stop.
//!
//! When a WASI context may block its thread (`allow_blocking_current_thread`,
//! which the sandbox sets when every preopen is its own copy, so filesystem
//! calls skip the hop to tokio's blocking pool), wasmtime-wasi answers a
//! `poll_oneoff` on a single relative clock with `std::thread::sleep`: a sleep
//! nothing can interrupt, so a guest sleeping for a year would outlive its
//! test's timeout. This version answers that case as wasmtime-wasi's general
//! path does, on tokio's timer (a future the deadline drops), and hands every
//! other case to wasmtime-wasi.

use wasmtime::Linker;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
use wiggle::GuestMemory;

use super::GuestState;

/// A subscription's size and alignment (`subscription` in the witx).
const SUBSCRIPTION_BYTES: usize = 48;
/// An event's size (`event`), aligned as a subscription.
const EVENT_BYTES: usize = 32;
const ALIGN: u32 = 8;

/// The lone relative clock subscription at `subs`: its userdata and timeout
/// (ns), or `None` when `subs` is anything else or the pointers are not
/// usable (wasmtime-wasi then reports the error as it always does).
fn lone_relative_clock(mem: &[u8], subs: u32, events: u32, nevents: u32) -> Option<(u64, u64)> {
    let at = |ptr: u32, len: usize, align: u32| {
        let start = usize::try_from(ptr).ok()?;
        ptr.is_multiple_of(align).then_some(())?;
        mem.get(start..start.checked_add(len)?)
    };
    let sub = at(subs, SUBSCRIPTION_BYTES, ALIGN)?;
    at(events, EVENT_BYTES, ALIGN)?;
    at(nevents, 4, 4)?;
    let u64_at = |o: usize| u64::from_le_bytes(sub[o..o + 8].try_into().unwrap());
    let tag = sub[8];
    let clock_id = u32::from_le_bytes(sub[16..20].try_into().unwrap());
    let flags = u16::from_le_bytes(sub[40..42].try_into().unwrap());
    const CLOCK: u8 = 0;
    const REALTIME: u32 = 0;
    const MONOTONIC: u32 = 1;
    const ABSTIME: u16 = 1;
    let relative = tag == CLOCK && flags & ABSTIME == 0;
    (relative && matches!(clock_id, REALTIME | MONOTONIC)).then(|| (u64_at(0), u64_at(24)))
}

/// Waits `timeout` ns as wasmtime-wasi's clock pollable does: a zero timeout
/// yields once, one past tokio's range never ends (the deadline ends it).
async fn sleep(timeout: u64) {
    let duration = std::time::Duration::from_nanos(timeout);
    if duration.is_zero() {
        tokio::task::yield_now().await;
    } else if let Some(until) = tokio::time::Instant::now().checked_add(duration) {
        tokio::time::sleep_until(until).await;
    } else {
        std::future::pending::<()>().await;
    }
}

/// `poll_oneoff(subs, events, nsubscriptions, nevents)`, as the generated
/// `p1::poll_oneoff` takes it.
pub(super) async fn poll_oneoff(
    ctx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    subs: i32,
    events: i32,
    nsubs: i32,
    nevents: i32,
) -> wasmtime::Result<i32> {
    let (subs_at, events_at, nevents_at) = (subs as u32, events as u32, nevents as u32);
    let lone = match (&*mem, nsubs) {
        (GuestMemory::Unshared(bytes), 1) => {
            lone_relative_clock(bytes, subs_at, events_at, nevents_at)
        }
        _ => None,
    };
    let Some((userdata, timeout)) = lone else {
        return p1::poll_oneoff(ctx, mem, subs, events, nsubs, nevents).await;
    };
    sleep(timeout).await;
    let GuestMemory::Unshared(bytes) = mem else {
        unreachable!("checked above");
    };
    // The event of a clock: userdata, errno 0, type clock, nbytes 0, flags 0
    // (as wasmtime-wasi's general path writes it), then one event.
    let event = &mut bytes[events_at as usize..events_at as usize + EVENT_BYTES];
    event.fill(0);
    event[..8].copy_from_slice(&userdata.to_le_bytes());
    let count = &mut bytes[nevents_at as usize..nevents_at as usize + 4];
    count.copy_from_slice(&1u32.to_le_bytes());
    Ok(0)
}

/// Replaces the stock `poll_oneoff` of `wasi_snapshot_preview1` in `linker`
/// (which `p1::add_to_linker_async` filled) by [`poll_oneoff`].
pub(super) fn shadow_stock(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap_async(
        "wasi_snapshot_preview1",
        "poll_oneoff",
        |mut caller: wasmtime::Caller<'_, GuestState>, (a, b, c, d): (i32, i32, i32, i32)| {
            Box::new(async move {
                let export = caller.get_export("memory");
                let (mut mem, state) = super::trace_p1::parts(&mut caller, &export)?;
                poll_oneoff(&mut state.wasi, &mut mem, a, b, c, d).await
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(tag: u8, clock: u32, timeout: u64, flags: u16) -> Vec<u8> {
        let mut m = vec![0u8; 256];
        m[..8].copy_from_slice(&7u64.to_le_bytes());
        m[8] = tag;
        m[16..20].copy_from_slice(&clock.to_le_bytes());
        m[24..32].copy_from_slice(&timeout.to_le_bytes());
        m[40..42].copy_from_slice(&flags.to_le_bytes());
        m
    }

    #[test]
    fn only_a_relative_realtime_or_monotonic_clock_is_taken() {
        let m = subscription(0, 1, 5_000, 0);
        assert_eq!(lone_relative_clock(&m, 0, 64, 128), Some((7, 5_000)));
        let m = subscription(0, 0, 9, 0);
        assert_eq!(lone_relative_clock(&m, 0, 64, 128), Some((7, 9)));
        // Absolute, another clock, an fd subscription: wasmtime-wasi's.
        assert_eq!(
            lone_relative_clock(&subscription(0, 1, 5, 1), 0, 64, 128),
            None
        );
        assert_eq!(
            lone_relative_clock(&subscription(0, 2, 5, 0), 0, 64, 128),
            None
        );
        assert_eq!(
            lone_relative_clock(&subscription(1, 0, 5, 0), 0, 64, 128),
            None
        );
    }

    #[test]
    fn pointers_out_of_bounds_or_misaligned_are_left_to_wasmtime_wasi() {
        let m = subscription(0, 1, 5, 0);
        assert_eq!(lone_relative_clock(&m, 4, 64, 128), None);
        assert_eq!(lone_relative_clock(&m, 0, 240, 128), None);
        assert_eq!(lone_relative_clock(&m, 0, 64, 254), None);
        assert_eq!(lone_relative_clock(&m, 0, 64, 130), None);
        assert_eq!(lone_relative_clock(&m, u32::MAX - 7, 64, 128), None);
    }
}
