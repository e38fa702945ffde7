//! Driving a test's operations against its running guest: starting a run (store,
//! limits, the guest as a future), `write`/`read`/`wait`/`kill`, sockets
//! (`connect`/`send`/`recv`), HTTP `request`s, and polling the guest alongside
//! each step under the test's deadline and watched limits.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use wasmtime::{Store, StoreLimitsBuilder, UpdateDeadline, Val};

use super::{
    AFTER_EXIT_GRACE, ComponentState, Entry, GuestState, LimitHit, Loaded, Observation, Runtime,
    STDIN_PIPE_BYTES, Target, TimedOut, WATCH_INTERVAL, Watchdog, from_val,
};
use crate::check::{self, Failure, FailureKind, GuestEnd, Trap};
use crate::sandbox::{RunContext, Sandbox, Stdin};
use crate::spec::{ExitExpectation, Operation, OutputStream, Run, Spec, SpecForm};
use crate::stdio::Capture;

type GuestFuture = Pin<Box<dyn Future<Output = GuestEnd> + Send>>;

/// A running guest.
pub(super) struct Guest {
    future: GuestFuture,
    end: Option<GuestEnd>,
    pub(super) stdout: Capture,
    pub(super) stderr: Capture,
    stdin: Option<tokio::io::WriteHalf<tokio::io::SimplexStream>>,
    /// How far `read` has consumed stdout and stderr.
    cursors: [usize; 2],
    /// Shared with the epoch callback; also consulted while the guest waits in a host call.
    watchdog: Arc<Mutex<Watchdog>>,
    /// Connections made by `connect`, by id.
    connections: Vec<(String, Connection)>,
    /// Where `request` operations go, for a served component.
    requests: Option<tokio::sync::mpsc::Sender<crate::component::ServiceRequest>>,
}

/// A connection to the guest made by a `connect` operation.
enum Connection {
    Tcp(tokio::net::TcpStream),
    Udp(tokio::net::UdpSocket),
}

impl Connection {
    /// Up to `n` bytes: exactly `n` over TCP (fewer if the peer closes), one
    /// datagram over UDP.
    async fn receive(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        match self {
            Connection::Tcp(s) => {
                let mut buf = Vec::with_capacity(n);
                while buf.len() < n {
                    let mut chunk = vec![0u8; n - buf.len()];
                    let got = s.read(&mut chunk).await?;
                    if got == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..got]);
                }
                Ok(buf)
            }
            Connection::Udp(s) => {
                let mut buf = vec![0u8; 65536];
                let got = s.recv(&mut buf).await?;
                buf.truncate(got);
                Ok(buf)
            }
        }
    }
}

fn lock(w: &Mutex<Watchdog>) -> std::sync::MutexGuard<'_, Watchdog> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

impl Guest {
    fn capture(&self, stream: OutputStream) -> &Capture {
        match stream {
            OutputStream::Stdout => &self.stdout,
            OutputStream::Stderr => &self.stderr,
        }
    }

    fn finish(&mut self, end: GuestEnd) {
        self.end = Some(end);
        self.requests = None;
        // The future is complete (or abandoned): drop it, and with it the store.
        self.future = Box::pin(std::future::pending());
        self.stdin = None;
        self.stdout.close();
        self.stderr.close();
    }
}

pub(super) struct Driver<'a> {
    pub(super) runtime: &'a Runtime,
    pub(super) spec: &'a Spec,
    pub(super) loaded: &'a Loaded,
    pub(super) sandbox: &'a mut Sandbox,
    /// argv[0]: the module's file name.
    pub(super) program: String,
    pub(super) deadline: Instant,
    pub(super) timeout: Duration,
    /// The running guest, between a `run` and its `wait`.
    pub(super) guest: Option<Guest>,
    /// `HTTP_SERVER_<NAME>` variables of the hosted servers, once started.
    pub(super) server_env: Option<Vec<(String, String)>>,
}

impl Driver<'_> {
    fn timeout_end(&self) -> GuestEnd {
        GuestEnd::Trapped(Trap {
            message: format!(
                "timeout: the test did not finish within {} ms (raise it with `timeout_ms` in the spec or --timeout)",
                self.timeout.as_millis()
            ),
            backtrace: None,
        })
    }

    pub(super) async fn operation(
        &mut self,
        index: usize,
        op: &Operation,
        obs: &mut Observation,
    ) -> Result<(), Failure> {
        let op_err = |m: String| {
            Failure::new(
                FailureKind::Operation,
                format!("operations[{index}] ({}): {m}", op.kind()),
            )
        };
        match op {
            Operation::Run(run) => {
                if self.server_env.is_none() {
                    let addrs = crate::http::start_servers(&self.spec.servers)
                        .await
                        .map_err(|e| {
                            Failure::new(
                                FailureKind::Setup,
                                format!("cannot start the spec's HTTP servers: {e}"),
                            )
                        })?;
                    self.server_env =
                        Some(addrs.into_iter().map(|(k, a)| (k, a.to_string())).collect());
                }
                let guest = self
                    .start(run)
                    .map_err(|m| Failure::new(FailureKind::Setup, m))?;
                self.guest = Some(guest);
                Ok(())
            }
            Operation::Write { payload, .. } => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let guest = self.guest.as_mut().expect("validated: write follows run");
                let Some(mut stdin) = guest.stdin.take() else {
                    return Err(op_err("stdin is not writable in this run".into()));
                };
                let data = payload.clone().into_bytes();
                let written = drive(guest, deadline, &timeout_end, async {
                    let r = stdin.write_all(&data).await;
                    (r, stdin)
                })
                .await;
                match written {
                    Some((Ok(()), stdin)) => {
                        guest.stdin = Some(stdin);
                        Ok(())
                    }
                    Some((Err(_), _)) => Err(op_err(format!(
                        "could not write to stdin: the guest has ended ({})",
                        guest
                            .end
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    ))),
                    None => Err(op_err(format!(
                        "the guest was stopped while stdin was being written: {}",
                        stopped(guest)
                    ))),
                }
            }
            Operation::Read { id, payload } => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let color = false;
                let guest = self.guest.as_mut().expect("validated: read follows run");
                let slot = match id {
                    OutputStream::Stdout => 0,
                    OutputStream::Stderr => 1,
                };
                let start = guest.cursors[slot];
                let capture = guest.capture(*id).clone();
                let got = drive(
                    guest,
                    deadline,
                    &timeout_end,
                    capture.read_range(start, start + payload.len()),
                )
                .await;
                let Some(got) = got else {
                    let so_far = capture.contents();
                    return Err(op_err(format!(
                        "the guest was stopped while {} bytes were awaited on {id} (it had sent {:?}): {}",
                        payload.len(),
                        String::from_utf8_lossy(so_far.get(start..).unwrap_or_default()),
                        stopped(guest)
                    )));
                };
                guest.cursors[slot] = start + got.len();
                match check::read(&id.to_string(), payload, &got, color) {
                    None => Ok(()),
                    Some(mut f) => {
                        f.message = format!("operations[{index}] ({}): {}", op.kind(), f.message);
                        if let Some(end) = &guest.end {
                            f.message
                                .push_str(&format!("\n(the guest had ended: {end})"));
                        }
                        Err(f)
                    }
                }
            }
            Operation::Wait(expected) => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let mut guest = self.guest.take().expect("validated: wait follows run");
                if let Some(mut stdin) = guest.stdin.take() {
                    // EOF for the guest; shutting down never blocks on a simplex pipe.
                    let _ = stdin.shutdown().await;
                }
                let _ = drive_with_grace(
                    &mut guest,
                    deadline,
                    &timeout_end,
                    Duration::ZERO,
                    std::future::pending::<()>(),
                )
                .await;
                let end = guest
                    .end
                    .clone()
                    .expect("drive returns once the guest ended");
                obs.stdout = guest.stdout.contents();
                obs.stderr = guest.stderr.contents();
                obs.stdout_truncated = guest.stdout.truncated();
                obs.stderr_truncated = guest.stderr.truncated();
                obs.end = Some(end.clone());
                let expected = match (&self.loaded.target, expected) {
                    // An invoked function's result is checked against `result`, not an exit code.
                    (
                        Target::Core {
                            entry: Entry::Invoke { .. },
                            ..
                        },
                        ExitExpectation::Code(0),
                    ) if matches!(end, GuestEnd::Returned(_)) => {
                        return Ok(());
                    }
                    (_, e) => e,
                };
                match check::exit(expected, &end) {
                    None => Ok(()),
                    Some(mut f) => {
                        if self.spec.form == SpecForm::Operations {
                            f.message = format!("operations[{index}] (wait): {}", f.message);
                        }
                        Err(f)
                    }
                }
            }
            Operation::Connect { id, protocol } => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let guest = self.guest.as_mut().expect("validated: connect follows run");
                let start = guest.cursors[0];
                let capture = guest.stdout.clone();
                let Some(line) =
                    drive(guest, deadline, &timeout_end, capture.read_line(start)).await
                else {
                    return Err(op_err(format!(
                        "the guest was stopped before it printed its address: {}",
                        stopped(guest)
                    )));
                };
                guest.cursors[0] = start + line.len();
                let text = String::from_utf8_lossy(&line).trim().to_string();
                if let (true, Some(end)) = (text.is_empty(), &guest.end) {
                    return Err(op_err(format!(
                        "the guest {end} without printing the `host:port` to connect to on stdout"
                    )));
                }
                let addr: std::net::SocketAddr = text.parse().map_err(|_| {
                    op_err(format!(
                        "expected the guest to print `host:port` on stdout, got {text:?}"
                    ))
                })?;
                if !addr.ip().is_loopback() {
                    return Err(op_err(format!(
                        "the guest printed {addr}, which is not a loopback address; only loopback may be reached"
                    )));
                }
                let conn = match protocol.as_str() {
                    "tcp" => drive(
                        guest,
                        deadline,
                        &timeout_end,
                        tokio::net::TcpStream::connect(addr),
                    )
                    .await
                    .map(|r| r.map(Connection::Tcp)),
                    "udp" => drive(guest, deadline, &timeout_end, async {
                        let socket =
                            tokio::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
                        socket.connect(addr).await?;
                        Ok(socket)
                    })
                    .await
                    .map(|r| r.map(Connection::Udp)),
                    other => {
                        return Err(op_err(format!(
                            "connecting over `{other}` is not supported"
                        )));
                    }
                };
                match conn {
                    Some(Ok(c)) => {
                        guest.connections.push((id.clone(), c));
                        Ok(())
                    }
                    Some(Err(e)) => Err(op_err(format!(
                        "cannot connect to {addr} over {protocol}: {e}"
                    ))),
                    None => Err(op_err(format!(
                        "the guest was stopped while connecting to {addr}: {}",
                        stopped(guest)
                    ))),
                }
            }
            Operation::Send { id, payload } => {
                let data = payload.as_bytes();
                match self
                    .on_connection(id, async |conn| match conn {
                        Connection::Tcp(s) => s.write_all(data).await,
                        Connection::Udp(s) => s.send(data).await.map(|_| ()),
                    })
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(m) => Err(op_err(format!("sending on `{id}`: {m}"))),
                }
            }
            Operation::Recv { id, payload } => {
                let want = payload.len();
                match self
                    .on_connection(id, async |conn| conn.receive(want).await)
                    .await
                {
                    Ok(bytes) => {
                        match check::read(&format!("connection `{id}`"), payload, &bytes, false) {
                            None => Ok(()),
                            Some(mut f) => {
                                f.message = format!("operations[{index}] (recv): {}", f.message);
                                Err(f)
                            }
                        }
                    }
                    Err(m) => Err(op_err(format!("receiving {want} bytes on `{id}`: {m}"))),
                }
            }
            Operation::Request(req) => {
                let deadline = self.deadline;
                let timeout_end = self.timeout_end();
                let guest = self.guest.as_mut().expect("validated: request follows run");
                let Some(requests) = guest.requests.clone() else {
                    return Err(op_err(
                        "`request` needs a served component: set \"world\": \"wasi:http/service\""
                            .into(),
                    ));
                };
                let http_req = crate::http::request_for(req).map_err(op_err)?;
                let (tx, rx) = futures::channel::oneshot::channel();
                let what = format!("{} {}", req.method, req.path);
                let response = drive(guest, deadline, &timeout_end, async move {
                    if requests.send((http_req, tx)).await.is_err() {
                        return Err("the service has stopped".to_string());
                    }
                    match rx.await {
                        Ok(Ok(r)) => Ok(r),
                        Ok(Err(e)) => Err(format!("the service failed: {e:#}")),
                        Err(_) => Err("the service gave no response".to_string()),
                    }
                })
                .await;
                let response = match response {
                    Some(Ok(r)) => r,
                    Some(Err(m)) => {
                        return Err(op_err(format!("{what}: {m} ({})", stopped(guest))));
                    }
                    None => {
                        return Err(op_err(format!(
                            "the guest was stopped before it answered {what}: {}",
                            stopped(guest)
                        )));
                    }
                };
                let (parts, body) = response.into_parts();
                let body = drive(guest, deadline, &timeout_end, body.collect()).await;
                let body = match body {
                    Some(Ok(c)) => c.to_bytes(),
                    Some(Err(e)) => {
                        return Err(op_err(format!(
                            "{what}: reading the response body failed: {e}"
                        )));
                    }
                    None => {
                        return Err(op_err(format!(
                            "the guest was stopped while sending the body for {what}: {}",
                            stopped(guest)
                        )));
                    }
                };
                let problems = crate::http::compare_response(
                    &req.expect,
                    parts.status.as_u16(),
                    &parts.headers,
                    &body,
                );
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(Failure::new(
                        FailureKind::Operation,
                        format!(
                            "operations[{index}] (request {what}): {}",
                            problems.join("; ")
                        ),
                    ))
                }
            }
            Operation::Kill { .. } => {
                let guest = self.guest.as_mut().expect("validated: kill follows run");
                if guest.end.is_none() {
                    // Stopping a guest ends it as exit code 0, which the following
                    // `wait` expects by default (as the official runner treats services).
                    guest.finish(GuestEnd::Exited(0));
                }
                Ok(())
            }
        }
    }

    /// Runs `io` on connection `id` while the guest keeps running; `Err` says why
    /// it did not complete (an I/O error, or how the guest was stopped).
    async fn on_connection<T>(
        &mut self,
        id: &str,
        io: impl AsyncFnOnce(&mut Connection) -> std::io::Result<T>,
    ) -> Result<T, String> {
        let (deadline, timeout_end) = (self.deadline, self.timeout_end());
        let guest = self.guest.as_mut().expect("validated: follows run");
        let Some(pos) = guest.connections.iter().position(|(c, _)| c == id) else {
            return Err(format!("no connection `{id}`"));
        };
        let (name, mut conn) = guest.connections.swap_remove(pos);
        let result = drive(guest, deadline, &timeout_end, io(&mut conn)).await;
        guest.connections.push((name, conn));
        match result {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.to_string()),
            None => Err(format!("the guest was stopped first: {}", stopped(guest))),
        }
    }

    /// Builds the run's sandbox and store and starts the guest.
    fn start(&mut self, run: &Run) -> Result<Guest, String> {
        let preopens = self
            .sandbox
            .prepare(self.spec, run)
            .map_err(|e| e.to_string())?;
        let limits = &self.spec.limits;
        let output = limits
            .output_bytes
            .unwrap_or(self.runtime.config.output_bytes);
        let output = usize::try_from(output).unwrap_or(usize::MAX);
        let stdout = Capture::new(output);
        let stderr = Capture::new(output);
        let ctx = RunContext {
            spec: self.spec,
            run,
            program: &self.program,
            preopens: &preopens,
            extra_env: self.server_env.as_deref().unwrap_or_default(),
            stdout: stdout.clone(),
            stderr: stderr.clone(),
        };
        let (stdin, writer) = if self.spec.form == SpecForm::Operations {
            let (reader, writer) = tokio::io::simplex(STDIN_PIPE_BYTES);
            (Stdin::Interactive(reader), Some(writer))
        } else {
            (Stdin::fixed(run).map_err(|e| e.to_string())?, None)
        };
        let mut builder = ctx.builder(stdin).map_err(|e| e.to_string())?;
        crate::sandbox::network(&mut builder, &self.spec.proposals);
        let memory = limits
            .memory_bytes
            .unwrap_or(self.runtime.config.memory_bytes);
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(memory).unwrap_or(usize::MAX))
            .table_elements(1 << 20)
            .instances(1000)
            .tables(1000)
            .memories(1000)
            .trap_on_grow_failure(false)
            .build();
        let watchdog = Arc::new(Mutex::new(Watchdog::new(
            self.sandbox.path(),
            limits.open_files.unwrap_or(self.runtime.config.open_files),
            limits.disk_bytes.unwrap_or(self.runtime.config.disk_bytes),
        )));
        let guard = StoreGuard {
            fuel: limits.fuel,
            deadline: self.deadline.into_std(),
            watchdog: Arc::clone(&watchdog),
        };
        let timeout_ms = self.timeout.as_millis();
        let fuel = limits.fuel;
        let engine = &self.loaded.engine;
        let http_allowed = self.spec.proposals.contains(&crate::spec::Proposal::Http);
        let mut requests = None;
        let future: GuestFuture = match &self.loaded.target {
            Target::Core { pre, entry } => {
                let wasi = builder.build_p1();
                let mut store = Store::new(
                    engine,
                    GuestState {
                        wasi,
                        limits: store_limits,
                    },
                );
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let pre = pre.clone();
                let entry = match entry {
                    Entry::Start => None,
                    Entry::Invoke {
                        func,
                        args,
                        results,
                        initialize,
                    } => Some((func.clone(), args.clone(), *results, *initialize)),
                };
                Box::pin(async move {
                    let r = run_core(&mut store, &pre, entry).await;
                    r.unwrap_or_else(|e| classify(e, timeout_ms, fuel, memory))
                })
            }
            Target::Component { pre } => {
                let state = ComponentState::new(builder.build(), store_limits, http_allowed);
                let mut store = Store::new(engine, state);
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let pre = pre.clone();
                Box::pin(async move {
                    match crate::component::run_command(&mut store, &pre).await {
                        Ok(true) => GuestEnd::Exited(0),
                        Ok(false) => GuestEnd::Exited(1),
                        Err(e) => classify(e, timeout_ms, fuel, memory),
                    }
                })
            }
            Target::Service { pre } => {
                let state = ComponentState::new(builder.build(), store_limits, http_allowed);
                let mut store = Store::new(engine, state);
                store.limiter(|s| &mut s.limits);
                guard.apply(&mut store)?;
                let pre = pre.clone();
                let (tx, rx) = tokio::sync::mpsc::channel(1);
                requests = Some(tx);
                Box::pin(async move {
                    match crate::component::serve(&mut store, &pre, rx).await {
                        Ok(()) => GuestEnd::Exited(0),
                        Err(e) => classify(e, timeout_ms, fuel, memory),
                    }
                })
            }
        };
        Ok(Guest {
            future,
            end: None,
            stdout,
            stderr,
            stdin: writer,
            cursors: [0, 0],
            watchdog,
            connections: Vec::new(),
            requests,
        })
    }
}

/// The limits every store of a test gets: fuel, the deadline, the watchdog.
struct StoreGuard {
    fuel: Option<u64>,
    deadline: std::time::Instant,
    watchdog: Arc<Mutex<Watchdog>>,
}

impl StoreGuard {
    fn apply<T: 'static>(&self, store: &mut Store<T>) -> Result<(), String> {
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel).map_err(|e| e.to_string())?;
        }
        let deadline = self.deadline;
        let watchdog = Arc::clone(&self.watchdog);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if std::time::Instant::now() >= deadline {
                Err(wasmtime::Error::new(TimedOut))
            } else if let Err(hit) = lock(&watchdog).check() {
                Err(wasmtime::Error::new(hit))
            } else {
                // Yield so the driver (same thread) can run operations and watch the clock.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Ok(())
    }
}

/// Instantiates a core module and calls `_start` or the invoked export.
async fn run_core(
    store: &mut Store<GuestState>,
    pre: &wasmtime::InstancePre<GuestState>,
    entry: Option<(String, Vec<Val>, usize, bool)>,
) -> wasmtime::Result<GuestEnd> {
    let instance = pre.instantiate_async(&mut *store).await?;
    match entry {
        None => {
            let start = instance.get_typed_func::<(), ()>(&mut *store, "_start")?;
            start.call_async(&mut *store, ()).await?;
            Ok(GuestEnd::Exited(0))
        }
        Some((func, args, n, initialize)) => {
            if initialize {
                let init = instance.get_typed_func::<(), ()>(&mut *store, "_initialize")?;
                init.call_async(&mut *store, ()).await?;
            }
            let f = instance
                .get_func(&mut *store, &func)
                .ok_or_else(|| wasmtime::format_err!("no function `{func}`"))?;
            let mut results = vec![Val::I32(0); n];
            f.call_async(&mut *store, &args, &mut results).await?;
            Ok(GuestEnd::Returned(
                results.iter().filter_map(from_val).collect(),
            ))
        }
    }
}

/// Polls `step` and the guest together until `step` completes (or, for a pending
/// step, until the guest ends). `None` = the guest was stopped first, by the
/// test's deadline or by a watched limit; `guest.end` says which.
async fn drive<T>(
    guest: &mut Guest,
    deadline: Instant,
    timeout_end: &GuestEnd,
    step: impl Future<Output = T>,
) -> Option<T> {
    drive_with_grace(guest, deadline, timeout_end, AFTER_EXIT_GRACE, step).await
}

/// [`drive`], with how long a step may still take once the guest has ended (what
/// it sent just before ending may still be on its way through a socket).
async fn drive_with_grace<T>(
    guest: &mut Guest,
    deadline: Instant,
    timeout_end: &GuestEnd,
    grace: Duration,
    step: impl Future<Output = T>,
) -> Option<T> {
    let mut step = std::pin::pin!(step);
    // A guest blocked in a host call runs no wasm, so no epoch callback: its
    // watched limits are measured on this timer instead.
    let mut watch = tokio::time::interval(WATCH_INTERVAL);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        if guest.end.is_some() {
            // The guest is gone: a step waiting on its streams resolves at once
            // (they are closed), one waiting on a socket gets a moment for data
            // in flight; a step still pending after that is over.
            return tokio::time::timeout(grace, step).await.ok();
        }
        tokio::select! {
            biased;
            end = &mut guest.future => guest.finish(end),
            r = &mut step => return Some(r),
            _ = tokio::time::sleep_until(deadline) => {
                guest.finish(timeout_end.clone());
                return None;
            }
            _ = watch.tick() => {
                let hit = lock(&guest.watchdog).check_all().err();
                if let Some(hit) = hit {
                    guest.finish(GuestEnd::Trapped(Trap { message: hit.to_string(), backtrace: None }));
                    return None;
                }
            }
        }
    }
}

/// How a stopped guest ended, for messages.
fn stopped(guest: &Guest) -> String {
    guest
        .end
        .as_ref()
        .map_or_else(|| "still running".into(), ToString::to_string)
}

/// Turns an error that ended a guest into how it ended.
fn classify(e: wasmtime::Error, timeout_ms: u128, fuel: Option<u64>, memory: u64) -> GuestEnd {
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return GuestEnd::Exited(exit.0);
    }
    let backtrace = e
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|bt| bt.to_string())
        .filter(|s| !s.trim().is_empty());
    let message = if e.downcast_ref::<TimedOut>().is_some() {
        format!(
            "timeout: the test did not finish within {timeout_ms} ms (raise it with `timeout_ms` in the spec or --timeout)"
        )
    } else if let Some(hit) = e.downcast_ref::<LimitHit>() {
        hit.to_string()
    } else if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        match trap {
            wasmtime::Trap::OutOfFuel => format!(
                "fuel exhausted: the guest used up its fuel limit of {} (limits.fuel)",
                fuel.unwrap_or(0)
            ),
            wasmtime::Trap::StackOverflow => format!("{trap} (stack overflow)"),
            other => other.to_string(),
        }
    } else {
        let text = format!("{e:#}");
        if text.contains("exceeds memory limits") || text.contains("memory limit") {
            format!("memory limit exceeded: {text} (limits.memory_bytes = {memory})")
        } else {
            text
        }
    };
    GuestEnd::Trapped(Trap { message, backtrace })
}
