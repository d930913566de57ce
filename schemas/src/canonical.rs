//! Canonical JSON for `serde_json::Value`: object keys always sorted.
//!
//! `serde_json::Map` iterates in key order unless `serde_json`'s `preserve_order` feature is on,
//! and Cargo unifies features across a build: the collector's test dependencies
//! (aws-smithy-mocks) switch it on for the whole workspace under `cargo test --workspace`.
//! Output built from `Value`s must therefore be serialized through [`Canonical`], or it would
//! differ between `cargo test -p headroom-analyzer` and a workspace build. Typed structs and
//! `BTreeMap`s are unaffected and need no wrapper.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// Serializes a `Value` with every object's keys in sorted order, whatever `serde_json`'s
/// features.
#[derive(Debug, Clone, Copy)]
pub struct Canonical<'a>(pub &'a Value);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Canonical(value))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Canonical(item))?;
                }
                out.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// Minified canonical JSON text of `value`.
pub fn to_string(value: &Value) -> String {
    serde_json::to_string(&Canonical(value)).unwrap_or_default()
}

/// Pretty-printed (two-space) canonical JSON text of `value`.
pub fn to_string_pretty(value: &Value) -> String {
    serde_json::to_string_pretty(&Canonical(value)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let mut inner = serde_json::Map::new();
        inner.insert("z".into(), Value::from(1));
        inner.insert("a".into(), Value::from(2));
        let mut outer = serde_json::Map::new();
        outer.insert("b".into(), Value::Array(vec![Value::Object(inner.clone())]));
        outer.insert("a".into(), Value::Object(inner));
        let v = Value::Object(outer);
        assert_eq!(to_string(&v), r#"{"a":{"a":2,"z":1},"b":[{"a":2,"z":1}]}"#);
    }
}
