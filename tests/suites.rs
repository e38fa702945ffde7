//! `cargo test --test suites`: every test under `suites/` as one libtest-mimic trial,
//! named `SUITE_PATH::NAME` (filters, `--exact`, `--list`, `--ignored` work, and so
//! does `cargo nextest run`, which runs each test by exact name: then only that
//! module is looked up, nothing else is scanned or compiled).
//!
//! Expectation files: `suites/expectations.toml` when it exists, or the files named
//! by `WASI_CONFORM_EXPECTATIONS` (separated by `:`). Bless mode:
//! `WASI_CONFORM_BLESS=1 cargo test --test suites` (refused where `CI` is set).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasi_conform::discover::{self, Suite};
use wasi_conform::expectations::Expectations;
use wasi_conform::runner::{self, Selection};
use wasi_conform::{Harness, HarnessOptions};

const ROOT: &str = "suites";

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2);
}

/// With `--exact SUITE_PATH::NAME`, the one module it names (if it exists).
fn exact_module(args: &libtest_mimic::Arguments) -> Option<PathBuf> {
    let filter = args.filter.as_deref().filter(|_| args.exact)?;
    let (suite, name) = filter.rsplit_once("::")?;
    ["wasm", "wat"]
        .iter()
        .map(|ext| Path::new(suite).join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
}

fn expectation_files() -> Vec<PathBuf> {
    match std::env::var_os("WASI_CONFORM_EXPECTATIONS") {
        Some(list) => std::env::split_paths(&list).collect(),
        None => {
            let default = Path::new(ROOT).join("expectations.toml");
            if default.is_file() {
                vec![default]
            } else {
                Vec::new()
            }
        }
    }
}

fn main() {
    // SAFETY: first thing in main; no other thread runs yet.
    unsafe { wasi_conform::quiet_error_backtraces() };
    let args = libtest_mimic::Arguments::from_args();
    let bless = std::env::var("WASI_CONFORM_BLESS").is_ok_and(|v| v == "1");
    if bless && let Err(e) = wasi_conform::harness::bless_allowed() {
        fail(e);
    }
    let paths = match exact_module(&args) {
        Some(module) => vec![module],
        None => vec![PathBuf::from(ROOT)],
    };
    let suites: Vec<Suite> = discover::discover(&paths).unwrap_or_else(|e| fail(e));
    let expectations = Expectations::load(&expectation_files()).unwrap_or_else(|e| fail(e));
    if paths[0] == Path::new(ROOT) {
        for warning in expectations.unknown_entries(&suites) {
            eprintln!("warning: {warning}");
        }
    }
    let plan = runner::plan(
        &suites,
        &Selection::default(),
        std::slice::from_ref(&expectations),
    );
    let mut options = HarnessOptions {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        bless,
        ..HarnessOptions::default()
    };
    // libtest runs tests in parallel: share the descriptors between them.
    let jobs = args.test_threads.unwrap_or_else(runner::default_jobs);
    options.defaults.max_open_files = runner::open_files_budget(jobs);
    // Compiled modules are cached under target/, not in the user's cache.
    options.compile.cache_dir =
        Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache"));
    // Costly modules compile in the wasi-conform binary as a compile worker.
    options.compile.limits.worker = Some(env!("CARGO_BIN_EXE_wasi-conform").into());
    let harness = Arc::new(Harness::new(options).unwrap_or_else(|e| fail(e)));
    let trials = runner::trials(harness, &plan, |name| {
        format!("cargo test --test suites -- --exact '{name}'")
    });
    let conclusion = libtest_mimic::run(&args, trials);
    wasi_conform::sandbox::remove_run_dir();
    conclusion.exit();
}
