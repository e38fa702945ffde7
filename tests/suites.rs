//! `cargo test --test suites`: every test under `suites/` as one libtest-mimic trial,
//! named `SUITE_PATH::NAME` (filters, `--exact`, `--list`, `--ignored` work, and so
//! does `cargo nextest run`).

use std::io::IsTerminal;
use std::sync::Arc;

use wasi_conform::{Harness, HarnessOptions, discover};

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let suites = match discover::discover(&["suites".into()]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let options = HarnessOptions {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        ..HarnessOptions::default()
    };
    let harness = match Harness::new(options) {
        Ok(h) => Arc::new(h),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    libtest_mimic::run(&args, harness.trials(&suites, None)).exit();
}
