//! GitHub Actions: an `::error` annotation per failure, `::group::` around long
//! output, and a markdown summary table for `GITHUB_STEP_SUMMARY`.

use super::{Counts, by_suite};
use crate::runner::{Outcome, TestRecord, failure_message};

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
    for r in records.iter().filter(|r| r.outcome.is_failure()) {
        out.push_str(&format!(
            "::error file={},title={}::{}\n",
            escape_property(&r.location().display().to_string()),
            escape_property(&r.full_name()),
            escape_data(&failure_message(r)),
        ));
    }
    out
}

/// Wraps long output in a collapsible group.
pub fn group(title: &str, body: &str) -> String {
    format!(
        "::group::{}\n{}\n::endgroup::\n",
        escape_data(title),
        body.trim_end()
    )
}

/// The markdown summary: a row per suite, then the failing tests.
pub fn step_summary(records: &[TestRecord]) -> String {
    let mut md = String::from(
        "## wasi-conform\n\n| suite | passed | failed | skipped | xfail | xpass |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let mut total = Counts::default();
    for (first, members) in by_suite(records) {
        let c = Counts::of(members.iter().copied());
        total.passed += c.passed;
        total.failed += c.failed;
        total.skipped += c.skipped;
        total.xfailed += c.xfailed;
        total.xpassed += c.xpassed;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            first.suite.name().replace('|', "\\|"),
            c.passed,
            c.failed,
            c.skipped,
            c.xfailed,
            c.xpassed
        ));
    }
    md.push_str(&format!(
        "| **total** | **{}** | **{}** | **{}** | **{}** | **{}** |\n",
        total.passed, total.failed, total.skipped, total.xfailed, total.xpassed
    ));
    let failing: Vec<&TestRecord> = records.iter().filter(|r| r.outcome.is_failure()).collect();
    if !failing.is_empty() {
        md.push_str("\n### Failing tests\n\n");
        for r in failing {
            let first = failure_message(r)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            let what = if r.outcome == Outcome::XPass {
                "xpass"
            } else {
                "fail"
            };
            md.push_str(&format!(
                "- `{}` ({what}): {}\n",
                r.full_name(),
                first.replace('\n', " ")
            ));
        }
    }
    md
}

/// Appends the summary to the file `GITHUB_STEP_SUMMARY` names, if set.
pub fn write_step_summary(records: &[TestRecord]) -> std::io::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(step_summary(records).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("s/x.json,t:1"), "s/x.json%2Ct%3A1");
    }
}
