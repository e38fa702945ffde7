//! Components (wasm32-wasip2 and wasm32-wasip3 `wasi:cli/command`s and
//! `wasi:http/service`s): their store data, their linker (WASI 0.2 and 0.3 side
//! by side, as the official p3 components import both), how a command is run and
//! a service served, and the hooks that keep outgoing HTTP on loopback.

use std::net::IpAddr;
use wasmtime::AsContextMut;
use wasmtime::component::{Instance, InstancePre, Linker, ResourceTable};
use wasmtime::{Engine, Store};

use super::GuestLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::handler::{Prepared, Proxy, ProxyPre};

use bytes::Bytes;
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::spec::http::RequestOp;

/// The store data of a component run.
pub struct ComponentState {
    pub ctx: WasiCtx,
    pub table: ResourceTable,
    pub limits: GuestLimiter,
    pub http: WasiHttpCtx,
    pub hooks: LoopbackHooks,
}

impl ComponentState {
    /// `http_allowed`: whether the spec lists the `http` proposal (outgoing
    /// requests are refused otherwise).
    pub fn new(ctx: WasiCtx, limits: GuestLimiter, http_allowed: bool) -> ComponentState {
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

/// Hooks for a guest's outgoing HTTP requests: refused unless the spec lists the
/// `http` proposal, and then allowed to reach loopback hosts only.
#[derive(Debug, Default)]
pub struct LoopbackHooks {
    /// Whether the spec lists the `http` proposal.
    pub allowed: bool,
}

/// Whether an authority's host is a loopback literal (or `localhost`).
fn loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl WasiHttpHooks for LoopbackHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        _ = fut;
        let allowed = self.allowed;
        Box::new(async move {
            if !allowed {
                return Err(HttpError::HttpRequestDenied);
            }
            let host = request.uri().host().unwrap_or_default().to_string();
            if !loopback_host(&host) {
                return Err(HttpError::DestinationIpProhibited);
            }
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// The request a `request` operation sends to a served component.
pub fn request_for(op: &RequestOp) -> Result<http::Request<WasiBody>, String> {
    let path = if op.path.starts_with('/') {
        op.path.clone()
    } else {
        format!("/{}", op.path)
    };
    let mut b = http::Request::builder()
        .method(op.method.as_str())
        .uri(format!("http://localhost{path}"));
    for (k, v) in &op.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let body = http_body_util::Full::new(Bytes::from(op.body.clone()))
        .map_err(|never| match never {})
        .boxed_unsync();
    b.body(body).map_err(|e| format!("invalid request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(loopback_host("127.0.0.1"));
        assert!(loopback_host("[::1]"));
        assert!(loopback_host("localhost"));
        assert!(!loopback_host("example.com"));
        assert!(!loopback_host("10.0.0.1"));
    }

    #[test]
    fn requests_for_a_served_component() {
        let op = RequestOp::parse(
            &serde_json::json!({"method": "post", "path": "echo", "headers": {"x-a": "1"}, "body": "hi"}),
            "operations[1]",
        )
        .unwrap();
        let req = request_for(&op).unwrap();
        assert_eq!(req.uri().path(), "/echo");
        assert_eq!(req.headers()["x-a"], "1");
    }
}
