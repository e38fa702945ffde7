//! Why a spec (or a manifest) is refused: [`SpecError`] for a file, made of
//! [`Problem`]s that each name a key; and the helpers that word them
//! (did-you-mean, how a JSON value is described).

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

/// Why a spec cannot be used. Every variant names the spec file.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read (missing, not a regular file, too large, not UTF-8).
    #[error("cannot read the spec: {error}")]
    Read {
        #[source]
        error: crate::files::FileError,
    },
    /// The file is not valid JSON (or holds a key twice).
    #[error("{}: line {line}, column {column}: invalid JSON: {message}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Keys are unknown, of the wrong type, conflict, or hold invalid values:
    /// every problem found, one line each (`FILE: key `KEY`: MESSAGE`).
    #[error("{}", problems.iter().map(|p| format!("{}: {p}", file.display())).collect::<Vec<_>>().join("\n"))]
    Invalid {
        file: PathBuf,
        /// At least one.
        problems: Vec<Problem>,
    },
}

impl SpecError {
    /// The problems of an invalid spec (empty for a read or syntax error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            SpecError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// One thing wrong with one key of a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `args[0]`, `limits.fuel`, `operations[1].response.status`, or
    /// `(top level)`.
    pub key: String,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key `{}`: {}", self.key, self.message)
    }
}

/// Problems one per line, for errors that are plain strings (the manifest's).
pub fn problems_text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// "unknown key; did you mean `x`? (allowed keys: ...)" for a key not in `allowed`.
pub fn unknown_key_message(key: &str, allowed: &[&str]) -> String {
    let hint = did_you_mean(key, allowed)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    format!("unknown key{hint} (allowed keys: {})", allowed.join(", "))
}

/// Suggests the closest allowed name for a misspelt one.
pub fn did_you_mean<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim::damerau_levenshtein(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// "a string", "a list", ... for a JSON value.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The value's type and (cut to 60 characters) its text: `a string ("x")`.
pub fn describe(v: &Value) -> String {
    let text = v.to_string();
    let text = match text.char_indices().nth(57) {
        Some((cut, _)) if text.chars().count() > 60 => format!("{}...", &text[..cut]),
        _ => text,
    };
    format!("{} ({text})", type_name(v))
}

/// serde_json appends " at line L column C"; errors carry those separately.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
