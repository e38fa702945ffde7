//! `wasi-conform coverage PATH...`: which WASI functions the suites exercise.
//! Static counts come from the modules' imports; dynamic counts from running
//! every test on the embedded runtime with its host calls traced.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use wasi_conform::coverage::Coverage;
use wasi_conform::discover::{self, Suite};
use wasi_conform::expectations::Expectations;
use wasi_conform::run::{DEFAULT_TIMEOUT, RunDefaults};
use wasi_conform::runner::{self, Selection};
use wasi_conform::{Harness, HarnessOptions};

#[derive(clap::Args)]
pub struct CoverageArgs {
    /// Suite directories or .wasm/.wat modules.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write the coverage as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the coverage as one self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also append the markdown to the file GITHUB_STEP_SUMMARY names.
    #[arg(long)]
    step_summary: bool,
    /// Count imports only: do not run the tests.
    #[arg(long)]
    no_run: bool,
    /// Number of tests run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Per-test wall-clock limit in milliseconds, where a spec sets no `timeout_ms`.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout: u64,
}

pub fn coverage(args: CoverageArgs) -> anyhow::Result<ExitCode> {
    if args.jobs == Some(0) || args.timeout == 0 {
        anyhow::bail!("--jobs and --timeout must be at least 1");
    }
    let suites = discover::discover(&args.paths)?;
    if suites.is_empty() {
        anyhow::bail!("no tests found: a suite is a directory holding .wasm or .wat modules");
    }
    let mut cov = Coverage::new();
    for suite in &suites {
        add_imports(&mut cov, suite);
    }
    if !args.no_run {
        run_suites(&args, &suites, &mut cov)?;
    }
    let markdown = cov.markdown();
    print!("{markdown}");
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&cov.json())? + "\n";
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, cov.html())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.step_summary {
        wasi_conform::report::github::append_step_summary(&markdown)
            .context("cannot append to GITHUB_STEP_SUMMARY")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Counts the imports of every module of a suite (each module once).
fn add_imports(cov: &mut Coverage, suite: &Suite) {
    let mut seen = std::collections::BTreeSet::new();
    for test in &suite.tests {
        if !seen.insert(test.module.clone()) {
            continue;
        }
        match wasi_conform::module::ModuleInfo::read(&test.module) {
            Ok(info) => cov.add_module(suite.name(), &info.bytes),
            Err(e) => eprintln!("warning: {e}"),
        }
    }
}

/// Runs every test with its calls traced and adds their counts.
fn run_suites(args: &CoverageArgs, suites: &[Suite], cov: &mut Coverage) -> anyhow::Result<()> {
    let jobs = args.jobs.unwrap_or_else(runner::default_jobs);
    let options = HarnessOptions {
        defaults: RunDefaults {
            timeout: Duration::from_millis(args.timeout),
            max_open_files: runner::open_files_budget(jobs),
            ..RunDefaults::default()
        },
        ..HarnessOptions::default()
    };
    let harness = Harness::new(options).map_err(|e| anyhow::anyhow!("{e}"))?;
    let plan = runner::plan(suites, &Selection::default(), &[Expectations::default()]);
    let total = plan.tests.len();
    let (mut done, mut failed) = (0, 0);
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    runner::run(
        &harness,
        &plan.tests,
        &runner::Schedule { jobs, retries: 0 },
        |record| {
            done += 1;
            if progress {
                eprint!("\r\x1b[2Krunning tests: {done}/{total}");
            }
            if matches!(record.outcome, runner::Outcome::Skip(_)) {
                return;
            }
            failed += usize::from(record.outcome.is_failure());
            let stats = record.result.trace.as_ref().map(|t| t.stats());
            cov.add_stats(record.suite.name(), stats.as_ref());
        },
    );
    if progress {
        eprint!("\r\x1b[2K");
    }
    eprintln!("ran {total} tests");
    if failed > 0 {
        eprintln!("note: {failed} of {total} tests failed; their calls are counted all the same");
    }
    Ok(())
}
