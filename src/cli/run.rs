//! `wasi-conform run PATH...`: discover tests, run them on the selected runtimes,
//! report (terminal, JSON, JUnit, GitHub, matrix), and compare runtimes
//! (`--differential`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::ValueEnum;
use wasi_conform::discover;
use wasi_conform::expectations::Expectations;
use wasi_conform::report::matrix::Matrix;
use wasi_conform::report::{Report, github, junit, terminal::Terminal};
use wasi_conform::run::embedded::Embedded;
use wasi_conform::run::process::ProcessBackend;
use wasi_conform::run::process::adapter::Adapter;
use wasi_conform::run::{
    Backend, CompileConfig, Compiler, DEFAULT_DISK_BYTES, DEFAULT_MEMORY_BYTES, DEFAULT_OPEN_FILES,
    DEFAULT_OUTPUT_BYTES, DEFAULT_TIMEOUT, RunDefaults,
};
use wasi_conform::runner::{self, Selection, TestRecord};
use wasi_conform::{Harness, HarnessOptions};

use super::{Color, shell_quote, write_matrix};

/// The name of the in-process runtime in `--runtime`.
const EMBEDDED: &str = "embedded";

/// Whether a runtime name the user gives means the embedded runtime: its
/// `--runtime` name (`embedded`) or the name reports give it (`wasi-conform`).
fn is_embedded(name: &str) -> bool {
    name == EMBEDDED || name == wasi_conform::run::embedded::RUNTIME_NAME
}

/// A runtime name the user gives, as reports name that runtime: `embedded`
/// becomes `wasi-conform`; other names are unchanged.
fn report_name(name: &str) -> &str {
    if is_embedded(name) {
        wasi_conform::run::embedded::RUNTIME_NAME
    } else {
        name
    }
}

/// What a run that selects no test does (`--no-tests`), as nextest's option.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoTests {
    Fail,
    Warn,
    Pass,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CompilerArg {
    Winch,
    Cranelift,
    CraneliftFast,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// Suite directories or .wasm/.wat modules.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Run on this runtime (repeatable): `embedded` (the default, in-process
    /// wasmtime; reported as `wasi-conform`, which is accepted too) or a built-in adapter (wasmtime, wazero, wasmedge, wamr, wasmer,
    /// node, jco).
    #[arg(long = "runtime", value_name = "NAME")]
    runtimes: Vec<String>,
    /// Run on the runtime an adapter file defines (repeatable): a `.toml` adapter
    /// (see docs/adapters.md; replaces a built-in one of the same name) or an
    /// official wasi-testsuite `adapters/*.py`, used unchanged.
    #[arg(long = "adapter", value_name = "FILE")]
    adapters: Vec<PathBuf>,
    /// Also compare the runtimes' exit codes, stdout and stderr on each test; a
    /// disagreement that reproduces fails (reported under the runtime
    /// `differential`); what varies between runs of one runtime is not compared.
    #[arg(long)]
    differential: bool,
    /// Known disagreements of --differential, accepted (repeatable): the
    /// expectation file's TOML shape with `runtimes` and `reason` per test
    /// (docs/spec-format.md). An entry that accepts nothing is a warning.
    #[arg(long, value_name = "FILE", requires = "differential")]
    accept: Vec<PathBuf>,
    /// Write the conformance matrix (tests × runtimes) to FILE: `.md` or `.html`; repeatable.
    #[arg(long, value_name = "FILE")]
    matrix: Vec<PathBuf>,
    /// Write the JSON report (the official runner's shape) to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Expectation file in the official TOML format (skip / expected fail), for every
    /// runtime, or `NAME=FILE` for runtime NAME only (the embedded runtime is
    /// `embedded` or `wasi-conform`); repeatable.
    #[arg(long, value_name = "[NAME=]FILE")]
    expectations: Vec<String>,
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
    /// The most bytes the compiled-module cache keeps on disk (least recently
    /// used entries are evicted past it).
    #[arg(long, value_name = "BYTES", default_value_t = wasi_conform::cache::DEFAULT_CACHE_MAX_BYTES)]
    cache_max_bytes: u64,
    /// The longest compiling one module may take (modules too costly to
    /// compile in-process are compiled in a separate process, stopped past it).
    #[arg(long, value_name = "SECONDS", default_value_t = wasi_conform::run::DEFAULT_COMPILE_TIMEOUT.as_secs())]
    compile_timeout: u64,
    /// The most resident memory compiling one module may take (in that separate process).
    #[arg(long, value_name = "BYTES", default_value_t = wasi_conform::run::DEFAULT_COMPILE_MEMORY_BYTES)]
    compile_memory_bytes: u64,
    /// Number of tests run at once (default: the number of cores; twice that
    /// with an external runtime).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Run only tests whose name (SUITE_PATH::NAME) contains FILTER (repeatable: any).
    #[arg(long, value_name = "FILTER")]
    filter: Vec<String>,
    /// With --filter: run only the tests named exactly FILTER.
    #[arg(long, requires = "filter")]
    exact: bool,
    /// Skip tests whose name contains PATTERN (repeatable).
    #[arg(long, value_name = "PATTERN")]
    skip: Vec<String>,
    /// Run one shard of the selected tests: `hash:K/N` (stable across runs and
    /// machines) or `count:K/N` (round-robin); merge the shards' JSON reports
    /// with `wasi-conform merge`.
    #[arg(long, value_name = "hash:K/N|count:K/N")]
    partition: Option<String>,
    /// List the tests instead of running them.
    #[arg(long)]
    list: bool,
    /// What a selection that runs no test does: `fail` (exit 2, the default),
    /// `warn` (a warning; exit 0) or `pass`.
    #[arg(long, value_enum, value_name = "ACTION", default_value = "fail")]
    no_tests: NoTests,
    /// Run a failed test again up to N times; one that then passes is reported
    /// `flaky` (with its failures), not as a pass.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// Treat warnings (a spec no module uses, a stale expectation entry) as errors.
    #[arg(long)]
    deny_warnings: bool,
    /// After the results, print where the tests' time went, stage by stage
    /// (load, sandbox, start, run, check, teardown), summed over the run.
    #[arg(long)]
    timings: bool,
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
    /// Show every test's host calls (embedded runtime), passing tests' too; a
    /// failed test's are always shown, as are those of a spec with `debug: true`.
    #[arg(long)]
    trace: bool,
    /// Write each test's host calls to a file in DIR (one per test).
    #[arg(long, value_name = "DIR")]
    trace_dir: Option<PathBuf>,
    /// For an ad-hoc run of one module.
    #[command(flatten)]
    guest: super::adhoc::GuestArgs,
    /// Where each `--runtime` and `--adapter` stood on the command line
    /// (see [`RunArgs::with_positions`]); empty: runtimes, then adapters.
    #[arg(skip)]
    positions: Vec<Slot>,
}

/// A runtime-selecting option, by its place among its kind's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Runtime(usize),
    Adapter(usize),
}

impl RunArgs {
    /// Records the order in which `--runtime` and `--adapter` were given, so
    /// that runtimes run and appear in reports in the command line's order.
    pub fn with_positions(mut self, matches: Option<&clap::ArgMatches>) -> RunArgs {
        let Some(m) = matches else {
            return self;
        };
        let mut at: Vec<(usize, Slot)> = Vec::new();
        for (id, slot) in [
            ("runtimes", Slot::Runtime as fn(usize) -> Slot),
            ("adapters", Slot::Adapter),
        ] {
            if let Some(indices) = m.indices_of(id) {
                at.extend(indices.enumerate().map(|(i, index)| (index, slot(i))));
            }
        }
        at.sort_by_key(|(index, _)| *index);
        self.positions = at.into_iter().map(|(_, slot)| slot).collect();
        self
    }

    /// Every runtime-selecting option in order (`names` runtimes: the
    /// `--runtime` values, or the default `embedded`).
    fn slots(&self, names: usize) -> Vec<Slot> {
        if self.positions.len() == names + self.adapters.len() {
            return self.positions.clone();
        }
        (0..names)
            .map(Slot::Runtime)
            .chain((0..self.adapters.len()).map(Slot::Adapter))
            .collect()
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.timeout == 0 {
            anyhow::bail!("--timeout must be at least 1 (milliseconds)");
        }
        if self.jobs == Some(0) {
            anyhow::bail!("--jobs must be at least 1");
        }
        if self.incremental && matches!(self.compiler, CompilerArg::Winch) {
            anyhow::bail!(
                "--incremental shares functions between modules compiled by Cranelift; \
                 add --compiler cranelift (or cranelift-fast)"
            );
        }
        Ok(())
    }

    fn compile(&self) -> CompileConfig {
        CompileConfig {
            compiler: match self.compiler {
                CompilerArg::Winch => Compiler::Winch,
                CompilerArg::Cranelift => Compiler::Cranelift { optimize: true },
                CompilerArg::CraneliftFast => Compiler::Cranelift { optimize: false },
            },
            incremental: self.incremental,
            cache_dir: if self.no_cache {
                None
            } else {
                self.cache_dir
                    .clone()
                    .or_else(wasi_conform::cache::default_dir)
            },
            cache_max_bytes: self.cache_max_bytes,
            limits: wasi_conform::run::CompileLimits {
                worker: super::compile_worker(),
                timeout: Duration::from_secs(self.compile_timeout.max(1)),
                memory_bytes: self.compile_memory_bytes,
            },
        }
    }

    /// `-j`, else the number of cores, doubled when an external runtime runs
    /// (its tests spend much of their time starting and ending processes).
    fn jobs(&self) -> usize {
        let external = self.runtimes.iter().any(|r| !is_embedded(r)) || !self.adapters.is_empty();
        self.jobs
            .unwrap_or_else(|| runner::default_jobs() * if external { 2 } else { 1 })
    }

    fn features(&self) -> anyhow::Result<wasi_conform::features::FeatureSet> {
        self.wasm_features
            .iter()
            .map(|f| wasi_conform::features::Feature::parse(f).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()
            .context("--wasm-features")
    }

    fn defaults(&self) -> RunDefaults {
        RunDefaults {
            timeout: Duration::from_millis(self.timeout),
            memory_bytes: self.memory_bytes,
            output_bytes: self.output_bytes,
            open_files: self.open_files,
            disk_bytes: self.disk_bytes,
            echo: false,
            max_open_files: runner::open_files_budget(self.jobs()),
        }
    }
}

/// A runtime of the run and the options that select it (`--runtime NAME` or
/// `--adapter FILE`), for commands that rerun a test.
struct Selected {
    backend: Arc<dyn Backend>,
    options: Vec<String>,
}

/// The runtimes to run on: `--runtime` names (built-in adapters, or adapter
/// files' names) in order, then adapter files not named; `embedded` alone when
/// nothing is given.
fn backends(args: &RunArgs) -> anyhow::Result<Vec<Selected>> {
    let mut files: Vec<Option<(Adapter, &PathBuf)>> = Vec::new();
    for path in &args.adapters {
        let adapter =
            Adapter::load(path).with_context(|| format!("--adapter {}", path.display()))?;
        files.push(Some((adapter, path)));
    }
    let mut names = args.runtimes.clone();
    if names.is_empty() && files.is_empty() {
        names.push(EMBEDDED.into());
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i]
            .iter()
            .any(|n| report_name(n) == report_name(name))
        {
            anyhow::bail!("--runtime {name} is given twice");
        }
    }
    // An adapter file named by a --runtime takes that --runtime's place.
    let named: Vec<bool> = files
        .iter()
        .map(|f| {
            f.as_ref()
                .is_some_and(|(a, _)| names.iter().any(|n| n == a.name()))
        })
        .collect();
    let mut out: Vec<Selected> = Vec::new();
    for slot in args.slots(names.len()) {
        match slot {
            Slot::Runtime(i) => out.push(named_runtime(args, &names[i], &mut files)?),
            Slot::Adapter(i) if !named[i] => {
                if let Some((adapter, path)) = files[i].take() {
                    out.push(Selected {
                        backend: process_backend(&adapter)?,
                        options: adapter_options(path),
                    });
                }
            }
            Slot::Adapter(_) => {}
        }
    }
    Ok(out)
}

/// The runtime `--runtime NAME` selects: the embedded one, an adapter file's
/// of that name (taken from `files`), or a built-in adapter's.
fn named_runtime(
    args: &RunArgs,
    name: &str,
    files: &mut [Option<(Adapter, &PathBuf)>],
) -> anyhow::Result<Selected> {
    if is_embedded(name) {
        let embedded = Embedded::new(args.compile())
            .map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine: {e:#}"))?;
        return Ok(Selected {
            backend: Arc::new(embedded),
            options: vec!["--runtime".into(), EMBEDDED.into()],
        });
    }
    let from_file = files
        .iter_mut()
        .find(|f| f.as_ref().is_some_and(|(a, _)| a.name() == name))
        .and_then(Option::take);
    let (adapter, options) = match from_file {
        Some((a, path)) => (a, adapter_options(path)),
        None => match Adapter::builtin(name) {
            Some(a) => (a, vec!["--runtime".into(), name.to_string()]),
            None => anyhow::bail!(
                "--runtime {name}: unknown runtime; known: {EMBEDDED}, {} (`{}` is \
                 {EMBEDDED} too), or give an adapter file with --adapter FILE",
                Adapter::builtin_names().join(", "),
                wasi_conform::run::embedded::RUNTIME_NAME,
            ),
        },
    };
    Ok(Selected {
        backend: process_backend(&adapter)?,
        options,
    })
}

/// `--adapter FILE`, which alone selects the runtime the file defines.
fn adapter_options(path: &std::path::Path) -> Vec<String> {
    vec!["--adapter".into(), path.display().to_string()]
}

fn process_backend(adapter: &Adapter) -> anyhow::Result<Arc<dyn Backend>> {
    let backend =
        ProcessBackend::new(adapter).with_context(|| format!("runtime {}", adapter.name()))?;
    Ok(Arc::new(backend))
}

/// One set of expectations per runtime: every `FILE`, then each `NAME=FILE`
/// naming that runtime (later files override earlier ones).
fn expectations(args: &RunArgs, runtimes: &[String]) -> anyhow::Result<Vec<Expectations>> {
    let mut common: Vec<PathBuf> = Vec::new();
    let mut own: Vec<Vec<PathBuf>> = vec![Vec::new(); runtimes.len()];
    for value in &args.expectations {
        match value.split_once('=') {
            Some((name, file)) if runtimes.iter().any(|r| r == report_name(name)) => {
                let i = runtimes
                    .iter()
                    .position(|r| r == report_name(name))
                    .expect("found");
                own[i].push(PathBuf::from(file));
            }
            Some((name, _)) if name == wasi_conform::differential::RUNTIME_NAME => anyhow::bail!(
                "--expectations {value}: known disagreements of --differential are accepted with \
                 --accept FILE (the expectation file's shape, each test entry naming the \
                 `runtimes` whose disagreement is accepted and a `reason`; see \
                 docs/spec-format.md), not with --expectations"
            ),
            Some((name, _)) if !std::path::Path::new(value).exists() => anyhow::bail!(
                "--expectations {value}: `{name}` is not a runtime of this run (runtimes: {}; \
                 the embedded runtime is `{EMBEDDED}` or `{}`)",
                runtimes.join(", "),
                wasi_conform::run::embedded::RUNTIME_NAME
            ),
            _ => common.push(PathBuf::from(value)),
        }
    }
    own.into_iter()
        .map(|files| {
            let all: Vec<PathBuf> = common.iter().cloned().chain(files).collect();
            Expectations::load(&all).map_err(anyhow::Error::from)
        })
        .collect()
}

/// Prints warnings; with `--deny-warnings` they are an error.
fn warn(warnings: &[String], deny: bool) -> anyhow::Result<()> {
    for w in warnings {
        eprintln!("warning: {w}");
        if github::active() {
            println!("::warning::{}", github::escape_data(w));
        }
    }
    if deny && !warnings.is_empty() {
        anyhow::bail!(
            "{} warning(s), and --deny-warnings turns warnings into errors",
            warnings.len()
        );
    }
    Ok(())
}

pub fn run(args: RunArgs, dashdash: bool) -> anyhow::Result<ExitCode> {
    args.check()?;
    if dashdash || args.guest.given() {
        return adhoc_run(&args);
    }
    let bless = args.bless || std::env::var("WASI_CONFORM_BLESS").is_ok_and(|v| v == "1");
    if bless {
        wasi_conform::harness::bless_allowed().map_err(anyhow::Error::msg)?;
    }
    let color = args.color.enabled();
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
    let mut warnings: Vec<String> = suites.iter().flat_map(|s| s.warnings.clone()).collect();
    let selected = backends(&args)?;
    let rerun = Rerun::new(
        &args,
        selected
            .iter()
            .map(|s| (s.backend.info().name.clone(), s.options.clone()))
            .collect(),
    );
    let backends: Vec<Arc<dyn Backend>> = selected.into_iter().map(|s| s.backend).collect();
    let names: Vec<String> = backends.iter().map(|b| b.info().name.clone()).collect();
    let expectations = expectations(&args, &names)?;
    let accepted = wasi_conform::differential::Accepted::load(&args.accept)?;
    for (e, name) in expectations.iter().zip(&names) {
        let stale = e.unknown_entries(&suites);
        warnings.extend(stale.into_iter().map(|w| {
            if names.len() > 1 {
                format!("{w} (runtime {name})")
            } else {
                w
            }
        }));
    }
    warnings.dedup();
    warn(&warnings, args.deny_warnings)?;
    if args.differential && backends.len() < 2 {
        anyhow::bail!(
            "--differential compares runtimes: select at least two (e.g. --runtime embedded --runtime node)"
        );
    }
    let selection = Selection {
        filters: args.filter.clone(),
        exact: args.exact,
        skip: args.skip.clone(),
        partition: args
            .partition
            .as_deref()
            .map(runner::Partition::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--partition {e}"))?,
    };
    let plan = runner::plan(&suites, &selection, &expectations);
    let show_runtime = backends.len() > 1 || names[0] != wasi_conform::run::embedded::RUNTIME_NAME;
    if args.list {
        for t in plan.tests.iter().filter(|t| t.runtime == 0) {
            println!("{}: test", t.full_name());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let options = HarnessOptions {
        defaults: args.defaults(),
        compile: args.compile(),
        color,
        expected_dir: args.expected.clone(),
        features: args.features()?,
        bless,
        keep_output: false,
        trace_all: args.trace,
        keep_traces: args.trace_dir.is_some(),
    };
    if plan.tests.is_empty() {
        return no_tests(&args, plan.filtered_out);
    }
    let harness = Harness::with_backends(options, backends);
    let context = RunContext {
        harness: &harness,
        plan: &plan,
        rerun: &rerun,
        accepted,
        color,
        show_runtime,
    };
    let records = execute(&args, &context)?;
    let status = wasi_conform::outcome::RunStatus::of(records.iter().map(|r| &r.outcome));
    Ok(ExitCode::from(status.exit_code()))
}

/// A selection that runs no test: an error (exit 2) unless `--no-tests` says
/// otherwise, so that a filter matching nothing never reads as green.
fn no_tests(args: &RunArgs, filtered_out: usize) -> anyhow::Result<ExitCode> {
    let message = format!(
        "no test to run: the selection (--filter, --skip, --exact, --partition) left out all \
         {filtered_out} test(s) found; check the names with --list (with --exact, give a name as \
         --list prints it, SUITE_PATH::NAME, or the bare NAME), or pass --no-tests=pass"
    );
    match args.no_tests {
        NoTests::Fail => anyhow::bail!(message),
        NoTests::Warn => {
            warn(&[message], args.deny_warnings)?;
            Ok(ExitCode::SUCCESS)
        }
        NoTests::Pass => Ok(ExitCode::SUCCESS),
    }
}

/// `run MODULE -- ARGS`: one module, no spec, its output printed.
fn adhoc_run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let [module] = args.paths.as_slice() else {
        anyhow::bail!(
            "an ad-hoc run (with `--`, --env, --dir or --stdin) takes exactly one module, not {} paths",
            args.paths.len()
        );
    };
    if !wasi_conform::discover::is_module(module) {
        anyhow::bail!(
            "{}: an ad-hoc run takes a .wasm or .wat module",
            module.display()
        );
    }
    if !args.runtimes.is_empty() || !args.adapters.is_empty() {
        anyhow::bail!(
            "an ad-hoc run uses the embedded runtime; --runtime and --adapter apply to test runs"
        );
    }
    let options = HarnessOptions {
        defaults: args.defaults(),
        compile: args.compile(),
        features: args.features()?,
        trace_all: args.trace,
        ..HarnessOptions::default()
    };
    super::adhoc::run(options, module, &args.guest)
}

/// Runs the plan and writes every report asked for.
/// What a run of the plan needs beside the options.
struct RunContext<'a> {
    harness: &'a Harness,
    plan: &'a runner::Plan,
    rerun: &'a Rerun,
    accepted: wasi_conform::differential::Accepted,
    color: bool,
    show_runtime: bool,
}

fn execute(args: &RunArgs, context: &RunContext<'_>) -> anyhow::Result<Vec<TestRecord>> {
    let RunContext {
        harness,
        plan,
        rerun,
        color,
        show_runtime,
        ..
    } = *context;
    let labels: Vec<String> = plan
        .tests
        .iter()
        .map(|t| {
            label(
                &t.full_name(),
                &harness.runtimes()[t.runtime].name,
                show_runtime,
            )
        })
        .collect();
    let progress =
        !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) && !github::active();
    let mut term = Terminal::new(&labels, color, args.quiet, progress, show_runtime);
    term.start();
    let start = SystemTime::now();
    let clock = Instant::now();
    let mut records: Vec<TestRecord> = Vec::with_capacity(plan.tests.len());
    let schedule = runner::Schedule {
        jobs: args.jobs(),
        retries: args.retries,
    };
    if let Some(dir) = &args.trace_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--trace-dir {}: cannot create it", dir.display()))?;
    }
    let mut trace_errors = Vec::new();
    runner::run(harness, &plan.tests, &schedule, |mut record| {
        term.record(&record);
        if let Some(dir) = &args.trace_dir {
            if let Err(e) = write_trace(dir, &record, show_runtime) {
                trace_errors.push(e);
            }
            // Written: a trace that is not shown need not stay in memory.
            if let (false, Some(t)) = (record.result.show_trace, record.result.trace.as_mut()) {
                t.forget_calls();
            }
        }
        records.push(record);
    });
    if let Some(e) = trace_errors.first() {
        eprintln!(
            "warning: --trace-dir: {e} ({} file(s) not written)",
            trace_errors.len()
        );
    }
    let mut late_warnings: Vec<String> = Vec::new();
    if args.differential {
        let options = wasi_conform::differential::Options {
            accepted: context.accepted.clone(),
            jobs: schedule.jobs,
            ..Default::default()
        };
        // A test run again on one runtime, as planned.
        let again = |r: &TestRecord| -> TestRecord {
            let planned = plan.tests.iter().find(|p| {
                p.suite.path == r.suite.path
                    && p.test.name == r.test.name
                    && *harness.runtimes()[p.runtime] == *r.runtime
            });
            match planned {
                Some(p) => runner::run_one(harness, p, 0),
                None => r.clone(),
            }
        };
        let compared =
            wasi_conform::differential::compare(&records, harness.runtimes(), &options, &again);
        for record in compared.records {
            term.record(&record);
            records.push(record);
        }
        late_warnings.extend(compared.warnings);
    }
    runner::sort_records(&mut records, harness.runtimes());
    // Warnings found while running, reported once the reports are written.
    late_warnings.extend(harness.runtime_warnings());
    let elapsed = clock.elapsed();
    let finish = SystemTime::now();
    let rerun = |r: &TestRecord| rerun.command(r);
    term.finish(&records, plan.filtered_out, elapsed, &rerun);
    if args.timings {
        print!(
            "{}",
            wasi_conform::report::terminal::timings(&records, elapsed)
        );
    }

    if let Some(path) = &args.json {
        let report = Report::new(&records, start, finish);
        std::fs::write(path, report.to_json())
            .with_context(|| format!("cannot write the JSON report to {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::junit(&records))
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    if !args.matrix.is_empty() {
        write_matrix(&Matrix::from_records(&records), &args.matrix)?;
    }
    if github::active() {
        print!("{}", github::annotations(&records));
        github::write_step_summary(&records).context("cannot append to GITHUB_STEP_SUMMARY")?;
    }
    warn(&late_warnings, args.deny_warnings)?;
    Ok(records)
}

/// `SUITE_PATH::NAME`, with ` [runtime]` when the run names runtimes.
fn label(name: &str, runtime: &str, show_runtime: bool) -> String {
    if show_runtime {
        format!("{name} [{runtime}]")
    } else {
        name.to_string()
    }
}

/// What a command rerunning one failed test needs beside the test's name:
/// the options selecting each runtime, and those that change outcomes.
struct Rerun {
    /// Each runtime of the run (by report name) and the options selecting it.
    runtimes: Vec<(String, Vec<String>)>,
    /// `--expectations` values (with the runtime a `NAME=FILE` one names).
    expectations: Vec<(Option<String>, String)>,
    /// Other options changing outcomes, given with values other than the defaults.
    common: Vec<String>,
    differential: bool,
}

impl Rerun {
    /// `runtimes`: each runtime's report name and the options selecting it.
    fn new(args: &RunArgs, runtimes: Vec<(String, Vec<String>)>) -> Rerun {
        let expectations = args
            .expectations
            .iter()
            .map(|value| {
                let runtime = value.split_once('=').and_then(|(name, _)| {
                    let name = report_name(name);
                    runtimes
                        .iter()
                        .any(|(r, _)| r == name)
                        .then(|| name.to_string())
                });
                (runtime, value.clone())
            })
            .collect();
        let mut common = Vec::new();
        let mut add = |option: &str, value: String| {
            common.push(option.to_string());
            common.push(value);
        };
        if !args.wasm_features.is_empty() {
            add("--wasm-features", args.wasm_features.join(","));
        }
        if let Some(dir) = &args.expected {
            add("--expected", dir.display().to_string());
        }
        for (option, value, default) in [
            (
                "--timeout",
                args.timeout,
                DEFAULT_TIMEOUT.as_millis() as u64,
            ),
            ("--memory-bytes", args.memory_bytes, DEFAULT_MEMORY_BYTES),
            ("--output-bytes", args.output_bytes, DEFAULT_OUTPUT_BYTES),
            ("--open-files", args.open_files, DEFAULT_OPEN_FILES),
            ("--disk-bytes", args.disk_bytes, DEFAULT_DISK_BYTES),
        ] {
            if value != default {
                add(option, value.to_string());
            }
        }
        if !matches!(args.compiler, CompilerArg::Winch) {
            let name = args.compiler.to_possible_value().expect("not skipped");
            add("--compiler", name.get_name().to_string());
        }
        Rerun {
            runtimes,
            expectations,
            common,
            differential: args.differential,
        }
    }

    /// A command that reruns just this test and reproduces its outcome: on its
    /// runtime, or, for a disagreement of `--differential`, on every runtime
    /// of the run with `--differential`. The embedded runtime alone is the
    /// default and is not named.
    fn command(&self, r: &TestRecord) -> String {
        let mut words: Vec<String> = vec![
            "run".into(),
            r.suite.dir.display().to_string(),
            "--filter".into(),
            r.full_name(),
            "--exact".into(),
        ];
        let differential =
            self.differential && r.runtime.name == wasi_conform::differential::RUNTIME_NAME;
        let runtimes: Vec<&(String, Vec<String>)> = if differential {
            self.runtimes.iter().collect()
        } else {
            self.runtimes
                .iter()
                .filter(|(name, _)| *name == r.runtime.name)
                .collect()
        };
        let default = matches!(runtimes.as_slice(), [(name, _)] if is_embedded(name));
        if !default {
            for (_, options) in &runtimes {
                words.extend(options.iter().cloned());
            }
        }
        if differential {
            words.push("--differential".into());
        }
        for (runtime, value) in &self.expectations {
            let kept = runtime
                .as_ref()
                .is_none_or(|name| runtimes.iter().any(|(r, _)| r == name));
            if kept {
                words.push("--expectations".into());
                words.push(value.clone());
            }
        }
        words.extend(self.common.iter().cloned());
        let quoted: Vec<String> = words.iter().map(|w| shell_quote(w)).collect();
        format!("wasi-conform {}", quoted.join(" "))
    }
}

/// Writes a test's trace to `DIR/NAME.trace` (NAME made of the test's label,
/// every character but letters, digits, `.`, `-` and `_` replaced by `_`).
fn write_trace(dir: &std::path::Path, r: &TestRecord, show_runtime: bool) -> Result<(), String> {
    let Some(text) = wasi_conform::report::trace_file(r, show_runtime) else {
        return Ok(());
    };
    let name: String = r
        .label(show_runtime)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}.trace"));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use wasi_conform::discover::TestCase;
    use wasi_conform::run::RuntimeInfo;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn args(words: &[&str]) -> RunArgs {
        let words = std::iter::once("run").chain(words.iter().copied());
        Cli::try_parse_from(words).expect("valid options").run
    }

    fn record(runtime: &str) -> TestRecord {
        let suite = Arc::new(discover::Suite {
            dir: "suites/s".into(),
            path: "suites/s".into(),
            manifest: None,
            manifest_error: None,
            tests: Vec::new(),
            warnings: Vec::new(),
        });
        TestRecord {
            suite,
            test: TestCase {
                name: "t".into(),
                module: "suites/s/t.wasm".into(),
                spec_file: None,
                problem: None,
            },
            runtime: Arc::new(RuntimeInfo {
                name: runtime.into(),
                version: "1".into(),
            }),
            outcome: runner::Outcome::Fail,
            result: Default::default(),
            failed_attempts: Vec::new(),
        }
    }

    fn selection(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn rerun_of_a_differential_failure_selects_every_runtime() {
        let args = args(&[
            "suites/s",
            "--runtime",
            "embedded",
            "--adapter",
            "my adapters/fake.toml",
            "--differential",
            "--expectations",
            "embedded=exp.toml",
            "--expectations",
            "fake=fake.toml",
            "--timeout",
            "500",
        ]);
        let rerun = Rerun::new(
            &args,
            vec![
                ("wasi-conform".into(), selection(&["--runtime", "embedded"])),
                (
                    "fake".into(),
                    selection(&["--adapter", "my adapters/fake.toml"]),
                ),
            ],
        );
        assert_eq!(
            rerun.command(&record("differential")),
            "wasi-conform run suites/s --filter suites/s::t --exact --runtime embedded \
             --adapter 'my adapters/fake.toml' --differential --expectations embedded=exp.toml \
             --expectations fake=fake.toml --timeout 500"
        );
        // One runtime's own failure: that runtime alone (and its expectations).
        assert_eq!(
            rerun.command(&record("fake")),
            "wasi-conform run suites/s --filter suites/s::t --exact \
             --adapter 'my adapters/fake.toml' --expectations fake=fake.toml --timeout 500"
        );
        // The embedded runtime alone is the default.
        assert_eq!(
            rerun.command(&record("wasi-conform")),
            "wasi-conform run suites/s --filter suites/s::t --exact \
             --expectations embedded=exp.toml --timeout 500"
        );
    }

    #[test]
    fn rerun_names_a_built_in_runtime_and_outcome_options() {
        let args = args(&[
            "suites/s",
            "--runtime",
            "wasmtime",
            "--expectations",
            "all.toml",
            "--wasm-features",
            "gc,tail-call",
            "--compiler",
            "cranelift-fast",
            "--json",
            "r.json",
        ]);
        let rerun = Rerun::new(
            &args,
            vec![("wasmtime".into(), selection(&["--runtime", "wasmtime"]))],
        );
        assert_eq!(
            rerun.command(&record("wasmtime")),
            "wasi-conform run suites/s --filter suites/s::t --exact --runtime wasmtime \
             --expectations all.toml --wasm-features gc,tail-call --compiler cranelift-fast"
        );
    }

    #[test]
    fn the_embedded_runtime_has_two_names() {
        assert!(is_embedded("embedded") && is_embedded("wasi-conform"));
        assert!(!is_embedded("wasmtime"));
        assert_eq!(report_name("embedded"), "wasi-conform");
        assert_eq!(report_name("node"), "node");
    }
}
