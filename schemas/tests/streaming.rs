//! The streaming reader accepts what `read` accepts, delivers the same snapshot, and fails with
//! the same message on every bad input.

#![expect(clippy::unwrap_used, reason = "test helpers")]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use headroom_schemas::{Compression, Snapshot, Streamed, read, read_streaming, write};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

/// What the streaming reader hands over, put back together, plus the order of events.
fn streamed(bytes: &[u8]) -> Result<(Snapshot, Vec<String>), String> {
    let mut head = None;
    let mut accounts = std::collections::BTreeMap::new();
    let mut order = Vec::new();
    let mut activity = None;
    read_streaming(bytes, &mut |event| match event {
        Streamed::Head(h) => {
            order.push("head".to_owned());
            head = Some(h);
        }
        Streamed::Account(id, inventory) => {
            order.push(id.to_string());
            accounts.insert(id, *inventory);
        }
        Streamed::Activity(a) => {
            order.push("activity".to_owned());
            activity = Some(*a);
        }
    })
    .map_err(|e| e.to_string())?;
    let head = Arc::try_unwrap(head.unwrap()).unwrap();
    let mut snapshot = head.into_snapshot_without_inventories();
    snapshot.accounts = accounts;
    snapshot.activity = activity;
    Ok((snapshot, order))
}

fn same_as_read(bytes: &[u8]) -> Vec<String> {
    let (snapshot, order) = streamed(bytes).unwrap();
    assert_eq!(snapshot, read(bytes).unwrap());
    order
}

#[test]
fn every_fixture_streams_to_the_same_snapshot() {
    for rel in [
        "snapshots/demo.json",
        "snapshots/hostile.json",
        "snapshots/frozen/v1.0.json",
        "snapshots/frozen/v1.1.json",
        "snapshots/frozen/v1.2.json",
    ] {
        let bytes = std::fs::read(fixture(rel)).unwrap();
        let mut order = same_as_read(&bytes);
        // Headroom writes `accounts` after the head (only `activity` after it): the head comes
        // first, then the accounts in order, then the activity.
        assert_eq!(order[0], "head", "{rel}");
        let has_activity = read(&bytes).unwrap().activity.is_some();
        assert_eq!(order.last().unwrap() == "activity", has_activity, "{rel}");
        if has_activity {
            order.pop();
        }
        let ids = &order[1..];
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{rel}: {ids:?}");
        assert_eq!(ids.len(), read(&bytes).unwrap().accounts.len());
    }
}

#[test]
fn zstd_and_accounts_first_documents_stream_alike() {
    let bytes = std::fs::read(fixture("snapshots/demo.json")).unwrap();
    let snapshot = read(&bytes).unwrap();
    let mut compressed = Vec::new();
    write(&snapshot, &mut compressed, Compression::Zstd(3)).unwrap();
    same_as_read(&compressed);
    // `accounts` before everything else (a hand-written or re-sorted file): read whole first.
    let mut text = String::from("{\"accounts\": ");
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    text.push_str(&serde_json::to_string(&value["accounts"]).unwrap());
    for key in [
        "format",
        "format_version",
        "meta",
        "organization",
        "policies",
    ] {
        let _ = write!(
            text,
            ", \"{key}\": {}",
            serde_json::to_string(&value[key]).unwrap()
        );
    }
    text.push('}');
    let order = same_as_read(text.as_bytes());
    assert_eq!(order[0], "head");
}

/// The frozen 1.2 snapshot (which has an activity section) with its top-level keys in
/// `order`, as text.
fn v1_2_in_order(order: &[&str]) -> Vec<u8> {
    let bytes = std::fs::read(fixture("snapshots/frozen/v1.2.json")).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut text = String::from("{");
    for (i, key) in order.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        let _ = write!(
            text,
            "\"{key}\": {}",
            serde_json::to_string(&value[*key]).unwrap()
        );
    }
    text.push('}');
    text.into_bytes()
}

#[test]
fn activity_is_handed_over_last_wherever_it_is() {
    for order in [
        &[
            "format",
            "format_version",
            "meta",
            "organization",
            "policies",
            "accounts",
            "activity",
        ][..],
        &[
            "activity",
            "format",
            "format_version",
            "meta",
            "organization",
            "policies",
            "accounts",
        ],
        &[
            "format",
            "format_version",
            "activity",
            "meta",
            "organization",
            "policies",
            "accounts",
        ],
        &[
            "accounts",
            "activity",
            "format",
            "format_version",
            "meta",
            "organization",
            "policies",
        ],
    ] {
        let text = v1_2_in_order(order);
        let zstd = zstd::encode_all(&text[..], 3).unwrap();
        for bytes in [text, zstd] {
            let got = same_as_read(&bytes);
            assert_eq!(got[0], "head", "{order:?}");
            assert_eq!(got.last().unwrap(), "activity", "{order:?}");
            assert_eq!(got.iter().filter(|e| *e == "activity").count(), 1);
        }
    }
}

#[test]
fn a_repeated_or_inconsistent_activity_fails_like_read() {
    let whole = v1_2_in_order(&[
        "format",
        "format_version",
        "meta",
        "organization",
        "policies",
        "accounts",
        "activity",
    ]);
    let text = std::str::from_utf8(&whole).unwrap();
    let activity_at = text.find(", \"activity\": ").unwrap();
    let activity = &text[activity_at..text.len() - 1];
    let twice = format!("{}{activity}}}", &text[..text.len() - 1]);
    let early_and_late = format!("{{{}, {}", &activity[2..], &text[1..]);
    let stranger = {
        let mut value: serde_json::Value = serde_json::from_slice(&whole).unwrap();
        value["activity"]["source"]["accounts"]["000000000001"] =
            serde_json::json!({"status": "listed", "regions": {}});
        serde_json::to_string(&value).unwrap()
    };
    for (name, bytes) in [
        ("twice at the end", twice.into_bytes()),
        ("early and late", early_and_late.into_bytes()),
        ("an account outside the organization", stranger.into_bytes()),
    ] {
        let want = read(&bytes).unwrap_err().to_string();
        assert_eq!(streamed(&bytes).unwrap_err(), want, "{name}");
        let compressed = zstd::encode_all(&bytes[..], 3).unwrap();
        assert_eq!(
            streamed(&compressed).unwrap_err(),
            want,
            "{name}, compressed"
        );
    }
}

/// `bytes` with `from` replaced by `to` exactly once.
fn edited(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from}");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn every_bad_input_fails_with_the_message_read_gives() {
    let demo = std::fs::read(fixture("snapshots/demo.json")).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(fixture("bad_input")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            continue;
        }
        cases.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    // Just inside the last account's object.
    let last = std::str::from_utf8(&demo)
        .unwrap()
        .rfind("\"inactive\"")
        .unwrap()
        + 10;
    let mut trailing = demo.clone();
    trailing.extend_from_slice(b"{}");
    let late_bad_shape = {
        let mut b = demo[..last].to_vec();
        b.extend_from_slice(b", \"nickname\": 1");
        b.extend_from_slice(&demo[last..]);
        b
    };
    cases.extend([
        ("empty".to_owned(), b"".to_vec()),
        ("array".to_owned(), b"[1, 2]".to_vec()),
        ("trailing".to_owned(), trailing),
        ("late unknown field".to_owned(), late_bad_shape),
        (
            "extra inventory".to_owned(),
            edited(
                &demo,
                "\n  \"accounts\": {\n",
                "\n  \"accounts\": {\n    \"000000000001\": {\"status\": \"not_collected\", \"reason\": \"skipped\"},\n",
            ),
        ),
        (
            "inventory under another ID".to_owned(),
            edited(&demo, "\n    \"333333333333\": {", "\n    \"000000000003\": {"),
        ),
        (
            "duplicate account".to_owned(),
            edited(
                &demo,
                "\n  \"accounts\": {\n",
                "\n  \"accounts\": {\n    \"101010101010\": {\"status\": \"not_collected\", \"reason\": \"skipped\"},\n",
            ),
        ),
        (
            "inconsistent head".to_owned(),
            edited(
                &demo,
                "\"management_account_id\": \"111111111111\"",
                "\"management_account_id\": \"000000000002\"",
            ),
        ),
        (
            "duplicate head field after accounts".to_owned(),
            {
                let mut b = demo[..demo.len() - 2].to_vec();
                b.extend_from_slice(b",\n  \"policies\": {}\n}\n");
                b
            },
        ),
    ]);
    for (name, bytes) in &cases {
        let want = read(bytes).unwrap_err().to_string();
        let got = streamed(bytes).unwrap_err();
        assert_eq!(got, want, "{name}");
        // Compressed, the same text goes through the pipelined path (decompression and parse
        // overlapped), which must fail alike.
        if !bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            let compressed = zstd::encode_all(&bytes[..], 3).unwrap();
            let want = read(&compressed).unwrap_err().to_string();
            assert_eq!(
                streamed(&compressed).unwrap_err(),
                want,
                "{name}, compressed"
            );
        }
    }
    // Duplicates are refused by both readers, not silently collapsed.
    let duplicate = &cases
        .iter()
        .find(|(n, _)| n == "duplicate account")
        .unwrap()
        .1;
    assert!(
        read(duplicate)
            .unwrap_err()
            .to_string()
            .contains("account `101010101010` is listed twice"),
        "{}",
        read(duplicate).unwrap_err()
    );
}

#[test]
fn both_readers_stop_at_the_same_bound_with_the_same_error() {
    use headroom_schemas::{ReadLimits, read_streaming_with, read_with};
    let demo = std::fs::read(fixture("snapshots/demo.json")).unwrap();
    let limits = ReadLimits {
        max_bytes: 1 << 20,
        max_string_bytes: 4096,
    };
    // A decompression bomb: 64 MiB of whitespace after a valid start, in a few kilobytes;
    // zstd's streaming encoder declares no size, so the bound must stop the decompression.
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 19).unwrap();
    std::io::Write::write_all(&mut encoder, &demo[..demo.len() - 2]).unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..64 {
        std::io::Write::write_all(&mut encoder, &spaces).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    // A string longer than the bound, plain and compressed.
    let long = edited(
        &demo,
        "\"email\": \"aws+security-tooling@example.com\"",
        &format!("\"email\": \"{}\"", "x".repeat(5000)),
    );
    let long_zst = zstd::encode_all(&long[..], 3).unwrap();
    for (name, bytes, want) in [
        (
            "bomb",
            &bomb,
            "snapshot holds more than 1048576 bytes of JSON text (snapshot_limits.max_bytes); raise the limit if this is a real organization",
        ),
        (
            "long string",
            &long,
            "snapshot holds a string longer than 4096 bytes (snapshot_limits.max_string_bytes) at byte 3800 of its JSON text",
        ),
        (
            "long string, zstd",
            &long_zst,
            "snapshot holds a string longer than 4096 bytes (snapshot_limits.max_string_bytes) at byte 3800 of its JSON text",
        ),
    ] {
        let whole = read_with(bytes, &limits).unwrap_err().to_string();
        let streamed = read_streaming_with(bytes, &limits, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert_eq!(whole, want, "{name}");
        assert_eq!(streamed, want, "{name}");
    }
    // Within the default bounds the same files are fine or fail for their own reasons.
    assert!(headroom_schemas::read(&long).is_ok());
}
