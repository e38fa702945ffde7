//! Host resources a guest can use up without touching its linear memory: open
//! files and disk space in its preopened directories. wasmtime-wasi has no quota
//! for either, so the [`Watchdog`] measures them while the guest runs (from the
//! epoch callback, and on a timer while the guest waits in a host call) and stops
//! the guest that goes past its limit.
//!
//! Measuring never depends on host path length: the tree is walked one
//! directory handle at a time (through `/proc/self/fd` on Linux), and a
//! descriptor is attributed to the test by what it points to (its inode, in the
//! test's tree) when its path is too long to read. Disk use counts growth only:
//! what the fixture copies already held when the guest started is not counted.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A limit the watchdog enforces, hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitHit {
    OpenFiles { held: u64, limit: u64 },
    Disk { used: u64, limit: u64 },
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitHit::OpenFiles { held, limit } => write!(
                f,
                "open file limit: the guest held {held} open files, more than its limit of {limit} \
                 (limits.open_files)"
            ),
            LimitHit::Disk { used, limit } => write!(
                f,
                "disk limit: the guest's directories grew by at least {used} bytes, more than the \
                 limit of {limit} (limits.disk_bytes)"
            ),
        }
    }
}

impl std::error::Error for LimitHit {}

/// Bytes an entry counts for at least: an empty file still costs an inode and a
/// directory entry, so a guest creating files forever is caught too.
const MIN_ENTRY_BYTES: u64 = 4096;
/// Disk usage is measured every this many checks (ticks), as it walks the tree.
const DISK_EVERY: u32 = 10;
/// A disk measurement waits at least this many times as long as the previous
/// one took: walking a huge tree never takes more than a tenth of the time.
const DISK_BACKOFF: u32 = 10;
/// The most entries one measurement visits (a tree bigger than this has grown
/// past any sensible limit anyway: each entry counts [`MIN_ENTRY_BYTES`]).
const MAX_WALKED_ENTRIES: u64 = 1 << 20;

/// Watches one test's sandbox directory.
#[derive(Debug)]
pub struct Watchdog {
    dir: PathBuf,
    open_files: u64,
    disk_bytes: u64,
    /// What the directory held when watching began (the fixture copies).
    baseline: u64,
    checks: u32,
    /// No disk measurement before this (see [`DISK_BACKOFF`]).
    next_disk: std::time::Instant,
}

impl Watchdog {
    /// Watches `dir` (canonicalised, to compare with `/proc/self/fd` links);
    /// its current size is the baseline that growth is measured from.
    pub fn new(dir: &Path, open_files: u64, disk_bytes: u64) -> Watchdog {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let baseline = disk_usage(&dir, u64::MAX);
        Watchdog {
            dir,
            open_files,
            disk_bytes,
            baseline,
            checks: 0,
            next_disk: std::time::Instant::now(),
        }
    }

    /// Measures open files every time and disk use every [`DISK_EVERY`] calls
    /// (it walks the tree); `Err` when a limit is exceeded.
    pub fn check(&mut self) -> Result<(), LimitHit> {
        self.checks = self.checks.wrapping_add(1);
        self.measure(self.checks.is_multiple_of(DISK_EVERY))
    }

    /// Measures both open files and disk use now.
    pub fn check_all(&mut self) -> Result<(), LimitHit> {
        self.measure(true)
    }

    fn measure(&mut self, disk: bool) -> Result<(), LimitHit> {
        // Counting the process's descriptors is cheap; attributing them to this
        // test's directory only happens when the total is high.
        if let Some(total) = process_open_files()
            && total > self.open_files
        {
            let held = open_files_under(&self.dir);
            if held > self.open_files {
                return Err(LimitHit::OpenFiles {
                    held,
                    limit: self.open_files,
                });
            }
        }
        if disk && std::time::Instant::now() >= self.next_disk {
            let started = std::time::Instant::now();
            let limit = self.baseline.saturating_add(self.disk_bytes);
            let used = disk_usage(&self.dir, limit).saturating_sub(self.baseline);
            self.next_disk = std::time::Instant::now() + started.elapsed() * DISK_BACKOFF;
            if used > self.disk_bytes {
                return Err(LimitHit::Disk {
                    used,
                    limit: self.disk_bytes,
                });
            }
        }
        Ok(())
    }
}

/// How many descriptors this process holds, where the OS tells (`/proc/self/fd`).
fn process_open_files() -> Option<u64> {
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(dir.count() as u64)
}

/// How many of this process's descriptors point into `dir`'s tree: by path
/// when it can be read, else by inode (a path longer than the kernel will
/// print), or as a deleted file that lived under `dir`.
fn open_files_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let mut inodes: Option<HashSet<(u64, u64)>> = None;
    let mut held = 0;
    for e in entries.filter_map(Result::ok) {
        let inside = match std::fs::read_link(e.path()) {
            Ok(target) => target.starts_with(dir),
            Err(_) => {
                let tree = inodes.get_or_insert_with(|| tree_inodes(dir));
                std::fs::metadata(e.path()).is_ok_and(|m| tree.contains(&inode(&m)))
            }
        };
        held += u64::from(inside);
    }
    held
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The (device, inode) of every entry under `dir`.
fn tree_inodes(dir: &Path) -> HashSet<(u64, u64)> {
    let mut set = HashSet::new();
    walk(dir, |_, meta| {
        set.insert(inode(meta));
        true
    });
    set
}

/// Allocated bytes under `dir` (each entry counting at least [`MIN_ENTRY_BYTES`]),
/// without following symlinks; stops counting once past `stop_after`.
pub fn disk_usage(dir: &Path, stop_after: u64) -> u64 {
    let mut used = 0u64;
    walk(dir, |_, meta| {
        #[cfg(unix)]
        let allocated = std::os::unix::fs::MetadataExt::blocks(meta) * 512;
        #[cfg(not(unix))]
        let allocated = meta.len();
        used = used.saturating_add(allocated.max(MIN_ENTRY_BYTES));
        used <= stop_after
    });
    used
}

/// Visits every entry under `dir` (not `dir` itself) with its metadata, never
/// following a symlink, until `visit` returns false or [`MAX_WALKED_ENTRIES`]
/// were seen. Holds one directory handle at a time, so neither the depth of the
/// tree nor the length of its paths matters.
fn walk(dir: &Path, mut visit: impl FnMut(&std::ffi::OsStr, &std::fs::Metadata) -> bool) {
    let Ok(top) = std::fs::File::open(dir) else {
        return;
    };
    // The names still to visit in each directory from the top down to the
    // current one; the current directory's handle is `here`.
    let mut pending: Vec<Vec<OsString>> = vec![names(&top)];
    let mut here = top;
    let mut seen = 0u64;
    while let Some(level) = pending.last_mut() {
        let Some(name) = level.pop() else {
            pending.pop();
            if pending.is_empty() {
                break;
            }
            match open_in(&here, std::ffi::OsStr::new("..")) {
                Some(up) => here = up,
                None => break,
            }
            continue;
        };
        let Some(meta) = stat_in(&here, &name) else {
            continue;
        };
        seen += 1;
        if !visit(&name, &meta) || seen >= MAX_WALKED_ENTRIES {
            return;
        }
        if meta.is_dir()
            && let Some(down) = open_in(&here, &name)
        {
            pending.push(names(&down));
            here = down;
        }
    }
}

/// The path naming `name` inside the directory open as `dir`, whatever its
/// real path's length (Linux: through `/proc/self/fd`).
fn in_dir(dir: &std::fs::File, name: &std::ffi::OsStr) -> PathBuf {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (dir, name);
        PathBuf::new()
    }
}

fn names(dir: &std::fs::File) -> Vec<OsString> {
    std::fs::read_dir(in_dir(dir, std::ffi::OsStr::new(".")))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect()
        })
        .unwrap_or_default()
}

fn stat_in(dir: &std::fs::File, name: &std::ffi::OsStr) -> Option<std::fs::Metadata> {
    std::fs::symlink_metadata(in_dir(dir, name)).ok()
}

/// Opens a subdirectory (never through a symlink), or `..`.
fn open_in(dir: &std::fs::File, name: &std::ffi::OsStr) -> Option<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW);
    }
    options.open(in_dir(dir, name)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_usage_counts_entries_and_blocks() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(disk_usage(dir.path(), u64::MAX), 0);
        std::fs::write(dir.path().join("a"), vec![1u8; 100_000]).unwrap();
        std::fs::write(dir.path().join("b"), b"").unwrap();
        let used = disk_usage(dir.path(), u64::MAX);
        assert!(used >= 100_000 + MIN_ENTRY_BYTES, "{used}");
    }

    #[test]
    #[cfg_attr(
        not(target_os = "linux"),
        ignore = "open files are counted through /proc/self/fd (Linux)"
    )]
    fn open_files_are_attributed_to_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let canonical = dir.path().canonicalize().unwrap();
        let before = open_files_under(&canonical);
        let files: Vec<_> = (0..5)
            .map(|_| std::fs::File::open(&path).unwrap())
            .collect();
        assert!(
            process_open_files().is_some(),
            "/proc/self/fd cannot be read"
        );
        assert_eq!(open_files_under(&canonical), before + 5);
        let mut dog = Watchdog::new(dir.path(), 2, u64::MAX);
        assert!(matches!(dog.check(), Err(LimitHit::OpenFiles { .. })));
        drop(files);
    }

    #[test]
    fn only_growth_counts_against_the_disk_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fixture"), vec![1u8; 200_000]).unwrap();
        let mut dog = Watchdog::new(dir.path(), u64::MAX, 10_000);
        assert_eq!(dog.check_all(), Ok(()), "the fixture itself is not growth");
        std::fs::write(dir.path().join("big"), vec![1u8; 200_000]).unwrap();
        // Disk is measured every DISK_EVERY checks, and no sooner than the
        // backoff after the last measurement: check until it is (bounded).
        let start = std::time::Instant::now();
        let hit = loop {
            if let Err(hit) = dog.check() {
                break hit;
            }
            // A hang guard, not a timing check: the loop ends at the first
            // measurement, which the backoff allows within milliseconds.
            assert!(start.elapsed().as_secs() < 60, "the growth was never seen");
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert!(hit.to_string().starts_with("disk limit"), "{hit}");
    }

    #[test]
    fn measuring_does_not_depend_on_path_length() {
        // 20 directories of 250-character names (a 5 000-byte path), made one
        // handle at a time, then files at the bottom.
        let dir = tempfile::tempdir().unwrap();
        let name = "n".repeat(250);
        let mut here = std::fs::File::open(dir.path()).unwrap();
        for _ in 0..20 {
            std::fs::create_dir(in_dir(&here, name.as_ref())).unwrap();
            here = open_in(&here, name.as_ref()).unwrap();
        }
        let held: Vec<std::fs::File> = (0..8)
            .map(|i| {
                let p = in_dir(&here, format!("f{i}").as_ref());
                std::fs::write(&p, vec![7u8; 300_000]).unwrap();
                std::fs::File::open(&p).unwrap()
            })
            .collect();
        let used = disk_usage(dir.path(), u64::MAX);
        assert!(used >= 8 * 300_000, "{used}");
        let canonical = dir.path().canonicalize().unwrap();
        assert!(open_files_under(&canonical) >= 8);
        drop(held);
    }
}
