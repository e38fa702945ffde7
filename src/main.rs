//! The `wasi-conform` command line: `wasi-conform run PATH... [--json FILE]`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use wasi_conform::discover;
use wasi_conform::report::Report;
use wasi_conform::run::{
    DEFAULT_DISK_BYTES, DEFAULT_MEMORY_BYTES, DEFAULT_OPEN_FILES, DEFAULT_OUTPUT_BYTES,
    DEFAULT_TIMEOUT, RuntimeConfig,
};
use wasi_conform::{Harness, HarnessOptions};

#[derive(Parser)]
#[command(
    name = "wasi-conform",
    version,
    about = "A sandboxed test harness and conformance runner for WASI modules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the tests under PATH... (suite directories, searched recursively, or single modules).
    Run(RunArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Suite directories or .wasm/.wat modules.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write the JSON report (the official runner's shape) to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Per-test wall-clock limit in milliseconds, where a spec sets no `timeout_ms`.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout: u64,
    /// Cap on a guest's linear memory, where a spec sets no `limits.memory_bytes`.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MEMORY_BYTES)]
    memory_bytes: u64,
    /// Cap on each captured output stream, where a spec sets no `limits.output_bytes`.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_OUTPUT_BYTES)]
    output_bytes: u64,
    /// Cap on files a guest holds open at once, where a spec sets no `limits.open_files`.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_OPEN_FILES)]
    open_files: u64,
    /// Cap on the growth of a test's preopened directories, where a spec sets no `limits.disk_bytes`.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_DISK_BYTES)]
    disk_bytes: u64,
    /// Number of tests run at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Run only tests whose name (SUITE_PATH::NAME) contains FILTER.
    #[arg(long, value_name = "FILTER")]
    filter: Option<String>,
    /// With --filter: run only the test named exactly FILTER.
    #[arg(long, requires = "filter")]
    exact: bool,
    /// Skip tests whose name contains PATTERN (repeatable).
    #[arg(long, value_name = "PATTERN")]
    skip: Vec<String>,
    /// List the tests instead of running them.
    #[arg(long)]
    list: bool,
    /// Root of golden files (expected/SUITE_PATH/NAME.stdout|.stderr).
    #[arg(long, value_name = "DIR", default_value = "expected")]
    expected: PathBuf,
    /// Colour output.
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Print one character per test instead of one line.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => match run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.timeout == 0 {
        anyhow::bail!("--timeout must be at least 1 (milliseconds)");
    }
    if args.jobs == Some(0) {
        anyhow::bail!("--jobs must be at least 1");
    }
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let suites = discover::discover(&args.paths)?;
    if suites.is_empty() {
        anyhow::bail!(
            "no tests found under {}: a suite is a directory holding .wasm or .wat modules",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let options = HarnessOptions {
        runtime: RuntimeConfig {
            timeout: Duration::from_millis(args.timeout),
            memory_bytes: args.memory_bytes,
            output_bytes: args.output_bytes,
            open_files: args.open_files,
            disk_bytes: args.disk_bytes,
        },
        color,
        expected_dir: Some(args.expected.clone()),
    };
    let harness = Arc::new(Harness::new(options)?);
    let recorder = Arc::new(Mutex::new(Vec::new()));
    let trials = harness.trials(&suites, Some(recorder.clone()));

    let mut targs = libtest_mimic::Arguments {
        filter: args.filter.clone(),
        exact: args.exact,
        skip: args.skip.clone(),
        list: args.list,
        test_threads: args.jobs,
        quiet: args.quiet,
        ..Default::default()
    };
    targs.color = Some(if color {
        libtest_mimic::ColorSetting::Always
    } else {
        libtest_mimic::ColorSetting::Never
    });
    let start = SystemTime::now();
    let conclusion = libtest_mimic::run(&targs, trials);
    let finish = SystemTime::now();
    if args.list {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.json {
        let records = recorder.lock().unwrap_or_else(|e| e.into_inner());
        let report = Report::new(&suites, &records, start, finish);
        std::fs::write(path, report.to_json())
            .with_context(|| format!("cannot write the JSON report to {}", path.display()))?;
    }
    Ok(if conclusion.has_failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
