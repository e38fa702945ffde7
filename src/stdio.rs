//! The guest's standard streams: bounded in-memory capture of stdout/stderr that
//! operations can wait on, and the interactive stdin that `write` feeds.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use tokio::sync::Notify;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

#[derive(Debug, Default)]
struct CaptureState {
    bytes: Vec<u8>,
    truncated: bool,
    closed: bool,
}

#[derive(Debug)]
struct CaptureInner {
    state: Mutex<CaptureState>,
    limit: usize,
    notify: Notify,
    /// Where kept output is also copied as it arrives (ad-hoc runs print it live).
    echo: Option<Echo>,
}

/// One of this process's own output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    Stdout,
    Stderr,
}

impl Echo {
    fn write(self, data: &[u8]) {
        use std::io::Write;
        let _ = match self {
            Echo::Stdout => std::io::stdout()
                .write_all(data)
                .and_then(|()| std::io::stdout().flush()),
            Echo::Stderr => std::io::stderr().write_all(data),
        };
    }
}

/// A captured output stream. Clones share the same buffer. Output past `limit`
/// bytes is dropped (the guest is told it was written) and the capture is marked
/// truncated, so the harness's memory stays bounded whatever the guest writes.
#[derive(Debug, Clone)]
pub struct Capture(Arc<CaptureInner>);

impl Capture {
    /// A capture keeping at most `limit` bytes.
    pub fn new(limit: usize) -> Capture {
        Capture::echoing(limit, None)
    }

    /// A capture that also copies what it keeps to one of this process's streams.
    pub fn echoing(limit: usize, echo: Option<Echo>) -> Capture {
        Capture(Arc::new(CaptureInner {
            state: Mutex::new(CaptureState::default()),
            limit,
            notify: Notify::new(),
            echo,
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CaptureState> {
        // A poisoned lock only means another thread panicked mid-append; the bytes are intact.
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends guest output, keeping at most the limit.
    pub fn append(&self, data: &[u8]) {
        {
            let mut st = self.state();
            let room = self.0.limit.saturating_sub(st.bytes.len());
            if data.len() > room {
                st.truncated = true;
            }
            let take = data.len().min(room);
            st.bytes.extend_from_slice(&data[..take]);
            if let Some(echo) = self.0.echo {
                echo.write(&data[..take]);
            }
        }
        self.0.notify.notify_waiters();
    }

    /// Everything captured so far.
    pub fn contents(&self) -> Vec<u8> {
        self.state().bytes.clone()
    }

    /// Whether output was dropped at the limit.
    pub fn truncated(&self) -> bool {
        self.state().truncated
    }

    /// Marks the stream ended (the guest is gone); wakes waiting readers.
    pub fn close(&self) {
        self.state().closed = true;
        self.0.notify.notify_waiters();
    }

    /// The configured limit in bytes.
    pub fn limit(&self) -> usize {
        self.0.limit
    }

    /// Waits until at least `end` bytes exist or the stream is closed; returns the
    /// bytes in `start..end` (fewer if the stream closed early).
    pub async fn read_range(&self, start: usize, end: usize) -> Vec<u8> {
        loop {
            let notified = self.0.notify.notified();
            {
                let st = self.state();
                if st.bytes.len() >= end || st.closed || st.truncated {
                    let stop = end.min(st.bytes.len());
                    return st.bytes.get(start..stop).unwrap_or_default().to_vec();
                }
            }
            notified.await;
        }
    }
}

impl Capture {
    /// Waits for a whole line starting at `start` (or the stream's end); returns
    /// it with its `\n`, or what there is if the stream closed first.
    pub async fn read_line(&self, start: usize) -> Vec<u8> {
        loop {
            let notified = self.0.notify.notified();
            {
                let st = self.state();
                let rest = st.bytes.get(start..).unwrap_or_default();
                if let Some(i) = rest.iter().position(|b| *b == b'\n') {
                    return rest[..=i].to_vec();
                }
                if st.closed || st.truncated {
                    return rest.to_vec();
                }
            }
            notified.await;
        }
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept: excess is dropped, not pushed back on the guest.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_past_limit_and_marks_truncated() {
        let c = Capture::new(4);
        c.append(b"ab");
        assert!(!c.truncated());
        c.append(b"cdef");
        assert_eq!(c.contents(), b"abcd");
        assert!(c.truncated());
        c.append(b"gh");
        assert_eq!(c.contents(), b"abcd");
    }

    #[tokio::test]
    async fn read_range_waits_for_bytes_or_close() {
        // The reader is polled by hand, so that it is waiting when each write
        // comes: ordered by the polls, not by sleeps.
        let c = Capture::new(100);
        let mut read = std::pin::pin!(c.read_range(0, 5));
        assert!(futures::poll!(read.as_mut()).is_pending());
        c.append(b"hel");
        assert!(futures::poll!(read.as_mut()).is_pending());
        c.append(b"lo!");
        assert_eq!(read.await, b"hello");
        let c2 = Capture::new(100);
        c2.append(b"x");
        c2.close();
        assert_eq!(c2.read_range(0, 5).await, b"x");
    }
}
