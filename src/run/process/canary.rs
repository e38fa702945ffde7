//! The runtime canary: before an external runtime runs any test of a WASI
//! version, a tiny module is run through the same adapter, with an argument,
//! an environment variable and a preopened directory, all holding one random
//! nonce. It must print them back and exit with its code. A runtime that
//! cannot do that never ran the tests' modules either (a wrong command line,
//! a runtime that cannot load modules of that version, a runner script that
//! fails at start-up): its tests are then reported as errors of the runtime,
//! with the canary's command and output, instead of as conformance failures
//! — or, worse, as passes of the tests that expect the exit code it gave.
//!
//! The core canary is `adapters/canary/canary.wat` (translated here, so its
//! source is all there is); the component canary, for wasip2 and wasip3, is
//! that module wrapped by the preview1 command adapter
//! (`adapters/canary/canary-p2.wasm`, built by `scripts/build-canary.sh`).
//! A component made with that adapter turns any non-zero exit into 1.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use crate::check::{FailureKind, GuestEnd};
use crate::discover::WasiVersion;
use crate::run::{Backend, Execution, Observation, RunDefaults};
use crate::spec::{DirMount, ExitExpectation, Operation, Run, Spec, StreamMatcher};

/// The core module canary's text.
const CORE_WAT: &str = include_str!("../../../adapters/canary/canary.wat");
/// The component canary (wasip2 `wasi:cli/command`).
const COMPONENT: &[u8] = include_bytes!("../../../adapters/canary/canary-p2.wasm");
/// The core canary's exit code.
const CORE_EXIT: i32 = 17;
/// The component canary's exit code (the preview1 adapter's for any non-zero).
const COMPONENT_EXIT: i32 = 1;
/// The variable the canary prints.
const VARIABLE: &str = "WASI_CONFORM_CANARY";
/// What the canary's directory is called inside the guest.
const GUEST_DIR: &str = "/canary";
/// The canary's time limit: generous (a runtime may compile it first), and
/// raised to the runtime's own default timeout when that is longer.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// What stands for the nonce in messages (so that reports compare clean).
const NONCE_SHOWN: &str = "<nonce>";
/// What stands for the canary's directory (its module and fixture) in messages.
const CANARY_SHOWN: &str = "<canary>";

/// The canaries of one runtime: run at most once per WASI version, on first
/// need; every test waits for the one it needs.
#[derive(Default)]
pub(super) struct Canaries {
    results: Mutex<HashMap<String, Arc<Outcome>>>,
}

/// A canary's result, once it has run: `Err` says why the runtime failed it;
/// `Ok` may hold a warning (what it gave did not all reach the module).
type Outcome = OnceLock<Result<Option<String>, String>>;

impl Canaries {
    /// Whether `backend`'s runtime ran the canary of `version`
    /// (`wasm32-wasip1`, ...); `Err` says why not, for every test that needed it.
    pub(super) fn check(&self, backend: &dyn Backend, version: &str) -> Result<(), String> {
        let cell = {
            let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(results.entry(version.to_string()).or_default())
        };
        cell.get_or_init(|| run(backend, version))
            .clone()
            .map(|_| ())
    }

    /// What the canaries that ran found wrong without failing: an argument,
    /// the variable or the directory that did not reach the module.
    pub(super) fn warnings(&self) -> Vec<String> {
        let results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<String> = results
            .values()
            .filter_map(|cell| cell.get().cloned())
            .filter_map(|r| r.ok().flatten())
            .collect();
        out.sort();
        out
    }
}

/// The canary module for a WASI version: its bytes, file name and exit code.
fn module_for(version: &str) -> Result<(Vec<u8>, &'static str, i32), String> {
    if version == WasiVersion::P1.as_str() {
        let bytes = wat::parse_str(CORE_WAT)
            .map_err(|e| format!("the built-in core canary does not translate (a bug): {e}"))?;
        Ok((bytes, "canary.wasm", CORE_EXIT))
    } else {
        Ok((COMPONENT.to_vec(), "canary-component.wasm", COMPONENT_EXIT))
    }
}

/// A fresh nonce: 16 hex digits, never the same twice in a process.
fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut h = blake3::Hasher::new();
    h.update(&std::process::id().to_le_bytes());
    h.update(&COUNT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.update(&now.as_nanos().to_le_bytes());
    h.finalize().to_hex()[..16].to_string()
}

/// Runs the canary of `version` on `backend` (on a thread of its own, with its
/// own async runtime: the caller may be inside a test's).
fn run(backend: &dyn Backend, version: &str) -> Result<Option<String>, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| run_here(backend, version))
            .join()
            .unwrap_or_else(|_| Err("the canary's thread panicked (a bug in wasi-conform)".into()))
    })
}

/// `message` with the canary's own files and nonce replaced (`<canary>`,
/// `<nonce>`), so that reports compare clean from run to run.
fn hide(message: &str, dir: &Path, nonce: &str) -> String {
    message
        .replace(&dir.display().to_string(), CANARY_SHOWN)
        .replace(nonce, NONCE_SHOWN)
}

/// What a canary run gives the module: an adapter that cannot pass an
/// environment or a directory gets a canary without them.
#[derive(Debug, Clone, Copy)]
struct Given {
    env: bool,
    dir: bool,
}

/// The canaries tried, most complete first.
const VARIANTS: [Given; 3] = [
    Given {
        env: true,
        dir: true,
    },
    Given {
        env: true,
        dir: false,
    },
    Given {
        env: false,
        dir: false,
    },
];

fn run_here(backend: &dyn Backend, version: &str) -> Result<Option<String>, String> {
    let (bytes, file_name, code) = module_for(version)?;
    let setup = |e: std::io::Error| format!("cannot prepare the canary's files: {e}");
    let dir = tempfile::Builder::new()
        .prefix("wasi-conform-canary-")
        .tempdir_in(crate::sandbox::temp_root())
        .map_err(setup)?;
    let module = dir.path().join(file_name);
    std::fs::write(&module, &bytes).map_err(setup)?;
    let fixture = dir.path().join("canary.dir");
    std::fs::create_dir(&fixture).map_err(setup)?;
    let nonce = nonce();
    std::fs::write(fixture.join("nonce.txt"), &nonce).map_err(setup)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start an async runtime for the canary: {e}"))?;
    let defaults = RunDefaults {
        timeout: TIMEOUT,
        ..RunDefaults::default()
    };
    let wasi = WasiVersion::parse(version);
    let mut skipped = Vec::new();
    for given in VARIANTS {
        let spec = spec(dir.path(), &fixture, &nonce, code, given);
        let expected = expected_stdout(&nonce, given);
        let execution = rt.block_on(crate::run::execute(
            backend, &defaults, &module, wasi, &spec,
        ));
        let obs = match execution {
            Execution::Ran(obs) => obs,
            Execution::Skipped(reason) => {
                skipped.push(reason);
                continue;
            }
        };
        let _ = expected;
        if let Some(missing) = ran(&obs, code, &nonce, given) {
            let info = backend.info();
            return Ok((!missing.is_empty()).then(|| {
                format!(
                    "runtime {} {}: its {version} canary ran, but {} did not reach the module: \
                     tests that need them fail on it",
                    info.name,
                    info.version,
                    missing.join(" and ")
                )
            }));
        }
        let shown = expected_stdout(NONCE_SHOWN, given);
        let message = failure(
            backend,
            version,
            code,
            &shown,
            &got(&obs),
            obs.command.as_deref(),
        );
        return Err(hide(&message, dir.path(), &nonce));
    }
    Err(failure(
        backend,
        version,
        code,
        &expected_stdout(NONCE_SHOWN, VARIANTS[2]),
        &format!("the adapter cannot run it: {}", skipped.join("; ")),
        None,
    ))
}

/// The canary's spec: the nonce as argv[1], and, as `given` says, in the
/// variable and in `nonce.txt` of the directory preopened as `/canary`.
fn spec(base: &Path, fixture: &Path, nonce: &str, code: i32, given: Given) -> Spec {
    let mut spec = Spec::default_for(base);
    let env = if given.env {
        vec![(VARIABLE.to_string(), nonce.to_string())]
    } else {
        Vec::new()
    };
    spec.operations = vec![
        Operation::Run(Run {
            args: vec![nonce.to_string()],
            env,
            root: None,
            stdin: None,
        }),
        Operation::Wait(ExitExpectation::Code(code)),
    ];
    if given.dir {
        spec.dirs = vec![DirMount {
            host: fixture.to_path_buf(),
            guest: GUEST_DIR.into(),
            readonly: false,
            in_place: false,
        }];
    }
    spec.stdout = Some(StreamMatcher::Exact(expected_stdout(nonce, given)));
    spec
}

/// What the canary prints when what it was given reached it.
fn expected_stdout(nonce: &str, given: Given) -> String {
    let or_dash = |yes: bool| if yes { nonce } else { "-" };
    format!(
        "wasi-conform canary: arg={nonce} env={} file={}\n",
        or_dash(given.env),
        or_dash(given.dir)
    )
}

/// Whether the canary ran: it exited with `code` and printed its one line,
/// in which at least one of what it was given carries this run's nonce (so
/// the line is this run's). `Some` lists what it was given but did not get.
fn ran(obs: &Observation, code: i32, nonce: &str, given: Given) -> Option<Vec<&'static str>> {
    if obs.end != Some(GuestEnd::Exited(code)) {
        return None;
    }
    let line = std::str::from_utf8(&obs.stdout).ok()?;
    let rest = line
        .strip_suffix('\n')?
        .strip_prefix("wasi-conform canary: ")?;
    let mut fields = rest.split(' ');
    let got: Vec<Option<&str>> = ["arg=", "env=", "file="]
        .iter()
        .map(|key| fields.next().and_then(|f| f.strip_prefix(key)))
        .collect();
    if fields.next().is_some() || got.iter().any(Option::is_none) {
        return None;
    }
    let reached: Vec<bool> = got.iter().map(|g| *g == Some(nonce)).collect();
    if !reached.iter().any(|r| *r) {
        return None;
    }
    let expected = [
        (true, "the argument"),
        (given.env, "the variable WASI_CONFORM_CANARY"),
        (given.dir, "the preopened directory"),
    ];
    Some(
        expected
            .iter()
            .zip(&reached)
            .filter(|((wanted, _), reached)| *wanted && !**reached)
            .map(|((_, what), _)| *what)
            .collect(),
    )
}

/// What the canary did, for the message: what kept it from running, how it
/// ended and what it printed.
fn got(obs: &Observation) -> String {
    let mut out = String::new();
    for f in obs
        .failures
        .iter()
        .filter(|f| !matches!(f.kind, FailureKind::Exit | FailureKind::Stream))
    {
        out.push_str(&format!("{}\n", f.message));
    }
    match &obs.end {
        Some(end) => out.push_str(&format!("it {end}")),
        None => out.push_str("it did not run"),
    }
    for (name, bytes) in [("stdout", &obs.stdout), ("stderr", &obs.stderr)] {
        if bytes.is_empty() {
            out.push_str(&format!("; {name}: (empty)"));
        } else {
            out.push_str(&format!(
                "; {name}:\n{}",
                crate::check::excerpt_block(bytes, "    ")
            ));
        }
    }
    out
}

/// The message every test of the runtime carries when its canary failed.
fn failure(
    backend: &dyn Backend,
    version: &str,
    code: i32,
    expected: &str,
    got: &str,
    command: Option<&[String]>,
) -> String {
    let info = backend.info();
    let command = command.map_or_else(
        || "(none: the runtime was not started)".to_string(),
        |argv| {
            argv.iter()
                .map(|w| crate::text::shell_word(w))
                .collect::<Vec<_>>()
                .join(" ")
        },
    );
    format!(
        "runtime {} {} failed its canary, so it did not run this test: a {version} module that \
         prints its argument, the variable {VARIABLE} and the file nonce.txt of the directory \
         preopened at {GUEST_DIR} (each set to one nonce, as far as the adapter passes them), \
         then exits with code {code}, run through the same adapter as every test, did not do \
         so.\n\
         command: {command}\n\
         expected: exit code {code} and stdout {expected:?}\n\
         got: {got}\n\
         Every test of this runtime for {version} is reported as an error (not a failure, never \
         a pass). Check that the runtime runs {version} modules, and its adapter's command line \
         (docs/adapters.md).",
        info.name, info.version,
    )
}
