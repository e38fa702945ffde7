//! GitHub Actions: an `::error` annotation per failure, `::group::` around long
//! output, and a markdown summary table for `GITHUB_STEP_SUMMARY`.

use super::{Counts, by_suite};
use crate::runner::{TestRecord, failure_message};

/// Whether the process runs under GitHub Actions.
pub fn active() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Escapes a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error file=SPEC,title=TEST::message` line per failing test.
pub fn annotations(records: &[TestRecord]) -> String {
    let mut out = String::new();
    for r in records.iter().filter(|r| r.outcome.is_reported()) {
        out.push_str(&format!(
            "::error file={},title={}::{}\n",
            escape_property(&r.location().display().to_string()),
            escape_property(&r.full_name()),
            escape_data(&failure_message(r)),
        ));
    }
    out
}

/// Wraps long output in a collapsible group. The body (which quotes guest
/// output) is fenced with `::stop-commands::`, so nothing in it is taken as a
/// workflow command (`::error`, `::endgroup::`, `::add-mask::`...).
pub fn group(title: &str, body: &str) -> String {
    let token = fence_token(body);
    format!(
        "::group::{}\n::stop-commands::{token}\n{}\n::{token}::\n::endgroup::\n",
        escape_data(title),
        body.trim_end()
    )
}

/// A token the fenced text cannot contain (it is derived from the text and a
/// per-process secret, and checked).
fn fence_token(body: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut h = blake3::Hasher::new();
    h.update(body.as_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&COUNT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(&nanos.to_le_bytes());
    let token = h.finalize().to_hex()[..32].to_string();
    if body.contains(&token) {
        fence_token(&format!("{body}{token}"))
    } else {
        token
    }
}

/// Markdown-safe text for a table cell or list item: one line, pipes and
/// backticks neutralised, HTML not interpreted, invisible characters shown.
fn md(text: &str) -> String {
    crate::check::visible(text.lines().next().unwrap_or_default())
        .replace('|', "\\|")
        .replace('`', "'")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('[', "\\[")
}

/// The markdown summary: a row per suite, then the failing tests. The
/// `error` and `flaky` columns appear only in a run that has such outcomes.
pub fn step_summary(records: &[TestRecord]) -> String {
    let all = Counts::of(records);
    let extra = all.errored + all.flaky > 0;
    let row = |name: &str, c: &Counts, bold: bool| {
        let mut cells = vec![c.passed, c.failed, c.skipped, c.xfailed, c.xpassed];
        if extra {
            cells.extend([c.errored, c.flaky]);
        }
        let cells: Vec<String> = cells
            .iter()
            .map(|n| {
                if bold {
                    format!("**{n}**")
                } else {
                    n.to_string()
                }
            })
            .collect();
        format!("| {name} | {} |\n", cells.join(" | "))
    };
    let mut out =
        String::from("## wasi-conform\n\n| suite | passed | failed | skipped | xfail | xpass |");
    out.push_str(if extra {
        " error | flaky |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
    } else {
        "\n|---|---:|---:|---:|---:|---:|\n"
    });
    for (first, members) in by_suite(records) {
        let c = Counts::of(members.iter().copied());
        let suite = if first.runtime.name == crate::run::embedded::RUNTIME_NAME {
            md(first.suite.name())
        } else {
            format!("{} ({})", md(first.suite.name()), md(&first.runtime.name))
        };
        out.push_str(&row(&suite, &c, false));
    }
    out.push_str(&row("**total**", &all, true));
    let failing: Vec<&TestRecord> = records.iter().filter(|r| r.outcome.is_reported()).collect();
    if !failing.is_empty() {
        out.push_str("\n### Failing tests\n\n");
        for r in failing {
            let first = failure_message(r)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            out.push_str(&format!(
                "- `{}` ({}): {}\n",
                md(&r.label(r.runtime.name != crate::run::embedded::RUNTIME_NAME)),
                r.outcome.as_str(),
                md(&first)
            ));
        }
    }
    out
}

/// Appends the summary to the file `GITHUB_STEP_SUMMARY` names, if set.
pub fn write_step_summary(records: &[TestRecord]) -> std::io::Result<()> {
    append_step_summary(&step_summary(records))
}

/// Appends `markdown` to the file `GITHUB_STEP_SUMMARY` names, if set.
pub fn append_step_summary(markdown: &str) -> std::io::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(markdown.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("s/x.json,t:1"), "s/x.json%2Ct%3A1");
        assert_eq!(md("a|b`<script>\nmore"), "a\\|b'&lt;script&gt;");
    }

    #[test]
    fn groups_fence_guest_output_from_workflow_commands() {
        let body = "line\n::error::forged\n::endgroup::\n::add-mask::x";
        let g = group("t", body);
        let lines: Vec<&str> = g.lines().collect();
        let token = lines[1].strip_prefix("::stop-commands::").unwrap();
        assert!(token.len() >= 32);
        assert_eq!(lines[lines.len() - 2], format!("::{token}::"));
        assert_eq!(*lines.last().unwrap(), "::endgroup::");
        // The forged commands sit inside the fence.
        let fenced = &lines[2..lines.len() - 2];
        assert!(fenced.contains(&"::error::forged"));
    }
}
