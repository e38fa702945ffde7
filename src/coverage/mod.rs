//! Coverage of the WASI API by test suites: for every function of
//! `wasi_snapshot_preview1` and of the WASI 0.2/0.3 interfaces the embedded
//! runtime links, per suite and in total, how many modules import it (static,
//! from the binaries) and how many calls the suite made with which results
//! (dynamic, from the traces of a run: which errno values or error variants
//! were ever returned, so error paths show as covered or not).
//!
//! ```
//! use wasi_conform::coverage::Coverage;
//! let mut c = Coverage::new();
//! let wat = r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (memory 1))"#;
//! c.add_module("suite", &wat::parse_str(wat).unwrap());
//! let row = c.row("wasi_snapshot_preview1", "fd_write").unwrap();
//! assert_eq!(row.total().importers, 1);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::trace::Stats;

mod render;
// Public for the project's own tests (`tests/host/wit.rs`), not an API.
#[doc(hidden)]
pub mod wit;

/// The preview 1 API's name.
pub const P1: &str = "wasi_snapshot_preview1";

/// The functions of the WASI 0.2/0.3 interfaces the embedded runtime links,
/// as `interface@version function` lines, generated from wasmtime-wasi 48's
/// and wasmtime-wasi-http 48's WIT (see `wit.rs`; a test checks it against
/// those files and against the linker).
const WIT_FUNCTIONS: &str = include_str!("wasi-functions.txt");

/// An API name as reports group it: `wasi:filesystem/types@0.2` for
/// `wasi:filesystem/types@0.2.3` (or `@0.3.0-rc-...`), others unchanged.
pub fn api_key(name: &str) -> String {
    let Some((iface, version)) = name.split_once('@') else {
        return name.to_string();
    };
    let mut parts = version.split(['.', '-']);
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{iface}@{major}.{minor}"),
        _ => name.to_string(),
    }
}

/// A function name as reports show it: async markers dropped
/// (`[async method]r.f` → `[method]r.f`, `[async]f` → `f`).
pub fn func_key(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("[async]") {
        return rest.to_string();
    }
    name.replacen("[async ", "[", 1)
}

/// The functions the runtime links: `(api key, function)` in the table's order
/// (preview 1 first).
pub fn linked_functions() -> Vec<(String, String)> {
    let p1 = crate::module::PREVIEW1_FUNCTIONS
        .iter()
        .map(|f| (P1.to_string(), f.to_string()));
    let wit = WIT_FUNCTIONS.lines().filter_map(|l| {
        let (api, func) = l.trim().split_once(' ')?;
        Some((api_key(api), func_key(func)))
    });
    p1.chain(wit).collect()
}

/// One function's numbers in one suite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    /// Modules importing it.
    pub importers: usize,
    /// Calls made while the suite ran.
    pub calls: u64,
    /// Results of those calls by class (errno name, `ok`, `err(variant)`, ...).
    pub results: BTreeMap<String, u64>,
}

impl Cell {
    fn add(&mut self, other: &Cell) {
        self.importers += other.importers;
        self.calls += other.calls;
        for (k, n) in &other.results {
            *self.results.entry(k.clone()).or_insert(0) += n;
        }
    }
}

/// One function across suites.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// Whether the runtime links it (else it was only seen in a module or a trace).
    pub linked: bool,
    /// By suite name.
    pub suites: BTreeMap<String, Cell>,
}

impl Row {
    /// All suites together.
    pub fn total(&self) -> Cell {
        let mut t = Cell::default();
        for c in self.suites.values() {
            t.add(c);
        }
        t
    }
}

/// A suite's counts of modules and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuiteInfo {
    pub modules: usize,
    /// Tests run (with a trace) for the dynamic counts.
    pub traced: usize,
    /// Tests run on which the trace was not available.
    pub untraced: usize,
}

/// The coverage of some suites.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// By (API key, function).
    rows: BTreeMap<(String, String), Row>,
    /// The linked functions' order.
    order: Vec<(String, String)>,
    /// Suites by name, in the order added.
    pub suites: Vec<(String, SuiteInfo)>,
}

impl Coverage {
    /// Every linked function, with no counts yet.
    pub fn new() -> Coverage {
        let order = linked_functions();
        let rows = order
            .iter()
            .map(|k| {
                let row = Row {
                    linked: true,
                    suites: BTreeMap::new(),
                };
                (k.clone(), row)
            })
            .collect();
        Coverage {
            rows,
            order,
            suites: Vec::new(),
        }
    }

    fn suite(&mut self, suite: &str) -> &mut SuiteInfo {
        if let Some(i) = self.suites.iter().position(|(n, _)| n == suite) {
            return &mut self.suites[i].1;
        }
        self.suites.push((suite.to_string(), SuiteInfo::default()));
        &mut self.suites.last_mut().expect("just pushed").1
    }

    fn cell(&mut self, api: String, func: String, suite: &str) -> &mut Cell {
        let row = self.rows.entry((api, func)).or_default();
        row.suites.entry(suite.to_string()).or_default()
    }

    /// Counts a module's WASI imports (each function once per module).
    pub fn add_module(&mut self, suite: &str, bytes: &[u8]) {
        self.suite(suite).modules += 1;
        for (api, func) in wasi_imports(bytes) {
            self.cell(api, func, suite).importers += 1;
        }
    }

    /// Adds a test's per-function call counts (`None`: the test ran without a trace).
    pub fn add_stats(&mut self, suite: &str, stats: Option<&Stats>) {
        let info = self.suite(suite);
        let Some(stats) = stats else {
            info.untraced += 1;
            return;
        };
        info.traced += 1;
        for ((api, func), s) in stats {
            let cell = self.cell(api_key(api), func_key(func), suite);
            cell.calls += s.calls;
            for (k, n) in &s.results {
                *cell.results.entry(k.clone()).or_insert(0) += n;
            }
        }
    }

    /// The row of one function, if known.
    pub fn row(&self, api: &str, func: &str) -> Option<&Row> {
        self.rows.get(&(api.to_string(), func.to_string()))
    }

    /// Rows in order: linked functions in the table's order (preview 1 first),
    /// then any other function seen, sorted.
    pub fn rows(&self) -> Vec<(&(String, String), &Row)> {
        let linked: BTreeSet<&(String, String)> = self.order.iter().collect();
        let mut out: Vec<(&(String, String), &Row)> = self
            .order
            .iter()
            .filter_map(|k| self.rows.get_key_value(k))
            .collect();
        out.extend(self.rows.iter().filter(|(k, _)| !linked.contains(k)));
        out
    }

    /// The APIs with rows, in row order.
    pub fn apis(&self) -> Vec<String> {
        let mut apis: Vec<String> = Vec::new();
        for ((api, _), _) in self.rows() {
            if apis.last() != Some(api) && !apis.contains(api) {
                apis.push(api.clone());
            }
        }
        apis
    }
}

/// The WASI functions a module imports, as `(API key, function)`, each once:
/// preview 1 (and `wasi_unstable`) imports of a core module; the functions of
/// every `wasi:` instance a component imports.
pub fn wasi_imports(bytes: &[u8]) -> BTreeSet<(String, String)> {
    if wasmparser::Parser::is_component(bytes) {
        return component_imports(bytes);
    }
    let Ok(info) = crate::module::ModuleInfo::inspect(bytes.to_vec()) else {
        return BTreeSet::new();
    };
    info.function_imports
        .into_iter()
        .filter(|(m, _)| matches!(m.as_str(), "wasi_snapshot_preview1" | "wasi_unstable"))
        .collect()
}

/// The functions of a component's imported `wasi:` instances (from its
/// validated types; none when it does not validate).
fn component_imports(bytes: &[u8]) -> BTreeSet<(String, String)> {
    use wasmparser::component_types::ComponentEntityType;
    let mut out = BTreeSet::new();
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    let Ok(types) = validator.validate_all(bytes) else {
        return out;
    };
    for name in outer_import_names(bytes) {
        let Some(item) = types.component_item_for_import(&name) else {
            continue;
        };
        let ComponentEntityType::Instance(id) = item.ty else {
            continue;
        };
        for (export, e) in &types[id].exports {
            if matches!(e.ty, ComponentEntityType::Func(_)) {
                out.insert((api_key(&name), func_key(export)));
            }
        }
    }
    out
}

/// The names of the outer component's `wasi:` imports (not nested ones').
fn outer_import_names(bytes: &[u8]) -> Vec<String> {
    let mut depth = 0usize;
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(wasmparser::Payload::Version { .. }) => depth += 1,
            Ok(wasmparser::Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(wasmparser::Payload::ComponentImportSection(reader)) if depth == 1 => {
                names.extend(
                    reader
                        .into_iter()
                        .flatten()
                        .map(|i| i.name.name.to_string())
                        .filter(|n| n.starts_with("wasi:")),
                );
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    names
}
