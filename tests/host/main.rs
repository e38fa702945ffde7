//! `cargo test --test host`: tests that need something of the machine beyond
//! cargo and a POSIX shell. Each is ignored, with the reason and how to provide
//! it, when that is missing (CI provides all of them):
//!
//! - `python::*`: python3 (or `PYTHON`), to load official Python adapters;
//! - `official_adapters::*`: python3 and `WASI_TESTSUITE`, a checkout of
//!   WebAssembly/wasi-testsuite `prod/testsuite-base`;
//! - `netns::*`: the right to create a network namespace (root or
//!   `CAP_SYS_ADMIN`: `sudo -E env PATH="$PATH" cargo test --test host -- netns`);
//! - `wit::*`: wasmtime-wasi's sources in cargo's registry (any build from
//!   crates.io has them).
//!
//! `targets::*` needs nothing: it checks that no `harness = false` target holds a
//! `#[test]` that would silently never run.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod netns;
mod official_adapters;
mod python;
mod targets;
mod wit;

tests!(
    netns::only_loopback_exists_inside_and_the_thread_comes_back,
    official_adapters::builtin_adapters_compute_the_official_argv,
    python::python_adapters_are_loaded_unmodified,
    python::python_adapter_errors_name_the_file_and_exception,
    targets::harness_false_targets_have_no_test_attributes,
    wit::the_table_matches_the_wit,
);
