//! Per-account report files: names, serialization and exclude-mode redaction.
//!
//! Reports are pretty-printed JSON (two-space indent, keys in the declared order of the report
//! types) with a trailing newline. In exclude mode (`exclude_account_ids`) the account ID
//! leaves the file name and the summary, and every account ID of the organization is replaced
//! by `REDACTED` wherever it appears in a string (ARNs, SQS queue URLs, SAML principals,
//! collection errors), as is the account field of any ARN. Third-party account IDs that are
//! not inside an ARN stay, so allowlists remain reviewable.

use std::collections::{BTreeMap, BTreeSet};

use headroom_schemas::AccountId;
use headroom_schemas::org::{Account, Organization};
use serde::Serialize;

use crate::Settings;

/// The text that replaces a redacted account ID.
pub const REDACTED: &str = "REDACTED";

/// Serializes a report; in exclude mode, redacts it.
pub fn to_bytes<T: Serialize>(
    report: &T,
    exclude_account_ids: bool,
    members: &BTreeMap<AccountId, Account>,
) -> Result<Vec<u8>, serde_json::Error> {
    thread_local! {
        /// Where reports are written before they are copied out at their exact size: a
        /// string grown by doubling would be copied several times and would keep up to twice
        /// its length until it is written (reports wait in memory until the snapshot is known
        /// valid).
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SCRATCH.with(|scratch| {
        let mut text = scratch.borrow_mut();
        text.clear();
        crate::pretty::append(report, &mut text)?;
        let redacted;
        let text = if exclude_account_ids {
            redacted = redact(&text, &|id| members.contains_key(id));
            redacted.as_str()
        } else {
            text.as_str()
        };
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(b'\n');
        Ok(bytes)
    })
}

/// Replaces, inside the JSON string literals of `json`, every 12-digit run that is an
/// organization account (`is_member`) or the account field of an ARN with [`REDACTED`].
/// Digits outside strings (numbers) are never touched.
pub fn redact(json: &str, is_member: &dyn Fn(&str) -> bool) -> String {
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            if b == b'"' {
                in_string = true;
            }
            i += 1;
            continue;
        }
        match b {
            b'\\' => i += 2,
            b'"' => {
                in_string = false;
                i += 1;
            }
            b'0'..=b'9' => {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let run = &json[start..i];
                if run.len() == 12 && (is_member(run) || follows_arn_prefix(&json[..start])) {
                    out.push_str(&json[copied..start]);
                    out.push_str(REDACTED);
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&json[copied..]);
    out
}

/// Whether `before` ends with `arn:<partition>:<service>:<region>:` inside one string.
fn follows_arn_prefix(before: &str) -> bool {
    let start = before.rfind('"').map_or(0, |q| q + 1);
    let segment = &before[start..];
    let Some(arn_at) = segment.rfind("arn:") else {
        return false;
    };
    let tail = &segment[arn_at..];
    tail.ends_with(':') && tail.matches(':').count() == 4
}

/// A file-name-safe form of an account name: ASCII letters, digits, `.`, `_`, `-`, `+`, `@`
/// kept, anything else `_`; never empty and never starting with a dot.
pub fn safe_file_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

/// The longest account name kept whole in a report file name. AWS allows 256-character
/// names and tags; with the account ID and `.json` a file name must stay below the 255 bytes
/// file systems allow.
pub const MAX_NAME_IN_FILE: usize = 100;

/// `name` cut to [`MAX_NAME_IN_FILE`] characters, ending in a hash of the whole name so that
/// two long names sharing a start stay distinct (the same name always gives the same stem).
fn capped(name: String) -> String {
    if name.len() <= MAX_NAME_IN_FILE {
        return name;
    }
    let hash = crate::render::short_hash(&name);
    let cut: String = name
        .chars()
        .take(MAX_NAME_IN_FILE - hash.len() - 1)
        .collect();
    format!("{cut}_{hash}")
}

/// The report file name (without `.json`) of every account: `<name>_<id>`, or `<name>` in
/// exclude mode, where a name shared by several accounts gets `_2`, `_3`, ... in account-ID
/// order after the first. Names are compared without case: on case-insensitive file systems
/// (macOS, Windows) `Prod` and `prod` are one file.
pub fn file_stems(organization: &Organization, settings: &Settings) -> BTreeMap<AccountId, String> {
    let mut stems = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for account in organization.accounts.values() {
        let name = capped(safe_file_name(&settings.account_name(account)));
        let stem = if settings.exclude_account_ids {
            let mut candidate = name.clone();
            let mut n = 1;
            while used.contains(&candidate.to_ascii_lowercase()) {
                n += 1;
                candidate = format!("{name}_{n}");
            }
            candidate
        } else {
            format!("{name}_{}", account.id)
        };
        used.insert(stem.to_ascii_lowercase());
        stems.insert(account.id.clone(), stem);
    }
    stems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> bool {
        id == "111111111111"
    }

    #[test]
    fn redacts_member_ids_and_arn_accounts_only_in_strings() {
        let json = r#"{"a": "arn:aws:iam::121212121212:role/x", "b": "https://sqs.us-east-1.amazonaws.com/111111111111/q", "c": "121212121212", "n": 111111111111, "d": "arn:aws:rds:us-east-1:343434343434:db:x", "e": "saml/111111111111/idp", "f": "1111111111112"}"#;
        let out = redact(json, &member);
        assert_eq!(
            out,
            r#"{"a": "arn:aws:iam::REDACTED:role/x", "b": "https://sqs.us-east-1.amazonaws.com/REDACTED/q", "c": "121212121212", "n": 111111111111, "d": "arn:aws:rds:us-east-1:REDACTED:db:x", "e": "saml/REDACTED/idp", "f": "1111111111112"}"#
        );
    }

    #[test]
    fn escaped_quotes_do_not_confuse_the_scanner() {
        let json = r#"{"a": "x \" 111111111111 \\", "b": 111111111111}"#;
        assert_eq!(
            redact(json, &member),
            r#"{"a": "x \" REDACTED \\", "b": 111111111111}"#
        );
    }

    #[test]
    fn long_names_are_cut_with_a_hash_and_stay_distinct() {
        let a = format!("a{}", "x".repeat(255));
        let b = format!("a{}y", "x".repeat(254));
        let (ca, cb) = (capped(a.clone()), capped(b));
        assert_eq!(ca.len(), MAX_NAME_IN_FILE);
        assert_ne!(ca, cb);
        assert_eq!(ca, capped(a), "deterministic");
        assert_eq!(capped("short".into()), "short");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(safe_file_name("acme/co ../x"), "acme_co_.._x");
        assert_eq!(safe_file_name(".."), "_..");
        assert_eq!(safe_file_name(""), "_");
    }
}
