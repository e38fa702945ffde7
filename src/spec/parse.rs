//! Reading one spec file, in order: its JSON syntax (line and column), its
//! form (by the keys present), the shape of each top-level key against the
//! form's schema ([`super::shape`]), serde into the form's types
//! ([`super::raw`]) without the keys whose shape is wrong, and the validation
//! into a [`Spec`] ([`super::validate`]). The problems of every stage are
//! reported together, so a spec's errors come at once.

use std::fmt;
use std::path::Path;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess,
    Visitor,
};
use serde_json::{Map, Value};

use super::error::{Problem, SpecError, strip_position, type_name, unknown_key_message};
use super::schema::{SpecShape, spec_shape};
use super::validate::Validator;
use super::{Spec, raw};

/// Parses and validates spec text; `file` names it in errors and anchors relative paths.
pub(super) fn spec(text: &str, file: &Path) -> Result<Spec, SpecError> {
    let value: Value = serde_json::from_str(text).map_err(|e| syntax(file, &e))?;
    let invalid = |problems| SpecError::Invalid {
        file: file.to_path_buf(),
        problems,
    };
    let Value::Object(obj) = value else {
        let message = format!("a spec is a JSON object, found {}", type_name(&value));
        return Err(invalid(vec![Problem::new("(top level)", message)]));
    };
    let shape = spec_shape();
    let operation_keys: Vec<&str> = (shape.operation_keys.iter())
        .map(String::as_str)
        .filter(|k| obj.contains_key(*k))
        .collect();
    let form = match operation_keys.is_empty() {
        true => "LegacySpec",
        false => "OperationSpec",
    };
    let mut problems = top_level_keys(shape, form, &obj, &operation_keys);
    let properties = &shape.form(form)["properties"];
    for (key, value) in &obj {
        if let Some(schema) = properties.get(key) {
            problems.extend(super::shape::check(&shape.root, schema, value, key));
        }
    }
    // Keys with a problem are left out of what serde reads, so the others are
    // still validated (and their problems reported too).
    let broken: Vec<String> = obj
        .keys()
        .filter(|k| problems.iter().any(|p| is_under(&p.key, k)))
        .cloned()
        .collect();
    let mut validator = Validator::new(file, broken.clone());
    let spec = match form {
        "LegacySpec" => validator.legacy(typed::<raw::LegacySpec>(text, file, &broken)?),
        _ => validator.operation_form(typed::<raw::OperationSpec>(text, file, &broken)?),
    };
    problems.extend(validator.problems);
    match problems.is_empty() {
        true => Ok(spec),
        false => Err(invalid(problems)),
    }
}

/// Whether problem key `key` is top-level key `top` or inside it.
fn is_under(key: &str, top: &str) -> bool {
    key.strip_prefix(top)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Problems for the top-level keys the form does not know: a legacy key
/// beside an operation key, a key of the other form, an unknown (misspelt) key.
fn top_level_keys(
    shape: &SpecShape,
    form: &str,
    obj: &Map<String, Value>,
    operation_keys: &[&str],
) -> Vec<Problem> {
    let allowed = shape.form_keys(form);
    let other_form = shape.form_keys(match form {
        "LegacySpec" => "OperationSpec",
        _ => "LegacySpec",
    });
    let unknown = obj.keys().filter(|k| !allowed.contains(&k.as_str()));
    unknown
        .map(|key| {
            let message = match operation_keys.first() {
                Some(o) if shape.official_legacy_keys.contains(key) => format!(
                    "legacy key `{key}` cannot be mixed with operation key `{o}` in one spec; \
                     move it into a `run` or `wait` operation, or drop `{o}`"
                ),
                Some(_) if other_form.contains(&key.as_str()) => {
                    "not allowed in an operation spec (it belongs to the legacy form); use \
                     `write` for stdin and a `wait` operation's `trap`"
                        .to_string()
                }
                _ => unknown_key_message(key, &allowed),
            };
            Problem::new(key.clone(), message)
        })
        .collect()
}

/// The spec text read into a form's types, without the top-level keys in
/// `skip`. Read from the text, not the checked value, so objects keep the
/// order they were written in (`env`). After the shape check only a key
/// given twice can fail here.
fn typed<T: DeserializeOwned>(text: &str, file: &Path, skip: &[String]) -> Result<T, SpecError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let read = T::deserialize(Without {
        inner: &mut de,
        skip,
    })
    .and_then(|t| de.end().map(|()| t));
    read.map_err(|e| match e.line() {
        // Inside a tagged or untagged choice serde knows no position.
        0 => SpecError::Invalid {
            file: file.to_path_buf(),
            problems: vec![Problem::new("(top level)", strip_position(&e.to_string()))],
        },
        _ => syntax(file, &e),
    })
}

fn syntax(file: &Path, e: &serde_json::Error) -> SpecError {
    SpecError::Syntax {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    }
}

/// A deserializer of a JSON object that leaves out some of its keys (their
/// values are skipped unread).
struct Without<'s, D> {
    inner: D,
    skip: &'s [String],
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Without<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(WithoutVisitor {
            visitor,
            skip: self.skip,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct WithoutVisitor<'s, V> {
    visitor: V,
    skip: &'s [String],
}

impl<'de, V: Visitor<'de>> Visitor<'de> for WithoutVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(WithoutMap {
            map,
            skip: self.skip,
        })
    }
}

struct WithoutMap<'s, A> {
    map: A,
    skip: &'s [String],
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WithoutMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.map.next_key::<String>()? {
            if self.skip.contains(&key) {
                self.map.next_value::<IgnoredAny>()?;
                continue;
            }
            return seed.deserialize(key.into_deserializer()).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}
