//! How an adapter tells that its runtime never ran the module: the
//! `runtime_errors` rules of an adapter file. A run that ends with a matching
//! line on stderr (and, when the rule says, a matching exit code) was a usage
//! error or a module the runtime could not load: the test is an `error` of
//! the runtime, never a verdict about the module (a runtime's usage error
//! exiting 1 must not pass a test that expects exit code 1).
//!
//! ```toml
//! runtime_errors = [
//!   { exit_code = 2, stderr = '^error: ' },          # a usage error (clap)
//!   { stderr = '^\s*\d+: unknown import: ' },        # a module it cannot link
//! ]
//! ```

use crate::check::GuestEnd;

/// The most rules an adapter file may have.
const MAX_RULES: usize = 64;
/// The most compiled size of one rule's regex (bytes).
const MAX_REGEX_SIZE: usize = 1 << 20;
/// The most of stderr searched (its start: runtimes print these first).
const SEARCHED_BYTES: usize = 64 * 1024;
/// The most characters of the matching line quoted in a message.
const QUOTED_CHARS: usize = 200;

/// One rule: a run whose stderr has a line matching `stderr` (and whose exit
/// code is `exit_code`, when given) never ran the module.
#[derive(Debug, Clone)]
pub struct ErrorRule {
    pub stderr: regex::bytes::Regex,
    pub exit_code: Option<i32>,
}

/// Parses the `runtime_errors` list of an adapter file; `Err` is (the key, the
/// problem) for the adapter's error message.
pub fn parse(value: &toml::Value) -> Result<Vec<ErrorRule>, (String, String)> {
    let toml::Value::Array(entries) = value else {
        return Err((
            "runtime_errors".into(),
            "expected a list of { stderr = \"REGEX\", exit_code = N } tables".into(),
        ));
    };
    if entries.len() > MAX_RULES {
        return Err((
            "runtime_errors".into(),
            format!("{} rules; at most {MAX_RULES}", entries.len()),
        ));
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| rule(&format!("runtime_errors[{i}]"), entry))
        .collect()
}

fn rule(at: &str, entry: &toml::Value) -> Result<ErrorRule, (String, String)> {
    let toml::Value::Table(t) = entry else {
        return Err((
            at.into(),
            "expected a { stderr = \"REGEX\", exit_code = N } table".into(),
        ));
    };
    if let Some(key) = t
        .keys()
        .find(|k| !["stderr", "exit_code"].contains(&k.as_str()))
    {
        return Err((
            format!("{at}.{key}"),
            "unknown key; a rule has `stderr` (a regex) and, optionally, `exit_code`".into(),
        ));
    }
    let Some(toml::Value::String(pattern)) = t.get("stderr") else {
        return Err((
            format!("{at}.stderr"),
            "missing or not a string: the regex a line of the runtime's stderr matches".into(),
        ));
    };
    let stderr = regex::bytes::RegexBuilder::new(pattern)
        .multi_line(true)
        .size_limit(MAX_REGEX_SIZE)
        .build()
        .map_err(|e| (format!("{at}.stderr"), format!("invalid regex: {e}")))?;
    let exit_code = match t.get("exit_code") {
        None => None,
        Some(toml::Value::Integer(c)) if (0..=255).contains(c) => Some(*c as i32),
        Some(other) => {
            return Err((
                format!("{at}.exit_code"),
                format!("expected an exit code from 0 to 255, found {other}"),
            ));
        }
    };
    Ok(ErrorRule { stderr, exit_code })
}

/// Why a run that ended with `end` and printed `stderr` never ran the module,
/// if a rule says so.
pub fn matching(rules: &[ErrorRule], end: &GuestEnd, stderr: &[u8]) -> Option<String> {
    let GuestEnd::Exited(code) = end else {
        return None;
    };
    let searched = &stderr[..stderr.len().min(SEARCHED_BYTES)];
    rules.iter().enumerate().find_map(|(i, rule)| {
        if rule.exit_code.is_some_and(|c| c != *code) {
            return None;
        }
        let m = rule.stderr.find(searched)?;
        let line_start = searched[..m.start()]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let line_end = searched[m.start()..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(searched.len(), |p| m.start() + p);
        let line = crate::check::visible(&String::from_utf8_lossy(&searched[line_start..line_end]));
        let line: String = line.chars().take(QUOTED_CHARS).collect();
        Some(format!(
            "the runtime did not run the module: it exited with code {code} printing `{line}` \
             on stderr, which its adapter's runtime_errors[{i}] names as a usage error or a \
             module it could not load (so this is no verdict on the module; check the \
             runtime's command line with the `command:` below, or the adapter)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<ErrorRule> {
        let table: toml::Table = text.parse().unwrap();
        parse(&table["runtime_errors"]).unwrap()
    }

    #[test]
    fn a_matching_line_and_code_make_a_runtime_error() {
        let r = rules(
            r#"runtime_errors = [{ exit_code = 2, stderr = '^error: ' }, { stderr = '^\s*\d+: unknown import: ' }]"#,
        );
        let usage = b"error: unexpected argument '--bogus' found\n\nUsage: wasmtime\n";
        let m = matching(&r, &GuestEnd::Exited(2), usage).unwrap();
        assert!(
            m.starts_with(
                "the runtime did not run the module: it exited with code 2 printing \
                 `error: unexpected argument '--bogus' found` on stderr, which its adapter's \
                 runtime_errors[0] names"
            ),
            "{m}"
        );
        // The same line with another code is the guest's own business.
        assert_eq!(matching(&r, &GuestEnd::Exited(1), usage), None);
        let link = b"Error: failed to run main module\n\nCaused by:\n    1: unknown import: `foo::bar` has not been defined\n";
        assert!(
            matching(&r, &GuestEnd::Exited(1), link)
                .unwrap()
                .contains("`    1: unknown import: `foo::bar` has not been defined`")
        );
        assert_eq!(matching(&r, &GuestEnd::Exited(1), b"all fine\n"), None);
        assert_eq!(matching(&r, &GuestEnd::Signaled(9), usage), None);
    }

    #[test]
    fn bad_rules_name_the_key() {
        let bad = |text: &str| {
            let table: toml::Table = text.parse().unwrap();
            parse(&table["runtime_errors"]).unwrap_err()
        };
        assert_eq!(
            bad("runtime_errors = [{ stderr = '(' }]").0,
            "runtime_errors[0].stderr"
        );
        assert_eq!(
            bad("runtime_errors = [{ stderr = 'x', exit_code = 300 }]"),
            (
                "runtime_errors[0].exit_code".to_string(),
                "expected an exit code from 0 to 255, found 300".to_string()
            )
        );
        assert_eq!(
            bad("runtime_errors = [{ stdout = 'x' }]").0,
            "runtime_errors[0].stdout"
        );
        assert_eq!(bad("runtime_errors = 'x'").0, "runtime_errors");
    }
}
