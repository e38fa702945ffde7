//! A running guest, whichever backend started it: how it ends (a future), its
//! captured stdout and stderr, the stdin the driver writes to, the limits watched
//! while it waits in a host call, how to stop it, and, for a served
//! `wasi:http/service`, how requests reach it.
//!
//! Backends build a [`Guest`]; the driver only ever sees this type.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use tokio::io::AsyncWrite;

use crate::check::{GuestEnd, Trap};
use crate::spec::OutputStream;
use crate::spec::http::RequestOp;
use crate::stdio::Capture;
use crate::watchdog::LimitHit;

/// How a guest ends.
pub type GuestFuture = Pin<Box<dyn Future<Output = GuestEnd> + Send>>;
/// Where `write` operations go.
pub type StdinSink = Pin<Box<dyn AsyncWrite + Send>>;
/// Measures the watched limits; `Err` ends the guest with that limit.
pub type LimitWatch = Box<dyn FnMut() -> Result<(), LimitHit> + Send>;
/// Sends a signal (by name, e.g. `SIGTERM`) to the guest.
pub type KillFn = Box<dyn FnMut(&str) -> Result<(), String> + Send>;
/// Sends one `request` operation to a served guest and collects the whole response.
pub type ServeFn =
    Box<dyn FnMut(&RequestOp) -> BoxFuture<'static, Result<HttpResponse, String>> + Send>;

/// How often the watched limits are measured while the guest waits in a host call.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// A served guest's answer to a `request`.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// A connection to the guest made by a `connect` operation.
pub(crate) enum Connection {
    Tcp(tokio::net::TcpStream),
    Udp(tokio::net::UdpSocket),
}

impl Connection {
    /// Up to `n` bytes: exactly `n` over TCP (fewer if the peer closes), one
    /// datagram over UDP.
    pub(crate) async fn receive(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        match self {
            Connection::Tcp(s) => {
                let mut buf = vec![0u8; n];
                let mut got = 0;
                while got < n {
                    let read = s.read(&mut buf[got..]).await?;
                    if read == 0 {
                        break;
                    }
                    got += read;
                }
                buf.truncate(got);
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

/// A running guest.
pub struct Guest {
    future: GuestFuture,
    /// How it ended, once it has.
    pub(crate) end: Option<GuestEnd>,
    pub(crate) stdout: Capture,
    pub(crate) stderr: Capture,
    pub(crate) stdin: Option<StdinSink>,
    /// How far `read` and `connect` have consumed stdout and stderr.
    pub(crate) cursors: [usize; 2],
    watch: Option<LimitWatch>,
    kill: Option<KillFn>,
    pub(crate) serve: Option<ServeFn>,
    /// Connections made by `connect`, by id.
    pub(crate) connections: Vec<(String, Connection)>,
    /// Its host calls, when the backend traces them.
    trace: Option<crate::trace::TraceHandle>,
    /// The command line that runs it, when a process does (external runtimes).
    pub(crate) command: Option<Vec<String>>,
}

impl Guest {
    /// A guest that ends when `future` does, writing into `stdout` and `stderr`.
    pub fn new(future: GuestFuture, stdout: Capture, stderr: Capture) -> Guest {
        Guest {
            future,
            end: None,
            stdout,
            stderr,
            stdin: None,
            cursors: [0, 0],
            watch: None,
            kill: None,
            serve: None,
            connections: Vec::new(),
            trace: None,
            command: None,
        }
    }

    /// The command line of the process running the guest (shown with its
    /// failures, and with a runtime's canary).
    pub fn with_command(mut self, argv: Vec<String>) -> Guest {
        self.command = Some(argv);
        self
    }

    /// Where the backend records its host calls (complete once the guest has
    /// ended or been stopped).
    pub fn with_trace(mut self, trace: crate::trace::TraceHandle) -> Guest {
        self.trace = Some(trace);
        self
    }

    /// The trace recorded so far (taken: a second call gets an empty one).
    pub(crate) fn take_trace(&self) -> Option<crate::trace::Trace> {
        let handle = self.trace.as_ref()?;
        let mut trace = crate::trace::lock(handle);
        let empty = crate::trace::Trace::new(trace.limits);
        Some(std::mem::replace(&mut *trace, empty))
    }

    /// Stops a guest that may still run, by dropping what runs it (its store,
    /// a child process handle), without recording how it ended.
    pub(crate) fn stop(&mut self) {
        self.future = Box::pin(std::future::pending());
    }

    /// Its stdin, for `write` operations (else stdin is not writable).
    pub fn with_stdin(mut self, stdin: StdinSink) -> Guest {
        self.stdin = Some(stdin);
        self
    }

    /// Limits measured every 100 ms while the guest runs.
    pub fn with_watch(mut self, watch: LimitWatch) -> Guest {
        self.watch = Some(watch);
        self
    }

    /// How `kill` reaches it. Without one, `kill` ends the guest at once as
    /// exit code 0 (an in-process guest simply stops being run).
    pub fn with_kill(mut self, kill: KillFn) -> Guest {
        self.kill = Some(kill);
        self
    }

    /// How `request` operations reach a served guest.
    pub fn with_serve(mut self, serve: ServeFn) -> Guest {
        self.serve = Some(serve);
        self
    }

    pub(crate) fn capture(&self, stream: OutputStream) -> &Capture {
        match stream {
            OutputStream::Stdout => &self.stdout,
            OutputStream::Stderr => &self.stderr,
        }
    }

    /// Records how the guest ended and lets go of it (dropping its future drops
    /// whatever runs it: a store, a child process handle).
    pub(crate) fn finish(&mut self, end: GuestEnd) {
        self.end = Some(end);
        self.serve = None;
        self.kill = None;
        self.future = Box::pin(std::future::pending());
        self.stdin = None;
        self.stdout.close();
        self.stderr.close();
    }

    /// Stops the guest with `signal`: through its kill function when it has one
    /// (the guest then ends as the signal makes it end), else at once, as exit 0.
    pub(crate) fn kill(&mut self, signal: &str) -> Result<(), String> {
        if self.end.is_some() {
            return Ok(());
        }
        match self.kill.as_mut() {
            Some(kill) => kill(signal),
            None => {
                self.finish(GuestEnd::Exited(0));
                Ok(())
            }
        }
    }

    /// How a stopped guest ended, for messages.
    pub(crate) fn stopped(&self) -> String {
        self.end
            .as_ref()
            .map_or_else(|| "still running".into(), ToString::to_string)
    }

    /// Polls `step` and the guest together until `step` completes (or, for a
    /// pending step, until the guest ends). `None` = the guest was stopped
    /// first, by the deadline (`timeout_end`) or by a watched limit; `end` says
    /// which. `grace` is how long a step may still take once the guest has ended
    /// (what it sent just before ending may still be on its way through a socket).
    pub(crate) async fn drive<T>(
        &mut self,
        deadline: &super::deadline::Deadline,
        timeout_end: &GuestEnd,
        grace: Duration,
        step: impl Future<Output = T>,
    ) -> Option<T> {
        let mut step = std::pin::pin!(step);
        let mut watch = tokio::time::interval(WATCH_INTERVAL);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            if self.end.is_some() {
                return tokio::time::timeout(grace, step).await.ok();
            }
            tokio::select! {
                biased;
                end = &mut self.future => self.finish(end),
                r = &mut step => return Some(r),
                _ = tokio::time::sleep_until(deadline.at().into()) => {
                    // The wall clock reached the deadline; it stands unless
                    // the test was kept waiting for a CPU (then it moves).
                    if deadline.expired() {
                        self.finish(timeout_end.clone());
                        return None;
                    }
                }
                _ = watch.tick(), if self.watch.is_some() => {
                    let hit = self.watch.as_mut().and_then(|w| w().err());
                    if let Some(hit) = hit {
                        self.finish(GuestEnd::Trapped(Trap { message: hit.to_string(), backtrace: None }));
                        return None;
                    }
                }
            }
        }
    }
}
