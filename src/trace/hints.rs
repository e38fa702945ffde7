//! One-line hints drawn from a failed test's trace: an open of a path no
//! preopened directory holds (or that is not in the one that does), stdin read
//! when the spec gives none, a write under a read-only directory, and the call
//! a guest was blocked in when its time ran out. Each hint appears only when the
//! trace shows it.

use regex::Regex;
use std::sync::LazyLock;

use super::p1::{self, errno};
use super::{Api, Call, Outcome, Trace, Value, format_time};

/// The most hints shown for one test.
const MAX_HINTS: usize = 6;

/// What the hints need besides the trace.
#[derive(Debug, Clone, Copy, Default)]
pub struct HintContext {
    /// The guest was stopped by the test's timeout.
    pub timed_out: bool,
}

/// The hints a trace supports, at most [`MAX_HINTS`], without repeats.
pub fn hints(trace: &Trace, ctx: HintContext) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if ctx.timed_out {
        out.push(blocked(trace));
    }
    for call in trace.kept() {
        let found = [
            missing_path(trace, call),
            read_only(trace, call),
            unread_stdin(trace, call),
        ];
        for hint in found.into_iter().flatten() {
            if !out.contains(&hint) {
                out.push(hint);
            }
        }
    }
    for hint in unresolved_paths(trace) {
        if !out.contains(&hint) {
            out.push(hint);
        }
    }
    out.truncate(MAX_HINTS);
    out
}

/// The p1 call's path argument and directory fd, when it takes a path.
fn path_of(call: &Call) -> Option<(&Value, &str)> {
    if call.api != Api::P1 {
        return None;
    }
    let name = match &*call.func {
        "path_link" | "path_rename" | "path_symlink" => "new_path",
        f if p1::path_params(f).is_some() => "path",
        _ => return None,
    };
    let dir = match &*call.func {
        "path_link" | "path_rename" => call.arg("new_fd")?,
        _ => call.arg("fd")?,
    };
    match call.arg(name)? {
        Value::Str(s, _) => Some((dir, s)),
        _ => None,
    }
}

fn errno_of(call: &Call) -> Option<u16> {
    match call.outcome {
        Outcome::Errno(e) if e != 0 => Some(e),
        _ => None,
    }
}

/// The preopen (guest path) holding `path`: the longest that is a prefix.
fn preopen_holding<'a>(trace: &'a Trace, path: &str) -> Option<&'a (String, bool)> {
    trace
        .given
        .preopens
        .iter()
        .filter(|(guest, _)| holds(guest, path))
        .max_by_key(|(guest, _)| guest.len())
}

fn holds(dir: &str, path: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

const GIVE_DIRS: &str = "give `root` or `dirs` in the spec";

/// A failed call on a path that is absolute, under an fd that is not open, or
/// that is not in its preopened directory.
fn missing_path(trace: &Trace, call: &Call) -> Option<String> {
    let e = errno_of(call)?;
    let (dir, path) = path_of(call)?;
    let Value::Fd(fd, dir_path) = dir else {
        return None;
    };
    if path.starts_with('/') {
        return Some(match preopen_holding(trace, path) {
            None => format!(
                "the guest tried to open {path}: no preopened directory holds it; {GIVE_DIRS}"
            ),
            Some((guest, _)) => format!(
                "the guest passed the absolute path {path} to {}: WASI paths are relative to a \
                 directory fd ({guest} is preopened; wasi-libc resolves absolute paths itself)",
                call.func
            ),
        });
    }
    match (e, dir_path) {
        (errno::BADF, None) if trace.given.preopens.is_empty() => Some(format!(
            "the guest called {} on fd {fd}, which is not open: nothing is preopened; {GIVE_DIRS}",
            call.func
        )),
        (errno::NOENT, Some(dir)) if call.func == "path_open" && !creates(call) => {
            let full = p1::join(Some(dir), path);
            Some(format!(
                "the guest tried to open {full}: there is no such file in the directory \
                 preopened at {dir}"
            ))
        }
        _ => None,
    }
}

/// The bits of a flags argument (0 when absent).
fn bits(call: &Call, name: &str) -> u64 {
    match call.arg(name) {
        Some(Value::Flags(bits, _)) => *bits,
        _ => 0,
    }
}

/// Whether a `path_open` asks to create the file.
fn creates(call: &Call) -> bool {
    bits(call, "oflags") & 1 != 0
}

/// Whether a p1 call writes at its path (creates, changes or removes something).
fn writes(call: &Call) -> bool {
    match &*call.func {
        "path_open" => {
            bits(call, "oflags") & p1::WRITE_OFLAGS != 0
                || bits(call, "fdflags") & p1::APPEND != 0
                || bits(call, "rights") & p1::WRITE_RIGHTS != 0
        }
        "path_create_directory"
        | "path_remove_directory"
        | "path_unlink_file"
        | "path_rename"
        | "path_symlink"
        | "path_link"
        | "path_filestat_set_times" => true,
        _ => false,
    }
}

/// A write refused under a read-only preopen.
fn read_only(trace: &Trace, call: &Call) -> Option<String> {
    let e = errno_of(call)?;
    if !matches!(
        e,
        errno::PERM | errno::ACCES | errno::ROFS | errno::NOTCAPABLE | errno::BADF
    ) || !writes(call)
    {
        return None;
    }
    let (Value::Fd(_, Some(dir)), path) = path_of(call)? else {
        return None;
    };
    let full = p1::join(Some(dir), path);
    let (guest, ro) = preopen_holding(trace, &full)?;
    ro.then(|| {
        format!(
            "the guest tried to write {full} ({} -> {}), but {guest} is preopened read-only; \
             drop `\"readonly\": true` from its entry in `dirs` if it may write there",
            call.func,
            p1::errno_display(e)
        )
    })
}

/// A read of stdin when the spec gives none.
fn unread_stdin(trace: &Trace, call: &Call) -> Option<String> {
    if trace.given.stdin {
        return None;
    }
    let reads = match (&call.api, &*call.func) {
        (Api::P1, "fd_read") => matches!(call.arg("fd"), Some(Value::Fd(0, _))),
        (Api::P1, "poll_oneoff") => {
            matches!(call.arg("in"), Some(Value::Text(t)) if t.contains("fd_read fd=0"))
        }
        (Api::Wit(api), f) => api.starts_with("wasi:cli/stdin") && f.contains("stdin"),
        _ => false,
    };
    reads.then(|| {
        format!(
            "the guest reads stdin ({} at {}), but the spec gives no `stdin`: it reads end-of-file \
             at once; give `stdin` in the spec if it needs input",
            call.func,
            format_time(call.at)
        )
    })
}

/// What the guest was doing when its time ran out.
fn blocked(trace: &Trace) -> String {
    if let Some(call) = trace.pending().last() {
        return format!(
            "timed out while blocked in {}{}",
            blocked_call(call),
            waiting_on(call)
        );
    }
    match trace.kept().last() {
        Some(last) => format!(
            "timed out while running wasm code, in no host call (the last one: {} at {})",
            last.func,
            format_time(last.at)
        ),
        None => "timed out while running wasm code, before any host call".into(),
    }
}

fn blocked_call(call: &Call) -> String {
    match &call.api {
        Api::P1 => call.func.to_string(),
        Api::Wit(api) => format!("{api} {}", call.func),
    }
}

static SUBSCRIPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(fd_read|fd_write) fd=(\d+)(?: "([^"]*)")?|clock (\w+) (\d+)ns"#)
        .expect("valid regex")
});

/// ` waiting on fd 0 (<stdin>)` for a poll or a read, else the call's arguments.
fn waiting_on(call: &Call) -> String {
    match (&call.api, &*call.func, call.args.first()) {
        (Api::P1, "poll_oneoff", Some((_, Value::Text(subs)))) => {
            let what: Vec<String> = SUBSCRIPTION
                .captures_iter(subs)
                .map(|c| match (c.get(2), c.get(3), c.get(5)) {
                    (Some(fd), Some(path), _) => format!("fd {} ({})", fd.as_str(), path.as_str()),
                    (Some(fd), None, _) => format!("fd {}", fd.as_str()),
                    (_, _, Some(ns)) => format!("a {} ns clock", ns.as_str()),
                    _ => String::new(),
                })
                .collect();
            format!(" waiting on {}", what.join(" and "))
        }
        (Api::P1, _, Some((_, Value::Fd(fd, path)))) => match path {
            Some(p) => format!(" on fd {fd} ({p})"),
            None => format!(" on fd {fd}"),
        },
        _ => format!(" ({})", call.signature()),
    }
}

static ABSOLUTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[\s'`\x22(:=])(/[A-Za-z0-9._+\-/]+)").expect("valid regex"));
static NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)no such file|not found|enoent|os error (44|76)|capabilities insufficient|cannot open|can't open|could not open|couldn't open|failed to open|unable to open|error opening")
        .expect("valid regex")
});

/// Absolute paths that the guest reports it could not open (in what it wrote
/// to stdout or stderr) while no preopen holds them: wasi-libc fails such an
/// open itself, without a host call, so only the guest's message names them.
fn unresolved_paths(trace: &Trace) -> Vec<String> {
    let mut out = Vec::new();
    for text in stdio_text(trace) {
        for line in text.lines().filter(|l| NOT_FOUND.is_match(l)) {
            for path in ABSOLUTE.captures_iter(line).map(|c| c[1].to_string()) {
                let path = path.trim_end_matches(['.', ':']).to_string();
                if preopen_holding(trace, &path).is_none() && !mentioned(&out, &path) {
                    out.push(format!(
                        "the guest tried to open {path}: no preopened directory holds it \
                         (its message says so; wasi-libc fails such an open without a host \
                         call); {GIVE_DIRS}"
                    ));
                }
            }
        }
    }
    out
}

/// What the kept calls wrote to stdout and to stderr, each joined in order
/// (a message is often written in pieces).
fn stdio_text(trace: &Trace) -> [String; 2] {
    let mut text = [String::new(), String::new()];
    for call in trace.kept().filter(|c| is_stdio_write(c)) {
        if let (Some(Value::Fd(fd, _)), Some(Value::Str(data, _))) =
            (call.arg("fd"), call.arg("data"))
        {
            text[(*fd as usize) - 1].push_str(data);
        }
    }
    text
}

fn mentioned(hints: &[String], path: &str) -> bool {
    hints.iter().any(|h| h.contains(&format!(" {path}:")))
}

fn is_stdio_write(call: &Call) -> bool {
    call.api == Api::P1
        && call.func == "fd_write"
        && matches!(call.arg("fd"), Some(Value::Fd(1 | 2, _)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Given, TraceLimits};

    fn trace(preopens: &[(&str, bool)], stdin: bool) -> Trace {
        let mut t = Trace::new(TraceLimits::default());
        t.given = Given {
            preopens: preopens.iter().map(|(g, r)| (g.to_string(), *r)).collect(),
            stdin,
        };
        t
    }

    fn p1(t: &mut Trace, func: &'static str, args: Vec<(&'static str, Value)>, outcome: Outcome) {
        let seq = t.begin(Call::new(Api::P1, func, args));
        if outcome != Outcome::Pending {
            t.end(seq, outcome, vec![]);
        }
    }

    fn fd(n: u32, path: &str) -> Value {
        Value::Fd(n, Some(path.into()))
    }

    fn open(t: &mut Trace, dir: Value, path: &str, oflags: &str, e: u16) {
        let bits = match oflags {
            "CREAT" => 1,
            "CREAT|TRUNC" => 9,
            _ => 0,
        };
        let args = vec![
            ("fd", dir),
            ("path", Value::string(path, 200)),
            ("oflags", Value::Flags(bits, p1::OFLAGS)),
            ("fdflags", Value::Flags(0, p1::OFLAGS)),
        ];
        p1(t, "path_open", args, Outcome::Errno(e));
    }

    #[test]
    fn absolute_paths_no_preopen_holds() {
        let mut t = trace(&[("/data", false)], false);
        open(
            &mut t,
            fd(3, "/data"),
            "/dev/urandom",
            "0",
            errno::NOTCAPABLE,
        );
        let h = hints(&t, HintContext::default());
        assert_eq!(
            h,
            [
                "the guest tried to open /dev/urandom: no preopened directory holds it; give `root` or `dirs` in the spec"
            ]
        );
    }

    #[test]
    fn missing_files_in_a_preopen() {
        let mut t = trace(&[("/", false)], false);
        open(&mut t, fd(3, "/"), "dev/urandom", "0", errno::NOENT);
        open(&mut t, fd(3, "/"), "new.txt", "CREAT", errno::NOENT);
        open(&mut t, fd(3, "/"), "present", "0", 0);
        let h = hints(&t, HintContext::default());
        assert_eq!(
            h,
            [
                "the guest tried to open /dev/urandom: there is no such file in the directory preopened at /"
            ]
        );
    }

    #[test]
    fn no_preopen_at_all() {
        let mut t = trace(&[], false);
        open(&mut t, Value::Fd(3, None), "x", "0", errno::BADF);
        assert!(hints(&t, HintContext::default())[0].contains("on fd 3, which is not open"));
    }

    #[test]
    fn writes_under_read_only_preopens() {
        let mut t = trace(&[("/data", true)], false);
        open(
            &mut t,
            fd(3, "/data"),
            "out.txt",
            "CREAT|TRUNC",
            errno::NOTCAPABLE,
        );
        open(&mut t, fd(3, "/data"), "in.txt", "0", 0);
        let h = hints(&t, HintContext::default());
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].starts_with("the guest tried to write /data/out.txt (path_open -> ENOTCAPABLE), but /data is preopened read-only"), "{h:?}");
    }

    #[test]
    fn stdin_read_without_stdin() {
        let mut t = trace(&[], false);
        p1(
            &mut t,
            "fd_read",
            vec![("fd", fd(0, "<stdin>"))],
            Outcome::Errno(0),
        );
        assert!(
            hints(&t, HintContext::default())[0].starts_with("the guest reads stdin (fd_read at +")
        );
        let mut given = trace(&[], true);
        p1(
            &mut given,
            "fd_read",
            vec![("fd", fd(0, "<stdin>"))],
            Outcome::Errno(0),
        );
        assert!(hints(&given, HintContext::default()).is_empty());
    }

    #[test]
    fn the_blocking_call_at_a_timeout() {
        let mut t = trace(&[], true);
        let subs = Value::Text("[fd_read fd=0 \"<stdin>\", clock MONOTONIC 5000ns]".into());
        p1(&mut t, "poll_oneoff", vec![("in", subs)], Outcome::Pending);
        let h = hints(&t, HintContext { timed_out: true });
        assert_eq!(
            h,
            [
                "timed out while blocked in poll_oneoff waiting on fd 0 (<stdin>) and a 5000 ns clock"
            ]
        );
        let mut r = trace(&[], true);
        p1(
            &mut r,
            "fd_read",
            vec![("fd", fd(0, "<stdin>"))],
            Outcome::Pending,
        );
        assert_eq!(
            hints(&r, HintContext { timed_out: true }),
            ["timed out while blocked in fd_read on fd 0 (<stdin>)"]
        );
        let mut spin = trace(&[], true);
        p1(
            &mut spin,
            "fd_close",
            vec![("fd", Value::Int(3))],
            Outcome::Errno(0),
        );
        assert!(
            hints(&spin, HintContext { timed_out: true })[0].starts_with(
                "timed out while running wasm code, in no host call (the last one: fd_close"
            )
        );
        assert!(hints(&spin, HintContext::default()).is_empty());
    }

    #[test]
    fn paths_the_guest_could_not_open_without_a_call() {
        let mut t = trace(&[("/data", false)], false);
        let msg = "error: cannot open /dev/urandom: No such file or directory\nopened /data/x: No such file\n";
        p1(
            &mut t,
            "fd_write",
            vec![("fd", fd(2, "<stderr>")), ("data", Value::string(msg, 200))],
            Outcome::Errno(0),
        );
        let h = hints(&t, HintContext::default());
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].starts_with("the guest tried to open /dev/urandom: no preopened directory holds it (its message says so"), "{h:?}");
    }
}
