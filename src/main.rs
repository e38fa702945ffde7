//! The `wasi-conform` command line: `wasi-conform run PATH... [--json FILE]`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use wasi_conform::discover;
use wasi_conform::expectations::Expectations;
use wasi_conform::report::{Report, github, junit, terminal::Terminal};
use wasi_conform::run::{
    CompileConfig, Compiler, DEFAULT_DISK_BYTES, DEFAULT_MEMORY_BYTES, DEFAULT_OPEN_FILES,
    DEFAULT_OUTPUT_BYTES, DEFAULT_TIMEOUT, RunDefaults,
};
use wasi_conform::runner::{self, Selection, TestRecord};
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

#[derive(Clone, Copy, ValueEnum)]
enum CompilerArg {
    Winch,
    Cranelift,
    CraneliftFast,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Suite directories or .wasm/.wat modules.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write the JSON report (the official runner's shape) to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Expectation file in the official TOML format (skip / expected fail); repeatable.
    #[arg(long, value_name = "FILE")]
    expectations: Vec<PathBuf>,
    /// Write actual output into golden files instead of comparing (also WASI_CONFORM_BLESS=1).
    /// Refused where CI is set.
    #[arg(long)]
    bless: bool,
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
    /// Compiler: `winch` (baseline, fastest to compile), `cranelift` (optimising) or
    /// `cranelift-fast` (Cranelift without optimisations).
    #[arg(long, value_enum, default_value = "winch")]
    compiler: CompilerArg,
    /// With Cranelift: share identical functions between modules while compiling.
    #[arg(long)]
    incremental: bool,
    /// Directory of the persistent compiled-module cache
    /// (default: $XDG_CACHE_HOME/wasi-conform or ~/.cache/wasi-conform).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,
    /// Compile every module afresh, without the persistent cache.
    #[arg(long)]
    no_cache: bool,
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
    /// Root of golden files (DIR/SUITE_PATH/NAME.stdout|.stderr); default: the
    /// `expected/` directory of the project holding each suite.
    #[arg(long, value_name = "DIR")]
    expected: Option<PathBuf>,
    /// Wasm proposals to enable for every test, comma-separated wasmtime `-W` names
    /// (exceptions, gc, tail-call, threads, ...).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    wasm_features: Vec<String>,
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

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.timeout == 0 {
        anyhow::bail!("--timeout must be at least 1 (milliseconds)");
    }
    if args.jobs == Some(0) {
        anyhow::bail!("--jobs must be at least 1");
    }
    if args.incremental && matches!(args.compiler, CompilerArg::Winch) {
        anyhow::bail!(
            "--incremental shares functions between modules compiled by Cranelift; \
             add --compiler cranelift (or cranelift-fast)"
        );
    }
    let bless = args.bless || std::env::var("WASI_CONFORM_BLESS").is_ok_and(|v| v == "1");
    if bless {
        wasi_conform::harness::bless_allowed().map_err(anyhow::Error::msg)?;
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
    let expectations = Expectations::load(&args.expectations)?;
    for warning in expectations.unknown_entries(&suites) {
        eprintln!("warning: {warning}");
        if github::active() {
            println!("::warning::{warning}");
        }
    }
    let selection = Selection {
        filter: args.filter.clone(),
        exact: args.exact,
        skip: args.skip.clone(),
    };
    let plan = runner::plan(&suites, &selection, std::slice::from_ref(&expectations));
    if args.list {
        for t in &plan.tests {
            println!("{}: test", t.full_name());
        }
        return Ok(ExitCode::SUCCESS);
    }

    let options = HarnessOptions {
        defaults: RunDefaults {
            timeout: Duration::from_millis(args.timeout),
            memory_bytes: args.memory_bytes,
            output_bytes: args.output_bytes,
            open_files: args.open_files,
            disk_bytes: args.disk_bytes,
        },
        compile: CompileConfig {
            compiler: match args.compiler {
                CompilerArg::Winch => Compiler::Winch,
                CompilerArg::Cranelift => Compiler::Cranelift { optimize: true },
                CompilerArg::CraneliftFast => Compiler::Cranelift { optimize: false },
            },
            incremental: args.incremental,
            cache_dir: if args.no_cache {
                None
            } else {
                args.cache_dir
                    .clone()
                    .or_else(wasi_conform::cache::default_dir)
            },
        },
        color,
        expected_dir: args.expected.clone(),
        features: args
            .wasm_features
            .iter()
            .map(|f| wasi_conform::features::Feature::parse(f).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()
            .context("--wasm-features")?,
        bless,
    };
    let harness = Harness::new(options)?;
    let names: Vec<String> = plan.tests.iter().map(|t| t.full_name()).collect();
    let progress = !args.quiet && std::io::stderr().is_terminal() && !github::active();
    let mut term = Terminal::new(&names, color, args.quiet, progress);
    term.start();
    let start = SystemTime::now();
    let clock = Instant::now();
    let mut records: Vec<TestRecord> = Vec::with_capacity(plan.tests.len());
    let jobs = args.jobs.unwrap_or_else(runner::default_jobs);
    runner::run(&harness, &plan.tests, jobs, |record| {
        term.record(&record);
        records.push(record);
    });
    let elapsed = clock.elapsed();
    let finish = SystemTime::now();
    let rerun = |r: &TestRecord| {
        format!(
            "wasi-conform run {} --filter {} --exact",
            shell_quote(&r.suite.dir.display().to_string()),
            shell_quote(&r.full_name())
        )
    };
    term.finish(&records, plan.filtered_out, elapsed, &rerun);

    if let Some(path) = &args.json {
        let report = Report::new(&records, start, finish);
        std::fs::write(path, report.to_json())
            .with_context(|| format!("cannot write the JSON report to {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::junit(&records))
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    if github::active() {
        print!("{}", github::annotations(&records));
        github::write_step_summary(&records).context("cannot append to GITHUB_STEP_SUMMARY")?;
    }
    let failing = records.iter().any(|r| r.outcome.is_failure());
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
