//! Components (wasm32-wasip2 and wasm32-wasip3 `wasi:cli/command`s): their store
//! data, their linker (WASI 0.2 and 0.3 side by side, as the official p3 components
//! import both) and how a command is run.

use wasmtime::AsContextMut;
use wasmtime::component::{Instance, InstancePre, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::handler::{Prepared, Proxy, ProxyPre};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::http::LoopbackHooks;

/// The store data of a component run.
pub struct ComponentState {
    pub ctx: WasiCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub http: WasiHttpCtx,
    pub hooks: LoopbackHooks,
}

impl ComponentState {
    /// `http_allowed`: whether the spec lists the `http` proposal (outgoing
    /// requests are refused otherwise).
    pub fn new(ctx: WasiCtx, limits: StoreLimits, http_allowed: bool) -> ComponentState {
        ComponentState {
            ctx,
            table: ResourceTable::new(),
            limits,
            http: WasiHttpCtx::new(),
            hooks: LoopbackHooks {
                allowed: http_allowed,
            },
        }
    }
}

impl WasiHttpView for ComponentState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
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
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
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

/// A request for a served component and where its response goes.
pub type ServiceRequest = (
    wasmtime_wasi_http::handler::Request,
    futures::channel::oneshot::Sender<wasmtime::Result<wasmtime_wasi_http::handler::Response>>,
);

/// The pre-instance of a `wasi:http/service` (0.3) or `wasi:http/proxy` (0.2).
pub fn service_pre(pre: InstancePre<ComponentState>) -> wasmtime::Result<ProxyPre<ComponentState>> {
    match wasmtime_wasi_http::p3::bindings::ServicePre::new(pre.clone()) {
        Ok(p3) => Ok(ProxyPre::P3(p3)),
        Err(_) => Ok(ProxyPre::P2(
            wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre)?,
        )),
    }
}

/// Instantiates a service and answers the requests that arrive on `requests`,
/// one at a time, until the sender is dropped (the service is stopped).
pub async fn serve(
    store: &mut Store<ComponentState>,
    pre: &ProxyPre<ComponentState>,
    mut requests: tokio::sync::mpsc::Receiver<ServiceRequest>,
) -> wasmtime::Result<()> {
    let proxy: Proxy = pre.instantiate_async(&mut *store).await?;
    let proxy = &proxy;
    store
        .run_concurrent(async move |accessor| {
            while let Some((request, tx)) = requests.recv().await {
                let prepared = accessor.with(|mut store| {
                    Prepared::new(
                        store.as_context_mut(),
                        proxy,
                        request,
                        ComponentState::http,
                        tx,
                    )
                })?;
                prepared.run(accessor, std::future::pending()).await?;
            }
            wasmtime::Result::<()>::Ok(())
        })
        .await??;
    Ok(())
}
