//! A test's deadline, which load does not decide.
//!
//! A test's timeout (`timeout_ms`, `--timeout`) counts the time its guest
//! could run: the wall-clock time since it started, less the time its threads
//! (or its runtime's processes) spent waiting for a CPU while other tests or
//! other programs held them. So a test that takes 4 s alone is not stopped at
//! 10 s because eight tests share two cores, or two CPU hogs run beside the
//! harness; a guest that sleeps or waits for input is not waiting for a CPU,
//! so it is stopped on time. The waiting is read from Linux's scheduler
//! statistics (`/proc/.../schedstat`: time spent runnable on a run queue);
//! where they cannot be read, the deadline is plain wall-clock time. However
//! much waiting there is, a test never runs past [`BACKSTOP_FACTOR`] times its
//! timeout of wall-clock time.
//!
//! The deadline is only refreshed when the wall clock reaches it, so checking
//! it costs two atomic loads and a clock reading.
//!
//! ```
//! use std::time::Duration;
//! use wasi_conform::run::deadline::Deadline;
//! let d = Deadline::new(Duration::from_secs(10));
//! assert!(!d.expired());
//! assert!(d.at() > std::time::Instant::now());
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// However long a test waited for a CPU, it is stopped after this many times
/// its timeout of wall-clock time (copies of its fixtures not counted).
pub const BACKSTOP_FACTOR: u32 = 10;

/// What a deadline watches for time spent waiting for a CPU.
#[derive(Debug, Clone, Copy)]
enum Watched {
    /// A thread of this process, and its waiting when it started being watched.
    Thread { tid: i64, baseline: u64 },
    /// A process group (an external runtime and its children), all new.
    Group { pgid: i64 },
}

/// One test's deadline; shared by the driver, the guest's stores and threads.
#[derive(Debug)]
pub struct Deadline {
    start: Instant,
    timeout: Duration,
    /// Time not counted: copying fixtures (the harness's work).
    excluded_ns: AtomicU64,
    /// The longest any watched thread or process waited for a CPU, credited.
    waited_ns: AtomicU64,
    watched: Mutex<Vec<Watched>>,
}

impl Deadline {
    /// A deadline `timeout` from now, watching the calling thread.
    pub fn new(timeout: Duration) -> Deadline {
        let d = Deadline {
            start: Instant::now(),
            timeout,
            excluded_ns: AtomicU64::new(0),
            waited_ns: AtomicU64::new(0),
            watched: Mutex::new(Vec::new()),
        };
        d.watch_this_thread();
        d
    }

    /// The timeout it was made with.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Also counts the calling thread's waiting (a guest's other threads).
    pub fn watch_this_thread(&self) {
        if let Some(tid) = this_thread()
            && let Some(baseline) = thread_waited(tid)
        {
            self.lock().push(Watched::Thread { tid, baseline });
        }
    }

    /// Also counts the waiting of the processes of group `pgid` (an external
    /// runtime started in a group of its own).
    pub fn watch_process_group(&self, pgid: u32) {
        self.lock().push(Watched::Group {
            pgid: i64::from(pgid),
        });
    }

    /// Moves the deadline by `d`: time spent on the harness's work.
    pub fn exclude(&self, d: Duration) {
        self.excluded_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// The time credited so far for waiting for a CPU.
    pub fn waited(&self) -> Duration {
        Duration::from_nanos(self.waited_ns.load(Ordering::Relaxed))
    }

    /// The wall-clock instant the test is stopped at, as far as known now.
    pub fn at(&self) -> Instant {
        let excluded = Duration::from_nanos(self.excluded_ns.load(Ordering::Relaxed));
        let credit = self.waited().min(self.timeout * (BACKSTOP_FACTOR - 1));
        self.start + excluded + self.timeout + credit
    }

    /// Whether the test's time is up: the wall clock has reached the deadline
    /// and, the waiting for a CPU read afresh, still has.
    pub fn expired(&self) -> bool {
        if Instant::now() < self.at() {
            return false;
        }
        self.refresh();
        Instant::now() >= self.at()
    }

    /// Reads how long the watched threads and processes have waited.
    fn refresh(&self) {
        let watched = self.lock().clone();
        let waited = watched
            .iter()
            .filter_map(|w| match *w {
                Watched::Thread { tid, baseline } => {
                    thread_waited(tid).map(|now| now.saturating_sub(baseline))
                }
                Watched::Group { pgid } => group_waited(pgid),
            })
            .max()
            .unwrap_or(0);
        self.waited_ns.fetch_max(waited, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Watched>> {
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The calling thread's id (Linux).
fn this_thread() -> Option<i64> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid(2) takes no arguments and cannot fail.
        Some(unsafe { libc::gettid() } as i64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Nanoseconds a thread of this process has spent waiting on a run queue.
fn thread_waited(tid: i64) -> Option<u64> {
    read_waited(&format!("/proc/self/task/{tid}/schedstat"))
}

/// The second field of a `schedstat` file: time spent waiting to run (ns).
fn read_waited(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// The most any thread of any process in group `pgid` has waited (ns).
fn group_waited(pgid: i64) -> Option<u64> {
    let mut most = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if process_group(pid) != Some(pgid) {
            continue;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let path = format!(
                "/proc/{pid}/task/{}/schedstat",
                task.file_name().to_string_lossy()
            );
            if let Some(w) = read_waited(&path) {
                most = Some(most.map_or(w, |m: u64| m.max(w)));
            }
        }
    }
    most
}

/// A process's group, from `/proc/PID/stat` (the field after the state,
/// after the parenthesised command name, which may hold anything).
fn process_group(pid: &str) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // state ppid pgrp
    after.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluded_time_moves_the_deadline_and_the_backstop_bounds_credit() {
        let d = Deadline::new(Duration::from_millis(100));
        let before = d.at();
        d.exclude(Duration::from_millis(50));
        assert_eq!(d.at() - before, Duration::from_millis(50));
        // Credit for waiting never takes the deadline past the backstop.
        d.waited_ns.store(u64::MAX / 2, Ordering::Relaxed);
        assert_eq!(
            d.at() - before,
            Duration::from_millis(50) + Duration::from_millis(100) * (BACKSTOP_FACTOR - 1)
        );
    }

    #[test]
    fn a_deadline_in_the_past_is_expired() {
        let d = Deadline::new(Duration::ZERO);
        assert!(d.expired());
        let d = Deadline::new(Duration::from_secs(3600));
        assert!(!d.expired());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_scheduler_statistics_of_this_thread_and_group_are_read() {
        let tid = this_thread().unwrap();
        assert!(thread_waited(tid).is_some());
        // SAFETY: getpgrp(2) cannot fail.
        let pgid = unsafe { libc::getpgrp() } as i64;
        assert!(group_waited(pgid).is_some());
        assert_eq!(process_group("self"), Some(pgid));
    }
}
