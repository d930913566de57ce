//! Shared helpers of the check tests: the demo snapshot and settings, and fixture snapshots.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
#![allow(dead_code, reason = "each test crate uses a subset")]

use std::path::Path;

use headroom_analyzer::{DEMO_CONFIG, DEMO_SNAPSHOT, Settings};
use headroom_schemas::Snapshot;
use headroom_schemas::config::Config;
use serde_json::{Value, json};

/// The demo snapshot.
pub fn demo() -> Snapshot {
    headroom_schemas::read(DEMO_SNAPSHOT).unwrap()
}

/// The demo settings (`fixtures/config/demo.yaml`).
pub fn demo_settings() -> Settings {
    Settings::from_config(&Config::from_yaml(DEMO_CONFIG, Path::new("demo.yaml")).unwrap())
}

/// The account a check fixture's inventory replaces: security-tooling in the demo org.
pub const FIXTURE_ACCOUNT: &str = "222222222222";

fn complete(data: Value) -> Value {
    if data.get("status").is_some() {
        data
    } else {
        json!({ "status": "complete", "data": data })
    }
}

/// The demo snapshot with the fixture's inventory in [`FIXTURE_ACCOUNT`], and settings that run
/// only `check` with the fixture's options.
pub fn fixture_snapshot(check: &str, fixture: &Value) -> (Snapshot, Settings) {
    let mut snapshot: Value = serde_json::from_slice(DEMO_SNAPSHOT).unwrap();
    let mut global = json!({
        "iam": { "users": [], "roles": [], "saml_providers": [] },
        "s3": { "buckets": [] },
    });
    if let Some(given) = fixture["global"].as_object() {
        for (k, v) in given {
            global[k] = v.clone();
        }
    }
    let global: serde_json::Map<String, Value> = global
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), complete(v.clone())))
        .collect();
    let mut regions = serde_json::Map::new();
    for (region, services) in fixture["regions"].as_object().into_iter().flatten() {
        let mut inv = json!({
            "ec2": { "instances": [], "images": {} },
            "eks": { "clusters": [] },
            "lambda": { "functions": [] },
            "rds": { "db_instances": [], "db_clusters": [] },
            "ecr": { "repositories": [] },
            "kms": { "keys": [] },
            "secretsmanager": { "secrets": [] },
            "sqs": { "queues": [] },
            "aoss": { "access_policies": [] },
        });
        for (k, v) in services.as_object().unwrap() {
            inv[k] = v.clone();
        }
        let inv: serde_json::Map<String, Value> = inv
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), complete(v.clone())))
            .collect();
        regions.insert(region.clone(), Value::Object(inv));
    }
    snapshot["accounts"][FIXTURE_ACCOUNT] = json!({
        "status": "collected",
        "role_arn": "arn:aws:iam::222222222222:role/Headroom",
        "global": global,
        "regions": regions,
    });
    let snapshot = headroom_schemas::read(&serde_json::to_vec(&snapshot).unwrap())
        .expect("fixture inventory must match the snapshot schema");
    let mut settings = demo_settings();
    settings.checks.clear();
    for c in headroom_analyzer::checks::ALL {
        settings
            .checks
            .insert(c.meta().id.to_owned(), json!({ "enabled": false }));
    }
    let mut options = fixture["options"].clone();
    if options.is_null() {
        options = json!({});
    }
    settings.checks.insert(check.to_owned(), options);
    (snapshot, settings)
}
