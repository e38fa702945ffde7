//! Where `wasi-functions.txt` comes from, and the tests that keep it true.
//!
//! The table lists, as `interface@version function` lines, every function of
//! the WASI 0.2/0.3 interfaces the embedded runtime's component linker holds:
//! read from the WIT that wasmtime-wasi 48 and wasmtime-wasi-http 48 ship (in
//! cargo's registry sources), leaving out `@unstable` items (not linked by
//! default) and the interfaces a component exports rather than imports
//! (`wasi:cli/run`, `wasi:http/incoming-handler`, `wasi:http/handler`).
//! `tests/host/wit.rs` checks the table against those files (ignored, with the
//! reason, where cargo's registry does not hold them);
//! `WASI_CONFORM_BLESS=1 cargo test --test host -- wit::` rewrites it.
//!
//! The reader below knows just enough WIT for those files: packages,
//! interfaces, resources (methods, static functions, constructors), functions
//! and feature gates; type definitions are skipped.

use std::path::{Path, PathBuf};

/// Interfaces a component exports (the runtime calls them; it does not link them).
const EXPORTED: &[&str] = &[
    "wasi:cli/run",
    "wasi:http/incoming-handler",
    "wasi:http/handler",
];

/// The WIT files read: (crate, path in the crate).
const SOURCES: &[(&str, &str)] = &[
    ("wasmtime-wasi-48.0.8", "src/p2/wit/deps"),
    ("wasmtime-wasi-48.0.8", "src/p3/wit/deps"),
    ("wasmtime-wasi-http-48.0.8", "wit/deps/http.wit"),
    ("wasmtime-wasi-http-48.0.8", "src/p3/wit/deps/http.wit"),
];

fn tokens(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '-' if chars.peek() == Some(&'>') => {
                chars.next();
                out.push("->".into());
            }
            c if c.is_alphanumeric() || "-_%.".contains(c) => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || "-_%.".contains(n) {
                        word.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(word);
            }
            c if c.is_whitespace() => {}
            c => out.push(c.to_string()),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Block {
    Package,
    Interface(String, bool),
    Resource(String, bool),
    Other,
}

/// The functions of one WIT file's interfaces, as `interface@version function`.
pub fn functions(src: &str) -> Vec<String> {
    let t = tokens(src);
    let mut out = Vec::new();
    let (mut package, mut version) = (String::new(), String::new());
    let mut stack: Vec<Block> = Vec::new();
    let mut gated = false;
    let mut i = 0;
    let at = |i: usize| t.get(i).map(String::as_str).unwrap_or("");
    while i < t.len() {
        let word = at(i);
        let in_gate = gated
            || stack
                .iter()
                .any(|b| matches!(b, Block::Interface(_, true) | Block::Resource(_, true)));
        match word {
            "@" => {
                gated |= at(i + 1) == "unstable";
                i = skip_parens(&t, i + 2);
                continue;
            }
            "package" => {
                package = format!("{}:{}", at(i + 1), at(i + 3));
                version = at(i + 5).to_string();
                if at(i + 6) == "{" {
                    stack.push(Block::Package);
                }
                i += 7;
                gated = false;
                continue;
            }
            "interface" if at(i + 2) == "{" => {
                stack.push(Block::Interface(at(i + 1).into(), gated));
                i += 3;
            }
            "resource" if at(i + 2) == "{" => {
                stack.push(Block::Resource(at(i + 1).into(), gated));
                i += 3;
            }
            "constructor" if at(i + 1) == "(" => {
                if let (Some(iface), Some(res)) = (interface(&stack), resource(&stack))
                    && !in_gate
                {
                    out.push(format!("{package}/{iface}@{version} [constructor]{res}"));
                }
                i = skip_to_semicolon(&t, i);
            }
            "{" => {
                stack.push(Block::Other);
                i += 1;
            }
            "}" => {
                stack.pop();
                i += 1;
            }
            name if at(i + 1) == ":" && is_func(&t, i + 2) => {
                let name = name.trim_start_matches('%');
                if let Some(iface) = interface(&stack)
                    && !in_gate
                {
                    let is_static = at(i + 2) == "static";
                    let func = match resource(&stack) {
                        Some(r) if is_static => format!("[static]{r}.{name}"),
                        Some(r) => format!("[method]{r}.{name}"),
                        None => name.to_string(),
                    };
                    out.push(format!("{package}/{iface}@{version} {func}"));
                }
                i = skip_to_semicolon(&t, i);
            }
            _ => {
                i += 1;
                if word == ";" {
                    gated = false;
                }
                continue;
            }
        }
        gated = false;
    }
    out
}

fn is_func(t: &[String], i: usize) -> bool {
    t[i..]
        .iter()
        .take(3)
        .take_while(|w| matches!(w.as_str(), "static" | "async" | "func"))
        .any(|w| w == "func")
}

fn interface(stack: &[Block]) -> Option<&str> {
    stack.iter().find_map(|b| match b {
        Block::Interface(n, _) => Some(n.as_str()),
        _ => None,
    })
}

fn resource(stack: &[Block]) -> Option<&str> {
    match stack.last() {
        Some(Block::Resource(n, _)) => Some(n),
        _ => None,
    }
}

fn skip_parens(t: &[String], mut i: usize) -> usize {
    if t.get(i).map(String::as_str) != Some("(") {
        return i;
    }
    let mut depth = 0;
    while i < t.len() {
        match t[i].as_str() {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

fn skip_to_semicolon(t: &[String], mut i: usize) -> usize {
    while i < t.len() && t[i] != ";" {
        i += 1;
    }
    i + 1
}

/// Cargo's registry sources: `$CARGO_HOME/registry/src` (`~/.cargo` by default).
fn registry_src() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    Some(home.join("registry/src"))
}

/// The registry's source directory of a crate, if cargo has it.
fn registry_crate(name: &str) -> Option<PathBuf> {
    std::fs::read_dir(registry_src()?)
        .ok()?
        .flatten()
        .map(|d| d.path().join(name))
        .find(|p| p.is_dir())
}

fn wit_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "wit"));
    files.sort();
    files
}

/// The committed table (`src/coverage/wasi-functions.txt`), as compiled in.
pub fn committed_table() -> &'static str {
    super::WIT_FUNCTIONS
}

/// Why the table cannot be read from the crates' WIT.
#[derive(Debug)]
pub enum SourceError {
    /// A crate's sources are not in cargo's registry.
    Missing(String),
    /// A WIT file is there but cannot be read.
    Read(String),
}

/// The table from the crates' WIT.
pub fn table_from_sources() -> Result<String, SourceError> {
    let mut lines = Vec::new();
    for (krate, path) in SOURCES {
        let Some(dir) = registry_crate(krate) else {
            let registry = registry_src().map_or_else(
                || "$CARGO_HOME/registry/src".to_string(),
                |p| p.display().to_string(),
            );
            return Err(SourceError::Missing(format!(
                "the sources of {krate} are not in cargo's registry ({registry}); \
                 a build that downloads them from crates.io puts them there"
            )));
        };
        for file in wit_files(&dir.join(path)) {
            let src = std::fs::read_to_string(&file)
                .map_err(|e| SourceError::Read(format!("{}: {e}", file.display())))?;
            lines.extend(functions(&src));
        }
    }
    lines.retain(|l| !EXPORTED.iter().any(|e| l.starts_with(&format!("{e}@"))));
    lines.dedup();
    Ok(lines.iter().map(|l| format!("{l}\n")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_interfaces_resources_and_gates() {
        let src = r#"
            package wasi:demo@0.2.6;
            /// Docs with a func: in them.
            interface types {
              use other.{x};
              record r { a: u32, b: func-ish }
              resource descriptor {
                constructor(x: u32);
                read: func(len: u64) -> result<list<u8>, error-code>;
                open-at: async func(path: string) -> result<descriptor>;
                from-list: static func(l: list<u8>) -> descriptor;
              }
              @unstable(feature = later)
              hidden: func();
              get: func() -> u32;
              /* block comment: func() */
            }
            @unstable(feature = tz)
            interface timezone { display: func(); }
            world w { import types; }
        "#;
        assert_eq!(
            functions(src),
            [
                "wasi:demo/types@0.2.6 [constructor]descriptor",
                "wasi:demo/types@0.2.6 [method]descriptor.read",
                "wasi:demo/types@0.2.6 [method]descriptor.open-at",
                "wasi:demo/types@0.2.6 [static]descriptor.from-list",
                "wasi:demo/types@0.2.6 get",
            ]
        );
    }

    /// Every function of the table is defined in the runtime's component linker
    /// (defining it again fails).
    #[test]
    fn the_linker_holds_every_function_of_the_table() {
        let engine = wasmtime::Engine::default();
        let mut missing = Vec::new();
        for line in super::super::WIT_FUNCTIONS.lines() {
            let (api, func) = line.split_once(' ').unwrap();
            let mut linker = crate::run::embedded::component::linker(&engine).unwrap();
            let mut inst = linker.instance(api).unwrap();
            let again = inst.func_wrap(func, |_: wasmtime::StoreContextMut<'_, _>, (): ()| Ok(()));
            if again.is_ok() {
                missing.push(line.to_string());
            }
        }
        assert!(missing.is_empty(), "not in the linker: {missing:#?}");
        assert!(super::super::WIT_FUNCTIONS.lines().count() > 200);
    }
}
