//! componentize [--reactor] IN.wasm OUT.wasm
//!
//! Wraps a wasip1 core command module (one that imports
//! `wasi_snapshot_preview1` and exports `_start`) into a `wasi:cli/command`
//! component, using the wasi_snapshot_preview1 command adapter of the
//! wasmtime release that wasi-conform uses.
//!
//! With `--reactor`, uses the reactor adapter instead: for a wasip1 reactor
//! (built with `-mexec-model=reactor`, exporting `_initialize` rather than
//! `_start`) whose exports are component functions, e.g. a
//! `wasi:http/incoming-handler` implemented through wit-bindgen bindings.
//! (Imports of other WASI interfaces, such as wasi:sockets, come from the
//! `component-type` custom sections that wit-bindgen links into the module,
//! with either adapter.)
use anyhow::{bail, Context, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
    WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().collect();
    let reactor = args.len() > 1 && args[1] == "--reactor";
    if reactor {
        args.remove(1);
    }
    if args.len() != 3 {
        bail!(
            "usage: {} [--reactor] IN.wasm OUT.wasm",
            args.first().map(String::as_str).unwrap_or("componentize")
        );
    }
    let (input, output) = (&args[1], &args[2]);
    let (adapter, kind) = if reactor {
        (WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER, "reactor")
    } else {
        (WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, "command")
    };
    let module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .with_context(|| format!("{input}: not a usable core module"))?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter)
        .with_context(|| format!("loading the wasi_snapshot_preview1 {kind} adapter"))?
        .validate(true)
        .encode()
        .with_context(|| format!("{input}: encoding the component"))?;
    std::fs::write(output, &component).with_context(|| format!("writing {output}"))?;
    Ok(())
}
