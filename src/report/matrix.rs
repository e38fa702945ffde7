//! The conformance matrix: a row per test, a column per runtime (per report),
//! each cell the test's outcome there with the first line of why it failed or
//! was skipped, and totals per suite and runtime. Built from a run's records or
//! from JSON reports (this tool's or the official runner's), written as
//! markdown (fits a GitHub step summary) or one self-contained HTML file.
//!
//! ```
//! use wasi_conform::report::matrix::Matrix;
//! let report = serde_json::json!({"results": [{"name": "s", "runtime": {"name": "a", "version": "1"},
//!     "tests": [{"name": "t", "outcome": "fail", "failures": ["exit code: expected 0, got 1"]}]}]});
//! let m = Matrix::from_reports(&[("r.json".into(), report)]).unwrap();
//! assert!(m.markdown().contains("exit code: expected 0, got 1"));
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::runner::{Outcome, TestRecord, failure_message};

/// A cell's note is cut to this many characters.
const NOTE_CHARS: usize = 200;

/// One test's outcome on one runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// `pass`, `fail`, `skip`, `xfail` or `xpass`.
    pub outcome: String,
    /// The first line of the failure or skip reason.
    pub note: String,
    /// The outcome in the previous column of the same runtime, when it differs.
    pub changed_from: Option<String>,
}

/// A column: a runtime, as one report (or run) saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub runtime: String,
    pub version: String,
    /// Which report it came from, when built from several.
    pub source: Option<String>,
}

impl Column {
    fn title(&self) -> String {
        let mut t = format!("{} {}", self.runtime, self.version);
        if let Some(s) = &self.source {
            t.push_str(&format!(" ({s})"));
        }
        t
    }
}

/// The matrix.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    pub columns: Vec<Column>,
    /// (suite, test) → a cell per column (None: not in that report).
    pub rows: BTreeMap<(String, String), Vec<Option<Cell>>>,
}

fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let line = crate::check::visible(line);
    match line.char_indices().nth(NOTE_CHARS) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

impl Matrix {
    fn column(&mut self, col: Column) -> usize {
        match self.columns.iter().position(|c| *c == col) {
            Some(i) => i,
            None => {
                self.columns.push(col);
                for cells in self.rows.values_mut() {
                    cells.push(None);
                }
                self.columns.len() - 1
            }
        }
    }

    fn put(&mut self, suite: &str, test: &str, column: usize, cell: Cell) {
        let width = self.columns.len();
        let cells = self
            .rows
            .entry((suite.to_string(), test.to_string()))
            .or_insert_with(|| vec![None; width]);
        cells[column] = Some(cell);
    }

    /// The matrix of one run.
    pub fn from_records(records: &[TestRecord]) -> Matrix {
        let mut m = Matrix::default();
        for r in records {
            let col = m.column(Column {
                runtime: r.runtime.name.clone(),
                version: r.runtime.version.clone(),
                source: None,
            });
            let note = match &r.outcome {
                Outcome::Skip(reason) => first_line(reason),
                Outcome::Pass => String::new(),
                Outcome::XPass => first_line(&failure_message(r)),
                Outcome::Flaky => first_line(&format!(
                    "flaky: {}",
                    super::why::telling_line(&r.failed_attempts)
                )),
                _ => {
                    let messages: Vec<String> = r
                        .result
                        .failures
                        .iter()
                        .map(|f| f.message.clone())
                        .collect();
                    first_line(&super::why::telling_line(&messages))
                }
            };
            let cell = Cell {
                outcome: r.outcome.as_str().to_string(),
                note,
                changed_from: None,
            };
            m.put(r.suite.name(), &r.test.name, col, cell);
        }
        m
    }

    /// The matrix of JSON reports in the official runner's shape (failures as
    /// strings, or as `{"message"}` objects). Columns of the same runtime name in
    /// several reports mark the tests whose outcome changed.
    pub fn from_reports(reports: &[(PathBuf, Value)]) -> Result<Matrix, String> {
        let mut m = Matrix::default();
        for (path, report) in reports {
            let bad = |what: &str| format!("{}: {what}", path.display());
            let results = report["results"]
                .as_array()
                .ok_or_else(|| bad("not a test report: no `results` list"))?;
            for (i, suite) in results.iter().enumerate() {
                let at = |k: &str| bad(&format!("results[{i}].{k}: missing or not a string"));
                let name = suite["name"].as_str().ok_or_else(|| at("name"))?;
                let col = m.column(Column {
                    runtime: suite["runtime"]["name"]
                        .as_str()
                        .ok_or_else(|| at("runtime.name"))?
                        .into(),
                    version: suite["runtime"]["version"].as_str().unwrap_or("").into(),
                    source: (reports.len() > 1).then(|| {
                        path.file_name().map_or_else(
                            || path.display().to_string(),
                            |n| n.to_string_lossy().into_owned(),
                        )
                    }),
                });
                for test in suite["tests"].as_array().into_iter().flatten() {
                    let test_name = test["name"].as_str().ok_or_else(|| at("tests[].name"))?;
                    let failures: Vec<String> = test["failures"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|f| {
                            f.as_str()
                                .or(f["message"].as_str())
                                .unwrap_or("")
                                .to_string()
                        })
                        .collect();
                    let failure = super::why::telling_line(&failures);
                    let cell = Cell {
                        outcome: test["outcome"].as_str().unwrap_or("?").into(),
                        note: first_line(&failure),
                        changed_from: None,
                    };
                    m.put(name, test_name, col, cell);
                }
            }
        }
        m.mark_changes();
        Ok(m)
    }

    /// Marks each cell whose outcome differs from the nearest earlier column of
    /// the same runtime.
    fn mark_changes(&mut self) {
        let columns = self.columns.clone();
        for cells in self.rows.values_mut() {
            for (i, col) in columns.iter().enumerate() {
                let previous = (0..i)
                    .rev()
                    .find(|j| columns[*j].runtime == col.runtime)
                    .and_then(|j| cells[j].as_ref().map(|c| c.outcome.clone()));
                if let (Some(prev), Some(cell)) = (previous, cells[i].as_mut())
                    && prev != cell.outcome
                {
                    cell.changed_from = Some(prev);
                }
            }
        }
    }

    /// Whether the runtimes disagree on a row (ignoring columns without the test).
    fn differs(cells: &[Option<Cell>]) -> bool {
        let mut outcomes = cells.iter().flatten().map(|c| c.outcome.as_str());
        let first = outcomes.next();
        outcomes.any(|o| Some(o) != first)
            || cells.iter().flatten().any(|c| c.changed_from.is_some())
    }

    /// Counts per suite and column: (pass, fail, skip, xfail, xpass, error, flaky).
    fn totals(&self) -> BTreeMap<String, Vec<[usize; 7]>> {
        let mut totals: BTreeMap<String, Vec<[usize; 7]>> = BTreeMap::new();
        for ((suite, _), cells) in &self.rows {
            let t = totals
                .entry(suite.clone())
                .or_insert_with(|| vec![[0; 7]; self.columns.len()]);
            for (i, cell) in cells.iter().enumerate() {
                if let Some(c) = cell {
                    let slot = ["pass", "fail", "skip", "xfail", "xpass", "error", "flaky"]
                        .iter()
                        .position(|o| *o == c.outcome);
                    if let Some(s) = slot {
                        t[i][s] += 1;
                    }
                }
            }
        }
        totals
    }

    /// Markdown: per suite, a table of tests × runtimes with footnotes for the
    /// failures' first lines, then the totals.
    pub fn markdown(&self) -> String {
        let mut md = String::from("## Conformance matrix\n\n");
        let header: Vec<String> = self.columns.iter().map(|c| md_escape(&c.title())).collect();
        let mut notes: Vec<String> = Vec::new();
        let mut suite_now: Option<&str> = None;
        for ((suite, test), cells) in &self.rows {
            if suite_now != Some(suite.as_str()) {
                suite_now = Some(suite);
                md.push_str(&format!(
                    "\n### {}\n\n| test | {} |\n|---|{}\n",
                    md_escape(suite),
                    header.join(" | "),
                    "---|".repeat(header.len())
                ));
            }
            let row: Vec<String> = cells
                .iter()
                .map(|cell| match cell {
                    None => "—".into(),
                    Some(c) => {
                        let mut text = format!("{} {}", symbol(&c.outcome), c.outcome);
                        if let Some(prev) = &c.changed_from {
                            text.push_str(&format!(" (was {prev})"));
                        }
                        if !c.note.is_empty() {
                            notes.push(c.note.clone());
                            text.push_str(&format!("[^{}]", notes.len()));
                        }
                        text
                    }
                })
                .collect();
            let mark = if Matrix::differs(cells) { " ≠" } else { "" };
            md.push_str(&format!(
                "| `{}`{mark} | {} |\n",
                md_escape(test),
                row.join(" | ")
            ));
        }
        md.push_str(&format!(
            "\n### Totals (pass / fail / skip / xfail / xpass)\n\n| suite | {} |\n|---|{}\n",
            header.join(" | "),
            "---|".repeat(header.len())
        ));
        for (suite, counts) in self.totals() {
            let cols: Vec<String> = counts.iter().map(total_text).collect();
            md.push_str(&format!(
                "| {} | {} |\n",
                md_escape(&suite),
                cols.join(" | ")
            ));
        }
        if !notes.is_empty() {
            md.push('\n');
            for (i, n) in notes.iter().enumerate() {
                md.push_str(&format!("[^{}]: {}\n", i + 1, md_escape(n)));
            }
        }
        md
    }

    /// One self-contained HTML page (no network): the table with a filter for
    /// rows where runtimes differ, tooltips with the failures, totals, and a
    /// layout that scrolls sideways on a phone.
    pub fn html(&self) -> String {
        let mut rows = String::new();
        let mut suite_now: Option<&str> = None;
        let width = self.columns.len() + 1;
        for ((suite, test), cells) in &self.rows {
            if suite_now != Some(suite.as_str()) {
                suite_now = Some(suite);
                rows.push_str(&format!(
                    "<tr class=\"suite\"><th colspan=\"{width}\">{}</th></tr>\n",
                    html_escape(suite)
                ));
            }
            let differs = Matrix::differs(cells);
            rows.push_str(&format!(
                "<tr class=\"test{}\"><td class=\"name\">{}</td>",
                if differs { " differs" } else { "" },
                html_escape(test)
            ));
            for cell in cells {
                match cell {
                    None => rows.push_str("<td class=\"none\">—</td>"),
                    Some(c) => rows.push_str(&html_cell(c)),
                }
            }
            rows.push_str("</tr>\n");
        }
        let header: String = self
            .columns
            .iter()
            .map(|c| format!("<th>{}</th>", html_escape(&c.title())))
            .collect();
        let mut totals = String::new();
        for (suite, counts) in self.totals() {
            totals.push_str(&format!("<tr><td>{}</td>", html_escape(&suite)));
            for c in &counts {
                totals.push_str(&format!("<td>{}</td>", total_text(c)));
            }
            totals.push_str("</tr>\n");
        }
        let differing = self.rows.values().filter(|c| Matrix::differs(c)).count();
        format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conformance matrix</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em; color: #222; }}
.wrap {{ overflow-x: auto; -webkit-overflow-scrolling: touch; }}
table {{ border-collapse: collapse; font-size: 14px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; white-space: nowrap; }}
thead th {{ position: sticky; top: 0; background: #f4f4f4; }}
td.name {{ position: sticky; left: 0; background: #fff; font-family: monospace; }}
summary {{ cursor: pointer; }}
.note {{ white-space: normal; max-width: 28em; font-size: 12px; color: #444; }}
@media (max-width: 600px) {{
  td.name {{ white-space: normal; overflow-wrap: anywhere; min-width: 8em; max-width: 45vw; }}
  thead th {{ white-space: normal; min-width: 5em; }}
  th, td {{ padding: 3px 4px; font-size: 12px; }}
}}
tr.suite th {{ background: #e8eef8; }}
td.pass {{ background: #e6f6e6; }} td.fail, td.xpass {{ background: #fbe3e3; }}
td.skip {{ background: #f3f3f3; color: #666; }} td.xfail {{ background: #fdf3d8; }}
tr.differs td.name::after {{ content: " ≠"; color: #b00; }}
.changed {{ font-size: 11px; color: #b00; }}
body.only-differs tr.test:not(.differs) {{ display: none; }}
label {{ display: inline-block; margin: 0.5em 0; }}
</style></head><body>
<h1>Conformance matrix</h1>
<p>{rows_total} tests, {cols} runtime columns, {differing} rows where runtimes differ. Tap a failed cell for why (or hover it).</p>
<label><input type="checkbox" id="differs"> only rows where runtimes differ</label>
<div class="wrap"><table>
<thead><tr><th>test</th>{header}</tr></thead>
<tbody>
{rows}</tbody></table></div>
<h2>Totals (pass / fail / skip / xfail / xpass)</h2>
<div class="wrap"><table><thead><tr><th>suite</th>{header}</tr></thead><tbody>
{totals}</tbody></table></div>
<script>
var box = document.getElementById('differs');
function apply() {{ document.body.classList.toggle('only-differs', box.checked); }}
box.addEventListener('change', apply);
if (location.hash === '#differs') {{ box.checked = true; apply(); }}
</script>
</body></html>
"#,
            rows_total = self.rows.len(),
            cols = self.columns.len(),
        )
    }
}

/// A cell: the outcome (and what it was before), the note behind a tap or
/// hover (a `<details>`, which phones open on tap).
fn html_cell(c: &Cell) -> String {
    let changed = c
        .changed_from
        .as_ref()
        .map(|p| format!(" <span class=\"changed\">was {}</span>", html_escape(p)))
        .unwrap_or_default();
    let outcome = html_escape(&c.outcome);
    let body = if c.note.is_empty() {
        format!("{outcome}{changed}")
    } else {
        format!(
            "<details><summary>{outcome}{changed}</summary><div class=\"note\">{}</div></details>",
            html_escape(&c.note)
        )
    };
    format!(
        "<td class=\"{outcome}\" title=\"{}\">{body}</td>",
        html_escape(&c.note)
    )
}

/// A cell of the totals: `pass / fail / skip / xfail / xpass`, then the
/// errors and flaky tests when there are any.
fn total_text(c: &[usize; 7]) -> String {
    let mut text = format!("{} / {} / {} / {} / {}", c[0], c[1], c[2], c[3], c[4]);
    if c[5] > 0 {
        text.push_str(&format!(" + {} error", c[5]));
    }
    if c[6] > 0 {
        text.push_str(&format!(" + {} flaky", c[6]));
    }
    text
}

fn symbol(outcome: &str) -> &'static str {
    match outcome {
        "pass" => "✅",
        "error" => "🛑",
        "flaky" => "🔁",
        "fail" => "❌",
        "xfail" => "⚠️",
        "xpass" => "❗",
        "skip" => "⏭️",
        _ => "?",
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('`', "'")
        .replace('[', "\\[")
        .replace('<', "&lt;")
}

/// Text made safe in HTML content and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(runtime: &str, version: &str, outcomes: &[(&str, &str)]) -> Value {
        let tests: Vec<Value> = outcomes
            .iter()
            .map(|(t, o)| serde_json::json!({"name": t, "outcome": o, "failures": if *o == "fail" { vec!["it <broke>\nmore"] } else { vec![] }}))
            .collect();
        serde_json::json!({"results": [{"name": "suite", "runtime": {"name": runtime, "version": version}, "tests": tests}]})
    }

    #[test]
    fn columns_cells_totals_and_changes() {
        let m = Matrix::from_reports(&[
            (
                "old.json".into(),
                report("wasmtime", "47", &[("a", "pass"), ("b", "fail")]),
            ),
            (
                "new.json".into(),
                report("wasmtime", "48", &[("a", "pass"), ("b", "pass")]),
            ),
            ("node.json".into(), report("node", "20", &[("a", "fail")])),
        ])
        .unwrap();
        assert_eq!(m.columns.len(), 3);
        let b = &m.rows[&("suite".to_string(), "b".to_string())];
        assert_eq!(b[1].as_ref().unwrap().changed_from.as_deref(), Some("fail"));
        assert!(b[2].is_none());
        let md = m.markdown();
        assert!(md.contains("(was fail)"), "{md}");
        assert!(md.contains("[^1]: it &lt;broke>"), "{md}");
        assert!(
            md.contains("| suite | 1 / 1 / 0 / 0 / 0 | 2 / 0 / 0 / 0 / 0 | 0 / 1 / 0 / 0 / 0 |"),
            "{md}"
        );
        let html = m.html();
        assert!(html.contains("title=\"it &lt;broke&gt;\""), "{html}");
        assert!(html.contains("<details><summary>fail"), "{html}");
        assert!(html.contains("class=\"test differs\""));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "self-contained"
        );
    }

    #[test]
    fn bad_reports_name_the_file() {
        let e = Matrix::from_reports(&[("x.json".into(), serde_json::json!({}))]).unwrap_err();
        assert!(e.contains("x.json"), "{e}");
    }
}
