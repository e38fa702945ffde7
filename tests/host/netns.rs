//! The private network namespace a sockets test runs in (`wasi_conform::netns`).

use crate::common::{self, TestResult};
use wasi_conform::netns::PrivateNetwork;

/// Inside, loopback is the only interface and works; dropping the guard brings
/// the thread back to its namespace.
pub fn only_loopback_exists_inside_and_the_thread_comes_back() -> TestResult {
    // Runs on its own thread: the namespace is the thread's.
    std::thread::spawn(|| {
        let outside = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        let guard = match PrivateNetwork::enter() {
            Ok(guard) => guard,
            Err(e) => {
                return common::ignored(format!(
                    "cannot create a network namespace here: {e}; it needs root or \
                     CAP_SYS_ADMIN: sudo -E env PATH=\"$PATH\" cargo test --test host -- netns"
                ));
            }
        };
        let inside = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        assert_ne!(outside, inside);
        // Binding everything inside reaches loopback only.
        let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        let ifaces = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
        let names: Vec<&str> = ifaces
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        assert_eq!(names, ["lo"], "{ifaces}");
        drop(guard);
        assert_eq!(
            std::fs::read_link("/proc/thread-self/ns/net").unwrap(),
            outside
        );
        Ok(common::Completion::Completed)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
