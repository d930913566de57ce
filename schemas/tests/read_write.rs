//! Reading and writing snapshots: round trips, compression, and every bad-input message.

#![expect(clippy::unwrap_used, reason = "test helpers")]

use std::path::{Path, PathBuf};

use headroom_schemas::{Compression, ReadError, read, to_json, write, write_file};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

fn demo_bytes() -> Vec<u8> {
    std::fs::read(fixture("snapshots/demo.json")).unwrap()
}

#[test]
fn demo_round_trips_byte_identically() {
    let bytes = demo_bytes();
    let snapshot = read(&bytes).unwrap();
    let written = to_json(&snapshot);
    assert!(
        written == bytes,
        "fixtures/snapshots/demo.json is not canonical; run `cargo xtask fmt-snapshot fixtures/snapshots/demo.json`"
    );
    assert_eq!(read(&written).unwrap(), snapshot);
}

#[test]
fn frozen_v1_0_is_still_readable() {
    let snapshot = headroom_schemas::read_file(&fixture("snapshots/frozen/v1.0.json")).unwrap();
    assert_eq!(snapshot.format_version.to_string(), "1.0");
    assert_eq!(snapshot.organization.accounts.len(), 10);
}

#[test]
fn frozen_v1_1_is_still_readable() {
    use headroom_schemas::AvailabilitySource;
    let bytes = std::fs::read(fixture("snapshots/frozen/v1.1.json")).unwrap();
    let snapshot = read(&bytes).unwrap();
    assert_eq!(snapshot.format_version.to_string(), "1.1");
    assert!(
        to_json(&snapshot) == bytes,
        "fixtures/snapshots/frozen/v1.1.json is not canonical"
    );
    // What 1.1 added: service availability, `not_offered`, regions not enabled, error detail.
    let availability = snapshot.meta.service_availability.as_ref().unwrap();
    assert_eq!(availability.source, AvailabilitySource::Ssm);
    assert!(!availability.services["aoss"].contains("af-south-1"));
    let shared = &snapshot.accounts["101010101010"];
    let absent = shared.not_offered();
    assert_eq!(absent.len(), 1);
    assert_eq!(
        (absent[0].service, absent[0].region),
        ("aoss", "af-south-1")
    );
    assert_eq!(shared.regions_not_enabled(), ["me-south-1"]);
    assert!(shared.gaps().is_empty(), "not offered is not a gap");
    let details = snapshot
        .accounts
        .values()
        .flat_map(headroom_schemas::AccountInventory::gaps)
        .filter(|g| g.error.detail.is_some())
        .count();
    assert_eq!(details, 1);
}

#[test]
fn frozen_v1_2_is_still_readable() {
    use headroom_schemas::activity::{Coverage, Source};
    let bytes = std::fs::read(fixture("snapshots/frozen/v1.2.json")).unwrap();
    let snapshot = read(&bytes).unwrap();
    assert_eq!(snapshot.format_version.to_string(), "1.2");
    assert!(
        to_json(&snapshot) == bytes,
        "fixtures/snapshots/frozen/v1.2.json is not canonical"
    );
    // What 1.2 added: the activity section, with its read status per account, region, day.
    let activity = snapshot.activity.as_ref().unwrap();
    assert_eq!(activity.window.first_day, "2026-11-18");
    assert_eq!(
        activity.selectors,
        headroom_schemas::activity::catalog::all_actions()
    );
    assert!(matches!(activity.source, Source::S3 { .. }));
    assert_eq!(activity.events.len(), 6);
    let id = |s: &str| headroom_schemas::AccountId::new(s).unwrap();
    assert_eq!(activity.coverage(&id("444444444444")), Coverage::Complete);
    for (account, gaps) in [
        ("777777777777", 1),
        ("888888888888", 1),
        ("111111111111", 1),
    ] {
        let Coverage::Gaps(found) = activity.coverage(&id(account)) else {
            panic!("{account} has gaps");
        };
        assert_eq!(found.len(), gaps, "{account}");
    }
    assert_eq!(activity.events_of(&id("666666666666")).count(), 2);
    assert_eq!(activity.events_of(&id("222222222222")).count(), 0);
}

#[test]
fn earlier_versions_have_no_activity() {
    for name in ["v1.0.json", "v1.1.json"] {
        let snapshot =
            headroom_schemas::read_file(&fixture(&format!("snapshots/frozen/{name}"))).unwrap();
        assert!(snapshot.activity.is_none(), "{name}");
    }
}

/// The frozen 1.2 file with `edit` applied to its JSON.
fn v1_2_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("snapshots/frozen/v1.2.json")).unwrap())
            .unwrap();
    edit(&mut value);
    serde_json::to_vec(&value).unwrap()
}

#[test]
fn inconsistent_activity_is_refused() {
    for (edit, message) in [
        (
            Box::new(|v: &mut serde_json::Value| {
                v["activity"]["window"]["first_day"] = "2026-11-31".into();
            }) as Box<dyn FnOnce(&mut serde_json::Value)>,
            "activity window `2026-11-31` to `2026-11-20` is not two YYYY-MM-DD days",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                v["activity"]["window"]["first_day"] = "2026-11-21".into();
            }),
            "activity window starts on `2026-11-21`, after it ends on `2026-11-20`",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                let accounts = &mut v["activity"]["source"]["accounts"];
                accounts["000000000001"] = accounts["999999999999"].clone();
            }),
            "activity was read for account `000000000001`, which is not in the organization",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                let days = &mut v["activity"]["source"]["accounts"]["222222222222"]["regions"]["eu-west-1"];
                days["2026-10-01"] = days["2026-11-18"].clone();
            }),
            "activity of account `222222222222` in `eu-west-1` names day `2026-10-01`, outside the window",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                let events = v["activity"]["events"].as_array_mut().unwrap();
                events.swap(0, 1);
            }),
            "activity events are not sorted by account, time and ID",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                v["activity"]["selectors"] = serde_json::json!(["kms:*", "*"]);
            }),
            "activity selectors are not sorted and distinct",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                v["activity"]["events"][0]["principal"]["nickname"] = "x".into();
            }),
            "unknown field `nickname`",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                v["activity"]["source"]["type"] = "ftp".into();
            }),
            "unknown variant `ftp`",
        ),
    ] {
        let bytes = v1_2_with(edit);
        let e = err(&bytes);
        assert!(e.contains(message), "{message}: {e}");
    }
}

#[test]
fn a_not_offered_service_has_no_fields() {
    let bytes = demo_with(|v| {
        v["accounts"]["101010101010"]["regions"]["us-east-1"]["aoss"] =
            serde_json::json!({"status": "not_offered", "data": {"access_policies": []}});
    });
    assert!(
        err(&bytes).contains("unknown field `data`"),
        "{}",
        err(&bytes)
    );
}

#[test]
fn zstd_round_trip_equals_plain() {
    let snapshot = read(&demo_bytes()).unwrap();
    let mut compressed = Vec::new();
    write(&snapshot, &mut compressed, Compression::Zstd(3)).unwrap();
    assert_eq!(&compressed[..4], &[0x28, 0xB5, 0x2F, 0xFD]);
    assert!(compressed.len() < demo_bytes().len() / 4);
    assert_eq!(read(&compressed).unwrap(), snapshot);
    let mut plain = Vec::new();
    write(&snapshot, &mut plain, Compression::None).unwrap();
    assert_eq!(plain, demo_bytes());
}

#[test]
fn write_file_is_atomic_and_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.snapshot.json.zst");
    let snapshot = read(&demo_bytes()).unwrap();
    write_file(&path, &snapshot, Compression::Zstd(3)).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Only the final file remains: no temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("out.snapshot.json.zst")]
    );
    assert_eq!(headroom_schemas::read_file(&path).unwrap(), snapshot);
}

fn err(bytes: &[u8]) -> String {
    let e: ReadError = read(bytes).unwrap_err();
    e.to_string()
}

fn demo_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&demo_bytes()).unwrap();
    edit(&mut v);
    serde_json::to_vec_pretty(&v).unwrap()
}

#[test]
fn truncated_zstd() {
    let snapshot = read(&demo_bytes()).unwrap();
    let mut compressed = Vec::new();
    write(&snapshot, &mut compressed, Compression::Zstd(3)).unwrap();
    compressed.truncate(compressed.len() / 2);
    assert_eq!(
        err(&compressed),
        "snapshot is not valid zstd (truncated or corrupt)"
    );
}

#[test]
fn invalid_json_names_line_and_column() {
    assert_eq!(
        err(b"{\n  \"format\": \"headroom-snapshot\",\n  oops\n}"),
        "snapshot is not valid JSON: key must be a string at line 3 column 3"
    );
    assert_eq!(
        err(b""),
        "snapshot is not valid JSON: EOF while parsing a value at line 1 column 0"
    );
}

#[test]
fn wrong_format_tag() {
    let bytes = demo_with(|v| v["format"] = "terraform-state".into());
    assert_eq!(
        err(&bytes),
        "not a headroom snapshot: `format` is \"terraform-state\", expected \"headroom-snapshot\""
    );
    assert_eq!(
        err(b"[1, 2]"),
        "not a headroom snapshot: the document is not a JSON object with `format` and `format_version`"
    );
}

#[test]
fn newer_versions_are_rejected_naming_both() {
    let bytes = demo_with(|v| v["format_version"]["minor"] = 7.into());
    assert_eq!(
        err(&bytes),
        "snapshot format version 1.7 is newer than this build supports (1.2); upgrade headroom"
    );
    let bytes = demo_with(|v| {
        v["format_version"]["major"] = 2.into();
        v["brand_new_field"] = true.into();
    });
    assert_eq!(
        err(&bytes),
        "snapshot format version 2.0 is not supported: this build reads 1.0 to 1.2; upgrade headroom"
    );
}

#[test]
fn unknown_field_is_named_with_its_path() {
    let bytes =
        demo_with(|v| v["organization"]["accounts"]["222222222222"]["nickname"] = "x".into());
    let e = err(&bytes);
    assert!(
        e.starts_with("snapshot does not match format 1.0: unknown field `nickname`"),
        "{e}"
    );
    assert!(
        e.contains("at `organization.accounts.222222222222.nickname`"),
        "{e}"
    );
}

#[test]
fn missing_field_is_named() {
    let bytes = demo_with(|v| {
        v["meta"].as_object_mut().unwrap().remove("partition");
    });
    let e = err(&bytes);
    assert!(e.contains("missing field `partition`"), "{e}");
    assert!(e.contains("at `meta`"), "{e}");
}

#[test]
fn inconsistent_snapshots_are_rejected() {
    let bytes = demo_with(|v| {
        v["organization"]["accounts"]["222222222222"]["parent_id"] = "ou-zzzz-99999999".into();
    });
    assert_eq!(
        err(&bytes),
        "snapshot is inconsistent: account `222222222222` has parent `ou-zzzz-99999999`, which is neither the root nor an OU"
    );
    let bytes = demo_with(|v| {
        v["accounts"]
            .as_object_mut()
            .unwrap()
            .remove("333333333333");
    });
    assert_eq!(
        err(&bytes),
        "snapshot is inconsistent: account `333333333333` has no entry under `accounts`"
    );
    let bytes = demo_with(|v| {
        v["organization"]["organizational_units"]["ou-aaaa-11111111"]["parent_id"] =
            "ou-aaaa-11111111".into();
    });
    assert_eq!(
        err(&bytes),
        "snapshot is inconsistent: OU `ou-aaaa-11111111` is part of a parent cycle"
    );
}

#[test]
fn account_state_unknown_is_kept_verbatim() {
    let bytes = demo_with(|v| {
        v["organization"]["accounts"]["999999999999"]["state"] = "PENDING_MIGRATION".into();
    });
    let snapshot = read(&bytes).unwrap();
    let state = &snapshot.organization.accounts["999999999999"].state;
    assert_eq!(state.as_str(), "PENDING_MIGRATION");
    assert!(!state.is_active());
}

#[test]
fn tags_read_alike_first_or_not() {
    // Headroom writes each `status` tag first and reads it without buffering; a file whose
    // tags come later (hand-edited, or re-serialized with sorted keys, as `demo_with` does
    // when serde_json sorts) takes the buffered path and must read the same.
    let original = read(&demo_bytes()).unwrap();
    assert_eq!(read(&demo_with(|_| {})).unwrap(), original);
}

#[test]
fn unknown_fields_and_variants_inside_tagged_objects_are_named() {
    let text = String::from_utf8(demo_bytes()).unwrap();
    assert_eq!(text.matches("\"status\": \"failed\",").count(), 1);
    let bytes = text.replace(
        "\"status\": \"failed\",",
        "\"status\": \"failed\", \"extra\": true,",
    );
    let e = err(bytes.as_bytes());
    assert!(e.contains("unknown field `extra`, expected `error`"), "{e}");
    assert!(
        e.contains("at `accounts.777777777777.regions.eu-west-1.aoss.extra`"),
        "{e}"
    );
    let bytes = text.replace("\"status\": \"not_collected\",", "\"status\": \"lost\",");
    let e = err(bytes.as_bytes());
    assert!(e.contains("unknown variant `lost`"), "{e}");
}
