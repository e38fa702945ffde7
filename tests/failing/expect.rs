//! The `NAME.expect` files of meant-to-fail tests: what a test must end with,
//! section by section, and the matcher (wildcards as in snapbox/trycmd).
//!
//! ```text
//! == outcome: fail
//! == failure: exit
//! exit code: expected 42, got 17
//! == failure: stream
//! (the guest's stderr, for context)
//!     giving up
//! == not reached
//! wait
//! == trace
//! host calls: 1
//!     +[..]ms proc_exit(code=17) -> exit(17)
//! ```
//!
//! `[..]` in a line matches any text within that line; a line that is just
//! `...` matches any number of lines (none included). Trailing newlines of a
//! section are not compared. tests/failing-suites/README.md documents it.

use wasi_conform::TestOutcome;
use wasi_conform::check::FailureKind;

/// The section headers' start.
const HEADER: &str = "== ";
/// Any text within a line.
const ANY_TEXT: &str = "[..]";
/// Any number of lines.
const ANY_LINES: &str = "...";

/// A finished test as an `.expect` file states it: its outcome (as reports
/// spell it), each failure's kind and whole message, what was not reached, and
/// the hints and host calls shown under the failure.
pub fn render(outcome: &str, result: &TestOutcome) -> String {
    let mut out = format!("{HEADER}outcome: {outcome}\n");
    let mut section = |header: &str, body: &str| {
        out.push_str(HEADER);
        out.push_str(header);
        out.push('\n');
        let body = body.trim_end_matches('\n');
        if !body.is_empty() {
            out.push_str(body);
            out.push('\n');
        }
    };
    if let Some(reason) = &result.skipped {
        section("skipped", reason);
    }
    for failure in &result.failures {
        section(&format!("failure: {}", failure.kind), &failure.message);
    }
    if !result.not_reached.is_empty() {
        section("not reached", &result.not_reached.join("\n"));
    }
    if let Some(trace) = result.trace_text() {
        section("trace", &trace);
    }
    out
}

/// Checks the shape of an `.expect` file: it starts with the outcome, and each
/// section header is one [`render`] writes, with a known failure kind.
pub fn validate(text: &str) -> Result<(), String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, first)) if first.starts_with("== outcome: ") => {}
        _ => return Err("line 1: the file must start with `== outcome: OUTCOME`".into()),
    }
    for (i, line) in lines {
        let Some(header) = line.strip_prefix(HEADER) else {
            continue;
        };
        let known = match header.strip_prefix("failure: ") {
            Some(kind) => {
                let kinds = FailureKind::ALL.map(FailureKind::as_str);
                if kinds.contains(&kind) {
                    true
                } else {
                    return Err(format!(
                        "line {}: unknown failure kind `{kind}` (kinds: {})",
                        i + 1,
                        kinds.join(", ")
                    ));
                }
            }
            None => ["skipped", "not reached", "trace"].contains(&header),
        };
        if !known {
            return Err(format!(
                "line {}: unknown section `{line}` (sections: `== failure: KIND`, \
                 `== not reached`, `== trace`, `== skipped`)",
                i + 1
            ));
        }
    }
    Ok(())
}

/// Whether `actual` (a [`render`]ing) fits `expected`, wildcards and all.
pub fn matches(expected: &str, actual: &str) -> bool {
    let expected: Vec<&str> = expected.trim_end_matches('\n').lines().collect();
    let actual: Vec<&str> = actual.trim_end_matches('\n').lines().collect();
    // fits[i][j]: expected[i..] fits actual[j..].
    let (n, m) = (expected.len(), actual.len());
    let mut fits = vec![vec![false; m + 1]; n + 1];
    fits[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            fits[i][j] = if expected[i] == ANY_LINES {
                fits[i + 1][j] || (j < m && fits[i][j + 1])
            } else {
                j < m && line_matches(expected[i], actual[j]) && fits[i + 1][j + 1]
            };
        }
    }
    fits[0][0]
}

/// Whether `actual` fits the pattern line `expected` (`[..]` = any text).
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split(ANY_TEXT).collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The actual text as bless writes it: the host calls' times, which vary from
/// run to run (and so does the width of the column they are aligned in),
/// become wildcards.
pub fn blessed(actual: &str) -> String {
    let column = regex::Regex::new(r"(?m)^ *\+[0-9]+\.[0-9]{3}ms ").expect("a valid regex");
    let time = regex::Regex::new(r"\+[0-9]+\.[0-9]{3}ms").expect("a valid regex");
    let actual = column.replace_all(actual, "[..]ms ");
    time.replace_all(&actual, "+[..]ms").into_owned()
}

/// `actual` with each line that a pattern line of `expected` matches written as
/// that pattern (and each run of lines a `...` takes as one `...`), so that a
/// diff shows only the lines that do not fit.
fn through_patterns(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.trim_end_matches('\n').lines().collect();
    let a: Vec<&str> = actual.trim_end_matches('\n').lines().collect();
    let (n, m) = (e.len(), a.len());
    // best[i][j]: the most lines of a[j..] that e[i..] can match.
    let mut best = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            best[i][j] = if e[i] == ANY_LINES {
                best[i + 1][j].max(1 + best[i][j + 1])
            } else {
                let fits = line_matches(e[i], a[j]);
                let taken = if fits { 1 + best[i + 1][j + 1] } else { 0 };
                taken.max(best[i + 1][j]).max(best[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out: Vec<&str> = Vec::new();
    let mut in_any = false;
    // A pattern line left unmatched: the actual line in its place is shown as
    // it is (a change), not taken by a `...` after it.
    let mut replaced = false;
    while j < m {
        if i < n && e[i] == ANY_LINES && best[i][j] == 1 + best[i][j + 1] && !replaced {
            if !in_any {
                out.push(ANY_LINES);
                in_any = true;
            }
            j += 1;
        } else if i < n && e[i] == ANY_LINES && !replaced {
            if !in_any {
                out.push(ANY_LINES);
            }
            in_any = false;
            i += 1;
        } else if i < n && line_matches(e[i], a[j]) && best[i][j] == 1 + best[i + 1][j + 1] {
            out.push(e[i]);
            (i, j) = (i + 1, j + 1);
            replaced = false;
        } else if i < n && e[i] != ANY_LINES && best[i][j] == best[i + 1][j] {
            i += 1;
            replaced = true;
        } else {
            out.push(a[j]);
            j += 1;
            replaced = false;
        }
    }
    if i < n && e[i] == ANY_LINES && !in_any {
        out.push(ANY_LINES);
    }
    out.join("\n") + "\n"
}

/// A unified diff of the expected file and the actual rendering, the lines that
/// fit their patterns shown as the patterns.
pub fn diff(expected: &str, actual: &str) -> String {
    let expected = format!("{}\n", expected.trim_end_matches('\n'));
    let actual = through_patterns(&expected, actual);
    similar::TextDiff::from_lines(&expected, &actual)
        .unified_diff()
        .context_radius(3)
        .header("expected (.expect)", "actual")
        .to_string()
}
