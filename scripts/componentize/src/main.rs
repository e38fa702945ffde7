//! componentize IN.wasm OUT.wasm
//!
//! Wraps a wasip1 core command module (one that imports
//! `wasi_snapshot_preview1` and exports `_start`) into a `wasi:cli/command`
//! component, using the wasi_snapshot_preview1 command adapter of the
//! wasmtime release that wasi-conform uses.
use anyhow::{bail, Context, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        bail!("usage: {} IN.wasm OUT.wasm", args.first().map(String::as_str).unwrap_or("componentize"));
    }
    let (input, output) = (&args[1], &args[2]);
    let module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .with_context(|| format!("{input}: not a usable core module"))?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER)
        .context("loading the wasi_snapshot_preview1 command adapter")?
        .validate(true)
        .encode()
        .with_context(|| format!("{input}: encoding the component"))?;
    std::fs::write(output, &component).with_context(|| format!("writing {output}"))?;
    Ok(())
}
