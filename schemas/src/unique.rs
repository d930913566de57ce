//! Maps that refuse a repeated key instead of keeping the last value silently.
//!
//! JSON and YAML allow an object to repeat a key; serde's `BTreeMap` and `serde_json::Value`
//! keep the last occurrence. In a snapshot or a configuration a repeated key means two
//! contradicting facts (two accounts, two OUs, two options with one name), so every map that
//! is read goes through [`map`] (typed values) or [`Value`] (free-form values, at every depth).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Deserializes a map, refusing a key that appears twice (`deserialize_with = "unique::map"`).
pub(crate) fn map<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord + fmt::Display,
    V: Deserialize<'de>,
{
    struct Unique<K, V>(PhantomData<(K, V)>);
    impl<'de, K, V> Visitor<'de> for Unique<K, V>
    where
        K: Deserialize<'de> + Ord + fmt::Display,
        V: Deserialize<'de>,
    {
        type Value = BTreeMap<K, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = access.next_key::<K>()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format_args!("key `{key}` appears twice")));
                }
                let value = access.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Unique(PhantomData))
}

/// A free-form JSON value that refuses a repeated key in any object at any depth.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Value(pub(crate) serde_json::Value);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor).map(Value)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Value(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("key `{key}` appears twice")));
            }
            let Value(value) = access.next_value()?;
            out.insert(key, value);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// Deserializes a map of free-form values, refusing a repeated key at any depth.
pub(crate) fn value_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, serde_json::Value>, D::Error> {
    let map: BTreeMap<String, Value> = map(deserializer)?;
    Ok(map.into_iter().map(|(k, Value(v))| (k, v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        #[derive(Debug, serde::Deserialize)]
        struct M(#[serde(deserialize_with = "map")] BTreeMap<String, u32>);
        assert_eq!(
            serde_json::from_str::<M>(r#"{"a": 1, "b": 2}"#)
                .unwrap()
                .0
                .len(),
            2
        );
        let err = serde_json::from_str::<M>(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(err.to_string().contains("key `a` appears twice"), "{err}");
        let err = serde_json::from_str::<Value>(r#"{"x": [{"a": 1, "a": 1}]}"#).unwrap_err();
        assert!(err.to_string().contains("key `a` appears twice"), "{err}");
        let v: Value = serde_json::from_str(r#"{"x": [1, "s", null, true, 1.5]}"#).unwrap();
        assert_eq!(v.0["x"][1], "s");
    }
}
