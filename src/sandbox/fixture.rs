//! Fixture copies and their removal.
//!
//! A copy is bounded (entries and allocated bytes), never follows a symlink
//! (symlinks are copied as symlinks), leaves `*.cleanup` entries out, clones a
//! file where the filesystem can (reflink), and otherwise copies only its data
//! extents, so a sparse file stays sparse. Removal works on trees of any depth:
//! it never recurses and never builds a path longer than two components below
//! the directory it removes.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The most entries a fixture copy may hold.
pub const MAX_FIXTURE_ENTRIES: u64 = 100_000;
/// The most bytes a fixture copy may allocate on disk: 1 GiB.
pub const MAX_FIXTURE_BYTES: u64 = 1 << 30;

/// What a copy may use, and has used, of its bounds.
#[derive(Debug)]
struct Budget {
    max_entries: u64,
    max_bytes: u64,
    entries: u64,
    bytes: u64,
}

impl Budget {
    fn charge(&mut self, from: &Path, entries: u64, bytes: u64) -> std::io::Result<()> {
        self.entries += entries;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.entries > self.max_entries || self.bytes > self.max_bytes {
            return Err(std::io::Error::other(format!(
                "{} is larger than a fixture may be ({} entries, {} allocated bytes)",
                from.display(),
                self.max_entries,
                self.max_bytes
            )));
        }
        Ok(())
    }
}

/// Copies a fixture tree: directories and files, symlinks as symlinks (never
/// followed), `*.cleanup` entries left out, sparse files kept sparse, within
/// [`MAX_FIXTURE_ENTRIES`] and [`MAX_FIXTURE_BYTES`].
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    copy_bounded(from, to, MAX_FIXTURE_ENTRIES, MAX_FIXTURE_BYTES)
}

fn copy_bounded(from: &Path, to: &Path, max_entries: u64, max_bytes: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut budget = Budget {
        max_entries,
        max_bytes,
        entries: 0,
        bytes: 0,
    };
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
            budget.charge(from, 1, 0)?;
            let target = std::fs::read_link(entry.path())?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &dest)?;
            #[cfg(not(unix))]
            return Err(std::io::Error::other(format!(
                "symlink {} cannot be copied on this platform",
                entry.path().display()
            )));
        } else if ft.is_dir() {
            budget.charge(from, 1, 0)?;
            std::fs::create_dir_all(&dest)?;
        } else if ft.is_file() {
            let meta = entry.metadata().map_err(std::io::Error::other)?;
            budget.charge(from, 1, allocated(&meta))?;
            copy_file(entry.path(), &dest)?;
        }
        // Sockets, fifos and devices are not copied: a fixture is plain files.
    }
    Ok(())
}

/// Bytes a file occupies on disk.
fn allocated(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::blocks(meta) * 512
    }
    #[cfg(not(unix))]
    {
        meta.len()
    }
}

/// Copies one regular file: a clone (reflink) where the filesystem supports it,
/// else its data extents only.
fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
    let src = std::fs::File::open(from)?;
    let dst = std::fs::File::create(to)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: FICLONE with two open descriptors we own; failure is harmless.
        if unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) } == 0 {
            return Ok(());
        }
    }
    copy_extents(src, dst)
}

/// Copies the data of `src` into `dst` extent by extent (holes stay holes).
fn copy_extents(mut src: std::fs::File, mut dst: std::fs::File) -> std::io::Result<()> {
    let len = src.metadata()?.len();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        let Some((start, end)) = next_extent(&src, at, len)? else {
            break;
        };
        src.seek(SeekFrom::Start(start))?;
        dst.seek(SeekFrom::Start(start))?;
        let mut left = end - start;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = src.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            dst.write_all(&buf[..n])?;
            left -= n as u64;
        }
        at = end;
    }
    dst.set_len(len)
}

/// The next data extent at or after `at`: `(start, end)`.
fn next_extent(src: &std::fs::File, at: u64, len: u64) -> std::io::Result<Option<(u64, u64)>> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = src.as_raw_fd();
        // SAFETY: lseek on a descriptor we own.
        let data = unsafe { libc::lseek(fd, at as libc::off_t, libc::SEEK_DATA) };
        if data < 0 {
            let e = std::io::Error::last_os_error();
            return match e.raw_os_error() {
                // No data past `at`.
                Some(libc::ENXIO) => Ok(None),
                // The filesystem cannot tell: copy the rest as one extent.
                Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Ok(Some((at, len))),
                _ => Err(e),
            };
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        let end = if hole < 0 { len } else { hole as u64 };
        Ok(Some((data as u64, end.min(len))))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = src;
        Ok(Some((at, len)))
    }
}

/// Removes a directory tree of any depth and width, without recursion: each
/// subdirectory met is first moved up to `dir` itself (under a fresh name), so
/// no path ever grows past `dir/NAME/ENTRY` and no stack grows with the depth.
/// Symlinks are removed, never followed. Returns the first error only after
/// removing everything it could.
pub fn remove_tree(dir: &Path) -> std::io::Result<()> {
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut hoisted = 0u64;
    let mut first_error: Option<std::io::Error> = None;
    let keep = |e: std::io::Error, first: &mut Option<std::io::Error>| {
        if first.is_none() {
            *first = Some(e);
        }
    };
    // Pass 1: flatten. Every directory ends up directly under `dir`.
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(e) => e,
            Err(e) => {
                keep(e, &mut first_error);
                continue;
            }
        };
        for entry in entries.filter_map(Result::ok) {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if !is_dir {
                if let Err(e) = std::fs::remove_file(entry.path()) {
                    keep(e, &mut first_error);
                }
                continue;
            }
            let target = if current == dir {
                entry.path()
            } else {
                let mut up;
                loop {
                    hoisted += 1;
                    up = dir.join(format!(".wasi-conform-rm-{hoisted}"));
                    if std::fs::symlink_metadata(&up).is_err() {
                        break;
                    }
                }
                if let Err(e) = std::fs::rename(entry.path(), &up) {
                    keep(e, &mut first_error);
                    continue;
                }
                up
            };
            pending.push(target);
        }
    }
    // Pass 2: every directory under `dir` is now empty, and one level deep.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            if let Err(e) = std::fs::remove_dir(entry.path()) {
                keep(e, &mut first_error);
            }
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => first_error.map_or(Ok(()), Err),
        Err(e) => Err(first_error.unwrap_or(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn sparse_files_stay_sparse_and_copies_are_bounded() {
        let src = tempfile::tempdir().unwrap();
        let big = src.path().join("sparse.bin");
        let f = fs::File::create(&big).unwrap();
        f.set_len(4 << 30).unwrap();
        drop(f);
        let mut f = fs::OpenOptions::new().write(true).open(&big).unwrap();
        f.seek(SeekFrom::Start(1 << 30)).unwrap();
        f.write_all(b"data in the middle").unwrap();
        drop(f);
        let dst = tempfile::tempdir().unwrap();
        copy_tree(src.path(), &dst.path().join("c")).unwrap();
        let copy = dst.path().join("c/sparse.bin");
        let meta = fs::metadata(&copy).unwrap();
        assert_eq!(meta.len(), 4 << 30);
        assert!(
            allocated(&meta) < 16 << 20,
            "{} bytes allocated",
            allocated(&meta)
        );
        let mut back = fs::File::open(&copy).unwrap();
        back.seek(SeekFrom::Start(1 << 30)).unwrap();
        let mut text = [0u8; 18];
        back.read_exact(&mut text).unwrap();
        assert_eq!(&text, b"data in the middle");

        let wide = tempfile::tempdir().unwrap();
        for i in 0..11 {
            fs::File::create(wide.path().join(i.to_string())).unwrap();
        }
        let e = copy_bounded(wide.path(), &dst.path().join("w"), 10, 1 << 20).unwrap_err();
        assert!(
            e.to_string().contains("larger than a fixture may be"),
            "{e}"
        );
        let e = copy_bounded(src.path(), &dst.path().join("s"), 10, 1024).unwrap_err();
        assert!(e.to_string().contains("1024 allocated bytes"), "{e}");
    }

    #[test]
    fn removes_trees_deeper_than_any_path_or_stack() {
        let tmp = tempfile::tempdir().unwrap();
        let top = tmp.path().join("deep");
        fs::create_dir(&top).unwrap();
        // 10 000 levels (a path of 20 000 bytes, five times PATH_MAX), created relative
        // to each new directory.
        let mut dir = fs::File::open(&top).unwrap();
        for _ in 0..10_000 {
            use std::os::fd::AsRawFd;
            let name = c"d";
            // SAFETY: mkdirat/openat relative to a directory we own.
            unsafe {
                assert_eq!(libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o755), 0);
                let fd = libc::openat(
                    dir.as_raw_fd(),
                    name.as_ptr(),
                    libc::O_DIRECTORY | libc::O_RDONLY,
                );
                assert!(fd >= 0);
                use std::os::fd::FromRawFd;
                dir = fs::File::from_raw_fd(fd);
            }
        }
        drop(dir);
        remove_tree(&top).unwrap();
        assert!(!top.exists());
    }
}
