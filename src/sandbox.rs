//! The per-test sandbox: temporary copies of fixture directories, and the WASI
//! context built from the spec alone (args, env, stdio, preopens, clocks, random).
//!
//! Nothing of the host leaks in: no environment variable, no host directory but
//! the temporary copies, no network, no host stdio. Fixtures are copied without
//! their `*.cleanup` entries and without following symlinks, so the originals are
//! never changed; the copies are removed when the [`Sandbox`] is dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use crate::check::{FileState, MAX_CHECKED_BYTES, MAX_HASHED_BYTES};
use crate::run::StartContext;
use crate::spec::{ClockSpec, DirMount, Run, Spec, StdinSource};

/// Why a sandbox could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot create a temporary directory for the test: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("cannot copy fixture {}: {message}", fixture.display())]
    Copy { fixture: PathBuf, message: String },
    #[error("cannot read the stdin file: {error}")]
    Stdin {
        #[source]
        error: crate::files::FileError,
    },
    #[error("cannot preopen {guest}: {message}")]
    Preopen { guest: String, message: String },
}

/// A directory the guest sees.
#[derive(Debug, Clone)]
pub struct Preopen {
    /// The guest's name for it (`/` for `root`).
    pub guest: String,
    /// The temporary copy on the host.
    pub host: PathBuf,
    /// The fixture it was copied from.
    pub fixture: PathBuf,
    pub readonly: bool,
}

/// A test's temporary directories. Dropping it removes them.
#[derive(Debug)]
pub struct Sandbox {
    tmp: tempfile::TempDir,
    /// Fixture → its copy; a fixture used by several runs of a test is copied once.
    copies: Vec<(PathBuf, PathBuf)>,
    /// The preopens of the latest run.
    preopens: Vec<Preopen>,
}

impl Sandbox {
    /// Creates the test's private temporary directory.
    pub fn new() -> Result<Sandbox, SandboxError> {
        let tmp = tempfile::Builder::new()
            .prefix("wasi-conform-")
            .tempdir()
            .map_err(SandboxError::TempDir)?;
        Ok(Sandbox {
            tmp,
            copies: Vec::new(),
            preopens: Vec::new(),
        })
    }

    /// The temporary directory holding this test's copies.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The preopens of the latest run.
    pub fn preopens(&self) -> &[Preopen] {
        &self.preopens
    }

    /// The copy of `fixture`, made on first use.
    fn copy_of(&mut self, fixture: &Path) -> Result<PathBuf, SandboxError> {
        if let Some((_, copy)) = self.copies.iter().find(|(f, _)| f == fixture) {
            return Ok(copy.clone());
        }
        let name = fixture
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "fixture".into());
        let copy = self
            .tmp
            .path()
            .join(format!("{}-{name}", self.copies.len()));
        copy_tree(fixture, &copy).map_err(|e| SandboxError::Copy {
            fixture: fixture.to_path_buf(),
            message: e.to_string(),
        })?;
        self.copies.push((fixture.to_path_buf(), copy.clone()));
        Ok(copy)
    }

    /// Prepares the preopens of one run: its `root` as `/`, then the spec's `dirs`.
    pub fn prepare(&mut self, spec: &Spec, run: &Run) -> Result<Vec<Preopen>, SandboxError> {
        let mut mounts: Vec<DirMount> = Vec::new();
        if let Some(root) = &run.root {
            mounts.push(DirMount {
                host: root.clone(),
                guest: "/".into(),
                readonly: false,
                in_place: false,
            });
        }
        mounts.extend(spec.dirs.iter().cloned());
        let mut preopens = Vec::new();
        for m in mounts {
            // A read-only fixture is preopened as it is (the guest can change
            // nothing in it), unless it holds `*.cleanup` entries the guest must not see.
            let in_place = m.in_place || (m.readonly && !has_cleanup_entries(&m.host));
            let host = if in_place {
                m.host.clone()
            } else {
                self.copy_of(&m.host)?
            };
            preopens.push(Preopen {
                guest: m.guest,
                host,
                fixture: m.host,
                readonly: m.readonly,
            });
        }
        self.preopens = preopens.clone();
        Ok(preopens)
    }

    /// The host path of a guest path, through the latest run's preopens (longest
    /// matching guest prefix). `None` if no preopen holds it or it climbs out.
    pub fn resolve(&self, guest_path: &str) -> Option<PathBuf> {
        let (preopen, rest) = self.locate(guest_path)?;
        Some(
            rest.iter()
                .fold(preopen.host.clone(), |p, part| p.join(part)),
        )
    }

    /// What is at a guest path after the run: never following a symlink (a
    /// symlink on the way, or at the end, is reported as such), reading at most
    /// [`MAX_CHECKED_BYTES`] of a regular file, and hashing it (bounded) when
    /// `hash` is set.
    pub fn file_state(&self, guest_path: &str, hash: bool) -> FileState {
        let Some((preopen, rel)) = self.locate(guest_path) else {
            return FileState::Absent;
        };
        let mut host = preopen.host.clone();
        let mut guest = preopen.guest.trim_end_matches('/').to_string();
        for (i, part) in rel.iter().enumerate() {
            host.push(part);
            guest = format!("{guest}/{part}");
            let meta = match std::fs::symlink_metadata(&host) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileState::Absent,
                Err(e) => return FileState::Other(format!("unreadable ({e})")),
            };
            let ft = meta.file_type();
            if ft.is_symlink() {
                let target = std::fs::read_link(&host)
                    .map(|t| t.display().to_string())
                    .unwrap_or_else(|e| format!("(unreadable: {e})"));
                return FileState::Symlink {
                    path: guest,
                    target,
                };
            }
            let last = i + 1 == rel.len();
            if !last && !ft.is_dir() {
                return FileState::Absent;
            }
            if last && !ft.is_file() {
                return FileState::Other(crate::files::kind_of(ft).to_string());
            }
        }
        if rel.is_empty() {
            return FileState::Other("a directory".into());
        }
        read_checked(&host, hash)
    }

    /// The preopen that holds a guest path (longest matching guest prefix) and
    /// the path's components below it. `None` if no preopen holds it or it climbs out.
    fn locate(&self, guest_path: &str) -> Option<(&Preopen, Vec<String>)> {
        let want = components(guest_path);
        let (preopen, n) = self
            .preopens
            .iter()
            .map(|p| (p, components(&p.guest)))
            .filter(|(_, have)| want.len() >= have.len() && want[..have.len()] == have[..])
            .max_by_key(|(_, have)| have.len())
            .map(|(p, have)| (p, have.len()))?;
        let rest: Vec<String> = want[n..].iter().map(|s| s.to_string()).collect();
        if rest.iter().any(|p| p == "..") {
            return None;
        }
        Some((preopen, rest))
    }

    /// Replaces this sandbox's temporary paths in a message by the fixtures they copy,
    /// so messages and golden files never show machine-specific paths.
    pub fn redact(&self, message: &str) -> String {
        self.redactions()
            .iter()
            .fold(message.to_string(), |m, (from, to)| m.replace(from, to))
    }

    /// The replacements [`Sandbox::redact`] makes, most specific first.
    pub fn redactions(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .copies
            .iter()
            .map(|(fixture, copy)| (copy.display().to_string(), fixture.display().to_string()))
            .collect();
        pairs.push((self.tmp.path().display().to_string(), "<sandbox>".into()));
        pairs
    }
}

/// Reads a regular file for checking: opened without following a symlink and
/// without blocking, its first [`MAX_CHECKED_BYTES`] kept, and, with `hash`,
/// hashed in full when it is at most [`MAX_HASHED_BYTES`].
fn read_checked(path: &Path, hash: bool) -> FileState {
    use sha2::Digest;
    use std::io::Read;
    let unreadable = |e: std::io::Error| FileState::Other(format!("unreadable ({e})"));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) => return unreadable(e),
    };
    let size = match file.metadata() {
        Ok(m) if m.is_file() => m.len(),
        Ok(m) => return FileState::Other(crate::files::kind_of(m.file_type()).to_string()),
        Err(e) => return unreadable(e),
    };
    let mut head = Vec::with_capacity(size.min(MAX_CHECKED_BYTES) as usize);
    if let Err(e) = (&mut file).take(MAX_CHECKED_BYTES).read_to_end(&mut head) {
        return unreadable(e);
    }
    let sha256 = (hash && size <= MAX_HASHED_BYTES).then(|| {
        let mut hasher = sha2::Sha256::new();
        hasher.update(&head);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(_) => return None,
            }
        }
        Some(format!("{:x}", hasher.finalize()))
    });
    FileState::Regular {
        size,
        head,
        sha256: sha256.flatten(),
    }
}

fn components(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect()
}

/// Whether a fixture tree holds `*.cleanup` entries (which a copy leaves out).
fn has_cleanup_entries(dir: &Path) -> bool {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().ends_with(".cleanup"))
}

/// Copies a fixture tree: directories and files, symlinks as symlinks (never
/// followed), `*.cleanup` entries left out.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let walker = walkdir::WalkDir::new(from)
        .follow_links(false)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().ends_with(".cleanup"));
    for entry in walker {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(from)
            .map_err(std::io::Error::other)?;
        let dest = to.join(rel);
        let ft = entry.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &dest)?;
            #[cfg(not(unix))]
            return Err(std::io::Error::other(format!(
                "symlink {} cannot be copied on this platform",
                entry.path().display()
            )));
        } else if ft.is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else if ft.is_file() {
            std::fs::copy(entry.path(), &dest)?;
        }
        // Sockets, fifos and devices are not copied: a fixture is plain files.
    }
    Ok(())
}

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
    use std::fs;

    #[test]
    fn copy_skips_cleanup_and_keeps_symlinks() {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir(src.path().join("d")).unwrap();
        fs::write(src.path().join("d/f.txt"), "x").unwrap();
        fs::write(src.path().join("old.cleanup"), "x").unwrap();
        fs::create_dir(src.path().join("dir.cleanup")).unwrap();
        fs::write(src.path().join("dir.cleanup/inner"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.path().join("link")).unwrap();
        let dst = tempfile::tempdir().unwrap();
        let to = dst.path().join("copy");
        copy_tree(src.path(), &to).unwrap();
        assert_eq!(fs::read_to_string(to.join("d/f.txt")).unwrap(), "x");
        assert!(!to.join("old.cleanup").exists());
        assert!(!to.join("dir.cleanup").exists());
        let meta = fs::symlink_metadata(to.join("link")).unwrap();
        assert!(meta.file_type().is_symlink());
        assert_eq!(
            fs::read_link(to.join("link")).unwrap(),
            PathBuf::from("/etc/passwd")
        );
    }

    #[test]
    fn resolve_uses_longest_prefix_and_refuses_climbing() {
        let mut sb = Sandbox::new().unwrap();
        let tmp = sb.path().to_path_buf();
        sb.preopens = vec![
            Preopen {
                guest: "/".into(),
                host: tmp.join("root"),
                fixture: "r".into(),
                readonly: false,
            },
            Preopen {
                guest: "/data".into(),
                host: tmp.join("data"),
                fixture: "d".into(),
                readonly: true,
            },
        ];
        assert_eq!(sb.resolve("/a/b.txt"), Some(tmp.join("root/a/b.txt")));
        assert_eq!(sb.resolve("/data/x"), Some(tmp.join("data/x")));
        assert_eq!(sb.resolve("/../etc/passwd"), None);
        let msg = format!("failed at {}", tmp.join("data/x").display());
        assert_eq!(sb.redact(&msg), "failed at <sandbox>/data/x");
    }

    #[test]
    fn sandbox_dir_is_removed_on_drop() {
        let sb = Sandbox::new().unwrap();
        let p = sb.path().to_path_buf();
        assert!(p.is_dir());
        drop(sb);
        assert!(!p.exists());
    }

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
