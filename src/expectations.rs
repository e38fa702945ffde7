//! Expectation files in the official runner's TOML format: per suite (by manifest
//! name) and test, `action = "skip"` and/or `expected = "fail"`.
//!
//! ```
//! use wasi_conform::expectations::{Expectations, Expected};
//! let e = Expectations::parse(r#"
//! version = 1
//! [[suite]]
//! name = "WASI C tests [wasm32-wasip1]"
//! [[suite.test]]
//! name = "lseek"
//! expected = "fail"
//! "#, "x.toml".as_ref()).unwrap();
//! assert_eq!(e.lookup("WASI C tests [wasm32-wasip1]", "lseek").expected, Expected::Fail);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::discover::Suite;

/// Why an expectation file cannot be used. Names the file.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    #[error("{}: cannot read the expectation file: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },
}

/// What a run expects of a test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectation {
    /// Do not run it; the reason is reported.
    pub skip: Option<String>,
    pub expected: Expected,
}

/// Whether a test is expected to pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Expected {
    #[default]
    Pass,
    Fail,
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
    action: Option<String>,
    expected: Option<String>,
    /// A wasi-conform addition: why the test is skipped or expected to fail.
    reason: Option<String>,
}

/// One or more expectation files, merged (later files override earlier ones).
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// Suite name → test name → (expectation, the file that said it).
    entries: BTreeMap<String, BTreeMap<String, (Expectation, PathBuf)>>,
}

impl Expectations {
    /// Reads and merges the given files.
    pub fn load(files: &[PathBuf]) -> Result<Expectations, ExpectationsError> {
        let mut all = Expectations::default();
        for file in files {
            let text = std::fs::read_to_string(file).map_err(|source| ExpectationsError::Read {
                file: file.clone(),
                source,
            })?;
            let one = Expectations::parse(&text, file)?;
            for (suite, tests) in one.entries {
                all.entries.entry(suite).or_default().extend(tests);
            }
        }
        Ok(all)
    }

    /// Parses one file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Expectations, ExpectationsError> {
        let invalid = |message: String| ExpectationsError::Invalid {
            file: file.to_path_buf(),
            message,
        };
        let parsed: FileToml =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_string()))?;
        if let Some(v) = parsed.version
            && v != 1
        {
            return Err(invalid(format!(
                "key `version`: unsupported version {v} (only 1 is known)"
            )));
        }
        let mut entries: BTreeMap<String, BTreeMap<String, (Expectation, PathBuf)>> =
            BTreeMap::new();
        for suite in parsed.suite {
            let tests = entries.entry(suite.name.clone()).or_default();
            for t in suite.test {
                let key = format!("suite `{}`, test `{}`", suite.name, t.name);
                let skip = match t.action.as_deref() {
                    None => None,
                    Some("skip") => Some(
                        t.reason
                            .clone()
                            .unwrap_or_else(|| "skipped by expectation file".into()),
                    ),
                    Some(other) => {
                        return Err(invalid(format!(
                            "{key}: key `action`: expected \"skip\", got {other:?}"
                        )));
                    }
                };
                let expected = match t.expected.as_deref() {
                    None | Some("pass") => Expected::Pass,
                    Some("fail") => Expected::Fail,
                    Some(other) => {
                        return Err(invalid(format!(
                            "{key}: key `expected`: expected \"pass\" or \"fail\", got {other:?}"
                        )));
                    }
                };
                if t.action.is_none() && t.expected.is_none() {
                    return Err(invalid(format!("{key}: set `action` and/or `expected`")));
                }
                tests.insert(t.name, (Expectation { skip, expected }, file.to_path_buf()));
            }
        }
        Ok(Expectations { entries })
    }

    /// The expectation of a test (pass, when the files say nothing).
    pub fn lookup(&self, suite: &str, test: &str) -> Expectation {
        self.entries
            .get(suite)
            .and_then(|t| t.get(test))
            .map(|(e, _)| e.clone())
            .unwrap_or_default()
    }

    /// Entries naming a suite or test that was not discovered, as warnings.
    /// Only suites among `suites` are checked for unknown tests, so running a
    /// subset of the suites a file covers does not warn about the others' tests.
    pub fn unknown_entries(&self, suites: &[Suite]) -> Vec<String> {
        let mut out = Vec::new();
        for (suite_name, tests) in &self.entries {
            match suites.iter().find(|s| s.name() == suite_name) {
                None => {
                    let file = tests
                        .values()
                        .next()
                        .map(|(_, f)| f.display().to_string())
                        .unwrap_or_default();
                    let names: Vec<&str> = suites.iter().map(Suite::name).collect();
                    let hint = crate::spec::did_you_mean(suite_name, &names)
                        .map(|s| format!("; did you mean {s:?}?"))
                        .unwrap_or_default();
                    out.push(format!(
                        "{file}: suite {suite_name:?} is not among the suites run{hint}"
                    ));
                }
                Some(suite) => {
                    for (test, (_, file)) in tests {
                        if !suite.tests.iter().any(|t| &t.name == test) {
                            let names: Vec<&str> =
                                suite.tests.iter().map(|t| t.name.as_str()).collect();
                            let hint = crate::spec::did_you_mean(test, &names)
                                .map(|s| format!("; did you mean {s:?}?"))
                                .unwrap_or_default();
                            out.push(format!(
                                "{}: suite {suite_name:?} has no test {test:?}{hint}",
                                file.display()
                            ));
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
version = 1

[[suite]]
name = "S"

[[suite.test]]
name = "flaky"
action = "skip"

[[suite.test]]
name = "broken"
expected = "fail"
reason = "upstream bug"
"#;

    #[test]
    fn parses_skip_and_xfail() {
        let e = Expectations::parse(FILE, Path::new("e.toml")).unwrap();
        assert_eq!(
            e.lookup("S", "flaky").skip.as_deref(),
            Some("skipped by expectation file")
        );
        assert_eq!(e.lookup("S", "broken").expected, Expected::Fail);
        assert_eq!(e.lookup("S", "other"), Expectation::default());
        assert_eq!(e.lookup("T", "flaky"), Expectation::default());
    }

    #[test]
    fn errors_name_file_and_key() {
        let bad = |t: &str| {
            Expectations::parse(t, Path::new("e.toml"))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("version = 2").contains("e.toml: key `version`"));
        let e = bad("[[suite]]\nname = \"S\"\n[[suite.test]]\nname = \"t\"\naction = \"skp\"\n");
        assert!(e.contains("key `action`") && e.contains("skp"), "{e}");
        let e = bad("[[suite]]\nname = \"S\"\n[[suite.test]]\nname = \"t\"\n");
        assert!(e.contains("set `action` and/or `expected`"), "{e}");
        let e = bad("[[suite]]\nnmae = \"S\"\n");
        assert!(e.contains("e.toml") && e.contains("nmae"), "{e}");
        assert!(bad("[[suite]\n").contains("line 1"));
    }
}
