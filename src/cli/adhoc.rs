//! Ad-hoc runs of one module, without a spec: `wasi-conform run MODULE --
//! ARGS` prints what the guest printed and exits with its status, as a runtime
//! would (under the same sandbox and limits); `wasi-conform new MODULE -- ARGS`
//! runs it once and writes `NAME.json` beside it with what it observed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use wasi_conform::check::{FailureKind, GuestEnd};
use wasi_conform::harness::{TestOutcome, golden_location};
use wasi_conform::sandbox::Sandbox;
use wasi_conform::spec::{DirMount, ExitExpectation, Operation, Run, Spec, StdinSource, raw};
use wasi_conform::{Harness, HarnessOptions};

/// The exit status of an ad-hoc run whose guest trapped (as a runtime that
/// aborts: 128 + SIGABRT).
const TRAP_STATUS: u8 = 134;
/// Output up to this many bytes of plain text is written inline into a new spec;
/// longer or binary output goes to a golden file.
const INLINE_BYTES: usize = 2048;
/// The most files `new` records from what the guest wrote.
const MAX_RECORDED_FILES: usize = 100;

/// What the guest gets, from the command line.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GuestArgs {
    /// An environment variable for the guest, `K=V` (repeatable; nothing else is set).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Preopen a host directory: `HOST` (as its own name), `HOST::GUEST`, with `:ro`
    /// for read-only (repeatable). Writable ones are copied: the guest's changes
    /// are not written back.
    #[arg(long = "dir", value_name = "HOST[::GUEST][:ro]")]
    pub dirs: Vec<String>,
    /// The guest's stdin: a file's bytes, or `-` for this process's stdin (default: empty).
    #[arg(long = "stdin", value_name = "FILE|-")]
    pub stdin: Option<String>,
    /// Let the guest write into writable --dir directories themselves, as a runtime
    /// would, instead of into temporary copies.
    #[arg(long)]
    pub write_through: bool,
    /// The guest's arguments, after `--` (argv[0] is the module's file name).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

impl GuestArgs {
    /// Whether any of these was given (which makes `run MODULE` an ad-hoc run).
    pub fn given(&self) -> bool {
        !self.env.is_empty()
            || !self.dirs.is_empty()
            || self.stdin.is_some()
            || self.write_through
            || !self.args.is_empty()
    }

    /// The spec of an ad-hoc run of `module`. With `live`, `--stdin -` passes
    /// this process's stdin through as it comes; else it is read first (to be recorded).
    fn spec(&self, module: &Path, live: bool) -> anyhow::Result<Spec> {
        let base = module.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut spec = Spec::default_for(&base);
        let env = self
            .env
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                _ => anyhow::bail!("--env {kv}: expected NAME=VALUE"),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        spec.dirs = self
            .dirs
            .iter()
            .map(|d| {
                let mut mount = parse_dir(d)?;
                mount.in_place = self.write_through;
                Ok(mount)
            })
            .collect::<anyhow::Result<_>>()?;
        let stdin = match self.stdin.as_deref() {
            None => None,
            Some("-") if live => Some(StdinSource::Inherit),
            Some("-") => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(std::io::stdin(), wasi_conform::files::MAX_DATA_BYTES),
                    &mut bytes,
                )
                .context("--stdin -: cannot read this process's stdin")?;
                Some(StdinSource::Text(String::from_utf8(bytes).map_err(
                    |_| {
                        anyhow::anyhow!(
                            "--stdin -: the input is not UTF-8 text; give a file instead"
                        )
                    },
                )?))
            }
            Some(file) => {
                let path = PathBuf::from(file);
                wasi_conform::files::read_regular(&path, wasi_conform::files::MAX_DATA_BYTES)
                    .context("--stdin")?;
                Some(StdinSource::File(path))
            }
        };
        spec.operations = vec![
            Operation::Run(Run {
                args: self.args.clone(),
                env,
                root: None,
                stdin,
            }),
            Operation::Wait(ExitExpectation::Code(0)),
        ];
        Ok(spec)
    }
}

/// `HOST`, `HOST::GUEST`, either with `:ro`.
fn parse_dir(text: &str) -> anyhow::Result<DirMount> {
    let (rest, readonly) = match text.strip_suffix(":ro") {
        Some(r) => (r, true),
        None => (text, false),
    };
    let (host, guest) = match rest.split_once("::") {
        Some((h, g)) => (h.to_string(), g.to_string()),
        None => (rest.to_string(), rest.trim_start_matches("./").to_string()),
    };
    let host_path = PathBuf::from(&host);
    if !host_path.is_dir() {
        anyhow::bail!("--dir {text}: `{host}` is not a directory");
    }
    if guest.is_empty() {
        anyhow::bail!("--dir {text}: the guest path is empty");
    }
    Ok(DirMount {
        host: host_path,
        guest,
        readonly,
        in_place: false,
    })
}

/// Runs the module once on the embedded runtime and returns what happened;
/// `after_run` sees the sandbox before it is removed.
fn run_once(
    options: HarnessOptions,
    module: &Path,
    spec: Spec,
    after_run: Option<&mut dyn FnMut(&Sandbox)>,
) -> anyhow::Result<TestOutcome> {
    if !module.is_file() {
        anyhow::bail!("{}: no such module file", module.display());
    }
    let harness = Harness::new(options)?;
    Ok(harness.run_module(0, module, spec, after_run))
}

/// `wasi-conform run MODULE [--env ..] [--dir ..] [--stdin ..] [-- ARGS]`.
pub fn run(
    mut options: HarnessOptions,
    module: &Path,
    guest: &GuestArgs,
) -> anyhow::Result<ExitCode> {
    let spec = guest.spec(module, true)?;
    // The guest's output is printed as it arrives, like a runtime prints it.
    options.defaults.echo = true;
    let trace = options.trace_all;
    let outcome = run_once(options, module, spec, None)?;
    std::io::stdout().flush()?;
    if trace && let Some(text) = outcome.trace_text() {
        eprint!("{text}");
    }
    for (stream, cut) in [
        ("stdout", outcome.stdout.truncated),
        ("stderr", outcome.stderr.truncated),
    ] {
        if cut {
            eprintln!(
                "wasi-conform: the guest's {stream} was truncated at the output limit (--output-bytes)"
            );
        }
    }
    if let Some(f) = outcome.failures.iter().find(|f| {
        matches!(
            f.kind,
            FailureKind::Module | FailureKind::Setup | FailureKind::Spec
        )
    }) {
        anyhow::bail!("{}", f.message);
    }
    Ok(match &outcome.end {
        Some(GuestEnd::Exited(code)) => ExitCode::from((*code & 0xff) as u8),
        Some(GuestEnd::Trapped(t)) => {
            eprintln!("wasi-conform: the guest trapped: {}", t.message);
            if let Some(bt) = &t.backtrace {
                eprintln!("{bt}");
            }
            ExitCode::from(TRAP_STATUS)
        }
        Some(GuestEnd::Signaled(s)) => ExitCode::from(128u8.saturating_add(*s as u8)),
        Some(GuestEnd::Returned(_)) | None => ExitCode::SUCCESS,
    })
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// The module (`.wasm` or `.wat`); the spec is written beside it as NAME.json.
    #[arg(value_name = "MODULE")]
    module: PathBuf,
    #[command(flatten)]
    guest: GuestArgs,
    /// Overwrite an existing NAME.json.
    #[arg(long)]
    force: bool,
    /// Per-test wall-clock limit in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = wasi_conform::run::DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout: u64,
}

/// A file the guest left different from its fixture.
struct Written {
    guest: String,
    content: Option<Vec<u8>>,
}

/// What the guest changed in its writable directories (bounded).
fn changed_files(sandbox: &Sandbox) -> Vec<Written> {
    let mut out = Vec::new();
    for p in sandbox.preopens().iter().filter(|p| !p.readonly) {
        let walk = walkdir::WalkDir::new(&p.host)
            .follow_links(false)
            .min_depth(1);
        for entry in walk
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
        {
            let Ok(rel) = entry.path().strip_prefix(&p.host) else {
                continue;
            };
            let fixture = p.fixture.join(rel);
            let now = wasi_conform::files::read_regular(
                entry.path(),
                wasi_conform::check::MAX_CHECKED_BYTES,
            );
            let before =
                wasi_conform::files::read_regular(&fixture, wasi_conform::check::MAX_CHECKED_BYTES);
            if let Ok(bytes) = now
                && before.ok().as_ref() != Some(&bytes)
            {
                out.push(Written {
                    guest: guest_path(&p.guest, rel),
                    content: Some(bytes),
                });
            }
        }
        let walk = walkdir::WalkDir::new(&p.fixture)
            .follow_links(false)
            .min_depth(1);
        for entry in walk
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
        {
            let Ok(rel) = entry.path().strip_prefix(&p.fixture) else {
                continue;
            };
            let cleanup = rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().ends_with(".cleanup"));
            if !cleanup && !p.host.join(rel).exists() {
                out.push(Written {
                    guest: guest_path(&p.guest, rel),
                    content: None,
                });
            }
        }
    }
    out.truncate(MAX_RECORDED_FILES);
    out
}

fn guest_path(preopen: &str, rel: &Path) -> String {
    let base = preopen.trim_end_matches('/');
    format!("{base}/{}", rel.display())
}

/// Whether output can be written inline in a spec.
fn inline_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let plain = text
        .chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\t');
    (bytes.len() <= INLINE_BYTES && plain).then_some(text)
}

/// `wasi-conform new MODULE [--env ..] [--dir ..] [--stdin ..] [-- ARGS]`.
pub fn new(args: NewArgs, mut options: HarnessOptions) -> anyhow::Result<ExitCode> {
    let module = &args.module;
    let spec_file = module.with_extension("json");
    if spec_file.exists() && !args.force {
        anyhow::bail!(
            "{} exists; give --force to overwrite it",
            spec_file.display()
        );
    }
    let suite_dir = module
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| ".".into());
    options.defaults.timeout = std::time::Duration::from_millis(args.timeout.max(1));
    options.keep_output = true;
    let spec = args.guest.spec(module, false)?;
    let mut written = Vec::new();
    let mut look = |sb: &Sandbox| written = changed_files(sb);
    let outcome = run_once(options.clone(), module, spec.clone(), Some(&mut look))?;
    if let Some(f) = outcome.failures.iter().find(|f| {
        matches!(
            f.kind,
            FailureKind::Module | FailureKind::Setup | FailureKind::Spec
        )
    }) {
        anyhow::bail!("{}", f.message);
    }
    let mut doc = raw::LegacySpec::default();
    if let Some(Operation::Run(run)) = spec.operations.first() {
        record_run(&mut doc, run, &suite_dir)?;
    }
    record_dirs(&mut doc, &spec.dirs, &suite_dir)?;
    match &outcome.end {
        Some(GuestEnd::Exited(0)) | None => {}
        Some(GuestEnd::Exited(code)) => doc.run.exit_code = Some(*code),
        Some(GuestEnd::Trapped(t)) => {
            doc.extensions.trap = Some(t.message.lines().next().unwrap_or_default().to_string());
        }
        Some(other) => anyhow::bail!("the guest {other}; nothing to record"),
    }
    let golden_dir = || {
        golden_location(options.expected_dir.as_deref(), &suite_dir)
            .map(|(root, sub)| root.join(sub))
            .context("cannot locate the expected/ directory for golden files")
    };
    let goldens = record_streams(&mut doc, &outcome, module, golden_dir)?;
    doc.common.files = written
        .into_iter()
        .map(|w| (w.guest, file_expectation(w.content)))
        .collect();
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    std::fs::write(&spec_file, text)
        .with_context(|| format!("cannot write {}", spec_file.display()))?;
    println!("wrote {}", spec_file.display());
    for g in &goldens {
        println!("wrote {}", g.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Each stream inline when it is short plain text, else into a golden file
/// (under `golden_dir()`); returns the golden files written.
fn record_streams(
    doc: &mut raw::LegacySpec,
    outcome: &TestOutcome,
    module: &Path,
    golden_dir: impl Fn() -> anyhow::Result<PathBuf>,
) -> anyhow::Result<Vec<PathBuf>> {
    let name = module
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut goldens = Vec::new();
    for (key, bytes) in [
        ("stdout", &outcome.stdout.bytes),
        ("stderr", &outcome.stderr.bytes),
    ] {
        let Some(text) = inline_text(bytes) else {
            let path = golden_dir()?.join(format!("{name}.{key}"));
            std::fs::create_dir_all(path.parent().expect("has a parent"))?;
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            goldens.push(path);
            continue;
        };
        let matcher = Some(raw::Matcher::Exact(text.to_string()));
        match key {
            "stdout" => doc.run.stdout = matcher,
            _ => doc.run.stderr = matcher,
        }
    }
    Ok(goldens)
}

/// What a file the guest left must be: absent, its text, or its digest.
fn file_expectation(content: Option<Vec<u8>>) -> raw::FileExpectation {
    match content {
        None => raw::FileExpectation::Absent,
        Some(bytes) => match inline_text(&bytes) {
            Some(text) => raw::FileExpectation::Exact(text.to_string()),
            None => raw::FileExpectation::Check(raw::FileCheck::Sha256(raw::Sha256Hex(
                sha256_hex(&bytes),
            ))),
        },
    }
}

/// The run's `args`, `env` and `stdin`, as a spec writes them.
fn record_run(doc: &mut raw::LegacySpec, run: &Run, suite_dir: &Path) -> anyhow::Result<()> {
    if !run.args.is_empty() {
        doc.run.args = Some(run.args.clone());
    }
    if !run.env.is_empty() {
        doc.run.env = Some(raw::Env(raw::StringMap(run.env.clone())));
    }
    doc.extensions.stdin = match &run.stdin {
        Some(StdinSource::Text(t)) => Some(raw::Stdin::Text(t.clone())),
        Some(StdinSource::File(f)) => Some(raw::Stdin::File(raw::FileRef {
            file: relative_to(f, suite_dir, "--stdin")?,
        })),
        Some(StdinSource::Inherit) | None => None,
    };
    Ok(())
}

/// The preopened directories as `root` and `dirs` (paths inside the suite).
fn record_dirs(
    doc: &mut raw::LegacySpec,
    dirs: &[DirMount],
    suite_dir: &Path,
) -> anyhow::Result<()> {
    for d in dirs {
        let host = relative_to(&d.host, suite_dir, "--dir")?;
        if d.guest == "/" && !d.readonly {
            doc.run.root = Some(host);
        } else if d.guest.starts_with('/') {
            doc.common.dirs.push(raw::Dir::Mount(raw::Mount {
                host,
                guest: d.guest.clone(),
                readonly: d.readonly,
            }));
        } else if d.guest == host && !d.readonly {
            doc.common.dirs.push(raw::Dir::Name(raw::RelPath(host)));
        } else {
            anyhow::bail!(
                "--dir {}::{}: a spec preopens a directory under its own name or at an \
                 absolute guest path; give HOST::/PATH",
                d.host.display(),
                d.guest
            );
        }
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// `path` relative to the suite directory, which a spec requires it to be inside.
fn relative_to(path: &Path, suite_dir: &Path, flag: &str) -> anyhow::Result<String> {
    let abs = path
        .canonicalize()
        .with_context(|| format!("{flag} {}", path.display()))?;
    let base = suite_dir
        .canonicalize()
        .with_context(|| suite_dir.display().to_string())?;
    let rel = abs.strip_prefix(&base).map_err(|_| {
        anyhow::anyhow!(
            "{flag} {}: a spec names only paths inside the module's directory ({}); move it \
             there to record it",
            path.display(),
            suite_dir.display()
        )
    })?;
    let rel = rel.to_string_lossy().into_owned();
    Ok(if rel.is_empty() { ".".into() } else { rel })
}
