//! The command line: subcommands and what they share. Each subcommand is a thin
//! shell over the library; errors get context here (anyhow) and a usage error
//! exits with 2.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

mod adhoc;
mod coverage;
mod run;

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
    /// Run the tests under PATH... (suite directories, searched recursively, or single
    /// modules) on one or more runtimes; or, with `--` (or --env/--dir/--stdin), run
    /// one module ad hoc and print what it prints: `run MODULE.wasm -- ARGS`.
    Run(Box<run::RunArgs>),
    /// Run a module once and write NAME.json beside it with what it did (exit code,
    /// output inline or as golden files, files it wrote), ready to commit.
    New(Box<adhoc::NewArgs>),
    /// Build a conformance matrix from JSON reports (this tool's or the official runner's).
    Matrix(MatrixArgs),
    /// Join the JSON reports of shards (`run --partition`) into one report.
    Merge(MergeArgs),
    /// Print the JSON Schema of spec files (draft 2020-12), as committed in
    /// docs/spec.schema.json, for editors to validate and complete specs.
    Schema,
    /// Which WASI functions the suites exercise: for every function of
    /// wasi_snapshot_preview1 and of the WASI 0.2/0.3 interfaces the embedded
    /// runtime links, per suite and in total, the modules importing it and the
    /// calls the tests made with their results (markdown; --json, --html).
    Coverage(coverage::CoverageArgs),
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Write the merged JSON report to FILE (default: stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report of the merged run to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the conformance matrix of the merged run (`.md` or `.html`); repeatable.
    #[arg(long, value_name = "FILE")]
    matrix: Vec<PathBuf>,
    /// Append a markdown summary (the matrix) to the file GITHUB_STEP_SUMMARY names.
    #[arg(long)]
    step_summary: bool,
}

/// When to colour output.
#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether to colour stdout.
    pub fn enabled(self) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

#[derive(clap::Args)]
struct MatrixArgs {
    /// JSON reports, in order (columns of one runtime in several reports show what changed).
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Write the matrix to FILE (`.md` markdown, `.html` a self-contained page); repeatable.
    /// Without it, markdown goes to stdout. Also spelt `--matrix FILE`, as in `run` and `merge`.
    #[arg(
        long = "out",
        short = 'o',
        visible_alias = "matrix",
        value_name = "FILE"
    )]
    out: Vec<PathBuf>,
}

pub fn main() -> ExitCode {
    // SAFETY: first thing in main; no other thread runs yet.
    unsafe { wasi_conform::quiet_error_backtraces() };
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .is_some_and(|a| a == wasi_conform::run::WORKER_SUBCOMMAND)
    {
        return wasi_conform::run::worker_main(&args[2..]);
    }
    // `run MODULE --` with no arguments after it still means an ad-hoc run.
    let dashdash = std::env::args_os().any(|a| a == "--");
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Run(args) => {
            let args = args.with_positions(matches.subcommand_matches("run"));
            run::run(args, dashdash)
        }
        Command::New(args) => {
            let mut options = wasi_conform::HarnessOptions::default();
            options.compile.limits.worker = compile_worker();
            adhoc::new(*args, options)
        }
        Command::Matrix(args) => matrix(args),
        Command::Merge(args) => merge(args),
        Command::Coverage(args) => coverage::coverage(args),
        Command::Schema => {
            print!("{}", wasi_conform::spec::schema::spec_schema_text());
            Ok(ExitCode::SUCCESS)
        }
    };
    wasi_conform::sandbox::remove_run_dir();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// This binary, which compiles costly modules when run as a compile worker.
pub fn compile_worker() -> Option<std::path::PathBuf> {
    std::env::current_exe().ok()
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    wasi_conform::text::shell_word(s)
}

/// Writes a matrix to each file by its extension (`.md`, `.html`).
pub fn write_matrix(
    matrix: &wasi_conform::report::matrix::Matrix,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    for file in files {
        let text = match file.extension().and_then(|e| e.to_str()) {
            Some("html" | "htm") => matrix.html(),
            Some("md" | "markdown") => matrix.markdown(),
            _ => anyhow::bail!(
                "--matrix {}: the file name ends in .md (markdown) or .html (a self-contained page)",
                file.display()
            ),
        };
        std::fs::write(file, text)
            .with_context(|| format!("cannot write the matrix to {}", file.display()))?;
    }
    Ok(())
}

/// Reads JSON reports (bounded, regular files).
fn read_reports(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, serde_json::Value)>> {
    let mut reports = Vec::new();
    for path in paths {
        let text = wasi_conform::files::read_text(path, wasi_conform::files::MAX_DATA_BYTES)?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: line {}, column {}: invalid JSON: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        reports.push((path.clone(), value));
    }
    Ok(reports)
}

/// `wasi-conform merge REPORT.json...`: exits 1 when the merged run failed.
fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let reports = read_reports(&args.reports)?;
    let merged = wasi_conform::report::merge::merge(&reports).map_err(anyhow::Error::msg)?;
    let text = serde_json::to_string_pretty(&merged)? + "\n";
    match &args.json {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write the JSON report to {}", path.display()))?,
        None => print!("{text}"),
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, wasi_conform::report::merge::junit(&merged))
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    let matrix = wasi_conform::report::matrix::Matrix::from_reports(&[(
        PathBuf::from("merged"),
        merged.clone(),
    )])
    .map_err(anyhow::Error::msg)?;
    write_matrix(&matrix, &args.matrix)?;
    if args.step_summary {
        wasi_conform::report::github::append_step_summary(&matrix.markdown())
            .context("cannot append to GITHUB_STEP_SUMMARY")?;
    }
    let count = |key: &str| {
        merged["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r[key].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    // As `run` exits: 1 when a test failed, else 2 when a runtime errored.
    Ok(if count("failed") > 0 {
        ExitCode::from(1)
    } else if count("errored") > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `wasi-conform matrix REPORT.json...`
fn matrix(args: MatrixArgs) -> anyhow::Result<ExitCode> {
    let reports = read_reports(&args.reports)?;
    let m =
        wasi_conform::report::matrix::Matrix::from_reports(&reports).map_err(anyhow::Error::msg)?;
    if args.out.is_empty() {
        print!("{}", m.markdown());
    } else {
        write_matrix(&m, &args.out)?;
    }
    Ok(ExitCode::SUCCESS)
}
