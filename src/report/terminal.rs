//! The terminal: aligned, coloured per-test lines (`test NAME ... ok`), a progress
//! line on a terminal, then every failure with a command that reruns it, a summary
//! with counts, and the slowest tests.

use std::io::Write;
use std::time::Duration;

use super::{Counts, github};
use crate::runner::{Outcome, TestRecord, failure_message};

/// How many of the slowest tests the summary names.
const SLOWEST: usize = 5;

/// Prints a run as it goes.
pub struct Terminal {
    show_runtime: bool,
    color: bool,
    quiet: bool,
    /// Draw a progress line (stderr is a terminal and there are enough tests).
    progress: bool,
    width: usize,
    total: usize,
    done: usize,
}

impl Terminal {
    /// `names` are the tests that will run, for alignment.
    /// `labels` are the tests that will run, as [`TestRecord::label`] prints them;
    /// `show_runtime` adds the runtime to each name.
    pub fn new(
        labels: &[String],
        color: bool,
        quiet: bool,
        progress: bool,
        show_runtime: bool,
    ) -> Terminal {
        let names = labels;
        Terminal {
            show_runtime,
            color,
            quiet,
            progress: progress && names.len() > 1,
            width: names.iter().map(|n| n.chars().count()).max().unwrap_or(0),
            total: names.len(),
            done: 0,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn status(&self, outcome: &Outcome) -> String {
        match outcome {
            Outcome::Pass => self.paint("32", "ok"),
            Outcome::Fail => self.paint("31", "FAILED"),
            Outcome::XFail => self.paint("33", "xfail"),
            Outcome::XPass => self.paint("31", "XPASS"),
            Outcome::Skip(reason) => self.paint("33", &format!("skipped ({reason})")),
            Outcome::Error => self.paint("35", "ERROR"),
            Outcome::Flaky => self.paint("33", "flaky"),
        }
    }

    fn clear_progress(&self) {
        if self.progress {
            eprint!("\r\x1b[2K");
        }
    }

    /// The header.
    pub fn start(&self) {
        let s = if self.total == 1 { "" } else { "s" };
        println!("\nrunning {} test{s}", self.total);
    }

    /// One finished test.
    pub fn record(&mut self, r: &TestRecord) {
        self.done += 1;
        self.clear_progress();
        if self.quiet {
            let c = match r.outcome {
                Outcome::Pass => self.paint("32", "."),
                Outcome::Fail | Outcome::XPass => self.paint("31", "F"),
                Outcome::XFail => self.paint("33", "x"),
                Outcome::Skip(_) => self.paint("33", "s"),
                Outcome::Error => self.paint("35", "E"),
                Outcome::Flaky => self.paint("33", "~"),
            };
            print!("{c}");
            if self.done.is_multiple_of(88) {
                println!();
            }
        } else {
            let name = r.label(self.show_runtime);
            let pad = self.width.saturating_sub(name.chars().count());
            println!(
                "test {name}{} ... {}",
                " ".repeat(pad),
                self.status(&r.outcome)
            );
            for path in &r.result.blessed {
                println!("     blessed {}", path.display());
            }
            for note in &r.result.notes {
                println!("     note: {note}");
            }
            for (stream, cut) in [
                ("stdout", r.result.stdout.truncated),
                ("stderr", r.result.stderr.truncated),
            ] {
                if cut {
                    println!(
                        "     note: {stream} was truncated at the output limit; the rest was dropped"
                    );
                }
            }
            // A failure's trace is shown with the failure, at the end; an
            // expected failure's only in the reports (JSON, JUnit, --trace-dir).
            if !r.outcome.is_reported()
                && r.outcome != Outcome::XFail
                && let Some(trace) = r.result.trace_text()
            {
                print!("{}", indent(&trace, "     "));
            }
        }
        let _ = std::io::stdout().flush();
        if self.progress && self.done < self.total {
            eprint!("[{}/{}] running...", self.done, self.total);
        }
    }

    /// Failures (each with its rerun command), the result line and the slowest tests.
    pub fn finish(
        &self,
        records: &[TestRecord],
        filtered_out: usize,
        elapsed: Duration,
        rerun: &dyn Fn(&TestRecord) -> String,
    ) {
        self.clear_progress();
        if self.quiet {
            println!();
        }
        let failing: Vec<&TestRecord> =
            records.iter().filter(|r| r.outcome.is_reported()).collect();
        if !failing.is_empty() {
            println!("\nfailures:\n");
            let in_ci = github::active();
            for r in &failing {
                let trace = r
                    .result
                    .trace_text()
                    .map(|t| format!("\n\n{}", t.trim_end()))
                    .unwrap_or_default();
                let command = r
                    .result
                    .command_line()
                    .map(|c| format!("\n\ncommand: {c}"))
                    .unwrap_or_default();
                let body = format!(
                    "{}{command}{trace}\n\nrerun: {}\n",
                    failure_message(r),
                    rerun(r)
                );
                if in_ci {
                    print!(
                        "{}",
                        github::group(
                            &format!("{} ({})", r.label(self.show_runtime), r.outcome),
                            &body
                        )
                    );
                } else {
                    println!("---- {} ----\n{body}", r.label(self.show_runtime));
                }
            }
            println!("failures:");
            for r in &failing {
                let error = if r.outcome.is_error() {
                    " (error: the runtime did not run it)"
                } else {
                    ""
                };
                println!("    {}{error}", r.label(self.show_runtime));
            }
        }
        self.flaky_notes(records);
        let c = Counts::of(records);
        let verdict = match c.status() {
            crate::outcome::RunStatus::Failed => self.paint("31", "FAILED"),
            crate::outcome::RunStatus::Error => self.paint("35", "ERROR"),
            crate::outcome::RunStatus::Ok => self.paint("32", "ok"),
        };
        let mut extra = String::new();
        if c.errored > 0 {
            extra.push_str(&format!(" {} errors;", c.errored));
        }
        if c.flaky > 0 {
            extra.push_str(&format!(" {} flaky;", c.flaky));
        }
        println!(
            "\ntest result: {verdict}. {} passed; {} failed; {} skipped; {} xfail; {} xpass;{extra} {filtered_out} filtered out; finished in {:.2}s",
            c.passed,
            c.failed,
            c.skipped,
            c.xfailed,
            c.xpassed,
            elapsed.as_secs_f64()
        );
        let mut ran: Vec<&TestRecord> = records
            .iter()
            .filter(|r| !matches!(r.outcome, Outcome::Skip(_)))
            .collect();
        if ran.len() > 1 {
            ran.sort_by_key(|r| std::cmp::Reverse(r.duration()));
            let slow: Vec<String> = ran
                .iter()
                .take(SLOWEST)
                .map(|r| {
                    format!(
                        "{} ({:.2}s)",
                        r.label(self.show_runtime),
                        r.duration().as_secs_f64()
                    )
                })
                .collect();
            println!("slowest: {}", slow.join(", "));
        }
        println!();
    }
}

impl Terminal {
    /// Names the flaky tests (failed, then passed on a retry) and the first
    /// failure each had, so a retry never hides a failure.
    fn flaky_notes(&self, records: &[TestRecord]) {
        let flaky: Vec<&TestRecord> = records
            .iter()
            .filter(|r| r.outcome == Outcome::Flaky)
            .collect();
        if flaky.is_empty() {
            return;
        }
        println!("\nflaky (failed, then passed on a retry):");
        for r in flaky {
            println!("    {}", r.label(self.show_runtime));
            print!("{}", indent(&failure_message(r), "        "));
        }
    }
}

/// `--timings`: each stage's total over the tests that ran, its mean per test,
/// and its share of the tests' summed time.
///
/// ```text
/// timings (72 tests; 0.52 s of test time in 0.25 s):
///   load        0.210 s   2.92 ms/test   40%
///   ...
/// ```
pub fn timings(records: &[TestRecord], elapsed: Duration) -> String {
    let ran: Vec<&TestRecord> = records
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Skip(_)))
        .collect();
    let mut total = crate::run::StageTimes::default();
    for r in &ran {
        total.add(&r.result.times);
    }
    let summed: Duration = ran.iter().map(|r| r.duration()).sum();
    let n = ran.len().max(1) as f64;
    let mut out = format!(
        "timings ({} tests; {:.3} s of test time in {:.3} s):\n",
        ran.len(),
        summed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let mut staged = Duration::ZERO;
    for (name, t) in total.stages() {
        staged += t;
        out.push_str(&stage_line(name, t, n, summed));
    }
    out.push_str(&stage_line(
        "other",
        summed.saturating_sub(staged),
        n,
        summed,
    ));
    out
}

fn stage_line(name: &str, t: Duration, n: f64, summed: Duration) -> String {
    let share = if summed.is_zero() {
        0.0
    } else {
        100.0 * t.as_secs_f64() / summed.as_secs_f64()
    };
    format!(
        "  {name:<9} {:>8.3} s {:>8.2} ms/test {share:>5.0}%\n",
        t.as_secs_f64(),
        t.as_secs_f64() * 1000.0 / n
    )
}

/// Every line of `text` indented.
fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}
