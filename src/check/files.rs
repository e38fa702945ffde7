//! Checking what a guest left in its preopened directories (`files`): exact
//! text, absence, `contains`, `regex`, a golden file, a SHA-256, a size, or mere
//! existence. The state of a file is read by the sandbox, bounded and without
//! following symlinks; binary differences are shown as an offset and a short hex
//! excerpt, not screens of escaped bytes.

use super::diff::{diff, excerpt_block, first_difference};
use super::{Failure, FailureKind};
use crate::spec::FileExpectation;

/// The most bytes of a file read for checking it: 16 MiB.
pub const MAX_CHECKED_BYTES: u64 = 16 << 20;
/// The most bytes of a file hashed for a `sha256` check: 1 GiB.
pub const MAX_HASHED_BYTES: u64 = 1 << 30;

/// What is at a guest path after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Absent,
    /// A regular file: its size, its first bytes (at most [`MAX_CHECKED_BYTES`]),
    /// and its SHA-256 (lowercase hex) when a check asked for it.
    Regular {
        size: u64,
        head: Vec<u8>,
        sha256: Option<String>,
    },
    /// A symlink, never followed: which guest path, and where it points.
    Symlink {
        path: String,
        target: String,
    },
    /// Something else: a directory, a FIFO, or why it could not be read.
    Other(String),
}

impl FileState {
    /// A regular file whose bytes were all read.
    pub fn regular(bytes: Vec<u8>) -> FileState {
        FileState::Regular {
            size: bytes.len() as u64,
            head: bytes,
            sha256: None,
        }
    }
}

/// Compares a file's state after the run with its expectation.
pub fn file(
    guest_path: &str,
    expected: &FileExpectation,
    actual: &FileState,
    golden: Option<&[u8]>,
    color: bool,
) -> Option<Failure> {
    let fail = |m: String| {
        Some(Failure::new(
            FailureKind::File,
            format!("file {guest_path}: {m}"),
        ))
    };
    let (size, head, sha256) = match (expected, actual) {
        (FileExpectation::Absent, FileState::Absent) => return None,
        (FileExpectation::Absent, other) => {
            return fail(format!(
                "expected it not to exist, but it is {}",
                describe(other)
            ));
        }
        (_, FileState::Absent) => return fail("expected it to exist, but it does not".into()),
        (FileExpectation::Exists, _) => return None,
        (_, FileState::Regular { size, head, sha256 }) => (*size, head.as_slice(), sha256),
        (_, other) => {
            return fail(format!(
                "expected a regular file, but it is {}",
                describe(other)
            ));
        }
    };
    let complete = size == head.len() as u64;
    let partial = if complete {
        String::new()
    } else {
        format!(" (only its first {} of {size} bytes were read)", head.len())
    };
    match expected {
        FileExpectation::Exact(want) => compare(want.as_bytes(), size, head, color)
            .and_then(|m| fail(format!("differs from the expected content\n{m}"))),
        FileExpectation::File(path) => {
            let want = golden.unwrap_or_default();
            compare(want, size, head, color).and_then(|m| {
                fail(format!(
                    "differs from golden file {}\n{m}\nto accept the actual content as the \
                     golden file, rerun in bless mode (`--bless`, or WASI_CONFORM_BLESS=1 under \
                     cargo test)",
                    path.display()
                ))
            })
        }
        FileExpectation::Contains(needle) => {
            if contains(head, needle.as_bytes()) {
                return None;
            }
            fail(format!(
                "does not contain {needle:?}{partial}; it holds:\n{}",
                excerpt_block(head, "    ")
            ))
        }
        FileExpectation::Regex(p) => {
            if complete && p.is_match(head) {
                return None;
            }
            fail(format!(
                "does not match the regex {:?} (the whole content must match){partial}; it holds:\n{}",
                p.source,
                excerpt_block(head, "    ")
            ))
        }
        FileExpectation::Sha256(want) => match sha256 {
            Some(got) if got == want => None,
            Some(got) => fail(format!("SHA-256 is {got}, expected {want} ({size} bytes)")),
            None => fail(format!(
                "could not be hashed: {size} bytes, more than the {MAX_HASHED_BYTES} bytes hashed for a check"
            )),
        },
        FileExpectation::Size(want) if *want == size => None,
        FileExpectation::Size(want) => fail(format!("is {size} bytes, expected {want}")),
        FileExpectation::Absent | FileExpectation::Exists => None,
    }
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// How a file's content differs from `want`, if it does: a text diff for text,
/// the first differing offset with a hex excerpt for binary content.
fn compare(want: &[u8], size: u64, head: &[u8], color: bool) -> Option<String> {
    if size == want.len() as u64 && head == want {
        return None;
    }
    if size != head.len() as u64 {
        let offset = first_difference(want, head);
        return Some(format!(
            "it is {size} bytes (expected {}); first difference at byte {offset}\n{}",
            want.len(),
            hex_window(want, head, offset)
        ));
    }
    if is_text(want) && is_text(head) {
        Some(diff(want, head, color))
    } else {
        let offset = first_difference(want, head);
        Some(format!(
            "binary content differs at byte {offset} (expected {} bytes, got {size})\n{}",
            want.len(),
            hex_window(want, head, offset)
        ))
    }
}

/// Whether bytes read as text (UTF-8 without NULs).
fn is_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// 16 bytes before and 32 after `offset`, in hex, from both sides.
fn hex_window(want: &[u8], got: &[u8], offset: usize) -> String {
    let from = offset.saturating_sub(16);
    let hex = |b: &[u8]| {
        let end = (offset + 32).min(b.len());
        let slice = b.get(from..end).unwrap_or_default();
        let text: Vec<String> = slice.iter().map(|x| format!("{x:02x}")).collect();
        if text.is_empty() {
            "(nothing)".to_string()
        } else {
            text.join(" ")
        }
    };
    format!(
        "    expected @{from:#x}: {}\n    actual   @{from:#x}: {}",
        hex(want),
        hex(got)
    )
}

fn describe(state: &FileState) -> String {
    match state {
        FileState::Absent => "absent".into(),
        FileState::Regular { size, .. } => format!("a regular file of {size} bytes"),
        FileState::Symlink { path, target } => {
            format!(
                "a symlink ({path} points to {target}; symlinks are never followed when checking)"
            )
        }
        FileState::Other(what) => what.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Pattern;

    fn regular(bytes: &[u8]) -> FileState {
        FileState::regular(bytes.to_vec())
    }

    #[test]
    fn every_kind_of_expectation() {
        let x = regular(b"hello world\n");
        let ok = |e: FileExpectation, s: &FileState| file("/a", &e, s, None, false).is_none();
        assert!(ok(FileExpectation::Exact("hello world\n".into()), &x));
        assert!(!ok(FileExpectation::Exact("hello\n".into()), &x));
        assert!(ok(FileExpectation::Contains("o w".into()), &x));
        assert!(!ok(FileExpectation::Contains("nope".into()), &x));
        assert!(ok(
            FileExpectation::Regex(Pattern::new(r"hello \w+\n").unwrap()),
            &x
        ));
        assert!(!ok(
            FileExpectation::Regex(Pattern::new(r"hello").unwrap()),
            &x
        ));
        assert!(ok(FileExpectation::Size(12), &x));
        assert!(!ok(FileExpectation::Size(3), &x));
        assert!(ok(FileExpectation::Exists, &x));
        assert!(!ok(FileExpectation::Exists, &FileState::Absent));
        assert!(ok(FileExpectation::Absent, &FileState::Absent));
        assert!(!ok(FileExpectation::Absent, &x));
        let hashed = FileState::Regular {
            size: 1,
            head: b"x".to_vec(),
            sha256: Some("ab".repeat(32)),
        };
        assert!(ok(FileExpectation::Sha256("ab".repeat(32)), &hashed));
        assert!(!ok(FileExpectation::Sha256("cd".repeat(32)), &hashed));
    }

    #[test]
    fn binary_differences_show_offset_and_hex() {
        let want: Vec<u8> = (0..=255u8).collect();
        let mut got = want.clone();
        got[200] = 0;
        let f = file(
            "/bin",
            &FileExpectation::File("g.bin".into()),
            &regular(&got),
            Some(&want),
            false,
        )
        .unwrap();
        assert!(f.message.contains("differs at byte 200"), "{}", f.message);
        assert!(f.message.contains("c8"), "{}", f.message);
        assert!(f.message.len() < 2000, "{}", f.message);
    }

    #[test]
    fn symlinks_are_reported_not_followed() {
        let link = FileState::Symlink {
            path: "/out".into(),
            target: "/etc/passwd".into(),
        };
        let f = file(
            "/out",
            &FileExpectation::Exact("x".into()),
            &link,
            None,
            false,
        )
        .unwrap();
        assert!(f.message.contains("a symlink"), "{}", f.message);
        assert!(f.message.contains("/etc/passwd"), "{}", f.message);
    }
}
