//! The activity replay in the whole analysis: on the demo organization with an `activity`
//! section, a recent event the planned guardrail would deny moves it down (`block`, reason
//! `denied_recent_activity`) or is only reported (`warn`); an unread window blocks like a
//! collection gap; a wildcard-principal RCP finding gains the external callers seen as
//! evidence; the outputs are the same through the streaming path at 1 and 2 threads.
#![expect(clippy::unwrap_used, reason = "test code")]

mod checks_common;

use checks_common::{demo, demo_settings};
use headroom_analyzer::{
    Area, Collect, OutputFile, Outputs, Settings, analyze, analyze_bytes_into,
};
use headroom_schemas::Snapshot;
use headroom_schemas::activity::catalog::all_actions;
use headroom_schemas::activity::cloudtrail::{Filter, read_log_file, sort_events};
use headroom_schemas::activity::synthetic::{Call, Identity, log_file};
use headroom_schemas::activity::{Activity, Source, Window};
use headroom_schemas::version::FormatVersion;
use rand::SeedableRng;
use serde_json::{Value, json};

/// A clean account of the demo (payments-prod, under Production) for `deny_iam_user_creation`.
const CLEAN: &str = "444444444444";
/// The account of the demo whose KMS key anyone can use (`wildcard_principal`).
const WILDCARD_KMS: &str = "777777777777";
/// An account outside the demo organization.
const OUTSIDER: &str = "898989898989";
const CHECK: &str = "deny_iam_user_creation";

fn create_user(time: &str, account: &str, path: &str) -> Call {
    let mut c = Call::new(
        time,
        account,
        "us-east-1",
        "iam.amazonaws.com",
        "CreateUser",
        Identity::Role {
            account: account.to_owned(),
            role: "ci-pipeline".into(),
            session: "ci".into(),
        },
    );
    let arn = format!("arn:aws:iam::{account}:user{path}temp-bot");
    c.request = json!({"userName": "temp-bot", "path": path});
    c.response = json!({"user": {"userName": "temp-bot", "path": path, "arn": arn}});
    c
}

fn kms_decrypt(time: &str, account: &str, key: &str, caller: &str) -> Call {
    let mut c = Call::new(
        time,
        account,
        "us-east-1",
        "kms.amazonaws.com",
        "Decrypt",
        Identity::OtherAccount {
            account: caller.to_owned(),
        },
    );
    c.resources = vec![(key.to_owned(), "AWS::KMS::Key".to_owned())];
    c
}

/// An activity section of `calls`, read through the CloudTrail reader as `collect` does, every
/// selector collected, through an Athena query that completed (every account read).
fn activity(snapshot: &Snapshot, calls: &[Call]) -> Activity {
    let members: Vec<String> = snapshot
        .organization
        .accounts
        .keys()
        .map(ToString::to_string)
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let records: Vec<Value> = calls.iter().map(|c| c.record(&mut rng)).collect();
    let mut events = Vec::new();
    read_log_file(
        &log_file(&records),
        &Filter::new(members),
        None,
        &mut events,
    )
    .unwrap();
    sort_events(&mut events);
    assert_eq!(events.len(), calls.len(), "every call is a kept event");
    Activity {
        window: Window {
            first_day: "2026-10-22".into(),
            last_day: "2026-11-20".into(),
        },
        selectors: all_actions(),
        source: serde_json::from_value(json!({
            "type": "athena", "workgroup": "primary", "database": "trail", "table": "cloudtrail",
            "query": {"status": "complete", "records": calls.len(), "events": events.len()}
        }))
        .unwrap(),
        events,
    }
}

/// The demo snapshot with `calls` as its activity (format 1.2).
fn with_activity(calls: &[Call]) -> Snapshot {
    let mut snapshot = demo();
    snapshot.format_version = FormatVersion { major: 1, minor: 2 };
    snapshot.activity = Some(activity(&snapshot, calls));
    snapshot
}

fn settings(mode: &str) -> Settings {
    let mut settings = demo_settings();
    let entry = settings
        .checks
        .entry(CHECK.to_owned())
        .or_insert_with(|| json!({}));
    if entry.is_null() {
        *entry = json!({});
    }
    entry["activity"] = json!(mode);
    settings
}

fn summary(outputs: &Outputs) -> Value {
    let bytes = &outputs.files[&OutputFile::new(Area::Out, "summary.json")];
    serde_json::from_slice(bytes).unwrap()
}

fn check<'a>(summary: &'a Value, id: &str) -> &'a Value {
    summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_id"] == id)
        .unwrap()
}

fn covered(check: &Value) -> Vec<String> {
    let mut out: Vec<String> = check["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["covered_accounts"].as_array().unwrap().iter())
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn blocking<'a>(check: &'a Value, account: &str) -> Option<&'a Value> {
    check["blocking_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == account)
}

/// The entry for `account` in a list of per-account entries.
fn by_account<'a>(list: &'a Value, account: &str) -> Option<&'a Value> {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["account"] == account)
}

fn recent_user_creation() -> Vec<Call> {
    vec![
        create_user("2026-11-02T08:15:00Z", CLEAN, "/"),
        create_user("2026-11-09T08:15:00Z", CLEAN, "/"),
        // Inside the allowed path: the guardrail allows it, in any account.
        create_user("2026-11-03T10:00:00Z", "555555555555", "/automation/"),
    ]
}

#[test]
fn a_denied_recent_event_moves_the_guardrail_down() {
    let before = summary(&analyze(&demo(), &demo_settings()).unwrap());
    let before = check(&before, CHECK);
    assert!(covered(before).contains(&CLEAN.to_owned()));

    let snapshot = with_activity(&recent_user_creation());
    let outputs = analyze(&snapshot, &settings("block")).unwrap();
    let after = summary(&outputs);
    assert_eq!(after["format_version"], json!({"major": 1, "minor": 2}));
    let after = check(&after, CHECK);
    assert!(!covered(after).contains(&CLEAN.to_owned()), "{after:#}");
    let blocker = blocking(after, CLEAN).unwrap();
    assert_eq!(blocker["status"], "violating");
    assert_eq!(
        blocker["violations"],
        json!({"denied_recent_activity": 2}),
        "{blocker:#}"
    );
    // Every other account keeps its coverage.
    let mut expected = covered(before);
    expected.retain(|a| a != CLEAN);
    assert_eq!(covered(after), expected);
    let activity = &after["activity"];
    assert_eq!(activity["mode"], "block");
    assert_eq!(activity["replayed"], true);
    let account = by_account(&activity["accounts"], CLEAN).unwrap();
    assert_eq!(account["blocks"], true);
    assert_eq!(account["denied"]["count"], 2);
    assert_eq!(account["denied"]["first_seen"], "2026-11-02T08:15:00Z");
    assert_eq!(account["denied"]["last_seen"], "2026-11-09T08:15:00Z");
    assert_eq!(
        account["denied"]["principals"],
        json!([format!("arn:aws:sts::{CLEAN}:assumed-role/ci-pipeline")])
    );
    // The examples keep the session.
    assert_eq!(
        account["denied"]["examples"][0]["principal"],
        format!("arn:aws:sts::{CLEAN}:assumed-role/ci-pipeline/ci")
    );
    assert_eq!(account["denied"]["examples"].as_array().unwrap().len(), 2);
    // The allowed path was not denied, nor counted as undecidable.
    assert!(
        by_account(&activity["accounts"], "555555555555").is_none(),
        "{activity:#}"
    );
    // Under the final plan, no attachment denies anything.
    for rec in after["recommendations"].as_array().unwrap() {
        assert_eq!(rec["activity"]["denied"]["count"], 0, "{rec:#}");
    }
    // The stdout names the blocker and its reason.
    assert!(
        outputs
            .stdout
            .contains("payments-prod (444444444444): denied_recent_activity x2"),
        "{}",
        outputs.stdout
    );
}

#[test]
fn warn_reports_the_denied_events_without_moving_the_guardrail() {
    let plain = summary(&analyze(&demo(), &demo_settings()).unwrap());
    let snapshot = with_activity(&recent_user_creation());
    let outputs = analyze(&snapshot, &settings("warn")).unwrap();
    // One line on stdout says what the replay found.
    assert!(
        outputs.stdout.contains(
            "  deny_iam_user_creation: 2 events denied in 1 account (0 blocking, mode warn), 0 events undecidable\n"
        ),
        "{}",
        outputs.stdout
    );
    let warned = summary(&outputs);
    let (plain, warned) = (check(&plain, CHECK), check(&warned, CHECK));
    assert_eq!(covered(plain), covered(warned));
    assert_eq!(plain["blocking_accounts"], warned["blocking_accounts"]);
    let activity = &warned["activity"];
    assert_eq!(activity["mode"], "warn");
    assert_eq!(activity["denied"]["count"], 2);
    assert_eq!(
        by_account(&activity["accounts"], CLEAN).unwrap()["blocks"],
        false
    );
    // The attachment covering the account reports the events it would have denied.
    let rec = warned["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["covered_accounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == CLEAN)
        })
        .unwrap();
    assert_eq!(rec["activity"]["denied"]["count"], 2);
}

#[test]
fn an_unread_window_blocks_like_a_collection_gap_never_as_no_activity() {
    let mut snapshot = with_activity(&[]);
    let activity = snapshot.activity.as_mut().unwrap();
    // Every account read completely, but one day of one region of the clean account failed.
    let mut accounts = serde_json::Map::new();
    for id in snapshot.organization.accounts.keys() {
        let day = if id.as_str() == CLEAN {
            json!({"status": "failed", "error": {"operation": "GetObject", "code": "AccessDenied", "message": "denied"}})
        } else {
            json!({"status": "complete", "objects": 1, "records": 0, "events": 0})
        };
        accounts.insert(
            id.to_string(),
            json!({"status": "listed", "regions": {"us-east-1": {"2026-11-05": day}}}),
        );
    }
    activity.source = serde_json::from_value(json!({
        "type": "s3", "bucket": "org-trail", "key_prefix": "",
        "organization_id": snapshot.organization.id, "accounts": accounts
    }))
    .unwrap();
    assert!(matches!(activity.source, Source::S3 { .. }));

    let strict_window = summary(&analyze(&snapshot, &settings("block")).unwrap());
    let gaps = &by_account(&strict_window["activity"]["gaps"], CLEAN).unwrap()["gaps"];
    assert_eq!(
        gaps,
        &json!(["us-east-1 2026-11-05: GetObject: AccessDenied: denied"])
    );
    let c = check(&strict_window, CHECK);
    assert!(!covered(c).contains(&CLEAN.to_owned()));
    let blocker = blocking(c, CLEAN).unwrap();
    assert_eq!(blocker["status"], "incomplete");
    assert_eq!(
        blocker["gaps"],
        json!(["activity us-east-1 2026-11-05: GetObject: AccessDenied: denied"])
    );
    // `warn` reports the gap and keeps the coverage.
    let warned = summary(&analyze(&snapshot, &settings("warn")).unwrap());
    assert_eq!(
        by_account(&warned["activity"]["gaps"], CLEAN).unwrap()["gaps"],
        *gaps
    );
    assert!(covered(check(&warned, CHECK)).contains(&CLEAN.to_owned()));
}

#[test]
fn a_wildcard_rcp_finding_gains_the_external_callers_seen_as_evidence() {
    let snapshot = demo();
    let key = snapshot.accounts[&headroom_schemas::AccountId::new(WILDCARD_KMS).unwrap()].clone();
    // The key of the wildcard finding, from the inventory.
    let inventory = serde_json::to_value(&key).unwrap();
    let key_arn = inventory["regions"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|r| r["kms"]["data"]["keys"].as_array())
        .flatten()
        .find(|k| k["policy"].as_str().is_some_and(|p| p.contains("\"*\"")))
        .map(|k| k["key_arn"].as_str().unwrap().to_owned())
        .unwrap();
    let snapshot = with_activity(&[kms_decrypt(
        "2026-11-10T12:00:00Z",
        WILDCARD_KMS,
        &key_arn,
        OUTSIDER,
    )]);
    let outputs = analyze(&snapshot, &demo_settings()).unwrap();
    let s = summary(&outputs);
    let kms = check(&s, "deny_kms_third_party_access");
    assert_eq!(
        kms["activity"]["evidence"],
        json!([{"account": WILDCARD_KMS, "resources": {key_arn.clone(): [OUTSIDER]}}])
    );
    // Evidence only: never in an allowlist.
    for rec in kms["recommendations"].as_array().unwrap() {
        assert!(
            !rec["allowlist"]
                .as_array()
                .unwrap()
                .contains(&json!(OUTSIDER))
        );
    }
    assert!(!outputs.files.iter().any(|(file, bytes)| {
        file.area == Area::Rcps && String::from_utf8_lossy(bytes).contains(OUTSIDER)
    }));
}

#[test]
fn snapshots_without_activity_have_no_activity_fields() {
    let outputs = analyze(&demo(), &demo_settings()).unwrap();
    let s = summary(&outputs);
    assert!(s.get("activity").is_none());
    assert_eq!(s["format_version"], json!({"major": 1, "minor": 1}));
    for c in s["checks"].as_array().unwrap() {
        assert!(c.get("activity").is_none());
    }
}

/// The streaming path at 1 and 2 threads writes the same bytes as the in-memory analysis.
#[test]
fn the_replay_is_deterministic_across_paths_and_threads() {
    let mut calls = recent_user_creation();
    calls.push(kms_decrypt(
        "2026-11-10T12:00:00Z",
        WILDCARD_KMS,
        "arn:aws:kms:us-east-1:777777777777:key/anything",
        OUTSIDER,
    ));
    let snapshot = with_activity(&calls);
    let bytes = serde_json::to_vec(&snapshot).unwrap();
    let settings = settings("block");
    let reference = analyze(&snapshot, &settings).unwrap();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (files, stdout) = pool.install(|| {
            let sink = Collect::default();
            let stdout = analyze_bytes_into(&bytes, &settings, &sink).unwrap().text;
            (sink.into_files(), stdout)
        });
        assert_eq!(stdout, reference.stdout, "{threads} threads");
        assert_eq!(files, reference.files, "{threads} threads");
    }
}

/// The clean accounts of the demo for `deny_iam_user_creation` (both strategies cover them).
const CLEAN_FOR_USERS: [&str; 6] = [
    "101010101010",
    "222222222222",
    "333333333333",
    "444444444444",
    "555555555555",
    "777777777777",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, .. proptest::prelude::ProptestConfig::default() })]

    /// Whatever accounts created users outside the allowed paths: with `block`, exactly those
    /// accounts lose their coverage (every other clean account stays covered), each blocks
    /// with `denied_recent_activity`, and the final plan would deny none of the events; with
    /// `warn`, the coverage is that of the snapshot without activity.
    #[test]
    fn block_uncovers_exactly_the_accounts_with_denied_events(
        denied in proptest::sample::subsequence(CLEAN_FOR_USERS.to_vec(), 0..=3),
        allowed in proptest::sample::subsequence(CLEAN_FOR_USERS.to_vec(), 0..=3),
        strict in proptest::prelude::any::<bool>(),
    ) {
        let mut calls: Vec<Call> = denied
            .iter()
            .map(|a| create_user("2026-11-04T09:00:00Z", a, "/"))
            .collect();
        calls.extend(allowed.iter().map(|a| create_user("2026-11-05T09:00:00Z", a, "/automation/")));
        let snapshot = with_activity(&calls);
        let mut block = settings("block");
        let mut warn = settings("warn");
        let mut plain = demo_settings();
        if strict {
            for s in [&mut block, &mut warn, &mut plain] {
                s.strategy = headroom_schemas::config::Strategy::Strict;
            }
        }
        let before = summary(&analyze(&demo(), &plain).unwrap());
        let before = covered(check(&before, CHECK));
        let blocked = summary(&analyze(&snapshot, &block).unwrap());
        let after = check(&blocked, CHECK);
        let mut expected = before.clone();
        expected.retain(|a| !denied.contains(&a.as_str()));
        proptest::prop_assert_eq!(covered(after), expected);
        for account in &denied {
            let b = blocking(after, account).unwrap();
            proptest::prop_assert_eq!(&b["violations"]["denied_recent_activity"], &json!(1));
            proptest::prop_assert_eq!(&by_account(&after["activity"]["accounts"], account).unwrap()["blocks"], &json!(true));
        }
        for rec in after["recommendations"].as_array().unwrap() {
            proptest::prop_assert_eq!(&rec["activity"]["denied"]["count"], &json!(0));
        }
        proptest::prop_assert_eq!(&after["activity"]["denied"]["count"], &json!(denied.len()));
        let warned = summary(&analyze(&snapshot, &warn).unwrap());
        proptest::prop_assert_eq!(covered(check(&warned, CHECK)), before);
        proptest::prop_assert_eq!(&check(&warned, CHECK)["activity"]["denied"]["count"], &json!(denied.len()));
    }
}

/// Exclude mode redacts the organization's account IDs from the activity too, and the
/// summary stays a valid document without repeated keys (accounts are listed, not keys).
#[test]
fn exclude_mode_redacts_the_activity() {
    let snapshot = with_activity(&recent_user_creation());
    let mut settings = settings("block");
    settings.exclude_account_ids = true;
    let outputs = analyze(&snapshot, &settings).unwrap();
    let text =
        String::from_utf8(outputs.files[&OutputFile::new(Area::Out, "summary.json")].clone())
            .unwrap();
    assert!(!text.contains(CLEAN), "{text}");
    let summary: Value = serde_json::from_str(&text).unwrap();
    let c = check(&summary, CHECK);
    assert_eq!(c["activity"]["accounts"][0]["account"], "REDACTED");
    assert_eq!(c["activity"]["accounts"][0]["denied"]["count"], 2);
}
