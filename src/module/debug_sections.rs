//! Reading a core module without the DWARF it carries at its end.
//!
//! Programs built with debug information (every Rust test binary of the
//! official suite) are mostly DWARF: `.debug_info`, `.debug_str`,
//! `.debug_line`... custom sections after the code and data, 2 MB of a 2.1 MB
//! module. The harness never uses them (wasmtime compiles the module the same
//! without them, and only a DWARF-reading backtrace mode, which the harness
//! does not turn on, would read them), yet reading, hashing and parsing them
//! was most of what loading a cached module cost. So the `.debug_*` sections
//! that come after the module's last non-custom section are not read: section
//! headers are read one by one and those sections skipped. Everything before
//! them, and every other custom section (`name`, `producers`...), is kept, so
//! every byte offset a validation error names is the file's own.
//!
//! Anything unexpected (not a core module, a malformed section header, a
//! section running past the end, very many sections) falls back to reading
//! the whole file, and the parser reports what is wrong with it as usual.

use std::fs::File;
use std::path::Path;

use crate::files::{FileError, io_error, open_regular};

/// Sections walked at most before giving up on skipping (reading whole).
const MAX_SECTIONS: usize = 100_000;

/// One section of the file: where it starts and ends, and whether it is a
/// `.debug_*` custom section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Section {
    start: u64,
    end: u64,
    custom: bool,
    debug: bool,
}

/// Reads the binary at `path` (at most `max` bytes), leaving out the
/// `.debug_*` custom sections that follow the last non-custom section of a
/// core module.
pub(super) fn read_without_trailing_debug(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let (file, len) = open_regular(path, max)?;
    let sections = match layout(&file, len) {
        Some(s) if s.iter().any(|s| s.debug) => s,
        _ => return read_range_list(path, &file, &[(0, len)]),
    };
    let kept_prefix = sections
        .iter()
        .rev()
        .find(|s| !s.custom)
        .map_or(8, |s| s.end);
    let mut ranges = vec![(0, kept_prefix)];
    ranges.extend(
        sections
            .iter()
            .filter(|s| s.start >= kept_prefix && !s.debug)
            .map(|s| (s.start, s.end)),
    );
    read_range_list(path, &file, &ranges)
}

/// Reads the given byte ranges of `file`, one after the other.
fn read_range_list(path: &Path, file: &File, ranges: &[(u64, u64)]) -> Result<Vec<u8>, FileError> {
    let total: u64 = ranges.iter().map(|(a, b)| b - a).sum();
    let mut bytes = vec![0u8; usize::try_from(total).unwrap_or(usize::MAX)];
    let mut at = 0usize;
    for &(start, end) in ranges {
        let n = (end - start) as usize;
        read_exact_at(file, &mut bytes[at..at + n], start).map_err(|e| io_error(path, e))?;
        at += n;
    }
    Ok(bytes)
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek};
        let mut f = file;
        f.seek(std::io::SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// Reads up to `buf.len()` bytes at `offset` (fewer at the end of the file).
fn read_some_at(file: &File, buf: &mut [u8], offset: u64, len: u64) -> Option<usize> {
    let n = usize::try_from(len.checked_sub(offset)?)
        .unwrap_or(usize::MAX)
        .min(buf.len());
    read_exact_at(file, &mut buf[..n], offset).ok()?;
    Some(n)
}

/// The sections of a core module file of `len` bytes, from their headers;
/// `None` when it is not a core module or anything looks wrong.
fn layout(file: &File, len: u64) -> Option<Vec<Section>> {
    let mut head = [0u8; 8];
    if read_some_at(file, &mut head, 0, len)? != 8 || head != *b"\0asm\x01\0\0\0" {
        return None;
    }
    let mut sections = Vec::new();
    let mut pos = 8u64;
    while pos < len {
        if sections.len() >= MAX_SECTIONS {
            return None;
        }
        // id, size (LEB128 u32), then for a custom section its name.
        let mut buf = [0u8; 1 + 5 + 5 + 7];
        let n = read_some_at(file, &mut buf, pos, len)?;
        let buf = &buf[..n];
        let id = *buf.first()?;
        let (size, size_len) = leb_u32(buf.get(1..)?)?;
        let body = pos + 1 + size_len as u64;
        let end = body.checked_add(u64::from(size)).filter(|&e| e <= len)?;
        let custom = id == 0;
        let debug = custom && {
            let rest = buf.get(1 + size_len..)?;
            let (name_len, name_len_len) = leb_u32(rest)?;
            let name = rest.get(name_len_len..)?;
            name_len >= 7 && name.starts_with(b".debug_")
        };
        sections.push(Section {
            start: pos,
            end,
            custom,
            debug,
        });
        pos = end;
    }
    Some(sections)
}

/// An unsigned LEB128 u32 at the start of `bytes`, and its length.
fn leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().take(5).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(payload);
        let mut s = vec![0u8, body.len() as u8];
        s.extend(body);
        s
    }

    fn module(parts: &[Vec<u8>]) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        for p in parts {
            m.extend_from_slice(p);
        }
        m
    }

    fn read(bytes: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wasm");
        std::fs::write(&path, bytes).unwrap();
        read_without_trailing_debug(&path, 1 << 20).unwrap()
    }

    // A type section with one `() -> ()` function type.
    const TYPES: [u8; 6] = [1, 4, 1, 0x60, 0, 0];

    #[test]
    fn trailing_debug_sections_are_left_out_and_the_rest_kept() {
        let m = module(&[
            TYPES.to_vec(),
            custom(".debug_info", &[9; 40]),
            custom("name", &[1, 2, 3]),
            custom(".debug_str", &[7; 30]),
            custom("producers", &[4]),
        ]);
        let expected = module(&[
            TYPES.to_vec(),
            custom("name", &[1, 2, 3]),
            custom("producers", &[4]),
        ]);
        assert_eq!(read(&m), expected);
        wasmparser::Validator::new()
            .validate_all(&read(&m))
            .unwrap();
    }

    #[test]
    fn debug_sections_before_a_non_custom_section_are_kept() {
        // Offsets of the type section must not move.
        let m = module(&[custom(".debug_info", &[9; 40]), TYPES.to_vec()]);
        assert_eq!(read(&m), m);
    }

    #[test]
    fn anything_unexpected_is_read_whole() {
        let truncated = {
            let mut m = module(&[TYPES.to_vec(), custom(".debug_info", &[9; 40])]);
            m.truncate(m.len() - 5);
            m
        };
        assert_eq!(read(&truncated), truncated);
        let component = b"\0asm\x0d\0\x01\0rest".to_vec();
        assert_eq!(read(&component), component);
        let text = b"(module)".to_vec();
        assert_eq!(read(&text), text);
        let bad_leb = module(&[vec![0, 0xff, 0xff, 0xff, 0xff, 0xff]]);
        assert_eq!(read(&bad_leb), bad_leb);
    }
}
