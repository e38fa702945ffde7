//! Reading a test module: WAT text or binary, core module or component, and the
//! WASI version its imports point to.

use std::path::Path;

use crate::discover::WasiVersion;

/// What kind of binary a module is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    Core,
    Component,
}

/// A module's bytes and what its header and imports say about it.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    /// The binary (WAT text already translated).
    pub bytes: Vec<u8>,
    pub kind: ModuleKind,
    /// The WASI version detected from the imports, if any WASI import is there.
    pub wasi: Option<WasiVersion>,
    /// `module::name` of every core import (empty for components).
    pub imports: Vec<String>,
    /// Whether one of the core imports is a shared memory.
    pub imports_shared_memory: bool,
    /// `(module, name)` of every core function import.
    pub function_imports: Vec<(String, String)>,
    /// An estimate of what compiling it costs: its size, plus
    /// [`LOCAL_COMPILE_COST`] for every local of every function (a local is a
    /// few bytes to declare and a stack slot and initialisation to compile).
    pub compile_cost: u64,
}

/// What a declared local adds to [`ModuleInfo::compile_cost`].
pub const LOCAL_COMPILE_COST: u64 = 64;

/// The functions of WASI preview 1 (`wasi_snapshot_preview1`; `wasi_unstable`
/// has the same names), all of which the embedded runtime provides.
pub const PREVIEW1_FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// Why a module cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("cannot read the module: {0}")]
    Read(#[source] crate::files::FileError),
    #[error("{}: invalid WebAssembly text: {message}", file.display())]
    Wat {
        file: std::path::PathBuf,
        message: String,
    },
    #[error("{}: not a WebAssembly module or component: {message}", file.display())]
    Invalid {
        file: std::path::PathBuf,
        message: String,
    },
}

mod debug_sections;

impl ModuleInfo {
    /// Reads and inspects a `.wasm` or `.wat` file (of a core module, without
    /// the DWARF sections at its end: see [`debug_sections`]).
    /// Reads at most [`crate::files::MAX_MODULE_BYTES`] of binary, or
    /// [`crate::files::MAX_WAT_BYTES`] of text (a `.wat` file).
    pub fn read(file: &Path) -> Result<ModuleInfo, ModuleError> {
        let is_text = file.extension().and_then(|e| e.to_str()) == Some("wat");
        let max = if is_text {
            crate::files::MAX_WAT_BYTES
        } else {
            crate::files::MAX_MODULE_BYTES
        };
        let raw = if is_text {
            crate::files::read_regular(file, max)
        } else {
            debug_sections::read_without_trailing_debug(file, max)
        }
        .map_err(ModuleError::Read)?;
        let bytes = if raw.starts_with(b"\0asm") {
            raw
        } else {
            wat::parse_bytes(&raw)
                .map_err(|mut e| {
                    e.set_path(file);
                    ModuleError::Wat {
                        file: file.to_path_buf(),
                        message: bounded_message(&e.to_string()),
                    }
                })?
                .into_owned()
        };
        ModuleInfo::inspect(bytes).map_err(|message| ModuleError::Invalid {
            file: file.to_path_buf(),
            message,
        })
    }

    /// Inspects a binary.
    pub fn inspect(bytes: Vec<u8>) -> Result<ModuleInfo, String> {
        let kind = if wasmparser::Parser::is_component(&bytes) {
            ModuleKind::Component
        } else if wasmparser::Parser::is_core_wasm(&bytes) {
            ModuleKind::Core
        } else {
            return Err("the file does not start with a WebAssembly header".into());
        };
        let mut imports = Vec::new();
        let mut imports_shared_memory = false;
        let mut function_imports = Vec::new();
        let mut wasi = None;
        let mut locals: u64 = 0;
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            let payload = payload.map_err(|e| e.to_string())?;
            match payload {
                wasmparser::Payload::ImportSection(reader) if kind == ModuleKind::Core => {
                    for imp in reader.into_imports() {
                        let imp = imp.map_err(|e| e.to_string())?;
                        if matches!(imp.module, "wasi_snapshot_preview1" | "wasi_unstable") {
                            wasi = Some(WasiVersion::P1);
                        }
                        if let wasmparser::TypeRef::Memory(m) = imp.ty {
                            imports_shared_memory |= m.shared;
                        }
                        imports.push(format!("{}::{}", imp.module, imp.name));
                        if matches!(imp.ty, wasmparser::TypeRef::Func(_)) {
                            function_imports.push((imp.module.to_string(), imp.name.to_string()));
                        }
                    }
                }
                wasmparser::Payload::CodeSectionEntry(body) => {
                    let reader = body.get_locals_reader().map_err(|e| e.to_string())?;
                    for local in reader {
                        let (count, _) = local.map_err(|e| e.to_string())?;
                        locals = locals.saturating_add(u64::from(count));
                    }
                }
                wasmparser::Payload::ComponentImportSection(reader) => {
                    for imp in reader {
                        let imp = imp.map_err(|e| e.to_string())?;
                        let name = imp.name.name;
                        if name.starts_with("wasi:") {
                            let v = if name.contains("@0.3.") {
                                WasiVersion::P3
                            } else {
                                WasiVersion::P2
                            };
                            wasi = Some(wasi.map_or(v, |w: WasiVersion| w.max(v)));
                        }
                    }
                }
                _ => {}
            }
        }
        let compile_cost =
            (bytes.len() as u64).saturating_add(locals.saturating_mul(LOCAL_COMPILE_COST));
        Ok(ModuleInfo {
            bytes,
            compile_cost,
            kind,
            wasi,
            imports,
            imports_shared_memory,
            function_imports,
        })
    }

    /// Whether a core module is a wasi-threads program: it imports a shared
    /// memory or `wasi`/`thread-spawn` (or the older `thread_spawn`).
    pub fn uses_wasi_threads(&self) -> bool {
        self.kind == ModuleKind::Core
            && (self.imports_shared_memory
                || self
                    .imports
                    .iter()
                    .any(|i| matches!(i.as_str(), "wasi::thread-spawn" | "wasi::thread_spawn")))
    }
}

/// A parser's message, which quotes the offending line, cut to a few lines of
/// bounded length with control characters made visible (a hostile `.wat` file
/// must not flood a report or reach the terminal raw).
fn bounded_message(message: &str) -> String {
    const LINES: usize = 8;
    const LINE_CHARS: usize = 200;
    let mut out: Vec<String> = message
        .lines()
        .take(LINES)
        .map(|line| {
            let visible = crate::check::visible(line);
            match visible.char_indices().nth(LINE_CHARS) {
                Some((cut, _)) => format!("{}... (line cut)", &visible[..cut]),
                None => visible,
            }
        })
        .collect();
    if message.lines().count() > LINES {
        out.push("...".into());
    }
    out.join("\n")
}

impl ModuleInfo {
    /// A core module's function imports that no WASI preview 1 host provides,
    /// grouped by import module: `(module, count, up to 5 names)`. Checked
    /// before compiling, so a module built for another host (a JavaScript ABI,
    /// say) is refused at once. Memories, tables and globals are left to the
    /// linker.
    pub fn foreign_imports(&self) -> Vec<(String, usize, Vec<String>)> {
        let mut groups: Vec<(String, usize, Vec<String>)> = Vec::new();
        for (module, name) in &self.function_imports {
            let wasi = matches!(module.as_str(), "wasi_snapshot_preview1" | "wasi_unstable")
                && PREVIEW1_FUNCTIONS.contains(&name.as_str());
            let threads =
                module == "wasi" && matches!(name.as_str(), "thread-spawn" | "thread_spawn");
            if wasi || threads {
                continue;
            }
            match groups.iter_mut().find(|g| g.0 == *module) {
                Some(g) => {
                    g.1 += 1;
                    if g.2.len() < 5 {
                        g.2.push(name.clone());
                    }
                }
                None => groups.push((module.clone(), 1, vec![name.clone()])),
            }
        }
        groups
    }
}

/// A short list of unknown imports for a message: `env: 3 functions (a, b, c)`.
pub fn describe_foreign(groups: &[(String, usize, Vec<String>)]) -> String {
    groups
        .iter()
        .take(10)
        .map(|(module, count, names)| {
            let more = if *count > names.len() { ", ..." } else { "" };
            let kind = if *count == 1 { "function" } else { "functions" };
            format!(
                "`{}`: {count} {kind} ({}{more})",
                crate::check::visible(module),
                names
                    .iter()
                    .map(|n| crate::check::visible(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_p1_imports() {
        let bytes = wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (memory 1))"#,
        )
        .unwrap();
        let info = ModuleInfo::inspect(bytes).unwrap();
        assert_eq!(info.kind, ModuleKind::Core);
        assert_eq!(info.wasi, Some(WasiVersion::P1));
        assert_eq!(info.imports, ["wasi_snapshot_preview1::proc_exit"]);
    }

    #[test]
    fn detects_wasi_threads_modules() {
        let read = |wat: &str| ModuleInfo::inspect(wat::parse_str(wat).unwrap()).unwrap();
        let spawn =
            read(r#"(module (import "wasi" "thread-spawn" (func (param i32) (result i32))))"#);
        assert!(spawn.uses_wasi_threads());
        let old =
            read(r#"(module (import "wasi" "thread_spawn" (func (param i32) (result i32))))"#);
        assert!(old.uses_wasi_threads());
        let shared = read(r#"(module (import "foo" "bar" (memory 1 1 shared)))"#);
        assert!(shared.imports_shared_memory && shared.uses_wasi_threads());
        let plain = read(r#"(module (import "env" "memory" (memory 1)) (memory 1 1 shared))"#);
        assert!(!plain.uses_wasi_threads());
    }

    #[test]
    fn foreign_imports_are_grouped_and_counted() {
        let bytes = wat::parse_str(
            r#"(module
                 (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                 (import "wasi_snapshot_preview1" "no_such_call" (func))
                 (import "rb-js-abi-host" "a" (func)) (import "rb-js-abi-host" "b" (func))
                 (import "env" "memory" (memory 1)))"#,
        )
        .unwrap();
        let info = ModuleInfo::inspect(bytes).unwrap();
        let foreign = info.foreign_imports();
        assert_eq!(foreign.len(), 2, "{foreign:?}");
        assert_eq!(
            foreign[1],
            (
                "rb-js-abi-host".to_string(),
                2,
                vec!["a".to_string(), "b".to_string()]
            )
        );
        let text = describe_foreign(&foreign);
        assert!(
            text.contains("`rb-js-abi-host`: 2 functions (a, b)"),
            "{text}"
        );
    }

    #[test]
    fn pure_module_has_no_wasi() {
        let info = ModuleInfo::inspect(wat::parse_str("(module)").unwrap()).unwrap();
        assert_eq!(info.wasi, None);
    }

    #[test]
    fn rejects_garbage_and_names_the_file() {
        assert!(ModuleInfo::inspect(b"hello".to_vec()).is_err());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.wat");
        std::fs::write(&f, "(module (func (foo)))").unwrap();
        let e = ModuleInfo::read(&f).unwrap_err().to_string();
        assert!(e.contains("bad.wat"), "{e}");
        // A huge line of control characters is quoted short and visible.
        let mut text = b"(module (func (foo ".to_vec();
        text.extend(std::iter::repeat_n(0x1bu8, 100_000));
        std::fs::write(&f, &text).unwrap();
        let e = ModuleInfo::read(&f).unwrap_err().to_string();
        assert!(e.len() < 4000, "{} bytes", e.len());
        assert!(!e.contains('\x1b'), "{e}");
    }
}
