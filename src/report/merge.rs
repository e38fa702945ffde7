//! Joining the JSON reports of shards (`--partition`) into the report of the
//! whole run, and writing JUnit from a report. Works on the official report
//! shape, so reports of the official runner can be merged too.
//!
//! ```
//! use wasi_conform::report::merge::merge;
//! let shard = |t: &str, o: &str| serde_json::json!({"execution": {"start_timestamp": "a", "finish_timestamp": "b"},
//!     "results": [{"name": "s", "runtime": {"name": "r", "version": "1"}, "duration_s": 1.0,
//!     "tests": [{"name": t, "executed": true, "outcome": o, "duration_s": 1.0, "failures": []}]}]});
//! let all = merge(&[("1.json".into(), shard("a", "pass")), ("2.json".into(), shard("b", "fail"))]).unwrap();
//! assert_eq!(all["results"][0]["passed"], 1);
//! assert_eq!(all["results"][0]["failed"], 1);
//! ```

use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// Merges reports: entries of the same suite and runtime become one (tests
/// sorted by name, counts recomputed as the official runner counts them), the
/// execution spans from the earliest start to the latest finish. A test found
/// in two reports is an error (the shards overlap).
pub fn merge(reports: &[(PathBuf, Value)]) -> Result<Value, String> {
    let mut entries: Vec<((String, String, String), Vec<Value>)> = Vec::new();
    let (mut start, mut finish): (Option<String>, Option<String>) = (None, None);
    for (path, report) in reports {
        let bad = |what: &str| format!("{}: {what}", path.display());
        let results = report["results"]
            .as_array()
            .ok_or_else(|| bad("not a test report: no `results` list"))?;
        if let Some(s) = report["execution"]["start_timestamp"].as_str() {
            start = Some(start.map_or(s.to_string(), |old| old.min(s.to_string())));
        }
        if let Some(f) = report["execution"]["finish_timestamp"].as_str() {
            finish = Some(finish.map_or(f.to_string(), |old| old.max(f.to_string())));
        }
        for (i, suite) in results.iter().enumerate() {
            let field = |k: &str, v: &Value| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(&format!("results[{i}].{k}: missing or not a string")))
            };
            let key = (
                field("name", &suite["name"])?,
                field("runtime.name", &suite["runtime"]["name"])?,
                field("runtime.version", &suite["runtime"]["version"])?,
            );
            let tests = suite["tests"]
                .as_array()
                .ok_or_else(|| bad(&format!("results[{i}].tests: missing or not a list")))?;
            let slot = match entries.iter().position(|(k, _)| *k == key) {
                Some(p) => p,
                None => {
                    entries.push((key.clone(), Vec::new()));
                    entries.len() - 1
                }
            };
            for t in tests {
                let name = t["name"].as_str().unwrap_or_default();
                if entries[slot].1.iter().any(|x| x["name"] == name) {
                    return Err(bad(&format!(
                        "test {name:?} of suite {:?} ({}) is in more than one report: the shards overlap",
                        key.0, key.1
                    )));
                }
                entries[slot].1.push(t.clone());
            }
        }
    }
    let results: Vec<Value> = entries
        .into_iter()
        .map(|((name, runtime, version), mut tests)| {
            tests.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
            suite_entry(name, runtime, version, tests)
        })
        .collect();
    Ok(json!({
        "execution": {
            "start_timestamp": start.unwrap_or_default(),
            "finish_timestamp": finish.unwrap_or_default(),
        },
        "results": results,
    }))
}

/// One `results` entry with its counts computed from its tests.
fn suite_entry(name: String, runtime: String, version: String, tests: Vec<Value>) -> Value {
    let count = |o: &str| tests.iter().filter(|t| t["outcome"] == o).count();
    let (pass, fail, skip, xfail, xpass) = (
        count("pass"),
        count("fail"),
        count("skip"),
        count("xfail"),
        count("xpass"),
    );
    let (errored, flaky) = (count("error"), count("flaky"));
    let duration: f64 = tests.iter().filter_map(|t| t["duration_s"].as_f64()).sum();
    let mut entry = Map::new();
    entry.insert("name".into(), json!(name));
    entry.insert(
        "runtime".into(),
        json!({"name": runtime, "version": version}),
    );
    entry.insert("duration_s".into(), json!(duration));
    entry.insert("passed".into(), json!(pass + xfail + flaky));
    entry.insert("failed".into(), json!(fail + xpass));
    entry.insert("skipped".into(), json!(skip));
    entry.insert("xfailed".into(), json!(xfail));
    entry.insert("xpassed".into(), json!(xpass));
    entry.insert("errored".into(), json!(errored));
    entry.insert("flaky".into(), json!(flaky));
    entry.insert("tests".into(), Value::Array(tests));
    Value::Object(entry)
}

/// JUnit XML of a report: a testsuite per `results` entry, a testcase per test.
pub fn junit(report: &Value) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut out = Report::new("wasi-conform");
    for entry in report["results"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or_default();
        let runtime = entry["runtime"]["name"].as_str().unwrap_or_default();
        let title = if runtime == crate::run::embedded::RUNTIME_NAME {
            name.to_string()
        } else {
            format!("{name} [{runtime}]")
        };
        let mut suite = TestSuite::new(title);
        for t in entry["tests"].as_array().into_iter().flatten() {
            let failure = t["failures"]
                .as_array()
                .and_then(|f| f.first())
                .map(|f| {
                    f.as_str()
                        .or(f["message"].as_str())
                        .unwrap_or("")
                        .to_string()
                })
                .unwrap_or_default();
            let first = crate::check::visible(failure.lines().next().unwrap_or_default());
            let status = match t["outcome"].as_str().unwrap_or_default() {
                "pass" | "flaky" => TestCaseStatus::success(),
                "skip" | "xfail" => {
                    let mut s = TestCaseStatus::skipped();
                    if t["outcome"] == "xfail" {
                        s.set_message(format!("expected to fail (xfail): {first}"));
                    }
                    s
                }
                other => {
                    let kind = if other == "error" {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(first);
                    s.set_type(other);
                    s.set_description(crate::check::printable(&failure));
                    s
                }
            };
            let mut case = TestCase::new(t["name"].as_str().unwrap_or_default(), status);
            case.set_classname(name);
            if let Some(d) = t["duration_s"]
                .as_f64()
                .filter(|d| d.is_finite() && *d >= 0.0)
            {
                case.set_time(std::time::Duration::from_secs_f64(d));
            }
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    out.to_string().expect("a JUnit report always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_shards_are_an_error() {
        let r = json!({"results": [{"name": "s", "runtime": {"name": "r", "version": "1"},
            "tests": [{"name": "t", "outcome": "pass"}]}]});
        let e = merge(&[("a.json".into(), r.clone()), ("b.json".into(), r)]).unwrap_err();
        assert!(e.contains("more than one report"), "{e}");
    }

    #[test]
    fn junit_of_a_report() {
        let r = json!({"results": [{"name": "s", "runtime": {"name": "node", "version": "20"},
            "tests": [{"name": "t", "outcome": "fail", "duration_s": 0.5, "failures": ["boom\nmore"]},
                      {"name": "u", "outcome": "xfail", "failures": ["known"]}]}]});
        let xml = junit(&r);
        assert!(xml.contains("s [node]"), "{xml}");
        assert!(xml.contains("boom"), "{xml}");
        assert!(xml.contains("expected to fail (xfail): known"), "{xml}");
    }
}
