//! This process's temporary directory, and the removal of those that runs
//! which were killed left behind.
//!
//! Every sandbox and compile directory of a process is made in one *run
//! directory*, `wasi-conform-run-XXXXXX` under the temporary root, holding a
//! `lock` file that the process keeps locked (`flock`) while it lives. A run
//! that ends normally removes its run directory ([`remove_run_dir`]); one
//! that was killed (Ctrl-C, SIGKILL, a CI timeout) cannot, so every run first
//! removes the run directories whose lock nobody holds: their process is
//! gone. A lock file is only ever given its name once it is locked, so a run
//! that is starting is never mistaken for a dead one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The prefix of run directories.
const PREFIX: &str = "wasi-conform-run-";
/// The lock file in a run directory.
const LOCK: &str = "lock";
/// How old a run directory without a lock file must be to be removed (its
/// process died between making it and locking it).
const UNLOCKED_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

struct RunDir {
    path: PathBuf,
    /// Held open (and so locked) until the process ends.
    _lock: File,
}

static RUN_DIR: OnceLock<Option<RunDir>> = OnceLock::new();

/// This process's run directory under `base`, made (after sweeping `base` of
/// dead runs' directories) on first use; `None` where it cannot be made or
/// locked (then sandboxes go straight into `base`).
pub(super) fn run_dir(base: &Path) -> Option<&'static Path> {
    RUN_DIR
        .get_or_init(|| {
            sweep(base);
            create(base).ok()
        })
        .as_ref()
        .map(|r| r.path.as_path())
}

/// Removes this process's run directory and whatever is still in it. Called
/// when a run ends (the CLI does, before exiting); nothing may be made in the
/// temporary root after it.
pub fn remove_run_dir() {
    if let Some(Some(run)) = RUN_DIR.get() {
        let _ = super::remove_tree(&run.path);
    }
}

fn create(base: &Path) -> std::io::Result<RunDir> {
    let path = tempfile::Builder::new()
        .prefix(PREFIX)
        .tempdir_in(base)?
        .keep();
    let made = (|| {
        let staging = path.join(".lock-staging");
        let lock = File::create(&staging)?;
        try_lock(&lock)?;
        std::fs::rename(&staging, path.join(LOCK))?;
        Ok(lock)
    })();
    match made {
        Ok(lock) => Ok(RunDir { path, _lock: lock }),
        Err(e) => {
            let _ = super::remove_tree(&path);
            Err(e)
        }
    }
}

/// Takes the lock on `file` without waiting.
fn try_lock(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this File owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Err(std::io::Error::other("no file locks here"))
    }
}

/// Removes the run directories in `base` whose process is gone: their lock
/// can be taken, or they have no lock file and are older than
/// [`UNLOCKED_GRACE`]. Only real directories of this user are touched.
fn sweep(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let dir = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() || !owned_by_me(&meta) {
            continue;
        }
        let dead = match File::open(dir.join(LOCK)) {
            Ok(lock) => try_lock(&lock).is_ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > UNLOCKED_GRACE),
            Err(_) => false,
        };
        if dead {
            let _ = super::remove_tree(&dir);
        }
    }
}

fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        meta.uid() == unsafe { libc::geteuid() }
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_runs_are_swept_and_live_ones_kept() {
        let base = tempfile::tempdir().unwrap();
        // A dead run: its lock file is there, unlocked, with a sandbox in it.
        let dead = base.path().join(format!("{PREFIX}dead"));
        std::fs::create_dir_all(dead.join("wasi-conform-x/0-fixture.dir/deep")).unwrap();
        File::create(dead.join(LOCK)).unwrap();
        // A live run: its lock is held.
        let live = base.path().join(format!("{PREFIX}live"));
        std::fs::create_dir_all(live.join("wasi-conform-y")).unwrap();
        let held = File::create(live.join(LOCK)).unwrap();
        try_lock(&held).unwrap();
        // A run still starting (no lock file yet), and something else.
        let starting = base.path().join(format!("{PREFIX}starting"));
        std::fs::create_dir(&starting).unwrap();
        let other = base.path().join("other-tool-dir");
        std::fs::create_dir(&other).unwrap();

        sweep(base.path());
        assert!(!dead.exists());
        assert!(live.join("wasi-conform-y").exists());
        assert!(starting.exists());
        assert!(other.exists());

        // Once its process is gone (the lock's file closed), it goes too.
        drop(held);
        sweep(base.path());
        assert!(!live.exists());
    }

    #[test]
    fn a_new_run_directory_is_locked_and_named_lock() {
        let base = tempfile::tempdir().unwrap();
        let run = create(base.path()).unwrap();
        let names: Vec<_> = std::fs::read_dir(&run.path)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(LOCK)]);
        // Another opener cannot take it: a sweep leaves it.
        sweep(base.path());
        assert!(run.path.exists());
    }
}
