//! Fast deserialization of the internally tagged enums that wrap every account and service.
//!
//! serde's derived internally tagged enums buffer each object into an intermediate tree before
//! they look at the tag, so a derived `AccountInventory` would parse every account's whole
//! inventory twice. Headroom always writes the tag first, so these visitors read the tag and
//! then the variant's fields straight from the same map; only an object whose tag is not first
//! (a hand-edited file) takes the buffered path, with the same result.

use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// An internally tagged enum read tag-first.
pub(crate) trait TagFirst<'de>: Sized {
    /// The tag's field name.
    const TAG: &'static str;
    /// What the object is, for error messages.
    const EXPECTING: &'static str;
    /// The tag's type.
    type Tag: Deserialize<'de>;
    /// The derived, buffering representation used when the tag is not first.
    type Buffered: Deserialize<'de> + Into<Self>;
    /// Reads the variant `tag`'s remaining fields from `rest`.
    fn variant<D: Deserializer<'de>>(tag: Self::Tag, rest: D) -> Result<Self, D::Error>;
}

pub(crate) fn deserialize<'de, T: TagFirst<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(TagFirstVisitor::<T>(PhantomData))
}

struct TagFirstVisitor<T>(PhantomData<T>);

impl<'de, T: TagFirst<'de>> Visitor<'de> for TagFirstVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Err(de::Error::missing_field(T::TAG));
        };
        if first == T::TAG {
            let tag: T::Tag = map.next_value()?;
            return T::variant(tag, MapAccessDeserializer::new(map));
        }
        // The tag is not first: buffer the object and let the derived code find it.
        // Repeated keys are refused here, at any depth, as the tag-first path refuses them.
        let mut object = serde_json::Map::new();
        let crate::unique::Value(value) = map.next_value()?;
        object.insert(first, value);
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("key `{key}` appears twice")));
            }
            let crate::unique::Value(value) = map.next_value()?;
            object.insert(key, value);
        }
        T::Buffered::deserialize(serde_json::Value::Object(object))
            .map(Into::into)
            .map_err(de::Error::custom)
    }
}
