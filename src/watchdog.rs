//! Host resources a guest can use up without touching its linear memory: open
//! files and disk space in its preopened directories. wasmtime-wasi has no quota
//! for either, so the [`Watchdog`] measures them while the guest runs (from the
//! epoch callback, every tick) and stops the guest that goes past its limit.

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
                "disk limit: the guest's directories grew to at least {used} bytes, more than the \
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

/// Watches one test's sandbox directory.
#[derive(Debug)]
pub struct Watchdog {
    dir: PathBuf,
    open_files: u64,
    disk_bytes: u64,
    checks: u32,
}

impl Watchdog {
    /// Watches `dir` (canonicalised, to compare with `/proc/self/fd` links).
    pub fn new(dir: &Path, open_files: u64, disk_bytes: u64) -> Watchdog {
        Watchdog {
            dir: dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
            open_files,
            disk_bytes,
            checks: 0,
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
        // test's directory (one readlink each) only happens when the total is high.
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
        if disk {
            let used = disk_usage(&self.dir, self.disk_bytes);
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

/// How many of this process's descriptors point under `dir`.
fn open_files_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|target| target.starts_with(dir))
        .count() as u64
}

/// Allocated bytes under `dir` (each entry counting at least [`MIN_ENTRY_BYTES`]),
/// without following symlinks; stops counting once past `stop_after`.
pub fn disk_usage(dir: &Path, stop_after: u64) -> u64 {
    let mut used = 0u64;
    for entry in walkdir::WalkDir::new(dir).follow_links(false).min_depth(1) {
        let Ok(entry) = entry else { continue };
        let Ok(meta) = entry.metadata() else { continue };
        #[cfg(unix)]
        let allocated = std::os::unix::fs::MetadataExt::blocks(&meta) * 512;
        #[cfg(not(unix))]
        let allocated = meta.len();
        used = used.saturating_add(allocated.max(MIN_ENTRY_BYTES));
        if used > stop_after {
            break;
        }
    }
    used
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
    fn open_files_are_attributed_to_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let canonical = dir.path().canonicalize().unwrap();
        let before = open_files_under(&canonical);
        let files: Vec<_> = (0..5)
            .map(|_| std::fs::File::open(&path).unwrap())
            .collect();
        if process_open_files().is_some() {
            assert_eq!(open_files_under(&canonical), before + 5);
            let mut dog = Watchdog::new(dir.path(), 2, u64::MAX);
            assert!(matches!(dog.check(), Err(LimitHit::OpenFiles { .. })));
        }
        drop(files);
    }

    #[test]
    fn disk_limit_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![1u8; 200_000]).unwrap();
        let mut dog = Watchdog::new(dir.path(), u64::MAX, 10_000);
        let hit = (0..DISK_EVERY).find_map(|_| dog.check().err()).unwrap();
        assert!(hit.to_string().starts_with("disk limit"), "{hit}");
    }
}
