//! The most telling line of a failure, for places with room for one line
//! (a matrix cell): a panic or assertion message, a trap, an errno, an
//! error line, the first line of a diff — the exit code only when nothing
//! else is known. A test that fails with `exit code: expected 0, got 134`
//! usually says why in its stderr, shown as a later failure.
//!
//! ```
//! use wasi_conform::report::why::telling_line;
//! let failures = [
//!     "exit code: expected 0, got 134".to_string(),
//!     "(the guest's stderr, for context)\n    thread 'main' panicked at src/main.rs:5:9:\n    \
//!      assertion `left == right` failed\n      left: 8\n     right: 0".to_string(),
//! ];
//! assert_eq!(telling_line(&failures), "panicked: assertion `left == right` failed (left: 8, right: 0)");
//! ```

/// What a line is, most telling first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Panic,
    Assertion,
    Trap,
    Errno,
    Error,
}

/// The line of `failures` (failure messages, in order) that best says why a
/// test failed; the first line of the first failure when none stands out.
pub fn telling_line(failures: &[String]) -> String {
    let mut best: Option<(Kind, String)> = None;
    for failure in failures {
        let lines: Vec<&str> = failure.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            let Some((kind, text)) = classify(line, &lines[i + 1..]) else {
                continue;
            };
            if best.as_ref().is_none_or(|(k, _)| kind < *k) {
                best = Some((kind, text));
            }
        }
    }
    match best {
        Some((_, text)) => text,
        None => first_line(failures),
    }
}

/// What `line` is, and the text to show for it (`rest`: the lines after it).
fn classify(line: &str, rest: &[&str]) -> Option<(Kind, String)> {
    if line.contains("panicked at") {
        // Since Rust 1.73 the message is on the next line; before, on this one.
        return Some(match rest.iter().find(|l| !l.is_empty()) {
            Some(message) if line.ends_with(':') => (
                Kind::Panic,
                format!("panicked: {}", panic_message(message, rest)),
            ),
            _ => (Kind::Panic, line.to_string()),
        });
    }
    let lower = line.to_ascii_lowercase();
    if lower.contains("assertion") && lower.contains("failed") {
        return Some((Kind::Assertion, line.to_string()));
    }
    if lower.contains("wasm trap:") || lower.starts_with("trapped:") {
        return Some((Kind::Trap, line.to_string()));
    }
    if lower.contains("errno") || lower.contains("os error") || is_rust_wasi_error(line) {
        return Some((Kind::Errno, line.to_string()));
    }
    if line.starts_with("Error:") || line.starts_with("error:") {
        return Some((Kind::Error, line.to_string()));
    }
    None
}

/// A panic's message, with `left:`/`right:` of an `assert_eq!` folded in.
fn panic_message(message: &str, rest: &[&str]) -> String {
    let mut text = message.to_string();
    let sides: Vec<&str> = rest
        .iter()
        .skip_while(|l| **l != message)
        .skip(1)
        .take(2)
        .filter(|l| l.starts_with("left:") || l.starts_with("right:"))
        .copied()
        .collect();
    if !sides.is_empty() {
        text.push_str(&format!(" ({})", sides.join(", ")));
    }
    text
}

/// `Error { code: 44, name: "NOENT", ... }`, as Rust's WASI bindings print.
fn is_rust_wasi_error(line: &str) -> bool {
    line.contains("Error { code:") || line.contains("Errno {")
}

fn first_line(failures: &[String]) -> String {
    failures
        .iter()
        .flat_map(|f| f.lines())
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(failures: &[&str]) -> String {
        telling_line(&failures.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_most_telling_line_wins() {
        assert_eq!(
            why(&["exit code: expected 0, got 1"]),
            "exit code: expected 0, got 1"
        );
        assert_eq!(
            why(&[
                "exit code: expected 0, got 134",
                "(the guest's stderr, for context)\n    thread 'main' panicked at src/lib.rs:1:1:\n    called `Result::unwrap()` on an `Err` value: Error { code: 8, name: \"BADF\" }",
            ]),
            "panicked: called `Result::unwrap()` on an `Err` value: Error { code: 8, name: \"BADF\" }"
        );
        assert_eq!(
            why(&[
                "exit code: expected 0, got 134",
                "(the guest's stderr)\n    t: t.c:12: main: Assertion `fd >= 0' failed.",
            ]),
            "t: t.c:12: main: Assertion `fd >= 0' failed."
        );
        assert_eq!(
            why(&[
                "trap: expected none, got\n    wasm trap: integer divide by zero\n    wasm backtrace: ..."
            ]),
            "wasm trap: integer divide by zero"
        );
        assert_eq!(
            why(&[
                "exit code: expected 0, got 1",
                "stderr:\n    Error: No such file or directory (os error 44)"
            ]),
            "Error: No such file or directory (os error 44)"
        );
        assert_eq!(why(&[]), "");
    }
}
