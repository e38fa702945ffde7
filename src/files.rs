//! Reading files named by untrusted input (specs, manifests, modules, golden
//! files, expectation files): regular files only, never more than a cap, and
//! paths confined to a directory tree.
//!
//! A FIFO, socket or device is refused before anything is read from it (opened
//! non-blocking, checked with `fstat`), so a spec cannot make the harness hang on
//! a pipe or read `/dev/zero` until memory runs out.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let file = dir.path().join("x.txt");
//! std::fs::write(&file, "hello").unwrap();
//! assert_eq!(wasi_conform::files::read_regular(&file, 16).unwrap(), b"hello");
//! assert!(wasi_conform::files::read_regular(&file, 4).is_err());
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

/// The most bytes a spec file may have: 4 MiB.
pub const MAX_SPEC_BYTES: u64 = 4 << 20;
/// The most bytes a `manifest.json` may have: 1 MiB.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// The most bytes a binary module may have: 512 MiB.
pub const MAX_MODULE_BYTES: u64 = 512 << 20;
/// The most bytes a `.wat` text module may have: 64 MiB.
pub const MAX_WAT_BYTES: u64 = 64 << 20;
/// The most bytes a golden file, a `stdin` file or an expectation file may have: 64 MiB.
pub const MAX_DATA_BYTES: u64 = 64 << 20;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: no such file", .0.display())]
    NotFound(PathBuf),
    #[error("{}: not a regular file but {kind}; only regular files are read", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{}: {size} bytes, more than the {max} bytes allowed here", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FileError {
    /// Whether the file simply does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::NotFound(_))
    }
}

/// What kind of thing a file type is, for messages.
pub fn kind_of(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symlink"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Opens a regular file (symlinks followed) of at most `max` bytes, without
/// blocking on a FIFO; returns it with its length.
pub fn open_regular(path: &Path, max: u64) -> Result<(std::fs::File, u64), FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading would block until a writer appears.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.file_type().is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.len() > max {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            max,
        });
    }
    Ok((file, meta.len()))
}

/// The error of an I/O operation on `path`.
pub fn io_error(path: &Path, source: std::io::Error) -> FileError {
    if source.kind() == std::io::ErrorKind::NotFound {
        FileError::NotFound(path.to_path_buf())
    } else {
        FileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reads a regular file (symlinks followed) of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let (file, len) = open_regular(path, max)?;
    let mut bytes = Vec::with_capacity(len as usize);
    // The file may have grown since it was measured: still at most `max`.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// Reads a regular UTF-8 text file of at most `max` bytes.
pub fn read_text(path: &Path, max: u64) -> Result<String, FileError> {
    let bytes = read_regular(path, max)?;
    String::from_utf8(bytes).map_err(|e| FileError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ),
    })
}

/// Whether `path`, with every symlink followed, lies inside `root`'s tree (also
/// with symlinks followed). A path that does not exist yet is judged by its
/// nearest existing ancestor, so a golden file about to be written can be checked.
pub fn is_inside(path: &Path, root: &Path) -> bool {
    let Ok(root) = root.canonicalize() else {
        // A root that does not exist holds nothing real: judge the words alone.
        return lexically_inside(path, root);
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            // What is left must not climb out again.
            let mut depth = real.strip_prefix(&root).map(|p| p.components().count());
            for part in rest.iter().rev() {
                depth = match (depth, *part) {
                    (Ok(0), p) if p == ".." => return false,
                    (Ok(d), p) if p == ".." => Ok(d - 1),
                    (Ok(d), p) if p == "." => Ok(d),
                    (Ok(d), _) => Ok(d + 1),
                    (Err(e), _) => Err(e),
                };
            }
            return depth.is_ok();
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            (Some(parent), None) => {
                // `..` or `.` as the last component.
                rest.push(
                    existing
                        .components()
                        .next_back()
                        .map_or_else(|| std::ffi::OsStr::new("."), |c| c.as_os_str()),
                );
                existing = parent;
            }
            (None, _) => return false,
        }
    }
}

/// Whether `path` stays under `root` when `.` and `..` are resolved as words.
fn lexically_inside(path: &Path, root: &Path) -> bool {
    use std::path::Component;
    let normal = |p: &Path| -> Option<Vec<std::ffi::OsString>> {
        let mut out = Vec::new();
        for c in std::path::absolute(p).ok()?.components() {
            match c {
                Component::ParentDir => {
                    out.pop()?;
                }
                Component::Normal(n) => out.push(n.to_os_string()),
                _ => {}
            }
        }
        Some(out)
    };
    match (normal(path), normal(root)) {
        (Some(p), Some(r)) => p.starts_with(&r),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_fifos_devices_directories_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path in our own temporary directory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_regular(&fifo, 100).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = read_regular(Path::new("/dev/zero"), 100).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        let e = read_regular(dir.path(), 100).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        let e = read_regular(&big, 1 << 20).unwrap_err();
        assert!(matches!(e, FileError::TooLarge { .. }), "{e}");
        assert!(
            read_regular(&dir.path().join("none"), 1)
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn confinement_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("suite");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.txt"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("sub-link")).unwrap();
        assert!(is_inside(&root.join("a.txt"), &root));
        assert!(is_inside(&root.join("sub-link/new.txt"), &root));
        assert!(is_inside(&root.join("missing/deeper/x"), &root));
        assert!(is_inside(&root.join("sub/../a.txt"), &root));
        assert!(!is_inside(&root.join("etc-link/passwd"), &root));
        assert!(!is_inside(&root.join("../outside.txt"), &root));
        assert!(!is_inside(&root.join("missing/../../x"), &root));
        assert!(!is_inside(Path::new("/etc/shadow"), &root));
    }
}
