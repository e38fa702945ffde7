//! Decoding WASI preview 1 calls: errno, flag and enum names (from the witx of
//! `wasi_snapshot_preview1`), each function's arguments read from its wasm
//! parameters and guest memory (path strings, iovec lengths and data,
//! subscriptions), what it wrote back on success, and the table that maps fds to
//! the paths they were opened from.
//!
//! Everything here reads guest memory defensively: an out-of-bounds pointer
//! decodes as `?`, never a panic.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Value, cut_str};

/// `errno` names, by value (witx order).
pub const ERRNO: [&str; 77] = [
    "success",
    "2big",
    "acces",
    "addrinuse",
    "addrnotavail",
    "afnosupport",
    "again",
    "already",
    "badf",
    "badmsg",
    "busy",
    "canceled",
    "child",
    "connaborted",
    "connrefused",
    "connreset",
    "deadlk",
    "destaddrreq",
    "dom",
    "dquot",
    "exist",
    "fault",
    "fbig",
    "hostunreach",
    "idrm",
    "ilseq",
    "inprogress",
    "intr",
    "inval",
    "io",
    "isconn",
    "isdir",
    "loop",
    "mfile",
    "mlink",
    "msgsize",
    "multihop",
    "nametoolong",
    "netdown",
    "netreset",
    "netunreach",
    "nfile",
    "nobufs",
    "nodev",
    "noent",
    "noexec",
    "nolck",
    "nolink",
    "nomem",
    "nomsg",
    "noprotoopt",
    "nospc",
    "nosys",
    "notconn",
    "notdir",
    "notempty",
    "notrecoverable",
    "notsock",
    "notsup",
    "notty",
    "nxio",
    "overflow",
    "ownerdead",
    "perm",
    "pipe",
    "proto",
    "protonosupport",
    "prototype",
    "range",
    "rofs",
    "spipe",
    "srch",
    "stale",
    "timedout",
    "txtbsy",
    "xdev",
    "notcapable",
];

/// Errno values by name, for hints.
pub mod errno {
    pub const ACCES: u16 = 2;
    pub const BADF: u16 = 8;
    pub const NOENT: u16 = 44;
    pub const NOTDIR: u16 = 54;
    pub const PERM: u16 = 63;
    pub const ROFS: u16 = 69;
    pub const NOTCAPABLE: u16 = 76;
}

/// The witx name of an errno (`noent`), or `errno(N)` for an unknown one.
pub fn errno_name(e: u16) -> &'static str {
    ERRNO.get(usize::from(e)).copied().unwrap_or("unknown")
}

/// An errno as shown in a trace: `ENOENT`.
pub fn errno_display(e: u16) -> String {
    match ERRNO.get(usize::from(e)) {
        Some(name) => format!("E{}", name.to_uppercase()),
        None => format!("errno({e})"),
    }
}

const RIGHTS: &[&str] = &[
    "fd_datasync",
    "fd_read",
    "fd_seek",
    "fd_fdstat_set_flags",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "fd_advise",
    "fd_allocate",
    "path_create_directory",
    "path_create_file",
    "path_link_source",
    "path_link_target",
    "path_open",
    "fd_readdir",
    "path_readlink",
    "path_rename_source",
    "path_rename_target",
    "path_filestat_get",
    "path_filestat_set_size",
    "path_filestat_set_times",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "path_symlink",
    "path_remove_directory",
    "path_unlink_file",
    "poll_fd_readwrite",
    "sock_shutdown",
    "sock_accept",
];
const FDFLAGS: &[&str] = &["append", "dsync", "nonblock", "rsync", "sync"];
const FSTFLAGS: &[&str] = &["atim", "atim_now", "mtim", "mtim_now"];
const LOOKUPFLAGS: &[&str] = &["symlink_follow"];
/// `oflags` bits.
pub const OFLAGS: &[&str] = &["creat", "directory", "excl", "trunc"];
const RIFLAGS: &[&str] = &["recv_peek", "recv_waitall"];
const SDFLAGS: &[&str] = &["rd", "wr"];
const CLOCKID: &[&str] = &[
    "realtime",
    "monotonic",
    "process_cputime_id",
    "thread_cputime_id",
];
const WHENCE: &[&str] = &["set", "cur", "end"];
const ADVICE: &[&str] = &[
    "normal",
    "sequential",
    "random",
    "willneed",
    "dontneed",
    "noreuse",
];
const FILETYPE: &[&str] = &[
    "unknown",
    "block_device",
    "character_device",
    "directory",
    "regular_file",
    "socket_dgram",
    "socket_stream",
    "symbolic_link",
];
const SIGNAL: &[&str] = &[
    "none", "hup", "int", "quit", "ill", "trap", "abrt", "bus", "fpe", "kill", "usr1", "segv",
    "usr2", "pipe", "alrm", "term", "chld", "cont", "stop", "tstp", "ttin", "ttou", "urg", "xcpu",
    "xfsz", "vtalrm", "prof", "winch", "poll", "pwr", "sys",
];
/// Rights of `fd_write`-like access: a `path_open` asking for one of them writes.
pub const WRITE_RIGHTS: u64 = (1 << 0) | (1 << 4) | (1 << 6) | (1 << 8) | (1 << 22) | (1 << 23);
/// The `oflags` bits that create or change a file: `creat`, `trunc`.
pub const WRITE_OFLAGS: u64 = 0b1001;
/// The `fdflags` bit `append`.
pub const APPEND: u64 = 1;

/// Flag names joined by `|` (`0` when none; unknown bits as hex). At most
/// `max` names, then `+N`.
pub fn flags(bits: u64, names: &[&str], max: usize) -> String {
    if bits == 0 {
        return "0".into();
    }
    let set: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1u64 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    let known = if names.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << names.len()) - 1
    };
    let mut out: Vec<String> = set.iter().take(max).map(|n| n.to_uppercase()).collect();
    if set.len() > max {
        out.push(format!("+{}", set.len() - max));
    }
    if bits & !known != 0 {
        out.push(format!("{:#x}", bits & !known));
    }
    out.join("|")
}

pub fn enum_name(v: i64, names: &[&str]) -> String {
    usize::try_from(v)
        .ok()
        .and_then(|i| names.get(i))
        .map_or_else(|| format!("{v}?"), |n| n.to_uppercase())
}

/// Reads `N` bytes of guest memory at `at`.
fn read<const N: usize>(mem: &[u8], at: i64) -> Option<[u8; N]> {
    let start = usize::try_from(at).ok()?;
    mem.get(start..start.checked_add(N)?)?.try_into().ok()
}

pub fn read_u32(mem: &[u8], at: i64) -> Option<u32> {
    read::<4>(mem, at).map(u32::from_le_bytes)
}

pub fn read_u64(mem: &[u8], at: i64) -> Option<u64> {
    read::<8>(mem, at).map(u64::from_le_bytes)
}

/// The bytes at `ptr..ptr+len`, if in bounds.
fn bytes(mem: &[u8], ptr: i64, len: i64) -> Option<&[u8]> {
    let start = usize::try_from(ptr).ok()?;
    let len = usize::try_from(len).ok()?;
    mem.get(start..start.checked_add(len)?)
}

/// A string of guest memory, cut at `max` bytes; `?` when out of bounds.
pub fn string(mem: &[u8], ptr: i64, len: i64, max: usize) -> Value {
    match bytes(mem, ptr, len.min(max as i64 + 4)) {
        Some(b) => {
            let text = String::from_utf8_lossy(b);
            let (kept, cut) = cut_str(&text, max);
            Value::Str(kept.into(), cut || len > b.len() as i64)
        }
        None => Value::Text("?".into()),
    }
}

/// The most bytes of data (what is written or read) shown per call: context,
/// not content (the streams are checked and shown elsewhere).
pub const DATA_BYTES: usize = 64;

/// The most iovecs read from one call (more are counted as `?`).
const MAX_IOVECS: i64 = 1024;

/// The iovecs (or ciovecs) of a call: `(ptr, len)` each.
fn iovecs(mem: &[u8], iovs: i64, n: i64) -> Option<Vec<(i64, i64)>> {
    if !(0..=MAX_IOVECS).contains(&n) {
        return None;
    }
    (0..n)
        .map(|i| {
            let at = iovs + 8 * i;
            Some((
                i64::from(read_u32(mem, at)?),
                i64::from(read_u32(mem, at + 4)?),
            ))
        })
        .collect()
}

/// The total length of a call's iovecs.
fn iov_total(mem: &[u8], iovs: i64, n: i64) -> Value {
    match iovecs(mem, iovs, n) {
        Some(v) => Value::Bytes(v.iter().map(|(_, l)| *l as u64).sum()),
        None => Value::Text("?".into()),
    }
}

/// The first `limit` bytes (at most `max`) of what a call's iovecs hold.
fn iov_data(mem: &[u8], iovs: i64, n: i64, limit: u64, max: usize) -> Value {
    let Some(v) = iovecs(mem, iovs, n) else {
        return Value::Text("?".into());
    };
    let total: u64 = v.iter().map(|(_, l)| *l as u64).sum();
    let mut data = Vec::new();
    let mut left = limit.min(max as u64 + 4) as i64;
    for (ptr, len) in v {
        if left <= 0 {
            break;
        }
        let take = len.min(left);
        data.extend_from_slice(bytes(mem, ptr, take).unwrap_or_default());
        left -= take;
    }
    let text = String::from_utf8_lossy(&data);
    let (kept, cut) = cut_str(&text, max);
    Value::Str(kept.into(), cut || (data.len() as u64) < limit.min(total))
}

/// Fds and the paths they were opened from (and whether read-only).
#[derive(Debug, Clone, Default)]
pub struct FdTable {
    fds: HashMap<u32, (Arc<str>, bool)>,
}

impl FdTable {
    /// Stdio, then the preopens as fds 3, 4, ... in order.
    pub fn new(preopens: &[(String, bool)]) -> FdTable {
        let mut fds = HashMap::new();
        for (fd, name) in ["<stdin>", "<stdout>", "<stderr>"].into_iter().enumerate() {
            fds.insert(fd as u32, (Arc::from(name), false));
        }
        for (i, (guest, ro)) in preopens.iter().enumerate() {
            fds.insert(3 + i as u32, (Arc::from(guest.as_str()), *ro));
        }
        FdTable { fds }
    }

    pub fn path(&self, fd: u32) -> Option<&Arc<str>> {
        self.fds.get(&fd).map(|(p, _)| p)
    }

    pub fn readonly(&self, fd: u32) -> bool {
        self.fds.get(&fd).is_some_and(|(_, ro)| *ro)
    }

    fn value(&self, fd: i64) -> Value {
        let fd = fd as u32;
        Value::Fd(fd, self.path(fd).cloned())
    }

    /// Keeps what a successful call changed: opened, renumbered, closed fds.
    pub fn update(&mut self, func: &str, raw: &[i64], mem: &[u8], max: usize) {
        match func {
            "path_open" => {
                let Some(new) = read_u32(mem, raw[8]) else {
                    return;
                };
                let dir = raw[0] as u32;
                let path = match string(mem, raw[2], raw[3], max) {
                    Value::Str(s, _) => s,
                    _ => return,
                };
                let full = join(self.path(dir).map(|p| &**p), &path);
                let ro = self.readonly(dir);
                self.fds.insert(new, (Arc::from(full), ro));
            }
            "fd_renumber" => {
                if let Some(entry) = self.fds.remove(&(raw[0] as u32)) {
                    self.fds.insert(raw[1] as u32, entry);
                }
            }
            "fd_close" => {
                self.fds.remove(&(raw[0] as u32));
            }
            "sock_accept" => {
                if let Some(new) = read_u32(mem, raw[2]) {
                    self.fds.insert(new, (Arc::from("<socket>"), false));
                }
            }
            _ => {}
        }
    }
}

/// The path a guest means by `path` under directory `dir`: `path` itself when
/// it is absolute, else joined to `dir` (`?` for an fd of unknown origin).
pub fn join(dir: Option<&str>, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let path = path.trim_start_matches("./");
    match dir {
        None => format!("?/{path}"),
        Some(d) if path.is_empty() || path == "." => d.to_string(),
        Some(d) if d.ends_with('/') => format!("{d}{path}"),
        Some(d) => format!("{d}/{path}"),
    }
}

/// How one argument is decoded: its name and the wasm parameters it reads.
#[derive(Clone, Copy)]
enum Arg {
    Fd(&'static str, usize),
    Int(&'static str, usize),
    Len(&'static str, usize),
    Flags(&'static str, usize, &'static [&'static str]),
    Enum(&'static str, usize, &'static [&'static str]),
    /// A string: pointer and length parameters.
    Path(&'static str, usize, usize),
    /// The total length of iovecs: pointer and count.
    IovLen(&'static str, usize, usize),
    /// The start of the data of ciovecs (what is written).
    IovData(&'static str, usize, usize),
    /// `poll_oneoff`'s subscriptions: pointer and count.
    Subs(usize, usize),
}

use Arg::*;

/// The arguments shown for each function.
fn arg_spec(func: &str) -> &'static [Arg] {
    match func {
        "clock_res_get" => &[Enum("id", 0, CLOCKID)],
        "clock_time_get" => &[Enum("id", 0, CLOCKID), Int("precision", 1)],
        "fd_advise" => &[
            Fd("fd", 0),
            Int("offset", 1),
            Len("len", 2),
            Enum("advice", 3, ADVICE),
        ],
        "fd_allocate" => &[Fd("fd", 0), Int("offset", 1), Len("len", 2)],
        "fd_close"
        | "fd_datasync"
        | "fd_sync"
        | "fd_fdstat_get"
        | "fd_filestat_get"
        | "fd_prestat_get"
        | "fd_tell"
        | "fd_prestat_dir_name" => &[Fd("fd", 0)],
        "fd_fdstat_set_flags" => &[Fd("fd", 0), Flags("flags", 1, FDFLAGS)],
        "fd_fdstat_set_rights" => &[
            Fd("fd", 0),
            Flags("rights_base", 1, RIGHTS),
            Flags("rights_inheriting", 2, RIGHTS),
        ],
        "fd_filestat_set_size" => &[Fd("fd", 0), Len("size", 1)],
        "fd_filestat_set_times" => &[
            Fd("fd", 0),
            Int("atim", 1),
            Int("mtim", 2),
            Flags("fst_flags", 3, FSTFLAGS),
        ],
        "fd_pread" => &[Fd("fd", 0), IovLen("len", 1, 2), Int("offset", 3)],
        "fd_pwrite" => &[
            Fd("fd", 0),
            IovData("data", 1, 2),
            IovLen("len", 1, 2),
            Int("offset", 3),
        ],
        "fd_read" => &[Fd("fd", 0), IovLen("len", 1, 2)],
        "fd_write" => &[Fd("fd", 0), IovData("data", 1, 2), IovLen("len", 1, 2)],
        "fd_readdir" => &[Fd("fd", 0), Len("buf_len", 2), Int("cookie", 3)],
        "fd_renumber" => &[Fd("fd", 0), Fd("to", 1)],
        "fd_seek" => &[Fd("fd", 0), Int("offset", 1), Enum("whence", 2, WHENCE)],
        "path_create_directory" | "path_remove_directory" | "path_unlink_file" => {
            &[Fd("fd", 0), Path("path", 1, 2)]
        }
        "path_filestat_get" => &[
            Fd("fd", 0),
            Flags("flags", 1, LOOKUPFLAGS),
            Path("path", 2, 3),
        ],
        "path_filestat_set_times" => &[
            Fd("fd", 0),
            Flags("flags", 1, LOOKUPFLAGS),
            Path("path", 2, 3),
            Int("atim", 4),
            Int("mtim", 5),
            Flags("fst_flags", 6, FSTFLAGS),
        ],
        "path_link" => &[
            Fd("old_fd", 0),
            Flags("old_flags", 1, LOOKUPFLAGS),
            Path("old_path", 2, 3),
            Fd("new_fd", 4),
            Path("new_path", 5, 6),
        ],
        "path_open" => &[
            Fd("fd", 0),
            Flags("dirflags", 1, LOOKUPFLAGS),
            Path("path", 2, 3),
            Flags("oflags", 4, OFLAGS),
            Flags("rights", 5, RIGHTS),
            Flags("fdflags", 7, FDFLAGS),
        ],
        "path_readlink" => &[Fd("fd", 0), Path("path", 1, 2), Len("buf_len", 4)],
        "path_rename" => &[
            Fd("fd", 0),
            Path("old_path", 1, 2),
            Fd("new_fd", 3),
            Path("new_path", 4, 5),
        ],
        "path_symlink" => &[Path("old_path", 0, 1), Fd("fd", 2), Path("new_path", 3, 4)],
        "poll_oneoff" => &[Subs(0, 2)],
        "proc_exit" => &[Int("code", 0)],
        "proc_raise" => &[Enum("sig", 0, SIGNAL)],
        "random_get" => &[Len("len", 1)],
        "sock_accept" => &[Fd("fd", 0), Flags("flags", 1, FDFLAGS)],
        "sock_recv" => &[Fd("fd", 0), IovLen("len", 1, 2), Flags("flags", 3, RIFLAGS)],
        "sock_send" => &[Fd("fd", 0), IovData("data", 1, 2), IovLen("len", 1, 2)],
        "sock_shutdown" => &[Fd("fd", 0), Flags("how", 1, SDFLAGS)],
        _ => &[],
    }
}

/// Decodes a call's arguments from its wasm parameters (`raw`, i32s
/// zero-extended) and guest memory (`None`: not readable, e.g. shared).
pub fn decode_args(
    func: &str,
    raw: &[i64],
    mem: Option<&[u8]>,
    fds: &FdTable,
    max: usize,
) -> Vec<(&'static str, Value)> {
    let mem = mem.unwrap_or_default();
    arg_spec(func)
        .iter()
        .filter(|a| arg_params(a).iter().all(|&i| i < raw.len()))
        .map(|a| decode_arg(*a, raw, mem, fds, max))
        .collect()
}

fn arg_params(a: &Arg) -> Vec<usize> {
    match *a {
        Fd(_, i) | Int(_, i) | Len(_, i) | Flags(_, i, _) | Enum(_, i, _) => vec![i],
        Path(_, p, l) | IovLen(_, p, l) | IovData(_, p, l) | Subs(p, l) => vec![p, l],
    }
}

fn decode_arg(a: Arg, raw: &[i64], mem: &[u8], fds: &FdTable, max: usize) -> (&'static str, Value) {
    match a {
        Fd(n, i) => (n, fds.value(raw[i])),
        Int(n, i) => (n, Value::Int(raw[i])),
        Len(n, i) => (n, Value::Bytes(raw[i] as u64)),
        Flags(n, i, names) => (n, Value::Flags(raw[i] as u64, names)),
        Enum(n, i, names) => (n, Value::Enum(raw[i], names)),
        Path(n, p, l) => (n, string(mem, raw[p], raw[l], max)),
        IovLen(n, p, l) => (n, iov_total(mem, raw[p], raw[l])),
        IovData(n, p, l) => (
            n,
            iov_data(mem, raw[p], raw[l], u64::MAX, max.min(DATA_BYTES)),
        ),
        Subs(p, l) => ("in", subscriptions(mem, raw[p], raw[l], fds)),
    }
}

/// How many subscriptions of a `poll_oneoff` are listed.
const MAX_SUBS_SHOWN: i64 = 8;

/// `[clock MONOTONIC 1000000ns, fd_read fd=0 "<stdin>"]`.
fn subscriptions(mem: &[u8], subs: i64, n: i64, fds: &FdTable) -> Value {
    let mut parts = Vec::new();
    for i in 0..n.clamp(0, MAX_SUBS_SHOWN) {
        parts.push(subscription(mem, subs + 48 * i, fds).unwrap_or_else(|| "?".into()));
    }
    if n > MAX_SUBS_SHOWN {
        parts.push(format!("+{}", n - MAX_SUBS_SHOWN));
    }
    Value::Text(format!("[{}]", parts.join(", ")).into())
}

fn subscription(mem: &[u8], at: i64, fds: &FdTable) -> Option<String> {
    let [tag] = read::<1>(mem, at + 8)?;
    match tag {
        0 => {
            let id = read_u32(mem, at + 16)?;
            let timeout = read_u64(mem, at + 24)?;
            let flags = read::<2>(mem, at + 40).map(u16::from_le_bytes)?;
            let abs = if flags & 1 != 0 { " abstime" } else { "" };
            Some(format!(
                "clock {} {timeout}ns{abs}",
                enum_name(i64::from(id), CLOCKID)
            ))
        }
        1 | 2 => {
            let fd = read_u32(mem, at + 16)?;
            let kind = if tag == 1 { "fd_read" } else { "fd_write" };
            let mut v = String::new();
            fds.value(i64::from(fd)).render(&mut v);
            Some(format!("{kind} fd={v}"))
        }
        other => Some(format!("tag {other}?")),
    }
}

/// The fds a `poll_oneoff` waits to read or write, and whether it waits on a clock.
pub fn poll_targets(mem: &[u8], subs: i64, n: i64) -> Vec<(u8, u32)> {
    (0..n.clamp(0, 64))
        .filter_map(|i| {
            let at = subs + 48 * i;
            let [tag] = read::<1>(mem, at + 8)?;
            Some((tag, read_u32(mem, at + 16).unwrap_or(0)))
        })
        .collect()
}

/// What a successful call wrote back, decoded from guest memory.
pub fn decode_outputs(
    func: &str,
    raw: &[i64],
    mem: &[u8],
    max: usize,
) -> Vec<(&'static str, Value)> {
    let u32_at = |name: &'static str, i: usize| -> Vec<(&'static str, Value)> {
        let v = raw.get(i).and_then(|&p| read_u32(mem, p));
        vec![(
            name,
            v.map_or(Value::Text("?".into()), |v| Value::Int(v.into())),
        )]
    };
    let u64_at = |name: &'static str, i: usize| -> Vec<(&'static str, Value)> {
        let v = raw.get(i).and_then(|&p| read_u64(mem, p));
        vec![(
            name,
            v.map_or(Value::Text("?".into()), |v| Value::Int(v as i64)),
        )]
    };
    match func {
        "args_sizes_get" => [u32_at("argc", 0), u32_at("argv_buf_size", 1)].concat(),
        "environ_sizes_get" => [u32_at("count", 0), u32_at("buf_size", 1)].concat(),
        "clock_res_get" => u64_at("resolution", 1),
        "clock_time_get" => u64_at("time", 2),
        "fd_fdstat_get" => filetype_at(mem, raw[1]),
        "fd_filestat_get" => filestat(mem, raw[1]),
        "path_filestat_get" => filestat(mem, raw[4]),
        // The prestat: a tag, then the directory name's length at offset 4.
        "fd_prestat_get" => {
            let n = read_u32(mem, raw[1] + 4);
            vec![(
                "name_len",
                n.map_or(Value::Text("?".into()), |n| Value::Int(n.into())),
            )]
        }
        "fd_prestat_dir_name" => vec![("name", string(mem, raw[1], raw[2], max))],
        "fd_read" | "fd_pread" => read_outputs(func, raw, mem, max),
        "fd_write" | "fd_pwrite" => u32_at("written", if func == "fd_write" { 3 } else { 4 }),
        "fd_readdir" => u32_at("used", 4),
        "fd_seek" => u64_at("offset", 3),
        "fd_tell" => u64_at("offset", 1),
        "path_open" => u32_at("opened", 8),
        "path_readlink" => readlink(raw, mem, max),
        "poll_oneoff" => u32_at("events", 3),
        "sock_accept" => u32_at("fd", 2),
        "sock_recv" => u32_at("received", 4),
        "sock_send" => u32_at("sent", 4),
        _ => Vec::new(),
    }
}

fn filetype_at(mem: &[u8], ptr: i64) -> Vec<(&'static str, Value)> {
    let ty = read::<1>(mem, ptr).map_or(Value::Text("?".into()), |[t]| {
        Value::Enum(t.into(), FILETYPE)
    });
    vec![("filetype", ty)]
}

fn filestat(mem: &[u8], ptr: i64) -> Vec<(&'static str, Value)> {
    let mut out = filetype_at(mem, ptr + 16);
    if let Some(size) = read_u64(mem, ptr + 32) {
        out.push(("size", Value::Int(size as i64)));
    }
    out
}

fn read_outputs(func: &str, raw: &[i64], mem: &[u8], max: usize) -> Vec<(&'static str, Value)> {
    let out = if func == "fd_read" { 3 } else { 4 };
    let Some(n) = raw.get(out).and_then(|&p| read_u32(mem, p)) else {
        return vec![("read", Value::Text("?".into()))];
    };
    vec![
        ("read", Value::Int(n.into())),
        (
            "data",
            iov_data(mem, raw[1], raw[2], n.into(), max.min(DATA_BYTES)),
        ),
    ]
}

fn readlink(raw: &[i64], mem: &[u8], max: usize) -> Vec<(&'static str, Value)> {
    match read_u32(mem, raw[5]) {
        Some(used) => vec![("target", string(mem, raw[3], used.into(), max))],
        None => vec![("target", Value::Text("?".into()))],
    }
}

/// Whether a call's first argument is a directory fd under which it touches
/// `path` (path-taking calls), with the path's parameters.
pub fn path_params(func: &str) -> Option<(usize, usize, usize)> {
    Some(match func {
        "path_open" | "path_filestat_get" | "path_filestat_set_times" => (0, 2, 3),
        "path_create_directory"
        | "path_remove_directory"
        | "path_unlink_file"
        | "path_readlink"
        | "path_rename" => (0, 1, 2),
        "path_link" => (4, 5, 6),
        "path_symlink" => (2, 3, 4),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem_with(at: usize, bytes: &[u8]) -> Vec<u8> {
        let mut mem = vec![0u8; 256];
        mem[at..at + bytes.len()].copy_from_slice(bytes);
        mem
    }

    fn render(v: &Value) -> String {
        let mut s = String::new();
        v.render(&mut s);
        s
    }

    #[test]
    fn errno_and_flag_names() {
        assert_eq!(errno_name(44), "noent");
        assert_eq!(errno_display(76), "ENOTCAPABLE");
        assert_eq!(errno_display(999), "errno(999)");
        assert_eq!(flags(0b1001, OFLAGS, 6), "CREAT|TRUNC");
        assert_eq!(flags(0, OFLAGS, 6), "0");
        assert_eq!(flags(0x30, OFLAGS, 6), "0x30");
        assert_eq!(flags(u64::MAX >> 34, RIGHTS, 2), "FD_DATASYNC|FD_READ|+28");
        assert_eq!(ERRNO[76], "notcapable");
    }

    #[test]
    fn path_open_shows_the_dir_path_and_the_path() {
        let mem = mem_with(100, b"dev/urandom");
        let fds = FdTable::new(&[("/".into(), false)]);
        let raw = [3, 1, 100, 11, 0, 2, 0, 0, 200];
        let args = decode_args("path_open", &raw, Some(&mem), &fds, 200);
        let text: Vec<String> = args
            .iter()
            .map(|(n, v)| format!("{n}={}", render(v)))
            .collect();
        assert_eq!(
            text,
            [
                "fd=3 \"/\"",
                "dirflags=SYMLINK_FOLLOW",
                "path=\"dev/urandom\"",
                "oflags=0",
                "rights=FD_READ",
                "fdflags=0"
            ]
        );
    }

    #[test]
    fn opened_fds_carry_their_path_until_closed() {
        let mut mem = mem_with(100, b"data/x.txt");
        mem[200..204].copy_from_slice(&7u32.to_le_bytes());
        let mut fds = FdTable::new(&[("/work".into(), true)]);
        fds.update("path_open", &[3, 0, 100, 10, 0, 0, 0, 0, 200], &mem, 200);
        assert_eq!(fds.path(7).map(|p| &**p), Some("/work/data/x.txt"));
        assert!(fds.readonly(7));
        fds.update("fd_renumber", &[7, 9], &mem, 200);
        assert_eq!(fds.path(9).map(|p| &**p), Some("/work/data/x.txt"));
        fds.update("fd_close", &[9], &mem, 200);
        assert_eq!(fds.path(9), None);
    }

    #[test]
    fn iovecs_give_lengths_and_data() {
        let mut mem = mem_with(100, b"hello world");
        // Two iovecs at 0: (100, 5) and (106, 5).
        mem[0..4].copy_from_slice(&100u32.to_le_bytes());
        mem[4..8].copy_from_slice(&5u32.to_le_bytes());
        mem[8..12].copy_from_slice(&106u32.to_le_bytes());
        mem[12..16].copy_from_slice(&5u32.to_le_bytes());
        let fds = FdTable::new(&[]);
        let args = decode_args("fd_write", &[1, 0, 2, 50], Some(&mem), &fds, 200);
        assert_eq!(render(&args[0].1), "1 \"<stdout>\"");
        assert_eq!(render(&args[1].1), "\"helloworld\"");
        assert_eq!(render(&args[2].1), "10 bytes");
        let cut = decode_args("fd_write", &[1, 0, 2, 50], Some(&mem), &fds, 3);
        assert_eq!(render(&cut[1].1), "\"hel…\"");
    }

    #[test]
    fn bad_pointers_decode_as_unknown() {
        let mem = vec![0u8; 16];
        let fds = FdTable::new(&[]);
        let args = decode_args(
            "path_open",
            &[3, 0, 1 << 30, 5, 0, 0, 0, 0, 0],
            Some(&mem),
            &fds,
            200,
        );
        assert_eq!(render(&args[2].1), "?");
        let huge = decode_args("fd_read", &[0, 0, 1 << 20, 0], Some(&mem), &fds, 200);
        assert_eq!(render(&huge[1].1), "?");
        assert!(decode_outputs("path_open", &[0; 9], &[], 200)[0].1 == Value::Text("?".into()));
        assert!(decode_args("path_open", &[3], Some(&mem), &fds, 200).len() == 1);
    }

    #[test]
    fn poll_subscriptions_are_listed() {
        let mut mem = vec![0u8; 256];
        mem[8] = 1; // fd_read
        mem[16..20].copy_from_slice(&0u32.to_le_bytes());
        mem[48 + 8] = 0; // clock
        mem[48 + 16..48 + 20].copy_from_slice(&1u32.to_le_bytes());
        mem[48 + 24..48 + 32].copy_from_slice(&5_000u64.to_le_bytes());
        let fds = FdTable::new(&[]);
        let args = decode_args("poll_oneoff", &[0, 200, 2, 250], Some(&mem), &fds, 200);
        assert_eq!(
            render(&args[0].1),
            "[fd_read fd=0 \"<stdin>\", clock MONOTONIC 5000ns]"
        );
        assert_eq!(poll_targets(&mem, 0, 2), [(1, 0), (0, 1)]);
    }

    #[test]
    fn joins_paths_as_the_guest_means_them() {
        assert_eq!(join(Some("/"), "dev/urandom"), "/dev/urandom");
        assert_eq!(join(Some("/data"), "./x"), "/data/x");
        assert_eq!(join(Some("/data"), "."), "/data");
        assert_eq!(join(None, "x"), "?/x");
        assert_eq!(join(Some("/data"), "/etc/passwd"), "/etc/passwd");
    }
}
