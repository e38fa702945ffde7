//! Driving a test's operations against its running [`Guest`], whichever backend
//! started it: `run`, `write`, `read`, `wait`, `kill`, sockets
//! (`connect`/`send`/`recv`) and HTTP `request`s, each polled alongside the
//! guest under the test's deadline and watched limits.

use std::time::Duration;

use std::sync::Arc;

use tokio::io::AsyncWriteExt;

use super::guest::{Connection, Guest};
use super::{EffectiveLimits, Observation, Program, StartContext};
use crate::check::{self, Failure, FailureKind, GuestEnd, Trap};
use crate::sandbox::Sandbox;
use crate::spec::http::RequestOp;
use crate::spec::{ExitExpectation, Operation, OutputStream, Run, Spec, SpecForm};
use crate::stdio::{Capture, Echo};

/// How long an operation may still complete after the guest ended.
const AFTER_EXIT_GRACE: Duration = Duration::from_millis(200);

/// The state of one test's operations.
pub(super) struct Driver<'a> {
    pub(super) program: &'a dyn Program,
    pub(super) spec: &'a Spec,
    pub(super) sandbox: &'a mut Sandbox,
    /// argv[0]: the module's file name.
    pub(super) argv0: String,
    pub(super) deadline: Arc<super::deadline::Deadline>,
    pub(super) timeout: Duration,
    pub(super) limits: EffectiveLimits,
    /// The running guest, between a `run` and its `wait`.
    pub(super) guest: Option<Guest>,
    /// `HTTP_SERVER_<NAME>` variables of the hosted servers, once started.
    pub(super) server_env: Option<Vec<(String, String)>>,
    /// Whether the backend reports invoked functions' results (core modules under `invoke`).
    pub(super) invoked: bool,
    /// Whether the guest's output is copied to this process's streams as it arrives.
    pub(super) echo: bool,
    /// Time spent preparing sandboxes (copying fixtures), outside the timeout.
    pub(super) setup: Duration,
    /// Time spent preparing the sandbox and starting guests.
    pub(super) times: super::StageTimes,
}

/// Where an operation is in the spec, to prefix its failures with.
struct At {
    index: usize,
    kind: &'static str,
}

impl At {
    fn new(index: usize, op: &Operation) -> Self {
        At {
            index,
            kind: op.kind(),
        }
    }

    fn fail(&self, message: impl std::fmt::Display) -> Failure {
        Failure::new(
            FailureKind::Operation,
            format!("operations[{}] ({}): {message}", self.index, self.kind),
        )
    }

    /// Prefixes a failure found by a check.
    fn wrap(&self, mut f: Failure) -> Failure {
        f.message = format!("operations[{}] ({}): {}", self.index, self.kind, f.message);
        f
    }
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

    fn guest(&mut self) -> &mut Guest {
        self.guest
            .as_mut()
            .expect("validated: the operation follows a run")
    }

    /// Polls `step` with the running guest (see [`Guest::drive`]).
    async fn drive<T>(&mut self, step: impl Future<Output = T>) -> Option<T> {
        let (deadline, end) = (Arc::clone(&self.deadline), self.timeout_end());
        self.guest()
            .drive(&deadline, &end, AFTER_EXIT_GRACE, step)
            .await
    }

    /// Runs one operation; `Err` ends the test.
    pub(super) async fn operation(
        &mut self,
        index: usize,
        op: &Operation,
        obs: &mut Observation,
    ) -> Result<(), Failure> {
        let at = At::new(index, op);
        match op {
            Operation::Run(run) => self.run(run).await,
            Operation::Write { payload, .. } => self.write(&at, payload).await,
            Operation::Read { id, payload } => self.read(&at, *id, payload).await,
            Operation::Wait(expected) => self.wait(index, expected, obs).await,
            Operation::Connect { id, protocol } => self.connect(&at, id, protocol).await,
            Operation::Send { id, payload } => self.send(&at, id, payload).await,
            Operation::Recv { id, payload } => self.recv(&at, id, payload).await,
            Operation::Request(req) => self.request(index, &at, req).await,
            Operation::Kill { signal } => self.guest().kill(signal).map_err(|m| at.fail(m)),
        }
    }

    /// `run`: starts the hosted servers (once), prepares the sandbox and starts the guest.
    async fn run(&mut self, run: &Run) -> Result<(), Failure> {
        let setup = |m: String| Failure::new(FailureKind::Setup, m);
        if self.server_env.is_none() {
            let addrs = crate::http::start_servers(&self.spec.servers)
                .await
                .map_err(|e| setup(format!("cannot start the spec's HTTP servers: {e}")))?;
            self.server_env = Some(addrs.into_iter().map(|(k, a)| (k, a.to_string())).collect());
        }
        // Copying fixtures is the harness's work, not the guest's: it does not
        // count against the test's timeout.
        let copying = std::time::Instant::now();
        let preopens = self
            .sandbox
            .prepare(self.spec, run)
            .map_err(|e| setup(e.to_string()))?;
        let copied = copying.elapsed();
        self.deadline.exclude(copied);
        self.setup += copied;
        self.times.sandbox += copied;
        let starting = std::time::Instant::now();
        let output = usize::try_from(self.limits.output_bytes).unwrap_or(usize::MAX);
        let ctx = StartContext {
            spec: self.spec,
            run,
            argv0: &self.argv0,
            preopens: &preopens,
            extra_env: self.server_env.as_deref().unwrap_or_default(),
            stdout: Capture::echoing(output, self.echo.then_some(Echo::Stdout)),
            stderr: Capture::echoing(output, self.echo.then_some(Echo::Stderr)),
            interactive: self.spec.form == SpecForm::Operations,
            deadline: Arc::clone(&self.deadline),
            timeout: self.timeout,
            limits: self.limits,
            sandbox_dir: self.sandbox.path(),
            trace_limits: crate::trace::TraceLimits::default(),
        };
        let started = self.program.start(ctx);
        self.times.start += starting.elapsed();
        self.guest = Some(started?);
        Ok(())
    }

    async fn write(&mut self, at: &At, payload: &str) -> Result<(), Failure> {
        let Some(mut stdin) = self.guest().stdin.take() else {
            return Err(at.fail("stdin is not writable in this run"));
        };
        let data = payload.as_bytes().to_vec();
        let written = self
            .drive(async {
                let r = stdin.write_all(&data).await;
                let r = match r {
                    Ok(()) => stdin.flush().await,
                    e => e,
                };
                (r, stdin)
            })
            .await;
        let guest = self.guest();
        match written {
            Some((Ok(()), stdin)) => {
                guest.stdin = Some(stdin);
                Ok(())
            }
            Some((Err(_), _)) => Err(at.fail(format!(
                "could not write to stdin: the guest has ended ({})",
                guest.stopped()
            ))),
            None => Err(at.fail(format!(
                "the guest was stopped while stdin was being written: {}",
                guest.stopped()
            ))),
        }
    }

    async fn read(&mut self, at: &At, id: OutputStream, payload: &str) -> Result<(), Failure> {
        let slot = match id {
            OutputStream::Stdout => 0,
            OutputStream::Stderr => 1,
        };
        let start = self.guest().cursors[slot];
        let capture = self.guest().capture(id).clone();
        let got = self
            .drive(capture.read_range(start, start + payload.len()))
            .await;
        let guest = self.guest();
        let Some(got) = got else {
            let so_far = capture.contents();
            return Err(at.fail(format!(
                "the guest was stopped while {} bytes were awaited on {id} (it had sent {}): {}",
                payload.len(),
                check::excerpt_inline(so_far.get(start..).unwrap_or_default()),
                guest.stopped()
            )));
        };
        guest.cursors[slot] = start + got.len();
        match check::read(&id.to_string(), payload, &got, false) {
            None => Ok(()),
            Some(f) => {
                let mut f = at.wrap(f);
                if let Some(end) = &guest.end {
                    f.message
                        .push_str(&format!("\n(the guest had ended: {end})"));
                }
                Err(f)
            }
        }
    }

    /// `wait`: closes stdin (EOF), waits for the guest to end, records its streams
    /// and compares how it ended.
    async fn wait(
        &mut self,
        index: usize,
        expected: &ExitExpectation,
        obs: &mut Observation,
    ) -> Result<(), Failure> {
        let (deadline, timeout_end) = (Arc::clone(&self.deadline), self.timeout_end());
        let mut guest = self.guest.take().expect("validated: wait follows run");
        if let Some(mut stdin) = guest.stdin.take() {
            // EOF for the guest. Shutting a pipe down does not block on the reader.
            let _ = stdin.shutdown().await;
        }
        let _ = guest
            .drive(
                &deadline,
                &timeout_end,
                Duration::ZERO,
                std::future::pending::<()>(),
            )
            .await;
        let end = guest
            .end
            .clone()
            .expect("drive returns once the guest ended");
        obs.record_streams(&guest);
        obs.record_trace(&guest);
        obs.end = Some(end.clone());
        // An invoked function's result is checked against `result`, not an exit code.
        if self.invoked
            && matches!(expected, ExitExpectation::Code(0))
            && matches!(end, GuestEnd::Returned(_))
        {
            return Ok(());
        }
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

    /// `connect`: reads the `host:port` line the guest prints and connects to it.
    async fn connect(&mut self, at: &At, id: &str, protocol: &str) -> Result<(), Failure> {
        let start = self.guest().cursors[0];
        let capture = self.guest().stdout.clone();
        let Some(line) = self.drive(capture.read_line(start)).await else {
            return Err(at.fail(format!(
                "the guest was stopped before it printed its address: {}",
                self.guest().stopped()
            )));
        };
        self.guest().cursors[0] = start + line.len();
        let text = String::from_utf8_lossy(&line).trim().to_string();
        if let (true, Some(end)) = (text.is_empty(), &self.guest().end) {
            return Err(at.fail(format!(
                "the guest {end} without printing the `host:port` to connect to on stdout"
            )));
        }
        let addr: std::net::SocketAddr = text.parse().map_err(|_| {
            at.fail(format!(
                "expected the guest to print `host:port` on stdout, got {}",
                check::excerpt_inline(text.as_bytes())
            ))
        })?;
        if !addr.ip().is_loopback() {
            return Err(at.fail(format!(
                "the guest printed {addr}, which is not a loopback address; only loopback may be reached"
            )));
        }
        let conn = match protocol {
            // HTTP is bytes over TCP: `send`/`recv` carry the request and response.
            "tcp" | "http" => self
                .drive(tokio::net::TcpStream::connect(addr))
                .await
                .map(|r| r.map(Connection::Tcp)),
            "udp" => self
                .drive(async {
                    let socket =
                        tokio::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
                    socket.connect(addr).await?;
                    Ok(socket)
                })
                .await
                .map(|r| r.map(Connection::Udp)),
            other => return Err(at.fail(format!("connecting over `{other}` is not supported"))),
        };
        match conn {
            Some(Ok(c)) => {
                self.guest().connections.push((id.to_string(), c));
                Ok(())
            }
            Some(Err(e)) => Err(at.fail(format!("cannot connect to {addr} over {protocol}: {e}"))),
            None => Err(at.fail(format!(
                "the guest was stopped while connecting to {addr}: {}",
                self.guest().stopped()
            ))),
        }
    }

    async fn send(&mut self, at: &At, id: &str, payload: &str) -> Result<(), Failure> {
        let data = payload.as_bytes();
        self.on_connection(id, async |conn| match conn {
            Connection::Tcp(s) => s.write_all(data).await,
            Connection::Udp(s) => s.send(data).await.map(|_| ()),
        })
        .await
        .map_err(|m| at.fail(format!("sending on `{id}`: {m}")))
    }

    async fn recv(&mut self, at: &At, id: &str, payload: &str) -> Result<(), Failure> {
        let want = payload.len();
        let bytes = self
            .on_connection(id, async |conn| conn.receive(want).await)
            .await
            .map_err(|m| at.fail(format!("receiving {want} bytes on `{id}`: {m}")))?;
        match check::read(&format!("connection `{id}`"), payload, &bytes, false) {
            None => Ok(()),
            Some(f) => Err(at.wrap(f)),
        }
    }

    /// Runs `io` on connection `id` while the guest keeps running; `Err` says why
    /// it did not complete (an I/O error, or how the guest was stopped).
    async fn on_connection<T>(
        &mut self,
        id: &str,
        io: impl AsyncFnOnce(&mut Connection) -> std::io::Result<T>,
    ) -> Result<T, String> {
        let guest = self.guest();
        let Some(pos) = guest.connections.iter().position(|(c, _)| c == id) else {
            return Err(format!("no connection `{id}`"));
        };
        let (name, mut conn) = guest.connections.swap_remove(pos);
        let result = self.drive(io(&mut conn)).await;
        let guest = self.guest();
        guest.connections.push((name, conn));
        match result {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.to_string()),
            None => Err(format!("the guest was stopped first: {}", guest.stopped())),
        }
    }

    /// `request`: sends an HTTP request to the served guest and compares the response.
    async fn request(&mut self, index: usize, at: &At, req: &RequestOp) -> Result<(), Failure> {
        let what = format!("{} {}", req.method, req.path);
        let Some(serve) = self.guest().serve.as_mut() else {
            return Err(
                at.fail("`request` needs a served component: set \"world\": \"wasi:http/service\"")
            );
        };
        let pending = serve(req);
        let response = match self.drive(pending).await {
            Some(Ok(r)) => r,
            Some(Err(m)) => {
                return Err(at.fail(format!("{what}: {m} ({})", self.guest().stopped())));
            }
            None => {
                return Err(at.fail(format!(
                    "the guest was stopped before it answered {what}: {}",
                    self.guest().stopped()
                )));
            }
        };
        let problems = crate::http::compare_response(
            &req.expect,
            response.status,
            &response.headers,
            &response.body,
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
}
