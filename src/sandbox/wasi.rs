//! The WASI context of one run, built from the spec alone: exactly the declared
//! args and env, the given stdio, the preopens, deterministic clocks and random
//! sources when the spec asks, and a loopback-only network policy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use super::SandboxError;
use crate::run::StartContext;
use crate::spec::{ClockSpec, Run, StdinSource};

/// The guest's stdin: fixed bytes, or a pipe the harness writes to while it runs.
pub enum Stdin {
    Bytes(Vec<u8>),
    Interactive(tokio::io::ReadHalf<tokio::io::SimplexStream>),
    /// This process's own stdin.
    Inherited,
}

impl Stdin {
    /// The stdin of a run: the spec's `stdin` text or file (a regular file, at
    /// most [`crate::files::MAX_DATA_BYTES`]), else empty.
    pub fn fixed(run: &Run) -> Result<Stdin, SandboxError> {
        Ok(Stdin::Bytes(match &run.stdin {
            None => Vec::new(),
            Some(StdinSource::Text(t)) => t.clone().into_bytes(),
            Some(StdinSource::File(f)) => {
                crate::files::read_regular(f, crate::files::MAX_DATA_BYTES)
                    .map_err(|error| SandboxError::Stdin { error })?
            }
            Some(StdinSource::Inherit) => return Ok(Stdin::Inherited),
        }))
    }
}

/// The WASI builder of one run: exactly the declared env and args, the given
/// stdio, the preopens, and the spec's clocks and random source.
pub fn wasi_builder(ctx: &StartContext<'_>, stdin: Stdin) -> Result<WasiCtxBuilder, SandboxError> {
    let mut b = WasiCtxBuilder::new();
    b.arg(ctx.argv0);
    b.args(&ctx.run.args);
    b.envs(&ctx.run.env);
    b.envs(ctx.extra_env);
    match stdin {
        Stdin::Bytes(bytes) => {
            b.stdin(MemoryInputPipe::new(bytes));
        }
        Stdin::Interactive(reader) => {
            b.stdin(wasmtime_wasi::cli::AsyncStdinStream::new(reader));
        }
        Stdin::Inherited => {
            b.stdin(wasmtime_wasi::cli::AsyncStdinStream::new(tokio::io::stdin()));
        }
    }
    // Filesystem calls run on the test's own thread (no hop to a blocking pool
    // and back for each) when no preopen may block: a copy holds only
    // directories, regular files and symlinks, and so does a read-only fixture
    // used in place whose scan met nothing else. A directory that may hold a
    // FIFO (whose opening blocks) keeps its calls on the blocking pool, so the
    // timeout still stops the test.
    // (A blocking context makes wasmtime-wasi sleep a lone relative clock
    // `poll_oneoff` with an uninterruptible thread sleep: the embedded runtime
    // replaces that call for `wasi_snapshot_preview1`, and runs modules calling
    // `wasi_unstable`'s, and wasi-threads, without blocking.)
    b.allow_blocking_current_thread(ctx.preopens.iter().all(|p| !p.may_block));
    b.stdout(ctx.stdout.clone());
    b.stderr(ctx.stderr.clone());
    for p in ctx.preopens {
        let perms = if p.readonly {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        b.preopened_dir(&p.host, &p.guest, perms)
            .map_err(|e| SandboxError::Preopen {
                guest: p.guest.clone(),
                message: e.to_string(),
            })?;
    }
    if let Some(clock) = ctx.spec.clock {
        b.wall_clock(FixedWallClock::new(clock));
        b.monotonic_clock(FixedMonotonicClock::new(clock));
    }
    if let Some(seed) = ctx.spec.random_seed {
        let rng = SeededRng::new(seed);
        b.secure_random(rng.clone());
        b.insecure_random(rng);
        b.insecure_random_seed(u128::from(seed));
    }
    Ok(b)
}

/// Network access. Sockets can always be created, but no address can be used
/// unless the spec lists the `sockets` or `http` proposal; then only loopback
/// addresses may be reached. Binding the unspecified address is allowed (implicit
/// binds use it); binding an address of another host is left to the OS, which
/// refuses it (`address-not-bindable`); binding an address of one of this host's
/// other interfaces is refused.
pub fn network(builder: &mut WasiCtxBuilder, proposals: &[crate::spec::Proposal]) {
    builder.allow_tcp(true);
    builder.allow_udp(true);
    builder.allow_ip_name_lookup(false);
    let enabled = !proposals.is_empty();
    builder.socket_addr_check(move |addr, use_| {
        let ok = enabled && address_allowed(addr, use_);
        Box::pin(async move { ok })
    });
}

fn address_allowed(
    addr: std::net::SocketAddr,
    use_: wasmtime_wasi::sockets::SocketAddrUse,
) -> bool {
    use wasmtime_wasi::sockets::SocketAddrUse;
    let ip = addr.ip();
    if ip.is_loopback() {
        return true;
    }
    match use_ {
        SocketAddrUse::TcpBind | SocketAddrUse::UdpBind | SocketAddrUse::TcpListen => {
            ip.is_unspecified() || !is_local_address(ip)
        }
        _ => false,
    }
}

/// Whether `ip` belongs to one of this host's interfaces (so a bind to it would succeed).
fn is_local_address(ip: std::net::IpAddr) -> bool {
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// A wall clock that starts at a fixed time and advances `step_ns` per reading.
#[derive(Debug)]
pub struct FixedWallClock {
    start_ns: u128,
    step_ns: u64,
    readings: AtomicU64,
}

impl FixedWallClock {
    pub fn new(spec: ClockSpec) -> Self {
        FixedWallClock {
            start_ns: spec.wall_ns,
            step_ns: spec.step_ns,
            readings: AtomicU64::new(0),
        }
    }
}

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(self.step_ns.max(1))
    }
    fn now(&self) -> Duration {
        let n = self.readings.fetch_add(1, Ordering::Relaxed);
        let ns = self.start_ns + u128::from(n) * u128::from(self.step_ns);
        Duration::new(
            u64::try_from(ns / 1_000_000_000).unwrap_or(u64::MAX),
            (ns % 1_000_000_000) as u32,
        )
    }
}

/// A monotonic clock that starts at 0 and advances `step_ns` per reading.
#[derive(Debug)]
pub struct FixedMonotonicClock {
    step_ns: u64,
    readings: AtomicU64,
}

impl FixedMonotonicClock {
    pub fn new(spec: ClockSpec) -> Self {
        FixedMonotonicClock {
            step_ns: spec.step_ns,
            readings: AtomicU64::new(0),
        }
    }
}

impl HostMonotonicClock for FixedMonotonicClock {
    fn resolution(&self) -> u64 {
        self.step_ns.max(1)
    }
    fn now(&self) -> u64 {
        self.readings
            .fetch_add(1, Ordering::Relaxed)
            .saturating_mul(self.step_ns)
    }
}

/// A deterministic generator (SplitMix64) shared by the secure and insecure random
/// sources: the same seed gives the same bytes on every run and machine.
#[derive(Debug, Clone)]
pub struct SeededRng(Arc<Mutex<u64>>);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng(Arc::new(Mutex::new(seed)))
    }

    fn next(&self) -> u64 {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl rand_core::TryRng for SeededRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.next() >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.next())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::TryRng;

    #[test]
    fn only_loopback_addresses_are_usable() {
        use wasmtime_wasi::sockets::SocketAddrUse as U;
        let addr = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
        assert!(address_allowed(addr("127.0.0.1:80"), U::TcpConnect));
        assert!(address_allowed(addr("[::1]:80"), U::UdpSend));
        assert!(address_allowed(addr("0.0.0.0:0"), U::TcpBind));
        assert!(!address_allowed(addr("0.0.0.0:80"), U::TcpConnect));
        assert!(!address_allowed(addr("192.0.2.1:80"), U::TcpConnect));
        assert!(!address_allowed(addr("8.8.8.8:53"), U::UdpSend));
        // Not this host's: the OS will refuse the bind itself.
        assert!(address_allowed(addr("192.0.2.1:0"), U::TcpBind));
    }

    #[test]
    fn fixed_clocks_step_per_reading() {
        let spec = ClockSpec {
            wall_ns: 5_000_000_000,
            step_ns: 10,
        };
        let w = FixedWallClock::new(spec);
        assert_eq!(w.now(), Duration::new(5, 0));
        assert_eq!(w.now(), Duration::new(5, 10));
        let m = FixedMonotonicClock::new(spec);
        assert_eq!((m.now(), m.now(), m.now()), (0, 10, 20));
    }

    #[test]
    fn seeded_rng_is_deterministic_and_seed_dependent() {
        let bytes = |seed| {
            let mut r = SeededRng::new(seed);
            let mut b = [0u8; 20];
            r.try_fill_bytes(&mut b).unwrap();
            b
        };
        assert_eq!(bytes(1), bytes(1));
        assert_ne!(bytes(1), bytes(2));
    }
}
