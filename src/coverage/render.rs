//! Coverage as markdown (a terminal or a GitHub step summary), JSON (for
//! tools) and HTML (one self-contained page). Functions no module imports, and
//! functions imported but never called, stand out in each.

use crate::report::matrix::html_escape as esc;
use std::fmt::Write as _;

use serde_json::json;

use super::{Cell, Coverage, Row};

/// How a function fares across all suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exercise {
    /// No module imports it and no call was made.
    None,
    /// Imported, never called while the suites ran.
    Imported,
    /// Called.
    Called,
}

fn exercise(total: &Cell) -> Exercise {
    if total.calls > 0 {
        Exercise::Called
    } else if total.importers > 0 {
        Exercise::Imported
    } else {
        Exercise::None
    }
}

/// `success ×12, noent ×1`.
fn results(cell: &Cell) -> String {
    cell.results
        .iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Counts for one API: functions, imported, called, and distinct non-success
/// results seen.
struct ApiSummary {
    api: String,
    functions: usize,
    imported: usize,
    called: usize,
    errors_seen: usize,
}

fn is_error(class: &str) -> bool {
    !matches!(class, "success" | "ok" | "exit" | "pending")
}

impl Coverage {
    fn rows_of(&self, api: &str) -> Vec<(&String, &Row)> {
        self.rows()
            .into_iter()
            .filter(|((a, _), _)| a == api)
            .map(|((_, f), r)| (f, r))
            .collect()
    }

    fn summary(&self, api: &str) -> ApiSummary {
        let rows = self.rows_of(api);
        let totals: Vec<Cell> = rows.iter().map(|(_, r)| r.total()).collect();
        ApiSummary {
            api: api.to_string(),
            functions: rows.len(),
            imported: totals.iter().filter(|t| t.importers > 0).count(),
            called: totals.iter().filter(|t| t.calls > 0).count(),
            errors_seen: totals
                .iter()
                .map(|t| t.results.keys().filter(|k| is_error(k)).count())
                .sum(),
        }
    }

    /// Markdown: the suites, a summary row per API, the functions no module
    /// imports, then a table per API that any module or call touches.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# WASI API coverage\n\n");
        out.push_str(&self.suites_markdown());
        out.push_str("\n| API | functions | imported | called | error results seen |\n|---|---:|---:|---:|---:|\n");
        let apis = self.apis();
        for api in &apis {
            let s = self.summary(api);
            let mark = if s.imported == 0 { " (none)" } else { "" };
            let _ = writeln!(
                out,
                "| `{}`{mark} | {} | {} | {} | {} |",
                s.api, s.functions, s.imported, s.called, s.errors_seen
            );
        }
        for api in apis.iter().filter(|a| self.summary(a).imported > 0) {
            out.push_str(&self.api_markdown(api));
        }
        out
    }

    fn suites_markdown(&self) -> String {
        let mut out = String::from(
            "| suite | modules | tests traced | tests not traced |\n|---|---:|---:|---:|\n",
        );
        for (name, info) in &self.suites {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                md(name),
                info.modules,
                info.traced,
                info.untraced
            );
        }
        out
    }

    fn api_markdown(&self, api: &str) -> String {
        let s = self.summary(api);
        let mut out = format!(
            "\n## `{api}`: {} functions, {} imported, {} called\n\n",
            s.functions, s.imported, s.called
        );
        out.push_str("| function |");
        for (name, _) in &self.suites {
            let _ = write!(out, " {} (imports / calls) |", md(name));
        }
        out.push_str(" imports | calls | results |\n|---|");
        out.push_str(&"---:|".repeat(self.suites.len() + 2));
        out.push_str("---|\n");
        for (func, row) in self.rows_of(api) {
            out.push_str(&self.row_markdown(func, row));
        }
        let missing: Vec<String> = self
            .rows_of(api)
            .into_iter()
            .filter(|(_, r)| exercise(&r.total()) == Exercise::None)
            .map(|(f, _)| format!("`{f}`"))
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "\nNot imported by any module: {}", missing.join(", "));
        }
        out
    }

    fn row_markdown(&self, func: &str, row: &Row) -> String {
        let total = row.total();
        let (name, flag) = match exercise(&total) {
            Exercise::None => (format!("**`{func}`**"), " **not imported**"),
            Exercise::Imported => (format!("*`{func}`*"), " *never called*"),
            Exercise::Called => (format!("`{func}`"), ""),
        };
        let unlinked = if row.linked { "" } else { " (not linked)" };
        let mut out = format!("| {name}{unlinked} |");
        for (suite, _) in &self.suites {
            match row.suites.get(suite) {
                Some(c) if c.importers + c.calls as usize > 0 => {
                    let _ = write!(out, " {} / {} |", c.importers, c.calls);
                }
                _ => out.push_str(" — |"),
            }
        }
        let _ = writeln!(
            out,
            " {} | {} | {}{flag} |",
            total.importers,
            total.calls,
            md(&results(&total))
        );
        out
    }

    /// JSON: the suites, and per API every function with its counts per suite
    /// and in total.
    pub fn json(&self) -> serde_json::Value {
        let cell =
            |c: &Cell| json!({"importers": c.importers, "calls": c.calls, "results": c.results});
        let apis: Vec<serde_json::Value> = self
            .apis()
            .iter()
            .map(|api| {
                let functions: Vec<serde_json::Value> = self
                    .rows_of(api)
                    .into_iter()
                    .map(|(f, r)| {
                        let suites: serde_json::Map<String, serde_json::Value> =
                            r.suites.iter().map(|(s, c)| (s.clone(), cell(c))).collect();
                        json!({"name": f, "linked": r.linked, "suites": suites, "total": cell(&r.total())})
                    })
                    .collect();
                json!({"api": api, "functions": functions})
            })
            .collect();
        let suites: Vec<serde_json::Value> = self
            .suites
            .iter()
            .map(|(n, i)| json!({"name": n, "modules": i.modules, "tests_traced": i.traced, "tests_untraced": i.untraced}))
            .collect();
        json!({"suites": suites, "apis": apis})
    }

    /// One self-contained HTML page: the summary, then a table per API
    /// (collapsed when no module imports it).
    pub fn html(&self) -> String {
        let mut out = String::from(HTML_HEAD);
        out.push_str("<h1>WASI API coverage</h1>\n<table><tr><th>suite</th><th>modules</th><th>tests traced</th><th>tests not traced</th></tr>\n");
        for (name, i) in &self.suites {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(name),
                i.modules,
                i.traced,
                i.untraced
            );
        }
        out.push_str("</table>\n<table><tr><th>API</th><th>functions</th><th>imported</th><th>called</th><th>error results seen</th></tr>\n");
        for api in self.apis() {
            let s = self.summary(&api);
            let class = if s.imported == 0 {
                " class=\"none\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<tr{class}><td><a href=\"#{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
                esc(&api),
                s.functions,
                s.imported,
                s.called,
                s.errors_seen
            );
        }
        out.push_str("</table>\n");
        for api in self.apis() {
            out.push_str(&self.api_html(&api));
        }
        out.push_str("</body></html>\n");
        out
    }

    fn api_html(&self, api: &str) -> String {
        let s = self.summary(api);
        let open = if s.imported > 0 { " open" } else { "" };
        let mut out = format!(
            "<details{open} id=\"{0}\"><summary><code>{0}</code>: {1} functions, {2} imported, {3} called</summary>\n<table><tr><th>function</th>",
            esc(api),
            s.functions,
            s.imported,
            s.called
        );
        for (name, _) in &self.suites {
            let _ = write!(out, "<th>{} (imports / calls)</th>", esc(name));
        }
        out.push_str("<th>imports</th><th>calls</th><th>results</th></tr>\n");
        for (func, row) in self.rows_of(api) {
            let total = row.total();
            let class = match exercise(&total) {
                Exercise::None => "none",
                Exercise::Imported => "cold",
                Exercise::Called => "hot",
            };
            let _ = write!(
                out,
                "<tr class=\"{class}\"><td><code>{}</code></td>",
                esc(func)
            );
            for (suite, _) in &self.suites {
                let text = row.suites.get(suite).map_or("—".to_string(), |c| {
                    format!("{} / {}", c.importers, c.calls)
                });
                let _ = write!(out, "<td>{text}</td>");
            }
            let _ = writeln!(
                out,
                "<td>{}</td><td>{}</td><td>{}</td></tr>",
                total.importers,
                total.calls,
                esc(&results(&total))
            );
        }
        out.push_str("</table></details>\n");
        out
    }
}

const HTML_HEAD: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>WASI API coverage</title>\n<style>\
body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}\
tr.none td{background:#fde2e2}tr.cold td{background:#fff4d6}summary{cursor:pointer;margin:.5em 0}\
</style></head><body>\n<p>Rows in red: no module imports the function; in yellow: imported, never called.</p>\n";

/// Markdown-safe cell text.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{FuncStats, Stats};

    fn sample() -> Coverage {
        let mut c = Coverage::new();
        let wat = r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
            (memory 1))"#;
        c.add_module("s<1>", &wat::parse_str(wat).unwrap());
        let mut stats = Stats::new();
        let mut s = FuncStats {
            calls: 3,
            ..Default::default()
        };
        s.results.insert("success".into(), 2);
        s.results.insert("noent".into(), 1);
        stats.insert((super::super::P1.into(), "path_open".into()), s);
        c.add_stats("s<1>", Some(&stats));
        c.add_stats("s<1>", None);
        c
    }

    #[test]
    fn markdown_marks_what_nobody_exercises() {
        let text = sample().markdown();
        assert!(
            text.contains("| `path_open` | 1 / 3 | 1 | 3 | noent ×1, success ×2 |"),
            "{text}"
        );
        assert!(
            text.contains("| *`fd_write`* | 1 / 0 | 1 | 0 |  *never called* |"),
            "{text}"
        );
        assert!(
            text.contains("| **`sock_accept`** | — | 0 | 0 |  **not imported** |"),
            "{text}"
        );
        assert!(text.contains("| s&lt;1&gt; | 1 | 1 | 1 |"), "{text}");
        assert!(
            text.contains("| `wasi_snapshot_preview1` | 46 | 2 | 1 | 1 |"),
            "{text}"
        );
    }

    #[test]
    fn json_and_html_hold_every_function() {
        let c = sample();
        let j = c.json();
        let p1 = &j["apis"][0];
        assert_eq!(p1["api"], "wasi_snapshot_preview1");
        assert_eq!(p1["functions"].as_array().unwrap().len(), 46);
        let open = p1["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "path_open")
            .unwrap();
        assert_eq!(open["total"]["results"]["noent"], 1);
        let html = c.html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<tr class=\"none\"><td><code>sock_accept</code>"));
        assert!(html.contains("s&lt;1&gt;"));
        assert!(!html.contains("<script"));
    }
}
