//! The shape check: a JSON value against the JSON Schema generated from the
//! spec file's types ([`super::schema`]), before serde reads it. It reports
//! every problem at once, each with its key path and the harness's wording:
//! an unknown key with a did-you-mean, a value of the wrong type ("expected a
//! list of strings, found a string ("x")"), a missing key, an unknown name
//! among allowed ones, an integer out of range. A value that passes has the
//! shape serde expects, so reading it into the types cannot fail on shape.
//!
//! It reads the subset of JSON Schema that schemars writes for serde types:
//! `$ref`, `type`, `enum`, `const`, `properties`, `additionalProperties`,
//! `required`, `items`, integer bounds (`minimum`, `maximum`, integer
//! `format`s), and `anyOf`/`oneOf` (serde's untagged, internally tagged and
//! externally tagged enums, told apart by the value). Rules about values (a
//! `pattern`, a string's length, keys that exclude each other) are the
//! validation's (`spec::validate`), with messages of their own.
//!
//! ```
//! use wasi_conform::spec::shape::parse_value;
//! let e = parse_value::<wasi_conform::spec::Limits>(&serde_json::json!({"fule": 1}), "limits").unwrap_err();
//! assert!(e[0].to_string().contains("key `limits.fule`: unknown key; did you mean `fuel`?"));
//! ```

use serde_json::{Map, Value, json};

use super::error::{Problem, describe, did_you_mean, unknown_key_message};
use super::schema::keys_in_order;

/// How many `$ref`s in a row are followed (the generated schemas need two).
const MAX_REF_CHAIN: usize = 8;

/// Checks `value` against the root schema generated for `T`, then reads it
/// into `T`; `prefix` is the key of `value` itself (empty at the top of a
/// document). Every problem is returned, not only the first.
pub fn parse_value<T>(value: &Value, prefix: &str) -> Result<T, Vec<Problem>>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + 'static,
{
    let schema = super::schema::root_schema_for::<T>();
    let problems = check(&schema, &schema, value, prefix);
    if !problems.is_empty() {
        return Err(problems);
    }
    T::deserialize(value).map_err(|e| vec![Problem::new(display_key(prefix), e.to_string())])
}

/// Every problem of `value` against `schema`; `root` holds the `$defs` that
/// `$ref`s point into, and `prefix` is the key of `value` itself.
pub fn check(root: &Value, schema: &Value, value: &Value, prefix: &str) -> Vec<Problem> {
    let mut checker = Checker {
        defs: root.get("$defs").and_then(Value::as_object),
        path: Vec::new(),
        prefix: prefix.to_string(),
        problems: Vec::new(),
    };
    checker.check(schema, value);
    checker.problems
}

fn display_key(prefix: &str) -> String {
    match prefix {
        "" => "(top level)".to_string(),
        p => p.to_string(),
    }
}

/// One step of a key path.
#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

struct Checker<'s> {
    defs: Option<&'s Map<String, Value>>,
    path: Vec<Segment>,
    prefix: String,
    problems: Vec<Problem>,
}

impl<'s> Checker<'s> {
    /// `prefix`, `a.b[2].c`, or `(top level)`.
    fn key(&self) -> String {
        let mut out = self.prefix.clone();
        for segment in &self.path {
            match segment {
                Segment::Key(k) if out.is_empty() => out.push_str(k),
                Segment::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        display_key(&out)
    }

    fn problem(&mut self, message: impl Into<String>) {
        let key = self.key();
        self.problems.push(Problem::new(key, message));
    }

    /// Checks under one more key or index.
    fn at(&mut self, segment: Segment, f: impl FnOnce(&mut Self)) {
        self.path.push(segment);
        f(self);
        self.path.pop();
    }

    /// Follows `$ref`s to the schema they name (annotations beside a `$ref`
    /// are left behind; the generated schemas put nothing else there).
    fn resolve(&self, mut schema: &'s Value) -> &'s Value {
        for _ in 0..MAX_REF_CHAIN {
            let target = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|name| self.defs?.get(name));
            match target {
                Some(t) => schema = t,
                None => break,
            }
        }
        schema
    }

    fn check(&mut self, schema: &'s Value, value: &Value) {
        let schema = self.resolve(schema);
        let Some(obj) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                self.problem("not allowed here");
            }
            return;
        };
        if let Some(branches) = union(obj) {
            return self.union(schema, branches, value);
        }
        if !self.accepts_type(schema, value) {
            return self.wrong_type(schema, value);
        }
        if let Some(Value::Array(names)) = obj.get("enum") {
            if !names.contains(value) {
                self.unknown_name(names, value);
            }
            return;
        }
        if let Some(c) = obj.get("const") {
            if c != value {
                self.problem(format!("expected {}, found {}", quoted(c), describe(value)));
            }
            return;
        }
        match value {
            Value::Number(_) => self.bounds(obj, value),
            Value::Array(items) => {
                if let Some(item) = obj.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.at(Segment::Index(i), |c| c.check(item, v));
                    }
                }
            }
            Value::Object(map) => self.object(schema, map),
            _ => {}
        }
    }

    fn object(&mut self, schema: &'s Value, map: &Map<String, Value>) {
        let props = schema.get("properties").and_then(Value::as_object);
        let allowed = keys_in_order(schema);
        // Keys a misspelt key was taken for: not also reported missing.
        let mut meant: Vec<&str> = Vec::new();
        for (k, v) in map {
            let known = props.and_then(|p| p.get(k));
            self.at(Segment::Key(k.clone()), |c| {
                match (known, schema.get("additionalProperties")) {
                    (Some(schema), _) => c.check(schema, v),
                    (None, Some(Value::Bool(false))) => {
                        meant.extend(did_you_mean(k, &allowed));
                        c.problem(unknown_key_message(k, &allowed));
                    }
                    (None, Some(schema @ Value::Object(_))) => c.check(schema, v),
                    (None, _) => {}
                }
            });
        }
        let required = schema.get("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            if !map.contains_key(name) && !meant.contains(&name) {
                let what = props.and_then(|p| p.get(name)).map(|s| self.description(s));
                self.at(Segment::Key(name.to_string()), |c| match what.flatten() {
                    Some(d) => c.problem(format!("missing: {d}")),
                    None => c.problem("missing"),
                });
            }
        }
    }

    /// A property's description, as a clause: "the exported function's name".
    fn description(&self, schema: &'s Value) -> Option<String> {
        let text = schema
            .get("description")
            .or_else(|| self.resolve(schema).get("description"))?
            .as_str()?;
        let text = text.trim_end_matches('.');
        let mut chars = text.chars();
        let first = chars.next()?;
        Some(first.to_lowercase().chain(chars).collect())
    }

    /// An integer's bounds: `minimum`, `maximum`, and those of an integer `format`.
    fn bounds(&mut self, obj: &Map<String, Value>, value: &Value) {
        let Some(n) = as_i128(value) else {
            return;
        };
        let (mut lo, mut hi) = obj
            .get("format")
            .and_then(Value::as_str)
            .map_or((None, None), format_range);
        if let Some(m) = obj.get("minimum").and_then(as_i128) {
            lo = Some(lo.map_or(m, |l| l.max(m)));
        }
        if let Some(m) = obj.get("maximum").and_then(as_i128) {
            hi = Some(hi.map_or(m, |h| h.min(m)));
        }
        match (lo, hi) {
            (Some(0), _) if n < 0 => self.problem(format!(
                "expected a non-negative integer, found {}",
                describe(value)
            )),
            (Some(l), _) if n < l => self.problem(format!("must be at least {l}")),
            (_, Some(h)) if n > h => self.problem(format!("must be at most {h}")),
            _ => {}
        }
    }

    /// `anyOf`/`oneOf`: the branch the value is meant for, chosen by its JSON
    /// type, then by its tag (`type`) or its single key (`{"regex": ...}`).
    fn union(&mut self, schema: &'s Value, branches: &'s [Value], value: &Value) {
        if let Some(names) = self.const_names(branches) {
            if !names.contains(value) {
                match value.is_string() {
                    true => self.unknown_name(&names, value),
                    false => self.wrong_type(schema, value),
                }
            }
            return;
        }
        let candidates: Vec<&'s Value> = branches
            .iter()
            .map(|b| self.resolve(b))
            .filter(|b| self.accepts_type(b, value))
            .collect();
        match (candidates.as_slice(), value) {
            ([], _) => self.wrong_type(schema, value),
            ([one], _) => self.check(one, value),
            (_, Value::Object(map)) => {
                if let Some(tag) = self.tag_of(&candidates) {
                    self.tagged(&tag, &candidates, map, value);
                } else if let Some(keys) = external_tags(&candidates) {
                    self.externally_tagged(&keys, &candidates, map, value);
                } else {
                    self.best_of(&candidates, value);
                }
            }
            _ => self.best_of(&candidates, value),
        }
    }

    /// Internally tagged: each branch has a property (the tag) with a `const`.
    fn tagged(
        &mut self,
        tag: &str,
        branches: &[&'s Value],
        map: &Map<String, Value>,
        value: &Value,
    ) {
        let names: Vec<&str> = branches
            .iter()
            .filter_map(|b| b["properties"][tag]["const"].as_str())
            .collect();
        let noun = format!("{} {tag}", self.noun());
        match map.get(tag) {
            Some(Value::String(t)) => match names.iter().position(|n| n == t) {
                Some(i) => self.check(branches[i], value),
                None => {
                    let message = unknown_name_message(&noun, t, &names);
                    self.at(Segment::Key(tag.to_string()), |c| c.problem(message));
                }
            },
            Some(other) => {
                let message = format!("expected a string, found {}", describe(other));
                self.at(Segment::Key(tag.to_string()), |c| c.problem(message));
            }
            None => {
                let message = format!("missing (one of: {})", names.join(", "));
                self.at(Segment::Key(tag.to_string()), |c| c.problem(message));
            }
        }
    }

    /// Externally tagged: `{"KIND": VALUE}` with exactly one known key.
    fn externally_tagged(
        &mut self,
        keys: &[&str],
        branches: &[&'s Value],
        map: &Map<String, Value>,
        value: &Value,
    ) {
        let before = self.problems.len();
        for k in map.keys().filter(|k| !keys.contains(&k.as_str())) {
            self.at(Segment::Key(k.clone()), |c| {
                c.problem(unknown_key_message(k, keys))
            });
        }
        if self.problems.len() > before {
            return;
        }
        match map.keys().next() {
            Some(k) if map.len() == 1 => {
                if let Some(i) = keys.iter().position(|t| t == k) {
                    self.check(branches[i], value);
                }
            }
            _ => {
                let list: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
                self.problem(format!("give exactly one of {}", list.join(", ")));
            }
        }
    }

    /// No way to tell the branches apart: the first that fits, else the
    /// problems of the one that fits best.
    fn best_of(&mut self, branches: &[&'s Value], value: &Value) {
        let mut best: Option<Vec<Problem>> = None;
        for branch in branches {
            let before = self.problems.len();
            self.check(branch, value);
            let found: Vec<Problem> = self.problems.drain(before..).collect();
            if found.is_empty() {
                return;
            }
            if best.as_ref().is_none_or(|b| found.len() < b.len()) {
                best = Some(found);
            }
        }
        self.problems.extend(best.unwrap_or_default());
    }

    /// The values of branches that are each a `const` (an enum whose variants
    /// are documented), or `None`.
    fn const_names(&self, branches: &'s [Value]) -> Option<Vec<Value>> {
        branches
            .iter()
            .map(|b| self.resolve(b).get("const").cloned())
            .collect()
    }

    /// A property that every branch gives a `const` and requires.
    fn tag_of(&self, branches: &[&'s Value]) -> Option<String> {
        let first = branches.first()?.get("properties")?.as_object()?;
        first
            .iter()
            .filter(|(_, s)| s.get("const").is_some())
            .map(|(name, _)| name)
            .find(|name| {
                branches.iter().all(|b| {
                    b["properties"][name.as_str()].get("const").is_some()
                        && b["required"]
                            .as_array()
                            .is_some_and(|r| r.iter().any(|x| x == name.as_str()))
                })
            })
            .cloned()
    }

    /// Whether the value's JSON type is one the schema allows (an object for
    /// an object schema...), without looking inside.
    fn accepts_type(&self, schema: &'s Value, value: &Value) -> bool {
        let schema = self.resolve(schema);
        let Some(obj) = schema.as_object() else {
            return schema != &Value::Bool(false);
        };
        if let Some(branches) = union(obj) {
            return branches.iter().any(|b| self.accepts_type(b, value));
        }
        match obj.get("type") {
            Some(Value::String(t)) => is_type(t, value),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .any(|t| is_type(t, value)),
            _ => match (obj.get("const"), obj.get("enum")) {
                (Some(c), _) => same_kind(c, value),
                (None, Some(Value::Array(names))) => names.iter().any(|n| same_kind(n, value)),
                _ => true,
            },
        }
    }

    fn wrong_type(&mut self, schema: &'s Value, value: &Value) {
        let message = format!(
            "expected {}, found {}",
            self.phrase(schema),
            describe(value)
        );
        self.problem(message);
    }

    fn unknown_name(&mut self, names: &[Value], value: &Value) {
        let Value::String(s) = value else {
            let list: Vec<String> = names.iter().map(quoted).collect();
            return self.problem(format!(
                "expected one of {}, found {}",
                list.join(", "),
                describe(value)
            ));
        };
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        let message = unknown_name_message(&self.noun(), s, &names);
        self.problem(message);
    }

    /// What the current key names, for "unknown proposal `x`": its last key
    /// (singular in a list: `proposals[0]` is a proposal), `_` as a space.
    fn noun(&self) -> String {
        let mut in_list = false;
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Index(_) => in_list = true,
                Segment::Key(k) => {
                    let word = match in_list {
                        true => k.strip_suffix('s').unwrap_or(k),
                        false => k,
                    };
                    return word.replace('_', " ");
                }
            }
        }
        let last = self.prefix.rsplit('.').next().unwrap_or_default();
        let (key, indexed) = match last.split_once('[') {
            Some((k, _)) => (k, true),
            None => (last, in_list),
        };
        match (key, indexed) {
            ("", _) => "value".to_string(),
            (k, true) => k.strip_suffix('s').unwrap_or(k).replace('_', " "),
            (k, false) => k.replace('_', " "),
        }
    }

    /// What a schema accepts, in words: "a list of strings", "a string or one
    /// of {"contains"|"regex"|"file": ...}".
    fn phrase(&self, schema: &'s Value) -> String {
        let schema = self.resolve(schema);
        let Some(obj) = schema.as_object() else {
            return "nothing".to_string();
        };
        if let Some(branches) = union(obj) {
            if let Some(names) = self.const_names(branches) {
                let list: Vec<String> = names.iter().map(quoted).collect();
                return format!("one of {}", list.join(", "));
            }
            let resolved: Vec<&'s Value> = branches.iter().map(|b| self.resolve(b)).collect();
            if let Some(tag) = self.tag_of(&resolved) {
                let names: Vec<&str> = resolved
                    .iter()
                    .filter_map(|b| b["properties"][tag.as_str()]["const"].as_str())
                    .collect();
                return format!("an object with a `{tag}` (one of: {})", names.join(", "));
            }
            if let Some(keys) = external_tags(&resolved) {
                let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
                return format!("one of {{{}: ...}}", keys.join("|"));
            }
            let mut parts: Vec<String> = Vec::new();
            for branch in resolved {
                let p = self.phrase(branch);
                if !parts.contains(&p) {
                    parts.push(p);
                }
            }
            return join_or(&parts);
        }
        if let Some(Value::Array(names)) = obj.get("enum") {
            let list: Vec<String> = names.iter().map(quoted).collect();
            return format!("one of {}", list.join(", "));
        }
        if let Some(c) = obj.get("const") {
            return quoted(c);
        }
        let types: Vec<&str> = match obj.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return "a value".to_string(),
        };
        let parts: Vec<String> = types.iter().map(|t| self.type_phrase(schema, t)).collect();
        join_or(&parts)
    }

    fn type_phrase(&self, schema: &'s Value, ty: &str) -> String {
        match ty {
            "string" => "a string".into(),
            "boolean" => "true or false".into(),
            "null" => "null".into(),
            "number" => "a number".into(),
            "integer" => {
                let unsigned = schema
                    .get("minimum")
                    .and_then(as_i128)
                    .is_some_and(|m| m >= 0)
                    || schema
                        .get("format")
                        .and_then(Value::as_str)
                        .is_some_and(|f| f.starts_with("uint"));
                match unsigned {
                    true => "a non-negative integer".into(),
                    false => "an integer".into(),
                }
            }
            "array" => match schema.get("items").map(|i| self.resolve(i)) {
                Some(items) if self.only_strings(items) => "a list of strings".into(),
                Some(items) => match items.get("title").and_then(Value::as_str) {
                    Some(title) => format!("a list of {title}s"),
                    None => "a list".into(),
                },
                None => "a list".into(),
            },
            "object" => match keys_in_order(schema) {
                keys if !keys.is_empty() => format!("an object with keys {}", keys.join(", ")),
                _ => match schema.get("additionalProperties").map(|s| self.resolve(s)) {
                    Some(values) if self.only_strings(values) => "an object of strings".into(),
                    _ => "an object".into(),
                },
            },
            other => format!("a {other}"),
        }
    }

    /// Whether a schema accepts strings and nothing else (names included).
    fn only_strings(&self, schema: &'s Value) -> bool {
        let others = [
            Value::Null,
            Value::Bool(true),
            Value::from(0),
            json!([]),
            json!({}),
        ];
        self.accepts_type(schema, &Value::String(String::new()))
            && others.iter().all(|other| !self.accepts_type(schema, other))
    }
}

/// The branches of an `anyOf` or `oneOf`.
fn union(obj: &Map<String, Value>) -> Option<&[Value]> {
    obj.get("anyOf")
        .or_else(|| obj.get("oneOf"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
}

/// The keys of branches that are each `{"KEY": ...}` alone (serde's externally
/// tagged enum), or `None`.
fn external_tags<'s>(branches: &[&'s Value]) -> Option<Vec<&'s str>> {
    branches
        .iter()
        .map(|b| {
            let required = b.get("required")?.as_array()?;
            let props = b.get("properties")?.as_object()?;
            let closed = b.get("additionalProperties") == Some(&Value::Bool(false));
            match (required.as_slice(), closed && props.len() == 1) {
                ([Value::String(k)], true) if props.contains_key(k) => Some(k.as_str()),
                _ => None,
            }
        })
        .collect()
}

/// "unknown proposal `x`; did you mean `y`? (known: a, b)".
fn unknown_name_message(noun: &str, name: &str, names: &[&str]) -> String {
    let hint = did_you_mean(name, names)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    format!(
        "unknown {noun} `{name}`{hint} (known: {})",
        names.join(", ")
    )
}

fn is_type(ty: &str, value: &Value) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => true,
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn as_i128(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

/// The bounds of an integer `format` that schemars writes (`uint16`, `int32`...).
fn format_range(format: &str) -> (Option<i128>, Option<i128>) {
    let (signed, bits) = match format.strip_prefix("uint") {
        Some(bits) => (false, bits),
        None => match format.strip_prefix("int") {
            Some(bits) => (true, bits),
            None => return (None, None),
        },
    };
    let Ok(bits @ 8..=64) = bits.parse::<u32>() else {
        return (None, None);
    };
    match signed {
        true => (
            Some(-(1i128 << (bits - 1))),
            Some((1i128 << (bits - 1)) - 1),
        ),
        false => (Some(0), Some((1i128 << bits) - 1)),
    }
}

fn quoted(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

/// "a", "a or b", "a, b or c".
fn join_or(parts: &[String]) -> String {
    match parts {
        [] => "nothing".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
