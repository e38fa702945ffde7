//! Finding suites and tests on disk.
//!
//! A *suite* is a directory that directly holds test modules (`NAME.wasm` or
//! `NAME.wat`); its spec is `NAME.json` beside the module. Directories named
//! `*.dir` are fixtures, never suites. A suite may hold `manifest.json` with its
//! display name and WASI version. Test names are `SUITE_PATH::NAME`.
//!
//! ```no_run
//! let suites = wasi_conform::discover::discover(&["suites".into()]).unwrap();
//! for suite in &suites {
//!     for test in &suite.tests {
//!         println!("{}", suite.test_name(test));
//!     }
//! }
//! ```

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

/// A WASI version a suite or module targets.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
pub enum WasiVersion {
    #[serde(rename = "wasm32-wasip1")]
    P1,
    #[serde(rename = "wasm32-wasip2")]
    P2,
    #[serde(rename = "wasm32-wasip3")]
    P3,
}

impl WasiVersion {
    /// The manifest spelling, e.g. `wasm32-wasip1`.
    pub fn as_str(self) -> &'static str {
        match self {
            WasiVersion::P1 => "wasm32-wasip1",
            WasiVersion::P2 => "wasm32-wasip2",
            WasiVersion::P3 => "wasm32-wasip3",
        }
    }

    /// Parses the manifest spelling.
    pub fn parse(s: &str) -> Option<WasiVersion> {
        match s {
            "wasm32-wasip1" => Some(WasiVersion::P1),
            "wasm32-wasip2" => Some(WasiVersion::P2),
            "wasm32-wasip3" => Some(WasiVersion::P3),
            _ => None,
        }
    }
}

/// Why discovery failed for a path given by the user.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}: no such file or directory; give a suite directory or a .wasm/.wat module", .0.display())]
    NotFound(PathBuf),
    #[error("{}: not a test module; a test is a .wasm or .wat file", .0.display())]
    NotAModule(PathBuf),
    #[error("{}: cannot read the directory: {source}", path.display())]
    Walk {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
}

/// The contents of a suite's `manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Display name, and the key expectation files use.
    pub name: Option<String>,
    /// Declared WASI version.
    pub version: Option<WasiVersion>,
    /// Wasm proposals every test of the suite needs (a wasi-conform addition).
    pub features: crate::features::FeatureSet,
}

impl Manifest {
    /// Reads `manifest.json` in `dir`, if present. An invalid manifest is an error
    /// message naming the file and key (the suite's tests fail with it).
    pub fn read(dir: &Path) -> Result<Option<Manifest>, String> {
        let file = dir.join("manifest.json");
        let text = match crate::files::read_text(&file, crate::files::MAX_MANIFEST_BYTES) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(format!("cannot read the manifest: {e}")),
        };
        Manifest::parse(&text).map(Some).map_err(|m| {
            m.lines()
                .map(|line| format!("{}: {line}", file.display()))
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    fn parse(text: &str) -> Result<Manifest, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "line {}, column {}: invalid JSON: {e}",
                e.line(),
                e.column()
            )
        })?;
        if !value.is_object() {
            return Err("a manifest is a JSON object: {\"name\": ..., \"version\": ...}".into());
        }
        let file: ManifestFile = crate::spec::shape::parse_value(&value, "")
            .map_err(|problems| crate::spec::problems_text(&problems))?;
        Ok(Manifest {
            name: file.name,
            version: file.version,
            features: file.features.into_iter().collect(),
        })
    }
}

/// A suite's `manifest.json` as written: each key declared once, here.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
struct ManifestFile {
    /// The suite's display name in reports, and the name expectation files use.
    name: Option<String>,
    /// The WASI version of the suite's modules (else detected from each module).
    version: Option<WasiVersion>,
    /// Wasm proposals every test of the suite needs.
    #[serde(default)]
    features: Vec<crate::features::Feature>,
}

/// A directory of tests.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The directory, as a path usable from the working directory.
    pub dir: PathBuf,
    /// SUITE_PATH: relative to the working directory with `/` separators, or as given.
    pub path: String,
    /// The manifest, if the suite has one.
    pub manifest: Option<Manifest>,
    /// Why the manifest is unusable, if it is (the suite's tests fail with this).
    pub manifest_error: Option<String>,
    /// The tests, sorted by name.
    pub tests: Vec<TestCase>,
    /// Files that look like mistakes (a spec no module uses), for the user to see.
    pub warnings: Vec<String>,
}

impl Suite {
    /// The display name: the manifest's `name`, else SUITE_PATH.
    pub fn name(&self) -> &str {
        self.manifest
            .as_ref()
            .and_then(|m| m.name.as_deref())
            .unwrap_or(&self.path)
    }

    /// The declared WASI version, if the manifest gives one.
    pub fn version(&self) -> Option<WasiVersion> {
        self.manifest.as_ref().and_then(|m| m.version)
    }

    /// `SUITE_PATH::NAME`.
    pub fn test_name(&self, test: &TestCase) -> String {
        format!("{}::{}", self.path, test.name)
    }
}

/// One test: a module and, maybe, its spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    /// The module's file name without its extension.
    pub name: String,
    /// The module file.
    pub module: PathBuf,
    /// `NAME.json` beside the module, if it exists.
    pub spec_file: Option<PathBuf>,
    /// A problem found while discovering it (e.g. the module is a FIFO).
    pub problem: Option<String>,
}

/// Whether a file name is a test module.
pub fn is_module(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("wasm") | Some("wat")
    )
}

fn is_fixture_dir(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some("dir")
}

/// Discovers the suites under `paths` (directories, searched recursively, or single
/// modules). Suites come out sorted by path, tests by name.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Suite>, DiscoverError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut suites: Vec<Suite> = Vec::new();
    for given in paths {
        if given.exists() && !given.is_dir() {
            if !is_module(given) {
                return Err(DiscoverError::NotAModule(given.clone()));
            }
            // A bare file name's directory is the working directory.
            let dir = match given.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let name = stem(given);
            let mut suite = new_suite(&dir, &cwd);
            let listing = tests_in(&dir).map_err(|source| DiscoverError::Walk {
                path: dir.clone(),
                source,
            })?;
            suite.tests = listing
                .tests
                .into_iter()
                .filter(|t| t.name == name)
                .collect();
            merge(&mut suites, suite);
        } else if given.is_dir() {
            let walker = walkdir::WalkDir::new(given)
                .follow_links(false)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    !(e.file_type().is_dir() && e.depth() > 0 && is_fixture_dir(e.path()))
                });
            for entry in walker {
                let entry = entry.map_err(|source| DiscoverError::Walk {
                    path: given.clone(),
                    source,
                })?;
                if !entry.file_type().is_dir() {
                    continue;
                }
                let dir = entry.path();
                let listing = tests_in(dir).map_err(|source| DiscoverError::Walk {
                    path: dir.to_path_buf(),
                    source,
                })?;
                if listing.tests.is_empty() {
                    continue;
                }
                let mut suite = new_suite(dir, &cwd);
                suite.tests = listing.tests;
                suite.warnings = listing.warnings;
                merge(&mut suites, suite);
            }
        } else {
            return Err(DiscoverError::NotFound(given.clone()));
        }
    }
    suites.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(suites)
}

fn merge(suites: &mut Vec<Suite>, suite: Suite) {
    match suites.iter_mut().find(|s| s.path == suite.path) {
        Some(existing) => {
            for t in suite.tests {
                if !existing.tests.contains(&t) {
                    existing.tests.push(t);
                }
            }
            existing.tests.sort_by(|a, b| a.name.cmp(&b.name));
        }
        None => suites.push(suite),
    }
}

fn new_suite(dir: &Path, cwd: &Path) -> Suite {
    let (manifest, manifest_error) = match Manifest::read(dir) {
        Ok(m) => (m, None),
        Err(e) => (None, Some(e)),
    };
    Suite {
        dir: dir.to_path_buf(),
        path: suite_path(dir, cwd),
        manifest,
        manifest_error,
        tests: Vec::new(),
        warnings: Vec::new(),
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What a suite directory directly holds: its tests, and warnings about files
/// that look like specs meant for a test but are not used.
struct Listing {
    tests: Vec<TestCase>,
    warnings: Vec<String>,
}

/// The modules directly inside `dir`, as tests. `NAME.wasm` beside `NAME.wat`:
/// the binary is the test and the text its source. A module or spec path that
/// is not a regular file (a FIFO, a device) is a test that fails with that problem.
fn tests_in(dir: &Path) -> Result<Listing, walkdir::Error> {
    let mut modules: Vec<PathBuf> = Vec::new();
    let mut specs: Vec<String> = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
    {
        let entry = entry?;
        let path = entry.path();
        // Symlinks are judged by what they point to; directories are walked as suites.
        if path.is_dir() {
            continue;
        }
        if is_module(path) {
            modules.push(path.to_path_buf());
        } else if path.extension().and_then(|e| e.to_str()) == Some("json")
            && entry.file_name() != "manifest.json"
        {
            specs.push(stem(path));
        }
    }
    let mut tests: Vec<TestCase> = Vec::new();
    for module in modules {
        let name = stem(&module);
        let is_wasm = module.extension().and_then(|e| e.to_str()) == Some("wasm");
        if let Some(prev) = tests.iter_mut().find(|t| t.name == name) {
            // Sorted by file name, `NAME.wasm` comes before `NAME.wat`.
            if is_wasm {
                prev.module = module;
            }
            continue;
        }
        let spec = dir.join(format!("{name}.json"));
        let problem = not_regular(&module)
            .or_else(|| outside(&module, dir))
            .or_else(|| not_regular(&spec).filter(|_| spec.exists()))
            .or_else(|| outside(&spec, dir).filter(|_| spec.exists()));
        tests.push(TestCase {
            name,
            spec_file: spec.exists().then_some(spec),
            module,
            problem,
        });
    }
    let warnings = unused_specs(dir, &tests, &specs);
    Ok(Listing { tests, warnings })
}

/// Why a module or spec is refused when it is a symlink leading out of its
/// suite's directory (a suite must not make the harness read host files).
fn outside(path: &Path, dir: &Path) -> Option<String> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    (is_link && !crate::files::is_inside(path, dir)).then(|| {
        format!(
            "{} is a symlink that leads out of the suite's directory; a test's module \
             and spec live inside it",
            path.display()
        )
    })
}

/// Why a path is not usable as a regular file, if it is not.
fn not_regular(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(m) => Some(format!(
            "{} is {}, not a regular file; a test's module and spec are regular files",
            path.display(),
            crate::files::kind_of(m.file_type())
        )),
        Err(e) => Some(format!("{}: {e}", path.display())),
    }
}

/// Warnings for `NAME.json` files no module uses: most likely a misspelt spec,
/// which would leave its module running with the default spec.
fn unused_specs(dir: &Path, tests: &[TestCase], specs: &[String]) -> Vec<String> {
    let without_spec: Vec<&str> = tests
        .iter()
        .filter(|t| t.spec_file.is_none())
        .map(|t| t.name.as_str())
        .collect();
    specs
        .iter()
        .filter(|s| !tests.iter().any(|t| &t.name == *s))
        .map(|s| {
            let file = dir.join(format!("{s}.json"));
            match crate::spec::did_you_mean(s, &without_spec) {
                Some(m) => format!(
                    "{}: no module {s}.wasm or {s}.wat uses this spec; did you mean it for \
                     `{m}`, which runs with the default spec? (rename it to {m}.json)",
                    file.display()
                ),
                None => format!(
                    "{}: no module {s}.wasm or {s}.wat uses this spec (a spec sits beside its \
                     module, with the same name)",
                    file.display()
                ),
            }
        })
        .collect()
}

/// SUITE_PATH for a suite directory: relative to `cwd` when inside it (however
/// it was typed), else as given; always with `/` separators and without `./`.
/// The working directory itself is named by its directory name, not `.`.
pub fn suite_path(dir: &Path, cwd: &Path) -> String {
    let inside = lexical_normal(&cwd.join(dir));
    let rel = match inside.strip_prefix(lexical_normal(cwd)) {
        Ok(rel) if rel.as_os_str().is_empty() => {
            return cwd
                .file_name()
                .map_or_else(|| ".".into(), |n| n.to_string_lossy().into_owned());
        }
        Ok(rel) => rel,
        Err(_) => dir,
    };
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for c in rel.components() {
        match c {
            Component::RootDir => absolute = true,
            Component::CurDir => {}
            Component::Prefix(p) => parts.push(p.as_os_str().to_string_lossy().into_owned()),
            Component::ParentDir => parts.push("..".into()),
            Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// `path` with `.` and `name/..` removed, without looking at the filesystem.
fn lexical_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn suite_paths() {
        let cwd = Path::new("/work/proj");
        assert_eq!(suite_path(Path::new("suites/a"), cwd), "suites/a");
        assert_eq!(suite_path(Path::new("./suites/a/"), cwd), "suites/a");
        assert_eq!(
            suite_path(Path::new("/work/proj/suites/a"), cwd),
            "suites/a"
        );
        assert_eq!(suite_path(Path::new("/elsewhere/s"), cwd), "/elsewhere/s");
        assert_eq!(suite_path(Path::new("../other/s"), cwd), "../other/s");
        assert_eq!(suite_path(Path::new("../proj/suites/a"), cwd), "suites/a");
        assert_eq!(suite_path(Path::new("."), cwd), "proj");
    }

    #[test]
    fn manifest_errors_name_the_key() {
        assert_eq!(
            Manifest::parse(r#"{"name": "x", "version": "wasm32-wasip3"}"#).unwrap(),
            Manifest {
                name: Some("x".into()),
                version: Some(WasiVersion::P3),
                features: Default::default(),
            }
        );
        assert!(
            Manifest::parse(r#"{"nmae": "x"}"#)
                .unwrap_err()
                .contains("did you mean `name`?")
        );
        assert!(
            Manifest::parse(r#"{"version": "p9"}"#)
                .unwrap_err()
                .contains("unknown version `p9`")
        );
        assert!(Manifest::parse("{").unwrap_err().contains("line 1"));
    }

    #[test]
    fn finds_suites_skips_fixtures_and_flags_duplicates() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("s1/data.dir")).unwrap();
        fs::create_dir_all(root.join("s1/nested")).unwrap();
        fs::write(root.join("s1/a.wasm"), b"").unwrap();
        fs::write(root.join("s1/a.json"), b"{}").unwrap();
        fs::write(root.join("s1/b.wat"), b"").unwrap();
        fs::write(root.join("s1/b.wasm"), b"").unwrap();
        fs::write(root.join("s1/notes.txt"), b"").unwrap();
        fs::write(root.join("s1/data.dir/inner.wasm"), b"").unwrap();
        fs::write(root.join("s1/nested/c.wat"), b"").unwrap();
        fs::write(root.join("s1/manifest.json"), br#"{"name": "First"}"#).unwrap();
        fs::write(root.join("s1/bb.json"), b"{}").unwrap();

        let suites = discover(&[root.join("s1")]).unwrap();
        assert_eq!(suites.len(), 2, "{suites:#?}");
        let s1 = &suites[0];
        assert_eq!(s1.name(), "First");
        let names: Vec<_> = s1.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(s1.tests[0].spec_file.is_some());
        // `b.wasm` beside `b.wat`: the binary is the test, the text its source.
        assert_eq!(s1.tests[1].module, root.join("s1/b.wasm"));
        assert!(s1.tests[1].problem.is_none());
        assert!(suites[1].path.ends_with("s1/nested"));
        // A spec no module uses, one edit away from a module without a spec.
        assert_eq!(s1.warnings.len(), 1, "{:?}", s1.warnings);
        assert!(
            s1.warnings[0].contains("did you mean it for `b`"),
            "{:?}",
            s1.warnings
        );

        let single = discover(&[root.join("s1/a.wasm")]).unwrap();
        assert_eq!(single[0].tests.len(), 1);
        assert!(matches!(
            discover(&[root.join("missing")]),
            Err(DiscoverError::NotFound(_))
        ));
        assert!(matches!(
            discover(&[root.join("s1/notes.txt")]),
            Err(DiscoverError::NotAModule(_))
        ));
    }
}
