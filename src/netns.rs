//! A private network namespace for a test that uses sockets: the guest may
//! bind the unspecified address (the official wasip3 tests do), yet nothing it
//! binds is reachable from outside the machine, because in its namespace the
//! only interface is loopback.
//!
//! Linux network namespaces belong to a thread: [`PrivateNetwork::enter`]
//! moves the calling thread into a fresh namespace (with `lo` up) and dropping
//! the guard moves it back. Threads and processes started in between (the
//! test's async runtime, an external runtime's process) inherit it. Creating a
//! namespace needs `CAP_SYS_ADMIN`; where it is not allowed, `enter` fails and
//! the test runs in the host's namespace with loopback-only address checks.
//! `tests/host/netns.rs` checks it (ignored, with the reason, where a namespace
//! cannot be created).

use std::fs::File;

/// The calling thread's stay in a private network namespace; dropping it
/// returns the thread to the namespace it came from.
pub struct PrivateNetwork {
    #[cfg(target_os = "linux")]
    original: File,
}

impl PrivateNetwork {
    /// Moves the calling thread into a new network namespace with loopback up.
    pub fn enter() -> std::io::Result<PrivateNetwork> {
        #[cfg(target_os = "linux")]
        {
            let original = File::open("/proc/thread-self/ns/net")?;
            // SAFETY: unshare(2) affects only the calling thread's namespaces.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let guard = PrivateNetwork { original };
            if let Err(e) = loopback_up() {
                drop(guard);
                return Err(e);
            }
            Ok(guard)
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "private network namespaces need Linux",
            ))
        }
    }
}

impl Drop for PrivateNetwork {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: setns(2) back into the namespace the thread came from,
            // through a descriptor we opened.
            unsafe {
                libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET);
            }
        }
    }
}

/// Brings the new namespace's loopback interface up.
#[cfg(target_os = "linux")]
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: a plain socket used only for two ioctls on a zeroed `ifreq`
    // naming "lo"; closed before returning.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            ifr.ifr_name[i] = *b as libc::c_char;
        }
        let mut result = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr);
        if result == 0 {
            ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            result = libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr);
        }
        let error = std::io::Error::last_os_error();
        libc::close(fd);
        if result != 0 {
            return Err(error);
        }
    }
    Ok(())
}
