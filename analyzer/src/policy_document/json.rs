//! A JSON tree that borrows its strings from the text it was parsed from: policy documents are
//! read once and only inspected, so building a `serde_json::Value` (an allocation per string
//! and a map per object) is wasted work.
//!
//! It answers exactly what `serde_json::Value` would: the same parser reads the text (same
//! syntax errors, same numbers), and an object with a repeated key keeps the last value, as
//! `serde_json::Map` does.
//!
//! **Why not `serde_json::Value`** (the complexity budget): measured with `cargo xtask bench
//! --compare` at 10,000 accounts (median of 5 round-robin rounds, every core, one run), parsing
//! each policy into a `serde_json::Value` first made the whole `analyze` 19.0% slower (3.58 s to
//! 4.26 s).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object's entries as written (repeated keys included).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Object<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Object<'a> {
    /// The value of `key` (the last one written, as `serde_json::Map` keeps it).
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The entries in key order, one per key (the last written), as `serde_json::Map` iterates
    /// them without `preserve_order`.
    pub(crate) fn sorted(&self) -> Vec<(&str, &Json<'a>)> {
        let mut entries: Vec<(&str, &Json<'a>)> =
            self.0.iter().map(|(k, v)| (k.as_ref(), v)).collect();
        // Stable: among equal keys the last written stays last.
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut out: Vec<(&str, &Json<'a>)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match out.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => out.push(entry),
            }
        }
        out
    }
}

impl<'a> Json<'a> {
    /// Parses JSON text with `serde_json`'s parser.
    pub(crate) fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A view of a `serde_json::Value` (for callers that already hold one).
    pub(crate) fn from_value(value: &'a Value) -> Self {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(Cow::Borrowed(s)),
            Value::Array(items) => Json::Array(items.iter().map(Json::from_value).collect()),
            Value::Object(map) => Json::Object(Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Json::from_value(v)))
                    .collect(),
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value: Json<'de> = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Json::Object(Object(entries)))
    }
}

/// An object key, borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"b": [1, -2, 2.5, 1e300, true, null, "x\"y"], "a": {"k": "v"}, "a": 3}"#,
            r#"[{"\u0041": "\u00e9"}, {}, []]"#,
            "  \"plain\" ",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            // `Value` dropped repeated keys already: compare sorted, deduplicated views.
            assert_eq!(
                normalize(&Json::parse(text).unwrap()),
                normalize(&Json::from_value(&value))
            );
        }
        for bad in ["{", "[1e400]", "{\"a\" 1}", "[1,]", "{\"a\": 1} x"] {
            let expected = serde_json::from_str::<Value>(bad).unwrap_err().to_string();
            assert_eq!(Json::parse(bad).unwrap_err().to_string(), expected, "{bad}");
        }
    }

    /// Objects as their sorted, deduplicated entries.
    fn normalize(json: &Json<'_>) -> Json<'static> {
        match json {
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(*b),
            Json::Number(n) => Json::Number(n.clone()),
            Json::String(s) => Json::String(Cow::Owned(s.to_string())),
            Json::Array(items) => Json::Array(items.iter().map(normalize).collect()),
            Json::Object(map) => Json::Object(Object(
                map.sorted()
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.to_owned()), normalize(v)))
                    .collect(),
            )),
        }
    }
}
