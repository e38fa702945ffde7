//! The `wasi-conform` command line. See `wasi-conform --help` and the README.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
