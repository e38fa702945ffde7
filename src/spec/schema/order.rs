//! The order keys are declared in. A JSON Schema's `properties` is an object,
//! which serde_json keeps sorted; messages and docs list a type's keys in the
//! order they are declared (`args, env, root, ...`). serde knows that order
//! (the field list its derive passes to `deserialize_struct`, or to
//! `unknown_field` for a variant); [`key_order`] asks it and records the list
//! in the schema under [`ORDER`], for the shape check. The published schema
//! leaves it out.
//!
//! A type opts in with `#[schemars(transform = crate::spec::schema::key_order::<Self>)]`;
//! `schema::tests` checks that every closed object of the spec's schema did.

use std::fmt;

use schemars::Schema;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde_json::{Map, Value, json};

/// The keyword holding a closed object's keys in declaration order (internal).
pub const ORDER: &str = "x-key-order";

/// A transform for a struct or an internally tagged enum: records the keys of
/// the struct, or of each variant (its tag first), in the order declared.
///
/// The list goes into an `allOf` entry of its own, because that is what
/// schemars concatenates when it flattens a struct into another
/// (`#[serde(flatten)]`): a spec form made of groups of keys gets them all, in
/// order. [`collapse`] then moves it to the object itself.
pub fn key_order<T: DeserializeOwned>(schema: &mut Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if obj.contains_key("properties") {
        if let Some(fields) = fields_of::<T>(None) {
            push_order(obj, fields.iter().map(|f| f.to_string()).collect());
        }
        return;
    }
    let Some(Value::Array(variants)) = obj.get_mut("oneOf") else {
        return;
    };
    for variant in variants.iter_mut().filter_map(Value::as_object_mut) {
        let tag = variant
            .get("properties")
            .and_then(Value::as_object)
            .and_then(|p| {
                p.iter()
                    .find_map(|(k, s)| Some((k.clone(), s.get("const")?.as_str()?.to_string())))
            });
        let Some((tag, name)) = tag else {
            continue;
        };
        if let Some(fields) = fields_of::<T>(Some((&tag, &name))) {
            let keys = std::iter::once(tag).chain(fields.iter().map(|f| f.to_string()));
            push_order(variant, keys.collect());
        }
    }
}

fn push_order(obj: &mut Map<String, Value>, keys: Vec<String>) {
    let entry = obj.entry("allOf").or_insert_with(|| json!([]));
    if let Value::Array(all) = entry {
        all.push(json!({ ORDER: keys }));
    }
}

/// Moves the recorded orders out of `allOf` into [`ORDER`], everywhere in
/// `schema` (an `allOf` left empty goes).
pub fn collapse(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            let mut order: Vec<Value> = Vec::new();
            if let Some(Value::Array(all)) = obj.get_mut("allOf") {
                all.retain(|entry| match entry.get(ORDER) {
                    Some(Value::Array(keys)) if entry.as_object().is_some_and(|o| o.len() == 1) => {
                        // A newtype variant records its struct's keys twice.
                        for key in keys {
                            if !order.contains(key) {
                                order.push(key.clone());
                            }
                        }
                        false
                    }
                    _ => true,
                });
                if all.is_empty() {
                    obj.remove("allOf");
                }
            }
            if !order.is_empty() {
                obj.insert(ORDER.into(), Value::Array(order));
            }
            obj.values_mut().for_each(collapse);
        }
        Value::Array(items) => items.iter_mut().for_each(collapse),
        _ => {}
    }
}

/// Removes [`ORDER`] everywhere in `schema` (for the published schema).
pub fn strip(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            obj.remove(ORDER);
            obj.values_mut().for_each(strip);
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

/// The keys of a closed object schema: in declaration order where recorded,
/// then any others (sorted).
pub fn keys_in_order(schema: &Value) -> Vec<&str> {
    let props = schema.get("properties").and_then(Value::as_object);
    let mut keys: Vec<&str> = schema
        .get(ORDER)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|k| props.is_some_and(|p| p.contains_key(*k)))
        .collect();
    for k in props.into_iter().flatten().map(|(k, _)| k.as_str()) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// serde's field list of `T` (a struct), or of its variant `tag = name` (an
/// internally tagged enum): `T` is read from a deserializer that only
/// records what the derived code tells it.
fn fields_of<T: DeserializeOwned>(tag: Option<(&str, &str)>) -> Option<&'static [&'static str]> {
    let mut entries: Vec<(String, Option<String>)> = Vec::new();
    if let Some((tag, name)) = tag {
        entries.push((tag.to_string(), Some(name.to_string())));
    }
    // A key no type declares: a variant's derived code answers it with its list.
    entries.push(("\u{0}".to_string(), None));
    match T::deserialize(Probe { entries }) {
        Err(Found(fields)) => fields,
        Ok(_) => None,
    }
}

/// A deserializer of one JSON object that records the field list serde gives it.
struct Probe {
    entries: Vec<(String, Option<String>)>,
}

/// What the probe found: a field list, or nothing (another error).
#[derive(Debug)]
struct Found(Option<&'static [&'static str]>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<T: fmt::Display>(_: T) -> Found {
        Found(None)
    }

    fn unknown_field(_: &str, expected: &'static [&'static str]) -> Found {
        Found(Some(expected))
    }
}

impl<'de> de::Deserializer<'de> for Probe {
    type Error = Found;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Found> {
        visitor.visit_map(ProbeMap {
            entries: self.entries.into_iter(),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Found> {
        Err(Found(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

struct ProbeMap {
    entries: std::vec::IntoIter<(String, Option<String>)>,
    value: Option<Option<String>>,
}

impl<'de> MapAccess<'de> for ProbeMap {
    type Error = Found;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Found> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Found> {
        match self.value.take().flatten() {
            Some(text) => seed.deserialize(text.into_deserializer()),
            None => seed.deserialize(().into_deserializer()),
        }
    }
}
