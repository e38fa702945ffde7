//! The per-test sandbox: temporary copies of fixture directories, and the WASI
//! context built from the spec alone (args, env, stdio, preopens, clocks, random).
//!
//! Nothing of the host leaks in: no environment variable, no host directory but
//! the temporary copies, no network, no host stdio. Fixtures are copied without
//! their `*.cleanup` entries and without following symlinks, so the originals are
//! never changed; the copies are removed when the [`Sandbox`] is dropped.

use std::path::{Path, PathBuf};

use crate::check::{FileState, MAX_CHECKED_BYTES, MAX_HASHED_BYTES};
use crate::spec::{DirMount, Run, Spec};

mod fixture;
mod run_dir;
mod wasi;

pub use fixture::{copy_tree, remove_tree};
pub use run_dir::remove_run_dir;
pub use wasi::{FixedMonotonicClock, FixedWallClock, SeededRng, Stdin, network, wasi_builder};

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
    /// Whether it may hold what a copy never does: a FIFO, socket or device,
    /// whose opening or reading can block for good. A copy never does; a
    /// directory the command line maps in place is not scanned, so it may; a
    /// read-only fixture used in place (not copied) may if the scan that
    /// looked for `*.cleanup` entries met one.
    pub may_block: bool,
}

/// A test's temporary directories. Dropping it removes them.
#[derive(Debug)]
pub struct Sandbox {
    /// The private directory (removed on drop with [`remove_tree`], which copes
    /// with trees of any depth).
    dir: PathBuf,
    /// Fixture → its copy; a fixture used by several runs of a test is copied once.
    copies: Vec<(PathBuf, PathBuf)>,
    /// The preopens of the latest run.
    preopens: Vec<Preopen>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Whatever the guest built (any depth, read-only or not) goes; a failure
        // here cannot be reported to anyone, so the removal tries everything,
        // and tries again (descriptors may be short for a moment).
        for attempt in 0..3 {
            if remove_tree(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
        }
    }
}

impl Sandbox {
    /// Creates the test's private temporary directory.
    pub fn new() -> Result<Sandbox, SandboxError> {
        let dir = tempfile::Builder::new()
            .prefix("wasi-conform-")
            .tempdir_in(temp_root())
            .map_err(SandboxError::TempDir)?
            .keep();
        Ok(Sandbox {
            dir,
            copies: Vec::new(),
            preopens: Vec::new(),
        })
    }

    /// The temporary directory holding this test's copies.
    pub fn path(&self) -> &Path {
        &self.dir
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
        let copy = self.dir.join(format!("{}-{name}", self.copies.len()));
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
            let scan = (m.readonly && !m.in_place).then(|| scan_fixture(&m.host));
            let in_place = m.in_place || scan.is_some_and(|s| !s.cleanup);
            let may_block = m.in_place || (in_place && scan.is_some_and(|s| s.special));
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
                may_block,
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
        pairs.push((self.dir.display().to_string(), "<sandbox>".into()));
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

/// Where sandboxes are made: this process's run directory (see
/// [`remove_run_dir`]) in the temporary base, which is `TMPDIR` when it is
/// set; else `/dev/shm` when it is a memory filesystem with at least
/// [`SHM_MIN_FREE`] free (creating and removing directories there costs
/// microseconds, against milliseconds on some disks, for every test); else the
/// system's temporary directory.
pub fn temp_root() -> PathBuf {
    static BASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        if std::env::var_os("TMPDIR").is_some_and(|v| !v.is_empty()) {
            return std::env::temp_dir();
        }
        let shm = Path::new("/dev/shm");
        if roomy_memory_fs(shm) {
            return shm.to_path_buf();
        }
        std::env::temp_dir()
    });
    run_dir::run_dir(base).unwrap_or(base).to_path_buf()
}

/// Free space a memory filesystem must have to hold sandboxes: 4 GiB.
const SHM_MIN_FREE: u64 = 4 << 30;

/// Whether `dir` is a writable tmpfs with at least [`SHM_MIN_FREE`] free.
fn roomy_memory_fs(dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: statfs(2) into a zeroed struct, with a valid C string.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
            return false;
        }
        // SAFETY: access(2) with a valid C string.
        let writable = unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0;
        #[allow(clippy::unnecessary_cast)]
        let is_tmpfs = st.f_type as i64 == TMPFS_MAGIC;
        let free = (st.f_bavail as u64).saturating_mul(st.f_bsize as u64);
        writable && is_tmpfs && free >= SHM_MIN_FREE
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        false
    }
}

/// Whether a fixture tree holds `*.cleanup` entries (which a copy leaves out).
/// What a read-only fixture holds, as far as preopening it in place goes.
#[derive(Debug, Clone, Copy, Default)]
struct FixtureScan {
    /// A `*.cleanup` entry (the guest must not see it: the fixture is copied).
    cleanup: bool,
    /// A FIFO, socket or device (opening or reading one can block).
    special: bool,
}

/// Walks `dir` (symlinks not followed) once for [`FixtureScan`].
fn scan_fixture(dir: &Path) -> FixtureScan {
    let mut scan = FixtureScan::default();
    for e in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
    {
        scan.cleanup |= e.file_name().to_string_lossy().ends_with(".cleanup");
        let t = e.file_type();
        scan.special |= !(t.is_dir() || t.is_file() || t.is_symlink());
        if scan.cleanup {
            break;
        }
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

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
                may_block: false,
            },
            Preopen {
                guest: "/data".into(),
                host: tmp.join("data"),
                fixture: "d".into(),
                readonly: true,
                may_block: false,
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
}
