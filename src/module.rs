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
}

/// Why a module cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("{}: cannot read the module: {source}", file.display())]
    Read {
        file: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
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

impl ModuleInfo {
    /// Reads and inspects a `.wasm` or `.wat` file.
    pub fn read(file: &Path) -> Result<ModuleInfo, ModuleError> {
        let raw = std::fs::read(file).map_err(|source| ModuleError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        let bytes = if raw.starts_with(b"\0asm") {
            raw
        } else {
            wat::parse_bytes(&raw)
                .map_err(|mut e| {
                    e.set_path(file);
                    ModuleError::Wat {
                        file: file.to_path_buf(),
                        message: e.to_string(),
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
        let mut wasi = None;
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            let payload = payload.map_err(|e| e.to_string())?;
            match payload {
                wasmparser::Payload::ImportSection(reader) if kind == ModuleKind::Core => {
                    for imp in reader.into_imports() {
                        let imp = imp.map_err(|e| e.to_string())?;
                        if matches!(imp.module, "wasi_snapshot_preview1" | "wasi_unstable") {
                            wasi = Some(WasiVersion::P1);
                        }
                        imports.push(format!("{}::{}", imp.module, imp.name));
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
        Ok(ModuleInfo {
            bytes,
            kind,
            wasi,
            imports,
        })
    }
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
    }
}
