//! Known absences are not gaps: a service AWS does not offer in a region (`not_offered`) and an
//! opt-in region the account has not enabled (`regions_not_enabled`) leave the account fully
//! collected, so placement covers it; the same service failing there blocks it. Read from the
//! frozen 1.1 fixture, which holds both.
#![expect(clippy::unwrap_used, reason = "test code")]

use std::path::Path;

use headroom_analyzer::output::Area;
use headroom_analyzer::{OutputFile, Settings, analyze, overview};
use headroom_schemas::Snapshot;
use headroom_schemas::inventory::AccountInventory;
use headroom_schemas::status::{Collected, CollectionError};

const SHARED: &str = "101010101010";

fn frozen() -> Snapshot {
    headroom_schemas::read_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/snapshots/frozen/v1.1.json"),
    )
    .unwrap()
}

/// The accounts `check` covers, and the report of `SHARED` for it.
fn covered(snapshot: &Snapshot, check: &str) -> (Vec<String>, serde_json::Value) {
    let outputs = analyze(snapshot, &Settings::default()).unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&outputs.files[&OutputFile::new(Area::Out, "summary.json")])
            .unwrap();
    let entry = summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_id"] == check)
        .unwrap();
    let accounts = entry["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["covered_accounts"].as_array().unwrap())
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let report = outputs
        .files
        .iter()
        .find(|(f, _)| {
            f.area == Area::Results
                && f.path.starts_with(&format!("rcps/{check}/"))
                && f.path.ends_with(&format!("_{SHARED}.json"))
        })
        .map(|(_, bytes)| serde_json::from_slice(bytes).unwrap())
        .unwrap();
    (accounts, report)
}

#[test]
fn not_offered_and_not_enabled_are_neither_gaps_nor_failures() {
    let snapshot = frozen();
    let (accounts, report) = covered(&snapshot, "deny_aoss_third_party_access");
    assert!(accounts.iter().any(|a| a == SHARED), "{accounts:?}");
    assert_eq!(
        report["collection_gaps"],
        serde_json::json!([]),
        "{report:#}"
    );
}

#[test]
fn the_same_service_failing_there_blocks_the_account() {
    let mut snapshot = frozen();
    let Some(AccountInventory::Collected { regions, .. }) = snapshot.accounts.get_mut(SHARED)
    else {
        panic!("{SHARED} is collected in the fixture");
    };
    regions.get_mut("af-south-1").unwrap().aoss = Collected::Failed {
        error: CollectionError {
            operation: "aoss:ListAccessPolicies".into(),
            code: None,
            message: "cannot reach the endpoint: dns error".into(),
            detail: None,
        },
    };
    let (accounts, report) = covered(&snapshot, "deny_aoss_third_party_access");
    assert!(!accounts.iter().any(|a| a == SHARED), "{accounts:?}");
    assert_eq!(report["collection_gaps"].as_array().unwrap().len(), 1);
}

#[test]
fn the_overview_shows_known_absences() {
    insta::assert_snapshot!(overview::render(&frozen(), &Settings::default()));
}
