//! The runtime's process: its output pipes drained into captures, how it
//! ended, signals sent to it, the URL a served guest announces, and the process
//! group killed with the run.

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::check::GuestEnd;
use crate::stdio::Capture;

/// The most stderr read while looking for a served URL.
const URL_SEARCH_BYTES: usize = 64 * 1024;

/// Copies a pipe into a capture until EOF (the capture drops what is past its
/// limit, but the pipe is still drained so the runtime never blocks on it).
pub async fn pump(mut from: impl AsyncRead + Unpin, into: Capture) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => into.append(&buf[..n]),
        }
    }
}

/// The URL a served guest listens on: on the first stderr line holding
/// `http://`, from there to the next whitespace.
pub async fn served_url(stderr: &Capture) -> Result<String, String> {
    let mut start = 0;
    while start < URL_SEARCH_BYTES {
        let line = stderr.read_line(start).await;
        if line.is_empty() {
            break;
        }
        start += line.len();
        let text = String::from_utf8_lossy(&line);
        if let Some(i) = text.find("http://") {
            let url = text[i..].split_whitespace().next().unwrap_or_default();
            return Ok(url.to_string());
        }
        if !line.ends_with(b"\n") {
            break;
        }
    }
    Err("the runtime printed no line holding `http://` on stderr (the address it serves at)".into())
}

/// How a finished runtime process ended.
pub fn exit_of(status: std::process::ExitStatus) -> GuestEnd {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return GuestEnd::Signaled(signal);
    }
    GuestEnd::Exited(status.code().unwrap_or(-1))
}

/// Sends a named signal (`SIGTERM`, `SIGINT`, `SIGKILL`, ...) to the runtime process.
pub fn send_signal(pid: Option<u32>, name: &str) -> Result<(), String> {
    let Some(pid) = pid else {
        return Ok(());
    };
    let signal = signal_number(name).ok_or_else(|| format!("unknown signal `{name}`"))?;
    #[cfg(unix)]
    {
        // SAFETY: kill(2) with a pid we spawned and a valid signal number.
        let r = unsafe { libc::kill(pid as libc::pid_t, signal) };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(format!("cannot send {name} to the runtime: {e}"));
            }
        }
    }
    Ok(())
}

/// The number of a signal named as in specs (`SIGTERM` or `TERM`).
pub fn signal_number(name: &str) -> Option<i32> {
    let short = name.strip_prefix("SIG").unwrap_or(name);
    Some(match short {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "ALRM" => libc::SIGALRM,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        _ => return None,
    })
}

/// The runtime's process group, killed (SIGKILL) when the run is dropped: at the
/// end of the test, at its timeout, or when it is abandoned after a failure.
pub struct ProcessGroup(pub Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0 {
            // SAFETY: killpg(2) on the group we created for the child (its pid).
            unsafe {
                libc::killpg(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_a_spec_may_name_has_a_number() {
        for name in crate::spec::KILL_SIGNALS {
            assert!(signal_number(name).is_some(), "{name}");
            assert_eq!(signal_number(name), signal_number(&format!("SIG{name}")));
        }
        assert_eq!(signal_number("SIGFOO"), None);
    }
}
