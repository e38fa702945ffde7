//! Components (wasm32-wasip2 and wasm32-wasip3 `wasi:cli/command`s): their store
//! data, their linker (WASI 0.2 and 0.3 side by side, as the official p3 components
//! import both) and how a command is run.

use wasmtime::component::{Instance, InstancePre, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The store data of a component run.
pub struct ComponentState {
    pub ctx: WasiCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
}

impl WasiView for ComponentState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// A linker with WASI 0.2 (async) and 0.3.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<ComponentState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Instantiates a command and calls its `run`: the 0.3 export when the component
/// has one, else the 0.2 one. `Ok(true)` = `run` returned ok.
pub async fn run_command(
    store: &mut Store<ComponentState>,
    pre: &InstancePre<ComponentState>,
) -> wasmtime::Result<bool> {
    let instance: Instance = pre.instantiate_async(&mut *store).await?;
    if let Ok(command) = wasmtime_wasi::p3::bindings::Command::new(&mut *store, &instance) {
        let result = store
            .run_concurrent(async |store| command.wasi_cli_run().call_run(store).await)
            .await??;
        return Ok(result.is_ok());
    }
    let command = wasmtime_wasi::p2::bindings::Command::new(&mut *store, &instance)?;
    let result = command.wasi_cli_run().call_run(&mut *store).await?;
    Ok(result.is_ok())
}
