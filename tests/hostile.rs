//! Attacks on the harness itself that need a hostile *suite* or environment
//! built at test time (the guest-level ones are in `suites/hostile/` and
//! `tests/failing-suites/hostile/`): specs reaching host paths, bless writing
//! outside, non-regular and oversized files, failure text that multiplies
//! output, forged CI commands, and one test starving the others of descriptors.
//! Each must end contained: a clear failure of that test, nothing read or
//! written outside the suite and the test's temporary directories, nothing left
//! behind, and the other tests unharmed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{HANG_GUARD, output_within_guard as run_guarded};

const BIN: &str = env!("CARGO_BIN_EXE_wasi-conform");
const EXIT_0: &str = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;
const HELLO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A private temporary directory for the test, also the harness's `TMPDIR`, so
/// that anything left behind is seen.
struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        Scene { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.path())
            .args(args)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("CI")
            .env_remove("WASI_CONFORM_BLESS")
            .env("TMPDIR", self.path().join("tmp"))
            .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        run_guarded(self.command(args))
    }

    /// Nothing is left in the harness's temporary directory.
    fn assert_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(self.path().join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Starts `command` with at most `limit` open files, soft and hard (as `prlimit
/// --nofile=N:N` would, without needing util-linux; never above the hard limit
/// this process has).
fn with_open_files_limit(command: &mut Command, limit: u64) {
    use std::os::unix::process::CommandExt;
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) writes the struct we pass.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) },
        0
    );
    let limit = (limit as libc::rlim_t).min(current.rlim_max);
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit(2) is async-signal-safe, and the closure touches
    // nothing but its copied argument.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

#[test]
fn spec_paths_cannot_reach_the_host() {
    let s = Scene::new();
    s.write("outside/secret.txt", "TOP SECRET CONTENT\n");
    s.write("s/ok.dir/x", "x");
    std::os::unix::fs::symlink("/etc", s.path().join("s/etc-link.dir")).unwrap();
    let cases = [
        ("abs-root", r#"{"root": "/etc"}"#, "key `root`"),
        ("link-root", r#"{"root": "etc-link.dir"}"#, "key `root`"),
        (
            "stdin-proc",
            r#"{"stdin": {"file": "/proc/self/environ"}}"#,
            "key `stdin.file`",
        ),
        (
            "stdin-up",
            r#"{"stdin": {"file": "../outside/secret.txt"}}"#,
            "key `stdin.file`",
        ),
        (
            "golden-shadow",
            r#"{"stdout": {"file": "/etc/shadow"}}"#,
            "key `stdout.file`",
        ),
        (
            "dirs-up",
            r#"{"dirs": [{"host": "../../../..", "guest": "/h"}]}"#,
            "key `dirs[0].host`",
        ),
        (
            "dirs-name-up",
            r#"{"dirs": ["../outside"]}"#,
            "key `dirs[0]`",
        ),
        (
            "files-golden-up",
            r#"{"files": {"/x": {"file": "../outside/secret.txt"}}}"#,
            "key `files./x.file`",
        ),
    ];
    for (name, spec, _) in cases {
        s.write(&format!("s/{name}.wat"), EXIT_0);
        s.write(&format!("s/{name}.json"), spec);
    }
    let out = s.run(&["run", "s"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    for (name, _, key) in cases {
        let section = all
            .split("---- s::")
            .find(|p| p.starts_with(&format!("{name} ----")))
            .unwrap_or_else(|| panic!("{name} did not fail: {all}"));
        assert!(section.contains(key), "{name}: {section}");
        assert!(
            section.contains("outside the suite's directory")
                || section.contains("not a plain directory name"),
            "{name}: {section}"
        );
    }
    assert!(!all.contains("TOP SECRET"), "{all}");
    s.assert_clean();
}

#[test]
fn bless_writes_only_inside_the_suite_and_the_expected_directory() {
    let s = Scene::new();
    s.write("s/hello.wat", HELLO);
    s.write(
        "s/hello.json",
        r#"{"stdout": {"file": "../../outside/x.sh"}}"#,
    );
    s.write("s/abs.wat", HELLO);
    s.write(
        "s/abs.json",
        r#"{"stdout": {"file": "/tmp/wasi-conform-bless-attack.sh"}}"#,
    );
    s.write("s/fine.wat", HELLO);
    let out = s.run(&["run", "s", "--bless"]);
    let all = text(&out);
    assert!(
        !s.path().join("../outside").exists() && !s.path().join("outside").exists(),
        "{all}"
    );
    assert!(
        !Path::new("/tmp/wasi-conform-bless-attack.sh").exists(),
        "{all}"
    );
    assert!(all.contains("outside the suite's directory"), "{all}");
    // The conventional golden file of the well-behaved test lands in expected/.
    assert_eq!(
        std::fs::read_to_string(s.path().join("expected/s/fine.stdout")).unwrap(),
        "hello\n"
    );
    // A suite reached through `..` still files its golden files inside expected/.
    let inner = Scene::new();
    inner.write("proj/Cargo.toml", "");
    inner.write("other/t.wat", HELLO);
    let out = run_guarded({
        let mut c = inner.command(&["run", "../other", "--bless"]);
        c.current_dir(inner.path().join("proj"));
        c
    });
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let golden: Vec<PathBuf> = walk_files(inner.path());
    assert!(
        golden
            .iter()
            .any(|p| p.ends_with("expected/other/t.stdout")),
        "{golden:?}"
    );
    assert!(
        golden
            .iter()
            .all(|p| !p.ends_with("other/t.stdout") || p.to_string_lossy().contains("expected"))
    );
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn non_regular_and_oversized_files_are_refused_not_read() {
    let s = Scene::new();
    // A golden file that is a FIFO: reading it would hang forever.
    s.write("s/fifo.wat", HELLO);
    s.write("s/fifo.json", r#"{"stdout": {"file": "pipe.txt"}}"#);
    let fifo = std::ffi::CString::new(s.path().join("s/pipe.txt").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo in our own temporary directory.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // A spec that is a directory must not silently become the default spec.
    s.write("s/dirspec.wat", EXIT_0);
    std::fs::create_dir(s.path().join("s/dirspec.json")).unwrap();
    // A 2 GiB sparse .wasm and a .wat symlinked to a host file.
    let big = std::fs::File::create(s.path().join("s/huge.wasm")).unwrap();
    big.set_len(2 << 30).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", s.path().join("s/shadowy.wat")).unwrap();
    // A golden file that is /dev/zero, through a symlink inside the suite.
    s.write("s/zero.wat", HELLO);
    s.write("s/zero.json", r#"{"stdout": {"file": "zero.txt"}}"#);
    std::os::unix::fs::symlink("/dev/zero", s.path().join("s/zero.txt")).unwrap();

    let json = s.path().join("r.json");
    let out = s.run(&["run", "s", "--json", json.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let expect = [
        ("fifo", "a FIFO"),
        ("dirspec", "not a regular file"),
        ("huge", "more than the"),
        ("shadowy", "leads out of the suite's directory"),
    ];
    for (name, what) in expect {
        let line = format!("test s::{name}");
        assert!(
            all.lines()
                .any(|l| l.starts_with(&line) && l.ends_with("FAILED")),
            "{name}: {all}"
        );
        assert!(all.contains(what), "{name}: {what}: {all}");
    }
    assert!(all.contains("zero.txt") && all.contains("not"), "{all}");
    assert!(!all.contains("root:x:0:0"), "{all}");
    // The report quotes little.
    assert!(std::fs::metadata(&json).unwrap().len() < 200_000);
    s.assert_clean();
}

#[test]
fn failure_text_stays_small_and_escaped() {
    let s = Scene::new();
    let module = std::fs::read_to_string(root().join("tests/hostile/escape-flood.wat")).unwrap();
    for i in 0..8 {
        s.write(&format!("s/flood{i}.wat"), &module);
        s.write(
            &format!("s/flood{i}.json"),
            r#"{"stdout": "x", "stderr": "y"}"#,
        );
    }
    let json = s.path().join("r.json");
    let junit = s.path().join("r.xml");
    let mut command = s.command(&[
        "run",
        "s",
        "-j",
        "2",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    command.env("GITHUB_ACTIONS", "true");
    command.env("GITHUB_STEP_SUMMARY", s.path().join("summary.md"));
    let out = run_guarded(command);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Bounded: 8 tests, 32 MiB of output each, reported in a few hundred KiB.
    assert!(
        out.stdout.len() < 2 << 20,
        "{} bytes of terminal output",
        out.stdout.len()
    );
    assert!(std::fs::metadata(&json).unwrap().len() < 2 << 20);
    assert!(std::fs::metadata(&junit).unwrap().len() < 2 << 20);
    // No raw escape reaches the terminal, and no forged command stands on its own
    // outside a stop-commands fence.
    assert!(!stdout.contains('\x1b'), "raw ESC in the output");
    let mut fenced: Option<String> = None;
    for line in stdout.lines() {
        match &fenced {
            Some(token) if line == format!("::{token}::") => fenced = None,
            Some(_) => {}
            None => {
                if let Some(token) = line.strip_prefix("::stop-commands::") {
                    fenced = Some(token.to_string());
                } else {
                    assert!(
                        !line.starts_with("::endgroup::") || line == "::endgroup::",
                        "{line}"
                    );
                    assert!(!line.starts_with("::add-mask::"), "forged: {line}");
                    assert!(!line.starts_with("::error::forged"), "forged: {line}");
                }
            }
        }
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        roxmltree::Document::parse(&xml).is_ok(),
        "the JUnit report is valid XML"
    );
}

#[test]
fn a_file_name_cannot_forge_report_lines() {
    let s = Scene::new();
    s.write("s/evil\ntest s::x ... ok.wat", EXIT_0);
    let out = s.run(&["run", "s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("test s::x ... ok")),
        "{stdout}"
    );
    assert!(stdout.contains("evil\\x0atest"), "{stdout}");
}

#[test]
fn one_test_hoarding_descriptors_does_not_starve_the_others() {
    let s = Scene::new();
    s.write("s/fds.dir/file.txt", "fixture\n");
    // Holds 4096 files (more than the share of a 1024-descriptor process).
    std::fs::copy(
        root().join("suites/hostile/fd-exhaustion.wasm"),
        s.path().join("s/hoarder.wasm"),
    )
    .unwrap();
    s.write(
        "s/hoarder.json",
        r#"{"root": "fds.dir", "timeout_ms": 5000, "trap": "open file limit"}"#,
    );
    for i in 0..11 {
        s.write(&format!("s/innocent{i}.wat"), HELLO);
        s.write(
            &format!("s/innocent{i}.json"),
            r#"{"stdout": "hello\n", "root": "fds.dir"}"#,
        );
    }
    let mut command = Command::new(BIN);
    with_open_files_limit(&mut command, 1024);
    command
        .args(["run", "s", "-j", "4"])
        .current_dir(s.path())
        .env("TMPDIR", s.path().join("tmp"))
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .env_remove("GITHUB_ACTIONS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = run_guarded(command);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("12 passed; 0 failed"), "{all}");
    s.assert_clean();
}

#[test]
fn compilation_is_stopped_at_its_time_and_memory_limits() {
    // 16 KB that takes seconds and gigabytes to compile (scripts/compile-locals-bomb.py).
    let s = Scene::new();
    let bomb = root().join("tests/failing-suites/hostile/compile-locals-bomb.wasm");
    std::fs::create_dir(s.path().join("s")).unwrap();
    std::fs::copy(&bomb, s.path().join("s/bomb.wasm")).unwrap();
    let out = s.run(&[
        "run",
        "s",
        "--no-cache",
        "--compile-timeout",
        "1",
        "--compile-memory-bytes",
        "100000000000",
    ]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("compile limit: compiling took longer than 1 s")
            && all.contains("--compile-timeout"),
        "{all}"
    );
    let out = s.run(&[
        "run",
        "s",
        "--no-cache",
        "--compile-memory-bytes",
        "200000000",
    ]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("compile limit: compiling needed more than 190 MiB of memory"),
        "{all}"
    );
    s.assert_clean();
}

/// A component instantiating a core module `copies` times.
fn component_of_instances(module_body: &str, copies: usize) -> String {
    let instances: String = (0..copies)
        .map(|_| " (core instance (instantiate $m))")
        .collect();
    format!("(component (core module $m {module_body}){instances})")
}

#[test]
fn a_store_holds_at_most_200_instances_100_memories_and_200_tables() {
    // Each cap exactly reached is allowed (the component then fails for want
    // of a `wasi:cli/run` export); one more is refused when instantiating.
    let scene = Scene::new();
    for (name, body, copies, refused) in [
        ("i200", "", 200, None),
        ("i201", "", 201, Some("instance count too high at 201")),
        ("m100", "(memory 1)", 100, None),
        (
            "m101",
            "(memory 1)",
            101,
            Some("memory count too high at 101"),
        ),
        ("t200", "(table 1 funcref) (table 1 funcref)", 100, None),
        (
            "t202",
            "(table 1 funcref) (table 1 funcref)",
            101,
            Some("table count too high at 202"),
        ),
    ] {
        let file = format!("{name}.wat");
        scene.write(&file, component_of_instances(body, copies));
        let out = scene.run(&["run", &file, "--"]);
        let all = text(&out);
        match refused {
            Some(message) => assert!(
                all.contains(&format!("resource limit exceeded: {message}")),
                "{name}: {all}"
            ),
            None => assert!(
                !all.contains("resource limit exceeded") && all.contains("wasi:cli/run"),
                "{name}: {all}"
            ),
        }
    }
    scene.assert_clean();
}

/// A run killed in the middle of a test (SIGKILL: nothing of it can clean up)
/// leaves its sandbox behind; the next run removes it, and leaves nothing.
#[test]
fn a_killed_runs_sandboxes_are_removed_by_the_next_run() {
    let s = Scene::new();
    s.write("suite/fixture.dir/keep.txt", "kept\n");
    s.write(
        "suite/sleepy.wat",
        r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const -1))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#,
    );
    s.write(
        "suite/sleepy.json",
        r#"{"root": "fixture.dir", "timeout_ms": 60000}"#,
    );
    let mut killed = s.command(&["run", "suite"]).spawn().unwrap();
    let tmp = s.path().join("tmp");
    let sandbox_made = || {
        walkdir::WalkDir::new(&tmp)
            .into_iter()
            .filter_map(Result::ok)
            .any(|e| e.file_name() == "keep.txt")
    };
    let start = Instant::now();
    while !sandbox_made() {
        assert!(start.elapsed() < HANG_GUARD, "the sandbox never appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(sandbox_made(), "the killed run's sandbox is left behind");

    s.write(
        "suite/sleepy.json",
        r#"{"root": "fixture.dir", "timeout_ms": 1}"#,
    );
    let out = s.run(&["run", "suite"]);
    assert!(!sandbox_made(), "{}", text(&out));
    s.assert_clean();
}

/// A read-only fixture used in place that holds a FIFO: the guest opening it
/// would block its thread until a writer came, so that preopen's calls stay
/// off the test's thread and the timeout stops the guest.
#[test]
fn a_fifo_in_a_read_only_fixture_cannot_hang_the_run() {
    let s = Scene::new();
    std::fs::create_dir_all(s.path().join("s/data.dir")).unwrap();
    let fifo = std::ffi::CString::new(s.path().join("s/data.dir/pipe").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo in our own temporary directory.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    s.write(
        "s/open-fifo.wat",
        r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "pipe")
  (func (export "_start")
    ;; path_open(3, 0, "pipe", oflags 0, rights fd_read, 0, fdflags 0, &fd @16)
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 4)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
    ;; iovec @32 = {buf 64, len 16}; read until something comes
    (i32.store (i32.const 32) (i32.const 64))
    (i32.store (i32.const 36) (i32.const 16))
    (loop $again
      (drop (call $read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 48)))
      (br $again))))"#,
    );
    s.write(
        "s/open-fifo.json",
        r#"{"dirs": [{"host": "data.dir", "guest": "/data", "readonly": true}],
            "timeout_ms": 500, "trap": "timeout"}"#,
    );
    let out = s.run(&["run", "s"]);
    assert!(out.status.success(), "{}", text(&out));
    s.assert_clean();
}
