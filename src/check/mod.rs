//! Comparing what happened with what the spec expects. Knows nothing of WASI: it
//! compares bytes, exit codes, trap messages, files and numbers, and renders diffs.

use std::fmt;

use serde_json::Value;

use crate::spec::{ExitExpectation, StreamMatcher};

mod diff;
mod files;

pub use diff::{diff, excerpt_block, excerpt_inline, first_difference, printable, visible};
pub use files::{FileState, MAX_CHECKED_BYTES, MAX_HASHED_BYTES, contains, file};

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
    /// The runtime under test could not run the module at all (it failed its
    /// canary, gave a usage error, could not load the module): the test's
    /// outcome is `error`, neither a pass nor a conformance failure.
    Runtime,
}

impl FailureKind {
    /// Every kind, in declaration order.
    pub const ALL: [FailureKind; 9] = [
        FailureKind::Spec,
        FailureKind::Module,
        FailureKind::Setup,
        FailureKind::Operation,
        FailureKind::Exit,
        FailureKind::Stream,
        FailureKind::File,
        FailureKind::Result,
        FailureKind::Runtime,
    ];

    /// The kind's name in lower case: `spec`, `module`, `setup`, `operation`,
    /// `exit`, `stream`, `file`, `result`, `runtime`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Spec => "spec",
            FailureKind::Module => "module",
            FailureKind::Setup => "setup",
            FailureKind::Operation => "operation",
            FailureKind::Exit => "exit",
            FailureKind::Stream => "stream",
            FailureKind::File => "file",
            FailureKind::Result => "result",
            FailureKind::Runtime => "runtime",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
            if contains(actual, needle.as_bytes()) {
                return None;
            }
            fail(format!(
                "{name} does not contain {needle:?}\n{name} was:\n{}",
                excerpt_block(actual, "    ")
            ))
        }
        StreamMatcher::Regex(pattern) => {
            if pattern.is_match(actual) {
                return None;
            }
            fail(format!(
                "{name} does not match the regex {:?} (the whole stream must match)\n{name} was:\n{}",
                pattern.source,
                excerpt_block(actual, "    ")
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
        let re = StreamMatcher::Regex(crate::spec::Pattern::new(r"\d+\n").unwrap());
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
    fn values_of_invoked_functions() {
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
