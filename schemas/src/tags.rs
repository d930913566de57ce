//! Resource tags: a JSON object in the file, a sorted vector in memory.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Tags of a resource or account, sorted by key, keys unique.
///
/// In JSON this is an object, exactly like a `BTreeMap<String, String>`. In memory it is a
/// sorted vector: most resources carry one to three tags, and a `BTreeMap` allocates a whole
/// node (about half a kilobyte) even for one entry, which at a million resources costs more
/// than the snapshot text itself.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    /// No tags.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, replacing any previous value.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// The tags in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Tags {
    type Output = String;

    /// The value of `key`, like `BTreeMap`'s index: panics when the key is absent, so use it
    /// only where absence is a bug (tests); use [`Tags::get`] otherwise.
    #[expect(
        clippy::panic,
        reason = "Index has no other way to report a missing key"
    )]
    fn index(&self, key: &str) -> &String {
        match self.get(key) {
            Some(value) => value,
            None => panic!("no tag `{key}`"),
        }
    }
}

impl FromIterator<(String, String)> for Tags {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut tags = Tags::new();
        for (k, v) in iter {
            tags.insert(k, v);
        }
        tags
    }
}

impl From<BTreeMap<String, String>> for Tags {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(map.into_iter().collect())
    }
}

impl<const N: usize> From<[(String, String); N]> for Tags {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Tags {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Tags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagsVisitor;
        impl<'de> Visitor<'de> for TagsVisitor {
            type Value = Tags;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of tag keys to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Tags, A::Error> {
                let mut pairs: Vec<(String, String)> =
                    Vec::with_capacity(access.size_hint().unwrap_or(0));
                while let Some(pair) = access.next_entry()? {
                    pairs.push(pair);
                }
                pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(serde::de::Error::custom(format!(
                        "duplicate tag key `{}`",
                        w[0].0
                    )));
                }
                pairs.shrink_to_fit();
                Ok(Tags(pairs))
            }
        }
        deserializer.deserialize_map(TagsVisitor)
    }
}

impl JsonSchema for Tags {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Tags".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Tags as a map from key to value.",
            "type": "object",
            "additionalProperties": { "type": "string" }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_as_a_sorted_map() {
        let tags: Tags = serde_json::from_str(r#"{"b":"2","a":"1"}"#).unwrap();
        assert_eq!(tags.get("a").map(String::as_str), Some("1"));
        assert_eq!(tags["b"], "2");
        assert!(tags.get("c").is_none());
        assert_eq!(
            serde_json::to_string(&tags).unwrap(),
            r#"{"a":"1","b":"2"}"#
        );
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = serde_json::from_str::<Tags>(r#"{"a":"1","a":"2"}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate tag key `a`"), "{err}");
    }

    #[test]
    fn insert_keeps_order_and_replaces() {
        let mut tags = Tags::new();
        assert_eq!(tags.insert("z".into(), "1".into()), None);
        assert_eq!(tags.insert("a".into(), "2".into()), None);
        assert_eq!(tags.insert("z".into(), "3".into()), Some("1".into()));
        assert_eq!(tags.keys().collect::<Vec<_>>(), ["a", "z"]);
    }
}
