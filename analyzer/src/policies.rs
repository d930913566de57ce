//! Policy documents: Terraform-exact JSON text and size, and packing statements into policies.
//!
//! The Terraform we write embeds each policy as `content = jsonencode({...})`, so the document
//! AWS receives is exactly what Terraform's `jsonencode` makes of it: minified, object keys
//! sorted by byte order, strings escaped as Go's `encoding/json` does with HTML escaping on
//! (`<`, `>`, `&`, U+2028 and U+2029 as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`;
//! `\b`, `\f`, `\n`, `\r`, `\t` short; other control characters as `\u00XX`), numbers in
//! plain decimal without exponent. [`jsonencode`] reproduces that text, and a document's size is
//! its length in UTF-8 bytes: the same as its character count for ASCII (every policy we
//! generate in practice), an upper bound otherwise, which is the safe side of AWS's limit.
//! (Verified against `terraform console` 1.11; Terraform builds from Go before 1.22 wrote `\b`
//! and `\f` as `\u0008` and `\u000c`.)
//!
//! Packing: all statements that one target receives (from every check placed there, in check
//! order) are packed first-fit-decreasing into as few documents as fit the size limit. A
//! statement that cannot fit in a document of its own is an error naming its check and size.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

use crate::model::{CheckKind, Statement};

/// The IAM policy language version every generated document declares.
pub const POLICY_VERSION: &str = "2012-10-17";

/// Why statements cannot be packed into policies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// One statement alone makes a document over the limit.
    #[error(
        "a statement of check `{check_id}` makes a {kind} of {size} characters on its own, over the limit of {limit}; shorten its allowlist or raise `limits.{kind_key}_max_chars`"
    )]
    StatementTooLarge {
        /// The check whose statement it is.
        check_id: String,
        /// `SCP` or `RCP`.
        kind: &'static str,
        /// `scp` or `rcp`, for the configuration key.
        kind_key: &'static str,
        /// The size of a document holding only this statement.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Two statements bound for one target share a `Sid`, which AWS rejects within a policy.
    #[error("checks `{first}` and `{second}` both produce a statement with Sid `{sid}`")]
    DuplicateSid {
        /// The Sid.
        sid: String,
        /// The check of the first statement.
        first: String,
        /// The check of the second statement.
        second: String,
    },
}

/// Encodes `value` exactly as Terraform's `jsonencode` encodes the equivalent HCL value.
pub fn jsonencode(value: &Value) -> String {
    let mut out = String::new();
    encode_into(value, &mut out);
    out
}

fn encode_into(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => encode_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_into(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => encode_object(map, out),
    }
}

fn encode_object(map: &Map<String, Value>, out: &mut String) {
    // Terraform sorts object attributes by bytes. Sort here too: `serde_json`'s
    // `preserve_order` may be switched on by feature unification in a workspace build.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (key, item)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_string(key, out);
        out.push(':');
        encode_into(item, out);
    }
    out.push('}');
}

fn encode_string(s: &str, out: &mut String) {
    out.push('"');
    // Runs of ASCII that Go writes as it is are copied whole (placement measures every
    // statement it considers); only the characters between them are looked at one by one.
    let plain =
        |b: u8| (0x20..0x80).contains(&b) && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&');
    crate::escape::escape_runs(s, out, plain, |c, _, out| match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
        c if u32::from(c) < 0x20 => {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
        c => out.push(c),
    });
    out.push('"');
}

/// A JSON number as Terraform writes it: integers as they are, other numbers in their
/// shortest round-trip decimal form without exponent (`2.0` becomes `2`). The HCL renderer
/// writes numbers with the same text, so what Terraform parses is what we measured.
pub fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        // serde_json numbers are finite; Rust's Display never uses an exponent.
        n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string())
    }
}

/// What a document's text holds before its first statement.
const DOCUMENT_OPEN: &str = "{\"Statement\":[";
/// What a document's text holds after its last statement, before the version.
const DOCUMENT_VERSION: &str = "],\"Version\":\"";
/// What a document's text ends with.
const DOCUMENT_CLOSE: &str = "\"}";

/// The text of a policy document holding `statements`, in order.
pub fn document_text<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> String {
    let mut out = String::from(DOCUMENT_OPEN);
    for (i, statement) in statements.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_object(statement, &mut out);
    }
    out.push_str(DOCUMENT_VERSION);
    out.push_str(POLICY_VERSION);
    out.push_str(DOCUMENT_CLOSE);
    out
}

/// The document as a JSON value (what the Terraform `content` expression evaluates to).
pub fn document_value<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "Statement".to_owned(),
        Value::Array(
            statements
                .into_iter()
                .map(|s| Value::Object(s.clone()))
                .collect(),
        ),
    );
    doc.insert(
        "Version".to_owned(),
        Value::String(POLICY_VERSION.to_owned()),
    );
    Value::Object(doc)
}

/// The size of a document with no statement: `{"Statement":[],"Version":"2012-10-17"}`
/// (the length of [`document_text`] of nothing, counted without building it: placement asks
/// for every candidate target).
pub const fn empty_document_size() -> usize {
    DOCUMENT_OPEN.len() + DOCUMENT_VERSION.len() + POLICY_VERSION.len() + DOCUMENT_CLOSE.len()
}

/// The size a statement adds to a document.
pub fn statement_size(statement: &Statement) -> usize {
    let mut out = String::new();
    encode_object(statement, &mut out);
    out.len()
}

/// The error for the first of `statements` (of one check) too large for a document of its
/// own, if any.
pub fn too_large_alone(
    check_id: &str,
    kind: CheckKind,
    statements: &[Statement],
    limit: usize,
) -> Option<PolicyError> {
    let base = empty_document_size();
    let size = statements
        .iter()
        .map(statement_size)
        .find(|s| base + s > limit)?;
    let (kind_name, kind_key) = match kind {
        CheckKind::Scp => ("SCP", "scp"),
        CheckKind::Rcp => ("RCP", "rcp"),
    };
    Some(PolicyError::StatementTooLarge {
        check_id: check_id.to_owned(),
        kind: kind_name,
        kind_key,
        size: base + size,
        limit,
    })
}

/// The character limit for documents of `kind`.
pub fn limit_for(kind: CheckKind, limits: &headroom_schemas::config::Limits) -> usize {
    match kind {
        CheckKind::Scp => limits.scp_max_chars,
        CheckKind::Rcp => limits.rcp_max_chars,
    }
}

/// One statement offered to [`pack`]: which check it comes from, and the statement.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The check ID, for error messages.
    pub check_id: &'a str,
    /// The statement.
    pub statement: &'a Statement,
}

/// One packed document: the indexes of its statements in the input (ascending) and the exact
/// size of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bin {
    /// Indexes into the packed items, ascending.
    pub members: Vec<usize>,
    /// `document_text` of those statements, in bytes.
    pub size: usize,
}

/// Packs `items` into as few documents of at most `limit` bytes as first-fit-decreasing finds.
///
/// Deterministic: ties are broken by input order, each document keeps its statements in input
/// order, and documents are ordered by their first statement. Rejects a statement too large for
/// a document of its own and two statements with the same `Sid`.
pub fn pack(items: &[Item<'_>], kind: CheckKind, limit: usize) -> Result<Vec<Bin>, PolicyError> {
    let sizes: Vec<usize> = items.iter().map(|i| statement_size(i.statement)).collect();
    pack_measured(items, &sizes, kind, limit)
}

/// [`pack`] for statements whose sizes (`statement_size` of each item) are already known.
pub fn pack_measured(
    items: &[Item<'_>],
    sizes: &[usize],
    kind: CheckKind,
    limit: usize,
) -> Result<Vec<Bin>, PolicyError> {
    let mut sids: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for item in items {
        if let Some(Value::String(sid)) = item.statement.get("Sid")
            && let Some(first) = sids.insert(sid.as_str(), item.check_id)
        {
            return Err(PolicyError::DuplicateSid {
                sid: sid.clone(),
                first: first.to_owned(),
                second: item.check_id.to_owned(),
            });
        }
    }
    let base = empty_document_size();
    for (item, size) in items.iter().zip(sizes) {
        if base + size > limit {
            let (kind_name, kind_key) = match kind {
                CheckKind::Scp => ("SCP", "scp"),
                CheckKind::Rcp => ("RCP", "rcp"),
            };
            return Err(PolicyError::StatementTooLarge {
                check_id: item.check_id.to_owned(),
                kind: kind_name,
                kind_key,
                size: base + size,
                limit,
            });
        }
    }
    Ok(pack_sizes(sizes, limit))
}

/// First-fit-decreasing over statement sizes (each of which fits a document alone), with the
/// same ordering rules as [`pack`].
pub fn pack_sizes(sizes: &[usize], limit: usize) -> Vec<Bin> {
    let base = empty_document_size();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    let mut bins: Vec<Bin> = Vec::new();
    for index in order {
        let size = sizes[index];
        match bins.iter_mut().find(|bin| bin.size + 1 + size <= limit) {
            Some(bin) => {
                bin.members.push(index);
                bin.size += 1 + size;
            }
            None => bins.push(Bin {
                members: vec![index],
                size: base + size,
            }),
        }
    }
    for bin in &mut bins {
        bin.members.sort_unstable();
    }
    bins.sort_by_key(|bin| bin.members.first().copied());
    bins
}

/// The condition key a carve-out exempts accounts by: the account of the principal making
/// the request for SCPs (which govern principals), the account owning the resource for RCPs
/// (which govern resources). See `documentation/CARVE_OUT.md` for why neither can widen
/// anything beyond the accounts named.
pub fn carve_out_key(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Scp => "aws:PrincipalAccount",
        CheckKind::Rcp => "aws:ResourceAccount",
    }
}

/// `statements` with every Deny statement exempting `accounts`: a `StringNotEquals` on
/// [`carve_out_key`], and-ed with the statement's own conditions (the keys of one condition
/// block all hold). Where the statement already has `StringNotEquals` on that key, the values
/// are merged: "none of A" and "none of B" is "none of A and B".
pub fn carve_out(
    mut statements: Vec<Statement>,
    kind: CheckKind,
    accounts: &[String],
) -> Vec<Statement> {
    if accounts.is_empty() {
        return statements;
    }
    let key = carve_out_key(kind);
    for statement in &mut statements {
        if statement.get("Effect").and_then(Value::as_str) != Some("Deny") {
            continue;
        }
        let condition = statement
            .entry("Condition")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(condition) = condition else {
            continue; // never built by a check: conditions are objects
        };
        let operator = condition
            .entry("StringNotEquals")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(operator) = operator else {
            continue;
        };
        let mut values: BTreeSet<String> = accounts.iter().cloned().collect();
        match operator.get(key) {
            Some(Value::String(one)) => {
                values.insert(one.clone());
            }
            Some(Value::Array(many)) => {
                values.extend(many.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            _ => {}
        }
        let value = if values.len() == 1 {
            values.into_iter().next().map_or(Value::Null, Value::String)
        } else {
            Value::Array(values.into_iter().map(Value::String).collect())
        };
        operator.insert(key.to_owned(), value);
    }
    statements
}

/// The distinct `Sid`s of some statements, for reports.
pub fn sids<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> BTreeSet<String> {
    statements
        .into_iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn statement(v: Value) -> Statement {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn encodes_like_terraform_jsonencode() {
        // Expected text from `terraform console` 1.11.4:
        // jsonencode({b="<>&\u2028\u2029 é \t\n\r\u0001\u007f\"\\ $${x} %%{y}", a=[1, 2.0, 0.1, true, null, 1e21, -0, 1.5e-7]})
        let value = json!({
            "b": "<>&\u{2028}\u{2029} é \t\n\r\u{1}\u{7f}\u{8}\u{c}\"\\ ${x} %{y}",
            "a": [1, 2.0, 0.1, true, null, 1e21, -0.0, 1.5e-7],
        });
        assert_eq!(
            jsonencode(&value),
            "{\"a\":[1,2,0.1,true,null,1000000000000000000000,-0,0.00000015],\"b\":\"\\u003c\\u003e\\u0026\\u2028\\u2029 é \\t\\n\\r\\u0001\u{7f}\\b\\f\\\"\\\\ ${x} %{y}\"}"
        );
    }

    #[test]
    fn document_text_is_the_encoding_of_the_document_value() {
        let statements = [
            statement(json!({"Sid": "A", "Effect": "Deny", "Action": "s3:*", "Resource": "*"})),
            statement(
                json!({"Sid": "B", "Effect": "Deny", "Action": ["a<b", "c"], "Resource": "*"}),
            ),
        ];
        let text = document_text(&statements);
        assert_eq!(text, jsonencode(&document_value(&statements)));
        assert_eq!(
            text.len(),
            empty_document_size()
                + statement_size(&statements[0])
                + 1
                + statement_size(&statements[1])
        );
        assert_eq!(
            empty_document_size(),
            r#"{"Statement":[],"Version":"2012-10-17"}"#.len()
        );
        assert_eq!(empty_document_size(), document_text([]).len());
    }

    fn sized(sid: &str, pad: usize) -> Statement {
        statement(json!({"Sid": sid, "Effect": "Deny", "Action": "x".repeat(pad), "Resource": "*"}))
    }

    #[test]
    fn packs_first_fit_decreasing_and_measures_exactly() {
        let statements: Vec<Statement> = (0..7)
            .map(|i| sized(&format!("S{i}"), 100 + i * 37))
            .collect();
        let items: Vec<Item<'_>> = statements
            .iter()
            .map(|s| Item {
                check_id: "c",
                statement: s,
            })
            .collect();
        let bins = pack(&items, CheckKind::Scp, 600).unwrap();
        let mut seen = BTreeSet::new();
        for bin in &bins {
            let text = document_text(bin.members.iter().map(|i| &statements[*i]));
            assert_eq!(text.len(), bin.size);
            assert!(bin.size <= 600);
            assert!(bin.members.windows(2).all(|w| w[0] < w[1]));
            seen.extend(bin.members.iter().copied());
        }
        assert_eq!(seen.len(), 7);
        // Lower bound on the number of documents: total payload over capacity.
        let total: usize = statements.iter().map(statement_size).sum();
        assert!(bins.len() >= total.div_ceil(600 - empty_document_size()));
        assert_eq!(bins.len(), 4);
    }

    #[test]
    fn rejects_a_statement_too_large_alone() {
        let big = sized("Big", 6000);
        let err = pack(
            &[Item {
                check_id: "deny_iam_user_creation",
                statement: &big,
            }],
            CheckKind::Scp,
            5120,
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`deny_iam_user_creation`"), "{message}");
        assert!(
            message.contains(&format!("{} characters", document_text([&big]).len())),
            "{message}"
        );
        assert!(message.contains("limits.scp_max_chars"), "{message}");
    }

    #[test]
    fn rejects_duplicate_sids() {
        let a = sized("Same", 1);
        let err = pack(
            &[
                Item {
                    check_id: "one",
                    statement: &a,
                },
                Item {
                    check_id: "two",
                    statement: &a,
                },
            ],
            CheckKind::Rcp,
            5120,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "checks `one` and `two` both produce a statement with Sid `Same`"
        );
    }
}
