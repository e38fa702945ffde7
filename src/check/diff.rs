//! Rendering differences and excerpts for failure messages, always bounded:
//! a unified diff when both sides are small enough to diff quickly (and under a
//! deadline), else a window around the first difference; excerpts show a head
//! and a tail with the count of what was cut. Invisible characters are made
//! visible, so nothing a guest prints reaches a terminal raw.

use std::time::Duration;

/// Inputs with more lines than this (either side) are not diffed line by line.
const DIFF_MAX_LINES: usize = 20_000;
/// Inputs with more bytes than this (either side) are not diffed line by line.
const DIFF_MAX_BYTES: usize = 2 << 20;
/// How long the line diff may take before it settles for an approximation.
const DIFF_DEADLINE: Duration = Duration::from_millis(200);
/// At most this many diff lines are shown; the rest are counted.
const DIFF_SHOWN_LINES: usize = 200;
/// A shown line is cut after this many characters.
const LINE_CHARS: usize = 400;
/// The most bytes [`excerpt_inline`] shows.
pub const INLINE_EXCERPT_BYTES: usize = 256;
/// The most bytes [`excerpt_block`] shows (head and tail together).
pub const BLOCK_EXCERPT_BYTES: usize = 4096;

/// A diff of expected vs actual: the first differing byte offset, then a
/// unified diff (bounded), or for large inputs the lines around the first
/// difference.
pub fn diff(expected: &[u8], actual: &[u8], color: bool) -> String {
    let offset = first_difference(expected, actual);
    let mut out = format!(
        "first difference at byte {offset} (expected {} bytes, got {})\n",
        expected.len(),
        actual.len()
    );
    let paint = Paint::new(color);
    out.push_str(&format!(
        "{}--- expected{}\n{}+++ actual{}\n",
        paint.red, paint.reset, paint.green, paint.reset
    ));
    let small = |b: &[u8]| b.len() <= DIFF_MAX_BYTES && line_count(b) <= DIFF_MAX_LINES;
    if small(expected) && small(actual) {
        out.push_str(&unified(expected, actual, paint));
    } else {
        out.push_str(&window(expected, actual, offset, paint));
    }
    out
}

/// The offset of the first byte that differs (or where the shorter one ends).
pub fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count() + 1
}

#[derive(Clone, Copy)]
struct Paint {
    red: &'static str,
    green: &'static str,
    cyan: &'static str,
    reset: &'static str,
}

impl Paint {
    fn new(color: bool) -> Paint {
        if color {
            Paint {
                red: "\x1b[31m",
                green: "\x1b[32m",
                cyan: "\x1b[36m",
                reset: "\x1b[0m",
            }
        } else {
            Paint {
                red: "",
                green: "",
                cyan: "",
                reset: "",
            }
        }
    }

    fn line(&self, sign: &str, text: &str) -> String {
        let c = match sign {
            "-" => self.red,
            "+" => self.green,
            _ => "",
        };
        let r = if c.is_empty() { "" } else { self.reset };
        format!("{c}{sign}{}{r}\n", cut(text))
    }
}

/// A unified diff with 3 lines of context, computed under a deadline and shown
/// up to [`DIFF_SHOWN_LINES`] lines.
fn unified(expected: &[u8], actual: &[u8], paint: Paint) -> String {
    let want = visible_lines(expected);
    let got = visible_lines(actual);
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    let got: Vec<&str> = got.iter().map(String::as_str).collect();
    let text_diff = similar::TextDiff::configure()
        .timeout(DIFF_DEADLINE)
        .diff_slices(&want, &got);
    let mut out = String::new();
    let mut shown = 0usize;
    let mut hidden = 0usize;
    for group in text_diff.grouped_ops(3) {
        let (first, last) = (group[0], group[group.len() - 1]);
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        if shown < DIFF_SHOWN_LINES {
            out.push_str(&format!(
                "{}@@ -{},{} +{},{} @@{}\n",
                paint.cyan,
                old.start + 1,
                old.len(),
                new.start + 1,
                new.len(),
                paint.reset
            ));
        }
        for op in group {
            for change in text_diff.iter_changes(&op) {
                if shown >= DIFF_SHOWN_LINES {
                    hidden += 1;
                    continue;
                }
                shown += 1;
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "-",
                    similar::ChangeTag::Insert => "+",
                    similar::ChangeTag::Equal => " ",
                };
                out.push_str(&paint.line(sign, change.value()));
            }
        }
    }
    if hidden > 0 {
        out.push_str(&format!("... ({hidden} more diff lines not shown)\n"));
    }
    out
}

/// For inputs too large to diff: the lines around the first difference, from
/// both sides.
fn window(expected: &[u8], actual: &[u8], offset: usize, paint: Paint) -> String {
    const BEFORE: usize = 3;
    const AFTER: usize = 8;
    let line = expected[..offset.min(expected.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    let mut out = format!(
        "(too large to diff line by line: {} and {} lines; showing the lines around the first \
         difference, at line {})\n",
        line_count(expected),
        line_count(actual),
        line + 1
    );
    let from = line.saturating_sub(BEFORE);
    for (sign, bytes) in [("-", expected), ("+", actual)] {
        out.push_str(&format!(
            "{}@@ {sign} line {} @@{}\n",
            paint.cyan,
            from + 1,
            paint.reset
        ));
        for text in lines_between(bytes, from, line + AFTER) {
            out.push_str(&paint.line(sign, &text));
        }
    }
    out
}

/// Lines `from..to` (0-based) of `bytes`, made visible, without collecting the rest.
fn lines_between(bytes: &[u8], from: usize, to: usize) -> Vec<String> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .skip(from)
        .take(to - from)
        .map(|l| visible(&String::from_utf8_lossy(l)))
        .collect()
}

/// A shown line, cut to [`LINE_CHARS`] characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(LINE_CHARS) {
        Some((i, _)) => format!(
            "{}… ({} more bytes on this line)",
            &text[..i],
            text.len() - i
        ),
        None => text.to_string(),
    }
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

/// Output shown as an indented block: at most [`BLOCK_EXCERPT_BYTES`] (its head
/// and its tail, with the count of what was cut), lines made visible and cut.
pub fn excerpt_block(bytes: &[u8], indent: &str) -> String {
    if bytes.is_empty() {
        return format!("{indent}(empty)");
    }
    let half = BLOCK_EXCERPT_BYTES / 2;
    let (head, cut_bytes, tail) = if bytes.len() > BLOCK_EXCERPT_BYTES {
        (
            &bytes[..half],
            bytes.len() - 2 * half,
            &bytes[bytes.len() - half..],
        )
    } else {
        (bytes, 0, &bytes[..0])
    };
    let mut out: Vec<String> = visible_lines(head)
        .iter()
        .map(|l| format!("{indent}{}", cut(l)))
        .collect();
    if cut_bytes > 0 {
        out.push(format!("{indent}... ({cut_bytes} bytes not shown) ..."));
        out.extend(
            visible_lines(tail)
                .iter()
                .map(|l| format!("{indent}{}", cut(l))),
        );
    }
    out.join("\n")
}

/// Text for a message that may hold what a guest or a module controls (trap
/// messages, backtraces with the module's function names, a runtime's stderr):
/// line breaks and tabs kept, every other control character (terminal escapes
/// included) shown as an escape, lines cut to a bounded length.
pub fn printable(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let mut shown = String::with_capacity(line.len());
            for ch in line.chars() {
                match escaped(ch) {
                    Some(e) if ch != '\t' => shown.push_str(&e),
                    _ => shown.push(ch),
                }
            }
            cut(&shown)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a character that must not be shown raw is shown, if it is one.
fn escaped(ch: char) -> Option<String> {
    Some(match ch {
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        '\u{fffd}' => "\\u{fffd}".into(),
        c if c.is_control() => format!("\\x{:02x}", c as u32),
        '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}'
        | '\u{a0}' => format!("\\u{{{:x}}}", ch as u32),
        _ => return None,
    })
}

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
            '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
            | '\u{a0}' => out.push_str(&format!("\\u{{{:x}}}", ch as u32)),
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
    fn invisible_characters_are_shown() {
        assert_eq!(visible("a\tb\r\n"), "a\\tb\\r");
        assert_eq!(visible("x  \n"), "x··");
        assert_eq!(visible("\u{1b}[0m"), "\\x1b[0m");
        assert_eq!(visible("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(
            printable("trap\n  0: \u{1b}[2Jf\tg  "),
            "trap\n  0: \\x1b[2Jf\tg  "
        );
        let d = diff(b"a", b"a\n", false);
        assert!(d.contains("no newline at end"), "{d}");
    }

    #[test]
    fn huge_inputs_are_reported_quickly_and_briefly() {
        // 200k distinct lines against one line: a line diff would be quadratic.
        let mut big = Vec::new();
        for i in 0..200_000 {
            big.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        // (How quickly: scripts/bench-diff.sh; tests assert no time.)
        let d = diff(b"hello\n", &big, false);
        assert!(d.len() < 8_000, "{} bytes", d.len());
        assert!(d.contains("first difference at byte 0"), "{d}");
        // Medium inputs: a real diff, its shown lines bounded.
        let medium: Vec<u8> = big[..60_000].to_vec();
        let d = diff(b"hello\n", &medium, false);
        assert!(d.contains("more diff lines not shown"), "{d}");
        assert!(d.len() < 20_000, "{} bytes", d.len());
    }

    #[test]
    fn excerpts_are_bounded() {
        let noise = vec![b'\x1b'; 1 << 20];
        let e = excerpt_inline(&noise);
        assert!(e.len() < 8 * INLINE_EXCERPT_BYTES, "{}", e.len());
        assert!(e.contains("bytes not shown"));
        let b = excerpt_block(&noise, "    ");
        assert!(b.len() < 8 * BLOCK_EXCERPT_BYTES, "{}", b.len());
        assert!(!b.contains('\x1b'));
    }
}
