//! Per-test traces of the host calls a guest makes on the embedded runtime:
//! every WASI preview 1 call and every WASI 0.2/0.3 interface call, in order,
//! with decoded arguments, the result and the time since the guest started.
//!
//! A [`Trace`] is bounded whatever the guest does: it keeps the first
//! [`TraceLimits::head`] and the last [`TraceLimits::tail`] calls and counts the
//! ones dropped between, cuts strings at [`TraceLimits::string_bytes`], and keeps
//! per-function counts of every call and result ([`Trace::stats`], for
//! coverage) in a map bounded by the functions and results that exist.
//!
//! Who fills it: the preview 1 linker's wrappers
//! (`run::embedded::trace_p1`), which decode arguments from guest memory and map
//! fds to the paths they were opened from, and a `tracing` subscriber scoped to
//! the test's guest future (`run::embedded::trace_component`), which receives
//! the events wasmtime-wasi's generated 0.2/0.3 bindings emit per call.
//!
//! ```
//! use wasi_conform::trace::{Api, Call, Trace, TraceLimits, Value};
//! let mut t = Trace::new(TraceLimits::default());
//! let seq = t.begin(Call::new(Api::P1, "fd_close", vec![("fd", Value::Int(3))]));
//! t.end(seq, wasi_conform::trace::Outcome::Errno(8), Vec::new());
//! assert!(t.render().contains("fd_close(fd=3) -> EBADF"));
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod hints;
pub mod p1;

pub use hints::{HintContext, hints};

/// How much of a guest's calls a trace keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceLimits {
    /// The first calls kept.
    pub head: usize,
    /// The last calls kept.
    pub tail: usize,
    /// Strings (paths, data, formatted values) are cut at this many bytes.
    pub string_bytes: usize,
}

impl Default for TraceLimits {
    fn default() -> Self {
        TraceLimits {
            head: 200,
            tail: 100,
            string_bytes: 200,
        }
    }
}

/// Which API a call belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    /// `wasi_snapshot_preview1`.
    P1,
    /// A WASI 0.2/0.3 interface, e.g. `wasi:filesystem/types@0.2`.
    Wit(Arc<str>),
}

impl Api {
    /// The name reports give it.
    pub fn name(&self) -> &str {
        match self {
            Api::P1 => "wasi_snapshot_preview1",
            Api::Wit(name) => name,
        }
    }
}

/// A decoded argument or output value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    /// A file descriptor, with the path it was opened from when known.
    Fd(u32, Option<Arc<str>>),
    /// A string from guest memory (already cut; `true` = it was cut).
    Str(Box<str>, bool),
    /// A byte count.
    Bytes(u64),
    /// Flag bits, shown by name (`CREAT|TRUNC`).
    Flags(u64, &'static [&'static str]),
    /// An enum's value, shown by name (`MONOTONIC`).
    Enum(i64, &'static [&'static str]),
    /// Already rendered (flag names, enums, lists, a component value).
    Text(Box<str>),
}

impl Value {
    /// A string value, cut at `max` bytes (on a character boundary).
    pub fn string(s: &str, max: usize) -> Value {
        let (kept, cut) = cut_str(s, max);
        Value::Str(kept.into(), cut)
    }

    fn render(&self, out: &mut String) {
        match self {
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Fd(fd, None) => {
                let _ = write!(out, "{fd}");
            }
            Value::Fd(fd, Some(path)) => {
                let _ = write!(out, "{fd} {}", quoted(path, false));
            }
            Value::Str(s, cut) => out.push_str(&quoted(s, *cut)),
            Value::Bytes(n) => {
                let _ = write!(out, "{n} bytes");
            }
            Value::Flags(bits, names) => out.push_str(&p1::flags(*bits, names, 6)),
            Value::Enum(v, names) => out.push_str(&p1::enum_name(*v, names)),
            Value::Text(t) => out.push_str(&crate::check::visible(t)),
        }
    }
}

/// The most characters of a quoted string once escaped.
const QUOTED_CHARS: usize = 256;

/// `"text"` with escapes, and `…` inside the quotes when it was cut.
fn quoted(s: &str, cut: bool) -> String {
    let mut body = String::new();
    let mut cut = cut;
    for c in s.chars() {
        if body.len() >= QUOTED_CHARS {
            cut = true;
            break;
        }
        body.extend(c.escape_debug());
    }
    if cut {
        format!("\"{body}…\"")
    } else {
        format!("\"{body}\"")
    }
}

/// The longest prefix of `s` of at most `max` bytes ending on a character
/// boundary, and whether anything was cut.
pub fn cut_str(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It had not returned when the trace was read (the guest was stopped in it).
    Pending,
    /// A preview 1 errno (0 = success).
    Errno(u16),
    /// Returned nothing to report (`sched_yield`-like, or a 0.2/0.3 unit result).
    Done,
    /// `proc_exit` with this code.
    Exit(i32),
    /// The call trapped, with this message.
    Trap(Box<str>),
    /// A 0.2/0.3 call's result, rendered (`Ok(..)`, `Err(NoEntry)`...).
    Returned(Box<str>),
}

impl Outcome {
    /// The result's class for coverage: an errno name, `ok`, `err(variant)`,
    /// `exit`, `trap`.
    pub fn class(&self) -> Cow<'static, str> {
        match self {
            Outcome::Pending => "pending".into(),
            Outcome::Errno(e) => p1::errno_name(*e).into(),
            Outcome::Done => "ok".into(),
            Outcome::Exit(_) => "exit".into(),
            Outcome::Trap(_) => "trap".into(),
            Outcome::Returned(text) => result_class(text),
        }
    }

    fn render(&self, out: &mut String) {
        match self {
            Outcome::Pending => out.push_str("(blocked: had not returned when the guest stopped)"),
            Outcome::Errno(0) => out.push_str("ok"),
            Outcome::Errno(e) => out.push_str(&p1::errno_display(*e)),
            Outcome::Done => out.push_str("ok"),
            Outcome::Exit(code) => {
                let _ = write!(out, "exit({code})");
            }
            Outcome::Trap(m) => {
                let _ = write!(out, "trap: {}", crate::check::visible(m));
            }
            Outcome::Returned(text) => out.push_str(&crate::check::visible(text)),
        }
    }
}

/// The class of a rendered 0.2/0.3 result: `err(VARIANT)` when it holds an
/// `Err(...)` (the innermost variant's last path segment: `NoEntry` of
/// `Err(ErrorCode::NoEntry)`), else `ok`.
pub fn result_class(text: &str) -> Cow<'static, str> {
    let Some(at) = text.rfind("Err(") else {
        return "ok".into();
    };
    let path: String = text[at + 4..]
        .chars()
        .skip_while(|c| !c.is_alphanumeric())
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':'))
        .collect();
    match path.rsplit("::").next().filter(|n| !n.is_empty()) {
        Some(name) => format!("err({name})").into(),
        None => "err".into(),
    }
}

/// One host call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Time since the guest started, when the call was made.
    pub at: Duration,
    pub api: Api,
    pub func: Cow<'static, str>,
    pub args: Vec<(&'static str, Value)>,
    pub outcome: Outcome,
    /// What the call wrote back on success (an opened fd, a byte count...).
    pub outputs: Vec<(&'static str, Value)>,
}

impl Call {
    /// A call being made (its time is set by [`Trace::begin`]).
    pub fn new(
        api: Api,
        func: impl Into<Cow<'static, str>>,
        args: Vec<(&'static str, Value)>,
    ) -> Call {
        Call {
            at: Duration::ZERO,
            api,
            func: func.into(),
            args,
            outcome: Outcome::Pending,
            outputs: Vec::new(),
        }
    }

    /// `func(arg=value, ...)`, with the API for 0.2/0.3 calls.
    pub fn signature(&self) -> String {
        let mut out = String::new();
        if let Api::Wit(name) = &self.api {
            let _ = write!(out, "{name} ");
        }
        out.push_str(&self.func);
        out.push('(');
        render_pairs(&self.args, &mut out);
        out.push(')');
        out
    }

    /// The result and outputs: `ok fd=5`, `ENOENT`, `(blocked...)`.
    pub fn result_text(&self) -> String {
        let mut out = String::new();
        self.outcome.render(&mut out);
        if !self.outputs.is_empty() {
            out.push(' ');
            render_pairs(&self.outputs, &mut out);
        }
        out
    }

    /// One line: `+1.204ms path_open(...) -> ENOENT`.
    pub fn line(&self) -> String {
        format!(
            "{:>10} {} -> {}",
            format_time(self.at),
            self.signature(),
            self.result_text()
        )
    }

    /// The value of argument `name`, if any.
    pub fn arg(&self, name: &str) -> Option<&Value> {
        self.args.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

fn render_pairs(pairs: &[(&'static str, Value)], out: &mut String) {
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push('=');
        value.render(out);
    }
}

/// `+1.204ms`.
pub fn format_time(at: Duration) -> String {
    format!("+{:.3}ms", at.as_secs_f64() * 1000.0)
}

/// Counts of one function's calls: all of them, and by result class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FuncStats {
    pub calls: u64,
    pub results: BTreeMap<String, u64>,
}

/// Per-function counts, by API and function name.
pub type Stats = BTreeMap<(String, String), FuncStats>;

/// What the guest was given, for hints: the preopens and whether the spec
/// gives stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    /// `(guest path, read-only)` of each preopen, in fd order (from 3).
    pub preopens: Vec<(String, bool)>,
    /// The spec gives stdin (text, a file, or `write` operations).
    pub stdin: bool,
}

/// The bounded record of one guest's host calls.
#[derive(Debug, Clone)]
pub struct Trace {
    pub limits: TraceLimits,
    start: Instant,
    head: Vec<Call>,
    tail: VecDeque<Call>,
    /// Calls made so far (kept or not).
    total: u64,
    /// Calls dropped between the head and the tail.
    dropped: u64,
    /// Counts by (API, function, result class); hot path, kept small.
    counts: std::collections::HashMap<(Api, Cow<'static, str>, Cow<'static, str>), u64>,
    /// What the guest was given.
    pub given: Given,
}

impl Trace {
    pub fn new(limits: TraceLimits) -> Trace {
        Trace {
            limits,
            start: Instant::now(),
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
            dropped: 0,
            counts: Default::default(),
            given: Given::default(),
        }
    }

    /// Time since the trace started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records a call being made; returns its sequence number for [`Trace::end`].
    pub fn begin(&mut self, mut call: Call) -> u64 {
        call.at = self.start.elapsed();
        let seq = self.total;
        self.total += 1;
        if self.head.len() < self.limits.head {
            self.head.push(call);
        } else if self.limits.tail > 0 {
            self.tail.push_back(call);
            if self.tail.len() > self.limits.tail {
                self.tail.pop_front();
                self.dropped += 1;
            }
        } else {
            self.dropped += 1;
        }
        seq
    }

    /// Records how call `seq` ended (counted even when the call itself was dropped).
    pub fn end(&mut self, seq: u64, outcome: Outcome, outputs: Vec<(&'static str, Value)>) {
        let class = outcome.class();
        let Some(call) = self.kept_mut(seq) else {
            return;
        };
        let key = (call.api.clone(), call.func.clone(), class);
        call.outcome = outcome;
        call.outputs = outputs;
        *self.counts.entry(key).or_insert(0) += 1;
    }

    /// Records how call `seq` of `api`/`func` ended, when the call may have been
    /// dropped already (its counts still go in).
    pub fn end_named(
        &mut self,
        seq: u64,
        api: &Api,
        func: Cow<'static, str>,
        outcome: Outcome,
        outputs: Vec<(&'static str, Value)>,
    ) {
        if self.kept_mut(seq).is_some() {
            return self.end(seq, outcome, outputs);
        }
        let key = (api.clone(), func, outcome.class());
        *self.counts.entry(key).or_insert(0) += 1;
    }

    fn kept_mut(&mut self, seq: u64) -> Option<&mut Call> {
        if let Some(call) = usize::try_from(seq).ok().and_then(|i| self.head.get_mut(i)) {
            return Some(call);
        }
        let first_tail = self.total - self.tail.len() as u64;
        let i = seq.checked_sub(first_tail)?;
        self.tail.get_mut(usize::try_from(i).ok()?)
    }

    /// Every kept call, in order.
    pub fn kept(&self) -> impl Iterator<Item = &Call> {
        self.head.iter().chain(self.tail.iter())
    }

    /// Calls made (kept or not).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Calls dropped between the head and the tail.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The calls that had not returned (the guest was stopped in them).
    pub fn pending(&self) -> impl Iterator<Item = &Call> {
        self.kept().filter(|c| c.outcome == Outcome::Pending)
    }

    /// Per-function counts: calls made and results by class. A call that never
    /// returned counts as `pending`.
    pub fn stats(&self) -> Stats {
        let mut stats = Stats::new();
        for ((api, func, class), n) in &self.counts {
            let s = stats
                .entry((api.name().to_string(), func.to_string()))
                .or_default();
            s.calls += n;
            *s.results.entry(class.to_string()).or_insert(0) += n;
        }
        for call in self.pending() {
            let s = stats
                .entry((call.api.name().to_string(), call.func.to_string()))
                .or_default();
            s.calls += 1;
            *s.results.entry("pending".into()).or_insert(0) += 1;
        }
        stats
    }

    /// Forgets the kept calls (the counts stay), for a test whose trace will
    /// not be shown.
    pub fn forget_calls(&mut self) {
        self.head = Vec::new();
        self.tail = VecDeque::new();
    }

    /// The kept calls as text, one per line, with a header and a line where
    /// calls were dropped.
    pub fn render(&self) -> String {
        self.render_at_most(usize::MAX, usize::MAX)
    }

    /// As [`Trace::render`], showing at most the first `head` and the last
    /// `tail` of the kept calls (for a terminal or a report).
    pub fn render_at_most(&self, head: usize, tail: usize) -> String {
        let first_tail = self.total - self.tail.len() as u64;
        let numbered: Vec<(u64, &Call)> = (0u64..)
            .zip(&self.head)
            .chain((first_tail..).zip(&self.tail))
            .collect();
        let first = numbered.len().min(head);
        let last = (numbered.len() - first).min(tail);
        let shown: Vec<&(u64, &Call)> = numbered[..first]
            .iter()
            .chain(&numbered[numbered.len() - last..])
            .collect();
        let mut out = format!("host calls: {}", self.total);
        if shown.len() as u64 != self.total {
            let _ = write!(out, " ({} shown)", shown.len());
        }
        out.push('\n');
        let mut next = 0u64;
        for (seq, call) in shown {
            if *seq > next {
                let _ = writeln!(out, "  ... {} calls not shown ...", seq - next);
            }
            let _ = writeln!(out, "  {}", call.line());
            next = seq + 1;
        }
        if self.total > next {
            let _ = writeln!(out, "  ... {} calls not shown ...", self.total - next);
        }
        out
    }

    /// The JSON form: kept calls with their time, API, function, arguments
    /// and result as text, and the counts.
    pub fn to_json(&self, hints: &[String]) -> serde_json::Value {
        let call = |c: &Call| {
            let mut args = String::new();
            render_pairs(&c.args, &mut args);
            serde_json::json!({
                "t_ms": (c.at.as_secs_f64() * 1e6).round() / 1e3,
                "api": c.api.name(),
                "func": c.func,
                "args": args,
                "result": c.result_text(),
            })
        };
        serde_json::json!({
            "total": self.total,
            "dropped": self.dropped,
            "calls": self.head.iter().map(call).collect::<Vec<_>>(),
            "last_calls": self.tail.iter().map(call).collect::<Vec<_>>(),
            "hints": hints,
        })
    }
}

/// A trace shared by the host functions that fill it and the guest that owns it.
pub type TraceHandle = Arc<Mutex<Trace>>;

/// A new shared trace.
pub fn handle(limits: TraceLimits, given: Given) -> TraceHandle {
    let mut trace = Trace::new(limits);
    trace.given = given;
    Arc::new(Mutex::new(trace))
}

/// Locks a trace; a poisoned lock (a panic in a host call) still gives the trace.
pub fn lock(handle: &TraceHandle) -> std::sync::MutexGuard<'_, Trace> {
    handle.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(n: i64) -> Call {
        Call::new(Api::P1, "fd_close", vec![("fd", Value::Int(n))])
    }

    #[test]
    fn keeps_head_and_tail_and_counts_the_rest() {
        let limits = TraceLimits {
            head: 3,
            tail: 2,
            string_bytes: 10,
        };
        let mut t = Trace::new(limits);
        for i in 0..1000 {
            let seq = t.begin(call(i));
            t.end(seq, Outcome::Errno(if i % 2 == 0 { 0 } else { 8 }), vec![]);
        }
        let kept: Vec<i64> = t
            .kept()
            .map(|c| match c.args[0].1 {
                Value::Int(n) => n,
                _ => -1,
            })
            .collect();
        assert_eq!(kept, [0, 1, 2, 998, 999]);
        assert_eq!((t.total(), t.dropped()), (1000, 995));
        let stats = t.stats();
        let s = &stats[&("wasi_snapshot_preview1".to_string(), "fd_close".to_string())];
        assert_eq!(s.calls, 1000);
        assert_eq!(s.results["success"], 500);
        assert_eq!(s.results["badf"], 500);
        let text = t.render();
        assert!(text.contains("... 995 calls not shown ..."), "{text}");
        assert_eq!(text.lines().count(), 1 + 5 + 1);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[4].contains("995 calls not shown"), "{text}");
        let short = t.render_at_most(1, 1);
        let lines: Vec<&str> = short.lines().collect();
        assert_eq!(lines[0], "host calls: 1000 (2 shown)");
        assert!(lines[1].contains("fd=0"), "{short}");
        assert_eq!(lines[2], "  ... 998 calls not shown ...");
        assert!(lines[3].contains("fd=999"), "{short}");
    }

    #[test]
    fn a_million_calls_stay_bounded() {
        let mut t = Trace::new(TraceLimits::default());
        for i in 0..1_000_000 {
            let seq = t.begin(call(i));
            t.end(seq, Outcome::Errno(0), vec![]);
        }
        assert_eq!(t.kept().count(), 300);
        assert_eq!(t.counts.len(), 1);
    }

    #[test]
    fn a_call_that_never_returns_is_pending() {
        let mut t = Trace::new(TraceLimits::default());
        let seq = t.begin(call(0));
        t.end(seq, Outcome::Errno(0), vec![]);
        t.begin(Call::new(
            Api::P1,
            "poll_oneoff",
            vec![("in", Value::Text("[fd_read fd=0]".into()))],
        ));
        let pending: Vec<&Call> = t.pending().collect();
        assert_eq!(pending.len(), 1);
        assert!(
            pending[0]
                .line()
                .contains("poll_oneoff(in=[fd_read fd=0]) -> (blocked")
        );
        assert_eq!(
            t.stats()[&("wasi_snapshot_preview1".into(), "poll_oneoff".into())].results["pending"],
            1
        );
    }

    #[test]
    fn ends_of_dropped_calls_still_count() {
        let mut t = Trace::new(TraceLimits {
            head: 1,
            tail: 1,
            string_bytes: 10,
        });
        let api = Api::Wit("wasi:io/poll@0.2".into());
        let func: Cow<'static, str> = "poll".into();
        let first = t.begin(Call::new(api.clone(), func.clone(), vec![]));
        let second = t.begin(Call::new(api.clone(), func.clone(), vec![]));
        for _ in 0..3 {
            t.begin(Call::new(api.clone(), "other", vec![]));
        }
        t.end_named(
            second,
            &api,
            func.clone(),
            Outcome::Returned("Ok(())".into()),
            vec![],
        );
        t.end_named(
            first,
            &api,
            func,
            Outcome::Returned("Err(x)".into()),
            vec![],
        );
        let stats = t.stats();
        let s = &stats[&("wasi:io/poll@0.2".to_string(), "poll".to_string())];
        assert_eq!(s.results.get("ok"), Some(&1));
        assert_eq!(s.results.get("err(x)"), Some(&1));
    }

    #[test]
    fn strings_are_cut_on_character_boundaries() {
        assert_eq!(cut_str("héllo", 2), ("h", true));
        assert_eq!(cut_str("abc", 3), ("abc", false));
        let v = Value::string("/a/very/long/path", 5);
        let mut out = String::new();
        v.render(&mut out);
        assert_eq!(out, "\"/a/ve…\"");
    }

    #[test]
    fn result_classes() {
        assert_eq!(result_class("Ok(Resource { handle: 3 })"), "ok");
        assert_eq!(result_class("Ok(Err(NoEntry))"), "err(NoEntry)");
        assert_eq!(
            result_class("Err(TrappableError { code: Access })"),
            "err(TrappableError)"
        );
    }
}
