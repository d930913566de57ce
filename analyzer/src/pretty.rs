//! The one JSON writer of everything `analyze` writes (the per-account reports and
//! `summary.json`): pretty-printed JSON exactly as `serde_json::to_string_pretty` writes it.
//!
//! `serde_json` looks at every byte of every string through its escape table and writes each
//! quote, separator and indentation level as its own small write; here a string that needs no
//! escape (nearly all of them: names, IDs, ARNs) is checked in one vectorizable pass and copied
//! whole, and a line break with its indentation is one write. Whatever is rare or subtle
//! (strings that need escapes, floating-point numbers) is handed to `serde_json` itself, so
//! the bytes are its bytes by construction; the tests compare both on arbitrary values.
//!
//! **Why not `serde_json::to_writer_pretty`** (the complexity budget): measured with `cargo
//! xtask bench --compare` at 10,000 accounts (median of 5 round-robin rounds, every core, one
//! run), writing the reports through `serde_json` made the whole `analyze` 12.0% slower
//! (3.58 s to 4.01 s), and `summary.json` through it (with its lists serialized in one piece)
//! 31.8% slower (4.72 s).

use serde::ser::{self, Serialize};

type Error = serde_json::Error;
type Result<T = ()> = std::result::Result<T, Error>;

/// Appends `value` to `out` as `serde_json::to_string_pretty` writes it (two-space
/// indentation, no trailing newline).
pub fn append<T: ?Sized + Serialize>(value: &T, out: &mut String) -> Result {
    value.serialize(&mut Writer { out, depth: 0 })
}

/// Appends `value` as it is written nested `depth` levels deep in a pretty-printed document:
/// its inner lines indented for that depth, its first line continuing the current one.
pub fn append_nested<T: ?Sized + Serialize>(value: &T, depth: usize, out: &mut String) -> Result {
    value.serialize(&mut Writer { out, depth })
}

/// The line breaks and indentation the writer needs: `",\n"` and the spaces of the deepest
/// level written in one slice; deeper levels add the rest a level at a time.
const BREAK: &str = ",\n                                ";

struct Writer<'o> {
    out: &'o mut String,
    /// The number of open arrays and objects.
    depth: usize,
}

impl Writer<'_> {
    /// A line break (after a `,` unless `first`) and the indentation of the current depth.
    fn line(&mut self, first: bool) {
        let start = usize::from(first);
        let width = 2 * self.depth;
        if width <= BREAK.len() - 2 {
            self.out.push_str(&BREAK[start..2 + width]);
        } else {
            self.out.push_str(&BREAK[start..]);
            for _ in 0..(width - (BREAK.len() - 2)) / 2 {
                self.out.push_str("  ");
            }
        }
    }

    fn open(&mut self, bracket: char) {
        self.out.push(bracket);
        self.depth += 1;
    }

    /// Closes an array or object; `empty` when nothing was written inside (`[]`, `{}`).
    fn close(&mut self, bracket: char, empty: bool) {
        self.depth -= 1;
        if !empty {
            self.line(true);
        }
        self.out.push(bracket);
    }

    fn string(&mut self, value: &str) -> Result {
        // `serde_json` escapes control characters, `"` and `\`.
        #[expect(
            clippy::needless_bitwise_bool,
            reason = "branch-free, so that the scan vectorizes"
        )]
        let needs_escape = value.bytes().fold(false, |any, b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if needs_escape {
            self.out.push_str(&serde_json::to_string(value)?);
            return Ok(());
        }
        self.out.reserve(value.len() + 2);
        self.out.push('"');
        self.out.push_str(value);
        self.out.push('"');
        Ok(())
    }

    /// An integer, without the formatting machinery (hundreds of instructions a number).
    fn integer(&mut self, negative: bool, mut magnitude: u64) {
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            let digit = (magnitude % 10) as u8;
            digits[start] += digit;
            magnitude /= 10;
            if magnitude == 0 {
                break;
            }
        }
        if negative {
            self.out.push('-');
        }
        self.out
            .extend(digits[start..].iter().map(|&d| char::from(d)));
    }

    fn display(&mut self, value: impl std::fmt::Display) {
        use std::fmt::Write as _;
        // Writing into a `String` cannot fail.
        let _ = write!(self.out, "{value}");
    }

    /// `{"<variant>": ` of an enum variant with content (closed by [`Writer::end_variant`]).
    fn begin_variant(&mut self, variant: &str) -> Result {
        self.open('{');
        self.line(true);
        self.string(variant)?;
        self.out.push_str(": ");
        Ok(())
    }

    fn end_variant(&mut self) {
        self.close('}', false);
    }
}

/// An array or object being written.
struct Compound<'w, 'o> {
    writer: &'w mut Writer<'o>,
    /// Whether nothing has been written inside yet.
    empty: bool,
    /// Whether this is the content of an enum variant, closed with an extra `}`.
    variant: bool,
}

impl Compound<'_, '_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        self.writer.line(self.empty);
        self.empty = false;
        value.serialize(&mut *self.writer)
    }

    fn key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result {
        self.writer.line(self.empty);
        self.empty = false;
        key.serialize(KeyWriter(&mut *self.writer))
    }

    fn value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        self.writer.out.push_str(": ");
        value.serialize(&mut *self.writer)
    }

    fn end(self, bracket: char) {
        self.writer.close(bracket, self.empty);
        if self.variant {
            self.writer.end_variant();
        }
    }
}

impl<'w, 'o> ser::Serializer for &'w mut Writer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'o>;
    type SerializeTuple = Compound<'w, 'o>;
    type SerializeTupleStruct = Compound<'w, 'o>;
    type SerializeTupleVariant = Compound<'w, 'o>;
    type SerializeMap = Compound<'w, 'o>;
    type SerializeStruct = Compound<'w, 'o>;
    type SerializeStructVariant = Compound<'w, 'o>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result {
        self.serialize_i64(v.into())
    }

    fn serialize_i16(self, v: i16) -> Result {
        self.serialize_i64(v.into())
    }

    fn serialize_i32(self, v: i32) -> Result {
        self.serialize_i64(v.into())
    }

    fn serialize_i64(self, v: i64) -> Result {
        self.integer(v < 0, v.unsigned_abs());
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result {
        self.display(v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result {
        self.serialize_u64(v.into())
    }

    fn serialize_u16(self, v: u16) -> Result {
        self.serialize_u64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result {
        self.serialize_u64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result {
        self.integer(false, v);
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result {
        self.display(v);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result {
        // Shortest round-trip text, `null` when not finite: `serde_json`'s own.
        self.out.push_str(&serde_json::to_string(&v)?);
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result {
        self.out.push_str(&serde_json::to_string(&v)?);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result {
        self.string(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result {
        ser::Serializer::collect_seq(self, v)
    }

    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.out.push_str("null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result {
        self.string(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.begin_variant(variant)?;
        value.serialize(&mut *self)?;
        self.end_variant();
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'o>> {
        self.open('[');
        Ok(Compound {
            writer: self,
            empty: true,
            variant: false,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'o>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w, 'o>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'o>> {
        self.begin_variant(variant)?;
        let mut compound = self.serialize_seq(Some(len))?;
        compound.variant = true;
        Ok(compound)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'o>> {
        self.open('{');
        Ok(Compound {
            writer: self,
            empty: true,
            variant: false,
        })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w, 'o>> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'o>> {
        self.begin_variant(variant)?;
        let mut compound = self.serialize_map(Some(len))?;
        compound.variant = true;
        Ok(compound)
    }
}

/// The sequence-like compounds (`[...]`): every element goes through [`Compound::element`].
macro_rules! sequence_compound {
    ($($trait:ident :: $method:ident),+) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
                self.element(value)
            }

            fn end(self) -> Result {
                Compound::end(self, ']');
                Ok(())
            }
        }
    )+};
}

/// The struct-like compounds (`{...}` with `'static` field names).
macro_rules! struct_compound {
    ($($trait:ident),+) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result {
                self.key(key)?;
                self.value(value)
            }

            fn end(self) -> Result {
                Compound::end(self, '}');
                Ok(())
            }
        }
    )+};
}

sequence_compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);
struct_compound!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result {
        self.key(key)
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        self.value(value)
    }

    fn end(self) -> Result {
        Compound::end(self, '}');
        Ok(())
    }
}

/// An object key: strings as they are; numbers, booleans and chars quoted, as `serde_json`
/// writes them; anything else an error.
struct KeyWriter<'w, 'o>(&'w mut Writer<'o>);

fn key_must_be_a_string() -> Error {
    ser::Error::custom("key must be a string")
}

impl KeyWriter<'_, '_> {
    fn quoted(self, write: impl FnOnce(&mut Writer<'_>) -> Result) -> Result {
        self.0.out.push('"');
        write(&mut *self.0)?;
        self.0.out.push('"');
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result {
        self.quoted(|w| ser::Serializer::serialize_bool(w, v))
    }

    fn serialize_i8(self, v: i8) -> Result {
        self.quoted(|w| ser::Serializer::serialize_i8(w, v))
    }

    fn serialize_i16(self, v: i16) -> Result {
        self.quoted(|w| ser::Serializer::serialize_i16(w, v))
    }

    fn serialize_i32(self, v: i32) -> Result {
        self.quoted(|w| ser::Serializer::serialize_i32(w, v))
    }

    fn serialize_i64(self, v: i64) -> Result {
        self.quoted(|w| ser::Serializer::serialize_i64(w, v))
    }

    fn serialize_i128(self, v: i128) -> Result {
        self.quoted(|w| ser::Serializer::serialize_i128(w, v))
    }

    fn serialize_u8(self, v: u8) -> Result {
        self.quoted(|w| ser::Serializer::serialize_u8(w, v))
    }

    fn serialize_u16(self, v: u16) -> Result {
        self.quoted(|w| ser::Serializer::serialize_u16(w, v))
    }

    fn serialize_u32(self, v: u32) -> Result {
        self.quoted(|w| ser::Serializer::serialize_u32(w, v))
    }

    fn serialize_u64(self, v: u64) -> Result {
        self.quoted(|w| ser::Serializer::serialize_u64(w, v))
    }

    fn serialize_u128(self, v: u128) -> Result {
        self.quoted(|w| ser::Serializer::serialize_u128(w, v))
    }

    fn serialize_f32(self, v: f32) -> Result {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(|w| ser::Serializer::serialize_f32(w, v))
    }

    fn serialize_f64(self, v: f64) -> Result {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(|w| ser::Serializer::serialize_f64(w, v))
    }

    fn serialize_char(self, v: char) -> Result {
        self.0.string(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result {
        self.0.string(v)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(key_must_be_a_string())
    }

    fn serialize_none(self) -> Result {
        Err(key_must_be_a_string())
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result {
        self.0.string(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(key_must_be_a_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::Value;

    fn ours<T: ?Sized + Serialize>(value: &T) -> String {
        let mut out = String::new();
        super::append(value, &mut out).unwrap();
        out
    }

    fn same<T: ?Sized + Serialize>(value: &T) {
        assert_eq!(ours(value), serde_json::to_string_pretty(value).unwrap());
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Newtype(u8);

    #[derive(Serialize)]
    struct Tuple(i32, &'static str);

    #[derive(Serialize)]
    struct Empty {}

    #[derive(Serialize)]
    enum Variant {
        Unit,
        Newtype(Vec<u8>),
        Tuple(u8, Vec<u8>),
        EmptyTuple(),
        Struct { a: Option<u8>, b: Empty },
        EmptyStruct {},
    }

    #[derive(Serialize)]
    struct Everything {
        flag: bool,
        negative: i64,
        big: u128,
        small: i128,
        ratio: f64,
        single: f32,
        nan: f64,
        letter: char,
        quote: char,
        text: &'static str,
        escaped: String,
        none: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<String>,
        unit: (),
        unit_struct: Unit,
        newtype: Newtype,
        tuple: Tuple,
        empty: Empty,
        empty_list: Vec<Vec<u8>>,
        nested_empties: Vec<Vec<Empty>>,
        variants: Vec<Variant>,
        bytes: serde_bytes_like::Bytes,
        int_keys: BTreeMap<i32, u8>,
        bool_keys: BTreeMap<bool, u8>,
        char_keys: BTreeMap<char, u8>,
        deep: Value,
    }

    mod serde_bytes_like {
        /// Serialized through `serialize_bytes`.
        pub struct Bytes(pub &'static [u8]);

        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let mut deep = Value::from("bottom");
        for i in 0..40 {
            deep = if i % 2 == 0 {
                Value::Array(vec![deep, Value::Null])
            } else {
                serde_json::json!({ "k": deep, "e": {} })
            };
        }
        same(&Everything {
            flag: true,
            negative: i64::MIN,
            big: u128::MAX,
            small: i128::MIN,
            ratio: 100.0 / 3.0,
            single: 0.1,
            nan: f64::NAN,
            letter: 'é',
            quote: '"',
            text: "plain ARN arn:aws:iam::123456789012:role/x",
            escaped: "tab\t nl\n ctl\u{1} \u{1f} quote\" backslash\\ slash/ del\u{7f} é 🎉"
                .to_owned(),
            none: None,
            skipped: None,
            unit: (),
            unit_struct: Unit,
            newtype: Newtype(7),
            tuple: Tuple(-1, "x"),
            empty: Empty {},
            empty_list: vec![vec![], vec![1]],
            nested_empties: vec![vec![Empty {}], vec![]],
            variants: vec![
                Variant::Unit,
                Variant::Newtype(vec![]),
                Variant::Newtype(vec![1, 2]),
                Variant::Tuple(1, vec![2]),
                Variant::EmptyTuple(),
                Variant::Struct {
                    a: Some(1),
                    b: Empty {},
                },
                Variant::EmptyStruct {},
            ],
            bytes: serde_bytes_like::Bytes(b"\x00\xff"),
            int_keys: BTreeMap::from([(-3, 1), (12, 2)]),
            bool_keys: BTreeMap::from([(false, 1), (true, 2)]),
            char_keys: BTreeMap::from([('"', 1), ('a', 2)]),
            deep,
        });
        same(&[0, 7, 10, 99, 100, u64::MAX]);
        same(&[i64::MIN, -1, 0, 1, i64::MAX]);
        same(&Vec::<u8>::new());
        same(&BTreeMap::<String, u8>::new());
        same(&Variant::Newtype(vec![3]));
        same("top-level string");
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        let keys = BTreeMap::from([(vec![1_u8], 1_u8)]);
        assert!(super::append(&keys, &mut String::new()).is_err());
        assert!(serde_json::to_string_pretty(&keys).is_err());
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "[a-z\"\\\\\u{0}-\u{1f}é]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\"\\\\\u{0}-\u{1f}é]{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_values_match(value in json()) {
            prop_assert_eq!(ours(&value), serde_json::to_string_pretty(&value).unwrap());
        }
    }
}
