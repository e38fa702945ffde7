//! Known disagreements of `--differential` (and `fuzz`), accepted with
//! `--accept FILE`: the official expectation file's TOML shape, with
//! `runtimes` and `reason` in each test entry.
//!
//! ```toml
//! version = 1
//!
//! [[suite]]
//! name = "WASI C tests [wasm32-wasip1]"
//!
//! [[suite.test]]
//! name = "fdopendir-with-access"
//! runtimes = ["node"]
//! reason = "node:wasi reports the directory's rights differently"
//! ```
//!
//! A disagreement is accepted when the runtimes that remain, once the listed
//! ones are set aside, all agree. An entry that accepts nothing in a run
//! that compared its test is stale: a warning.
//!
//! ```
//! use wasi_conform::differential::accept::Accepted;
//! let a = Accepted::parse("version = 1\n[[suite]]\nname = \"S\"\n[[suite.test]]\nname = \"t\"\n\
//!     runtimes = [\"node\"]\nreason = \"known\"\n", "a.toml".as_ref()).unwrap();
//! assert!(a.entry("S", "t").is_some());
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why an accept file cannot be used. Names the file and the entry.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("{}: cannot read the accept file: {error}", file.display())]
    Read {
        file: PathBuf,
        error: crate::files::FileError,
    },
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },
}

/// One accepted disagreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The runtimes whose disagreement is accepted, as reports name them
    /// (`embedded` is read as `wasi-conform`).
    pub runtimes: Vec<String>,
    pub reason: String,
    /// The file that says so.
    pub file: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    version: Option<i64>,
    #[serde(default)]
    suite: Vec<SuiteToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteToml {
    name: String,
    #[serde(default)]
    test: Vec<TestToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestToml {
    name: String,
    runtimes: Vec<String>,
    reason: String,
}

/// Accepted disagreements, by suite (manifest name) and test.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    entries: BTreeMap<(String, String), Entry>,
}

impl Accepted {
    /// Reads and merges accept files (later entries for a test replace earlier ones).
    pub fn load(files: &[PathBuf]) -> Result<Accepted, AcceptError> {
        let mut all = Accepted::default();
        for file in files {
            let text =
                crate::files::read_text(file, crate::files::MAX_DATA_BYTES).map_err(|error| {
                    AcceptError::Read {
                        file: file.clone(),
                        error,
                    }
                })?;
            all.entries.extend(Accepted::parse(&text, file)?.entries);
        }
        Ok(all)
    }

    /// Parses one file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Accepted, AcceptError> {
        let invalid = |message: String| AcceptError::Invalid {
            file: file.to_path_buf(),
            message,
        };
        let parsed: FileToml = toml::from_str(text).map_err(|e| {
            invalid(format!(
                "{} (an accept file has version = 1 and [[suite]] tables with name and \
                 [[suite.test]] entries of name, runtimes and reason)",
                e.to_string().trim_end()
            ))
        })?;
        if let Some(v) = parsed.version
            && v != 1
        {
            return Err(invalid(format!(
                "key `version`: unsupported version {v} (only 1 is known)"
            )));
        }
        let mut entries = BTreeMap::new();
        for suite in parsed.suite {
            for t in suite.test {
                let at = format!("suite `{}`, test `{}`", suite.name, t.name);
                if t.runtimes.is_empty() {
                    return Err(invalid(format!(
                        "{at}: key `runtimes`: name at least one runtime whose disagreement is accepted"
                    )));
                }
                if t.reason.trim().is_empty() {
                    return Err(invalid(format!(
                        "{at}: key `reason`: say why the disagreement is accepted"
                    )));
                }
                let runtimes = t.runtimes.iter().map(|r| report_name(r)).collect();
                entries.insert(
                    (suite.name.clone(), t.name),
                    Entry {
                        runtimes,
                        reason: t.reason,
                        file: file.to_path_buf(),
                    },
                );
            }
        }
        Ok(Accepted { entries })
    }

    /// The entry for a test, if any.
    pub fn entry(&self, suite: &str, test: &str) -> Option<&Entry> {
        self.entries.get(&(suite.to_string(), test.to_string()))
    }

    /// Every entry, by (suite, test).
    pub fn entries(&self) -> impl Iterator<Item = (&(String, String), &Entry)> {
        self.entries.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A runtime as reports name it: the embedded runtime's `--runtime` name is
/// `embedded`, its report name `wasi-conform`.
fn report_name(name: &str) -> String {
    if name == "embedded" {
        crate::run::embedded::RUNTIME_NAME.to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_their_errors() {
        let a = Accepted::parse(
            "version = 1\n[[suite]]\nname = \"S\"\n[[suite.test]]\nname = \"t\"\n\
             runtimes = [\"embedded\", \"node\"]\nreason = \"fd numbers\"\n",
            Path::new("a.toml"),
        )
        .unwrap();
        let e = a.entry("S", "t").unwrap();
        assert_eq!(e.runtimes, ["wasi-conform", "node"]);
        assert_eq!(e.reason, "fd numbers");
        assert!(a.entry("S", "u").is_none());
        let bad = |t: &str| {
            Accepted::parse(t, Path::new("a.toml"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            bad(
                "[[suite]]\nname = \"S\"\n[[suite.test]]\nname = \"t\"\nruntimes = []\nreason = \"x\"\n"
            ),
            "a.toml: suite `S`, test `t`: key `runtimes`: name at least one runtime whose \
             disagreement is accepted"
        );
        assert_eq!(
            bad(
                "[[suite]]\nname = \"S\"\n[[suite.test]]\nname = \"t\"\nruntimes = [\"a\"]\nreason = \" \"\n"
            ),
            "a.toml: suite `S`, test `t`: key `reason`: say why the disagreement is accepted"
        );
        assert_eq!(
            bad("version = 2"),
            "a.toml: key `version`: unsupported version 2 (only 1 is known)"
        );
        let e = bad("[[suite]]\nname = \"S\"\n[[suite.test]]\nname = \"t\"\nexpected = \"fail\"\n");
        assert!(
            e.starts_with("a.toml: TOML parse error at line 5, column 1")
                && e.contains(
                    "unknown field `expected`, expected one of `name`, `runtimes`, `reason`"
                ),
            "{e}"
        );
    }
}
