//! `cargo test --test suites`: every test under `suites/` as one libtest-mimic trial,
//! named `SUITE_PATH::NAME` (filters, `--exact`, `--list`, `--ignored` work, and so
//! does `cargo nextest run`).

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
    let harness = match Harness::new(HarnessOptions::default()) {
        Ok(h) => Arc::new(h),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    libtest_mimic::run(&args, harness.trials(&suites, None)).exit();
}
