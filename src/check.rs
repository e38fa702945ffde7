//! Comparing what happened with what the spec expects. Knows nothing of WASI: it
//! compares bytes, exit codes, trap messages, files and numbers, and renders diffs.

use std::fmt;

use serde_json::Value;

use crate::spec::{ExitExpectation, StreamMatcher};

/// How a guest run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum GuestEnd {
    /// `proc_exit(code)`, or `_start` returned (0).
    Exited(i32),
    /// A trap, a limit (timeout, fuel, memory) or a host error that ended the guest.
    Trapped(Trap),
    /// An invoked function returned these values.
    Returned(Vec<WasmValue>),
    /// An external runtime's process was ended by this signal.
    Signaled(i32),
}

impl fmt::Display for GuestEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestEnd::Exited(code) => write!(f, "exited with code {code}"),
            GuestEnd::Trapped(t) => write!(f, "trapped: {}", t.message),
            GuestEnd::Returned(v) => write!(f, "returned [{}]", join_values(v)),
            GuestEnd::Signaled(s) => write!(f, "was killed by signal {s}"),
        }
    }
}

/// A trap: its message and, when wasm frames were on the stack, the backtrace.
#[derive(Debug, Clone, PartialEq)]
pub struct Trap {
    pub message: String,
    pub backtrace: Option<String>,
}

/// A wasm number, as a function returned it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WasmValue {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}

impl fmt::Display for WasmValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasmValue::I32(v) => write!(f, "{v} (i32)"),
            WasmValue::I64(v) => write!(f, "{v} (i64)"),
            WasmValue::F32(v) => write!(f, "{v} (f32)"),
            WasmValue::F64(v) => write!(f, "{v} (f64)"),
        }
    }
}

fn join_values(v: &[WasmValue]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One way a test failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// What a failure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The spec or manifest is invalid.
    Spec,
    /// The module cannot be read, compiled or linked.
    Module,
    /// The sandbox could not be prepared.
    Setup,
    /// An operation (`read`, `write`, ...) did not do what the spec says.
    Operation,
    /// The run ended otherwise than expected (exit code or trap).
    Exit,
    /// A whole output stream differs.
    Stream,
    /// A file after the run differs.
    File,
    /// An invoked function returned other values.
    Result,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Compares how a run ended with a `wait` expectation.
pub fn exit(expected: &ExitExpectation, actual: &GuestEnd) -> Option<Failure> {
    match (expected, actual) {
        (ExitExpectation::Code(want), GuestEnd::Exited(got)) if want == got => None,
        (ExitExpectation::Code(want), GuestEnd::Exited(got)) => Some(Failure::new(
            FailureKind::Exit,
            format!("exit code: expected {want}, got {got}"),
        )),
        (ExitExpectation::Code(0), GuestEnd::Returned(_)) => None,
        (ExitExpectation::Code(want), GuestEnd::Returned(v)) => Some(Failure::new(
            FailureKind::Exit,
            format!(
                "exit code: expected {want}, but the function returned [{}]",
                join_values(v)
            ),
        )),
        (ExitExpectation::Code(want), GuestEnd::Signaled(s)) => Some(Failure::new(
            FailureKind::Exit,
            format!("exit code: expected {want}, but the runtime process was killed by signal {s}"),
        )),
        (ExitExpectation::Code(want), GuestEnd::Trapped(t)) => Some(Failure::new(
            FailureKind::Exit,
            format!(
                "expected exit code {want}, but the guest trapped: {}{}",
                t.message,
                backtrace_suffix(t)
            ),
        )),
        (ExitExpectation::Trap(want), GuestEnd::Trapped(t)) => {
            if t.message.contains(want.as_str()) {
                None
            } else {
                Some(Failure::new(
                    FailureKind::Exit,
                    format!(
                        "trap message: expected it to contain {want:?}, got {:?}{}",
                        t.message,
                        backtrace_suffix(t)
                    ),
                ))
            }
        }
        (ExitExpectation::Trap(want), other) => Some(Failure::new(
            FailureKind::Exit,
            format!("expected a trap containing {want:?}, but the guest {other}"),
        )),
    }
}

fn backtrace_suffix(t: &Trap) -> String {
    match &t.backtrace {
        Some(bt) => format!("\n{}", indent(bt.trim_end(), "    ")),
        None => String::new(),
    }
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compares a whole output stream with its matcher. `golden` is the content of a
/// `{"file": ...}` golden file (read by the caller).
pub fn stream(
    name: &str,
    matcher: &StreamMatcher,
    golden: Option<&[u8]>,
    actual: &[u8],
    truncated: bool,
    color: bool,
) -> Option<Failure> {
    let note = if truncated {
        format!("\n(note: {name} was truncated at the output limit; the rest was dropped)")
    } else {
        String::new()
    };
    let fail = |message: String| {
        Some(Failure::new(
            FailureKind::Stream,
            format!("{message}{note}"),
        ))
    };
    match matcher {
        StreamMatcher::Exact(want) => {
            if actual == want.as_bytes() {
                return None;
            }
            fail(format!(
                "{name} differs from the expected text\n{}",
                diff(want.as_bytes(), actual, color)
            ))
        }
        StreamMatcher::File(path) => {
            let want = golden.unwrap_or_default();
            if actual == want {
                return None;
            }
            fail(format!(
                "{name} differs from golden file {}\n{}",
                path.display(),
                diff(want, actual, color)
            ))
        }
        StreamMatcher::Contains(needle) => {
            let hay = String::from_utf8_lossy(actual);
            if hay.contains(needle.as_str()) {
                return None;
            }
            fail(format!(
                "{name} does not contain {needle:?}\n{name} was:\n{}",
                indent(&visible_block(actual), "    ")
            ))
        }
        StreamMatcher::Regex(re) => {
            let hay = String::from_utf8_lossy(actual);
            if re.is_match(&hay) {
                return None;
            }
            let pattern = re
                .as_str()
                .strip_prefix(r"\A(?:")
                .and_then(|p| p.strip_suffix(r")\z"))
                .unwrap_or(re.as_str());
            fail(format!(
                "{name} does not match the regex {pattern:?} (the whole stream must match)\n{name} was:\n{}",
                indent(&visible_block(actual), "    ")
            ))
        }
    }
}

/// Compares the bytes a `read` operation got with its payload.
pub fn read(stream: &str, expected: &str, actual: &[u8], color: bool) -> Option<Failure> {
    if actual == expected.as_bytes() {
        return None;
    }
    let short = if actual.len() < expected.len() {
        format!(
            " (only {} of {} bytes arrived before the stream ended)",
            actual.len(),
            expected.len()
        )
    } else {
        String::new()
    };
    Some(Failure::new(
        FailureKind::Operation,
        format!(
            "read {stream}: expected {} bytes{short}\n{}",
            expected.len(),
            diff(expected.as_bytes(), actual, color)
        ),
    ))
}

/// What is at a path after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Absent,
    Regular(Vec<u8>),
    /// Something else: a directory, a symlink (never followed), ...
    Other(String),
}

/// Compares a file's state after the run with the expectation (`None` = must not exist).
pub fn file(
    guest_path: &str,
    expected: Option<&str>,
    actual: &FileState,
    color: bool,
) -> Option<Failure> {
    let msg = match (expected, actual) {
        (None, FileState::Absent) => return None,
        (Some(want), FileState::Regular(got)) if want.as_bytes() == got.as_slice() => return None,
        (None, FileState::Regular(got)) => format!(
            "file {guest_path}: expected it not to exist, but it does ({} bytes)",
            got.len()
        ),
        (None, FileState::Other(what)) => {
            format!("file {guest_path}: expected it not to exist, but it is {what}")
        }
        (Some(_), FileState::Absent) => {
            format!("file {guest_path}: expected it to exist, but it does not")
        }
        (Some(_), FileState::Other(what)) => {
            format!("file {guest_path}: expected a regular file, but it is {what}")
        }
        (Some(want), FileState::Regular(got)) => format!(
            "file {guest_path} differs from the expected content\n{}",
            diff(want.as_bytes(), got, color)
        ),
    };
    Some(Failure::new(FailureKind::File, msg))
}

/// Compares an invoked function's results with `result`; `call` names the call,
/// e.g. `add(2, 3)`.
pub fn values(call: &str, expected: &[Value], actual: &[WasmValue]) -> Option<Failure> {
    let mismatch = expected.len() != actual.len()
        || expected
            .iter()
            .zip(actual)
            .any(|(e, a)| !value_matches(e, *a));
    mismatch.then(|| {
        Failure::new(
            FailureKind::Result,
            format!(
                "result of {call}: expected [{}], got [{}]",
                expected
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                join_values(actual)
            ),
        )
    })
}

fn value_matches(expected: &Value, actual: WasmValue) -> bool {
    match actual {
        WasmValue::I32(a) => {
            parse_int(expected).is_some_and(|e| e == i128::from(a) || e == i128::from(a as u32))
        }
        WasmValue::I64(a) => {
            parse_int(expected).is_some_and(|e| e == i128::from(a) || e == i128::from(a as u64))
        }
        WasmValue::F32(a) => parse_float(expected).is_some_and(|e| float_eq(e, f64::from(a))),
        WasmValue::F64(a) => parse_float(expected).is_some_and(|e| float_eq(e, a)),
    }
}

fn float_eq(e: f64, a: f64) -> bool {
    (e.is_nan() && a.is_nan()) || e == a
}

/// An integer from a JSON number or numeric string.
pub fn parse_int(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A float from a JSON number or a string such as "nan", "inf", "-inf", "1.5".
pub fn parse_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "nan" | "+nan" | "-nan" => Some(f64::NAN),
            "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// A unified diff of expected vs actual, with invisible characters made visible
/// and the first differing byte offset named.
pub fn diff(expected: &[u8], actual: &[u8], color: bool) -> String {
    let offset = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    let want = visible_lines(expected);
    let got = visible_lines(actual);
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    let got: Vec<&str> = got.iter().map(String::as_str).collect();
    let text_diff = similar::TextDiff::from_slices(&want, &got);
    let mut out = format!(
        "first difference at byte {offset} (expected {} bytes, got {})\n",
        expected.len(),
        actual.len()
    );
    let (red, green, cyan, reset) = if color {
        ("\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    out.push_str(&format!(
        "{red}--- expected{reset}\n{green}+++ actual{reset}\n"
    ));
    for group in text_diff.grouped_ops(3) {
        let (first, last) = (group[0], group[group.len() - 1]);
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        out.push_str(&format!(
            "{cyan}@@ -{},{} +{},{} @@{reset}\n",
            old.start + 1,
            old.len(),
            new.start + 1,
            new.len()
        ));
        for op in group {
            for change in text_diff.iter_changes(&op) {
                let (sign, c) = match change.tag() {
                    similar::ChangeTag::Delete => ("-", red),
                    similar::ChangeTag::Insert => ("+", green),
                    similar::ChangeTag::Equal => (" ", ""),
                };
                let r = if c.is_empty() { "" } else { reset };
                out.push_str(&format!("{c}{sign}{}{r}\n", change.value()));
            }
        }
    }
    out
}

/// Splits into lines (without the `\n`), marking a missing final newline.
fn visible_lines(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return vec!["(empty)".into()];
    }
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<String> = text.split_inclusive('\n').map(visible).collect();
    if let Some(last) = lines.last_mut().filter(|_| !text.ends_with('\n')) {
        last.push_str("⟨no newline at end⟩");
    }
    lines
}

fn visible_block(bytes: &[u8]) -> String {
    visible_lines(bytes).join("\n")
}

/// A short, one-line rendering of bytes for a message: quoted, invisible
/// characters escaped, at most [`INLINE_EXCERPT_BYTES`] of them (head and tail,
/// with the count of what was cut between).
pub fn excerpt_inline(bytes: &[u8]) -> String {
    let quote = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .chars()
            .flat_map(char::escape_debug)
            .collect::<String>()
    };
    if bytes.len() <= INLINE_EXCERPT_BYTES {
        return format!("\"{}\"", quote(bytes));
    }
    let half = INLINE_EXCERPT_BYTES / 2;
    format!(
        "\"{}\" ... ({} bytes not shown) ... \"{}\"",
        quote(&bytes[..half]),
        bytes.len() - 2 * half,
        quote(&bytes[bytes.len() - half..])
    )
}

/// The most bytes [`excerpt_inline`] shows.
pub const INLINE_EXCERPT_BYTES: usize = 256;

/// Makes invisible characters of one line visible: control characters as escapes,
/// trailing spaces as `·`. The line's own `\n` is dropped.
pub fn visible(line: &str) -> String {
    let body = line.strip_suffix('\n').unwrap_or(line);
    let trimmed = body.trim_end_matches(' ');
    let trailing = body.len() - trimmed.len();
    let mut out = String::with_capacity(body.len());
    for ch in trimmed.chars() {
        match ch {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{fffd}' => out.push_str("\\u{fffd}"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' | '\u{a0}' => {
                out.push_str(&format!("\\u{{{:x}}}", ch as u32))
            }
            c => out.push(c),
        }
    }
    out.push_str(&"·".repeat(trailing));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_traps() {
        assert_eq!(exit(&ExitExpectation::Code(0), &GuestEnd::Exited(0)), None);
        let f = exit(&ExitExpectation::Code(1), &GuestEnd::Exited(2)).unwrap();
        assert_eq!(f.message, "exit code: expected 1, got 2");
        let trap = GuestEnd::Trapped(Trap {
            message: "wasm trap: wasm `unreachable` instruction executed".into(),
            backtrace: Some("0: 0x1 - f".into()),
        });
        assert_eq!(
            exit(&ExitExpectation::Trap("unreachable".into()), &trap),
            None
        );
        let f = exit(&ExitExpectation::Code(0), &trap).unwrap();
        assert!(
            f.message.contains("trapped") && f.message.contains("0x1 - f"),
            "{}",
            f.message
        );
        let f = exit(
            &ExitExpectation::Trap("timeout".into()),
            &GuestEnd::Exited(0),
        )
        .unwrap();
        assert!(f.message.contains("expected a trap containing \"timeout\""));
    }

    #[test]
    fn stream_matchers() {
        let exact = StreamMatcher::Exact("a\nb\n".into());
        assert_eq!(
            stream("stdout", &exact, None, b"a\nb\n", false, false),
            None
        );
        let f = stream("stdout", &exact, None, b"a\nc\n", false, false).unwrap();
        assert!(
            f.message.contains("first difference at byte 2"),
            "{}",
            f.message
        );
        assert!(f.message.contains("-b\n+c\n"), "{}", f.message);
        let contains = StreamMatcher::Contains("lo w".into());
        assert_eq!(
            stream("stdout", &contains, None, b"hello world", false, false),
            None
        );
        assert!(stream("stdout", &contains, None, b"nope", false, false).is_some());
        let re = StreamMatcher::Regex(regex::Regex::new(r"\A(?:\d+\n)\z").unwrap());
        assert_eq!(stream("stdout", &re, None, b"42\n", false, false), None);
        let f = stream("stdout", &re, None, b"x42\n", true, false).unwrap();
        assert!(
            f.message.contains("does not match the regex"),
            "{}",
            f.message
        );
        assert!(f.message.contains("truncated"));
    }

    #[test]
    fn invisible_characters_are_shown() {
        assert_eq!(visible("a\tb\r\n"), "a\\tb\\r");
        assert_eq!(visible("x  \n"), "x··");
        assert_eq!(visible("\u{1b}[0m"), "\\x1b[0m");
        let d = diff(b"a", b"a\n", false);
        assert!(d.contains("no newline at end"), "{d}");
    }

    #[test]
    fn files_and_values() {
        let x = FileState::Regular(b"x".to_vec());
        assert_eq!(file("/a", Some("x"), &x, false), None);
        assert_eq!(file("/a", None, &FileState::Absent, false), None);
        assert!(
            file("/a", None, &x, false)
                .unwrap()
                .message
                .contains("not to exist")
        );
        assert!(
            file("/a", Some("x"), &FileState::Absent, false)
                .unwrap()
                .message
                .contains("does not")
        );
        let dir = FileState::Other("a directory".into());
        assert!(
            file("/a", Some("x"), &dir, false)
                .unwrap()
                .message
                .contains("a directory")
        );
        let j = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(values("f()", &[j("3")], &[WasmValue::I32(3)]), None);
        assert_eq!(values("f()", &[j("\"-1\"")], &[WasmValue::I64(-1)]), None);
        assert_eq!(
            values(
                "f()",
                &[j("\"18446744073709551615\"")],
                &[WasmValue::I64(-1)]
            ),
            None
        );
        assert_eq!(
            values("f()", &[j("\"nan\"")], &[WasmValue::F32(f32::NAN)]),
            None
        );
        assert_eq!(
            values(
                "f()",
                &[j("\"-inf\"")],
                &[WasmValue::F64(f64::NEG_INFINITY)]
            ),
            None
        );
        assert_eq!(values("f()", &[j("1.5")], &[WasmValue::F64(1.5)]), None);
        let f = values("f()", &[j("4")], &[WasmValue::I32(3)]).unwrap();
        assert_eq!(f.message, "result of f(): expected [4], got [3 (i32)]");
        assert!(values("f()", &[], &[WasmValue::I32(3)]).is_some());
    }
}
