//! The least-privilege policies in `test_environment/` grant exactly the actions `collect`
//! calls (`headroom_collector::actions`), in both directions.
#![expect(clippy::unwrap_used, reason = "test code")]

use std::collections::BTreeSet;
use std::path::Path;

use headroom_collector::actions;

fn policy_file(file: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test_environment/policies")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The actions a policy document grants; every statement an Allow of named actions, on every
/// resource (`*`) when `any_resource`, else on named resources only.
fn actions_of(file: &str, doc: &serde_json::Value, any_resource: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for statement in doc["Statement"].as_array().unwrap() {
        assert_eq!(
            statement["Effect"], "Allow",
            "{file}: only Allow statements"
        );
        if any_resource {
            assert_eq!(
                statement["Resource"], "*",
                "{file}: read actions on every resource"
            );
        } else {
            let resources = statement["Resource"].as_array().unwrap();
            assert!(
                !resources.is_empty() && resources.iter().all(|r| r != "*"),
                "{file}: named resources only"
            );
        }
        for action in statement["Action"].as_array().unwrap() {
            let action = action.as_str().unwrap();
            assert!(
                !action.contains('*'),
                "{file}: no wildcard actions, found `{action}`"
            );
            assert!(
                out.insert(action.to_owned()),
                "{file}: `{action}` listed twice"
            );
        }
    }
    out
}

fn granted(file: &str) -> BTreeSet<String> {
    actions_of(file, &policy_file(file), true)
}

fn declared(list: &[&str]) -> BTreeSet<String> {
    let set: BTreeSet<String> = list.iter().map(|a| (*a).to_owned()).collect();
    assert_eq!(set.len(), list.len(), "an action is declared twice");
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, list, "the action list is kept sorted");
    set
}

#[test]
fn org_reader_policy_is_exactly_what_collect_calls() {
    assert_eq!(granted("org_reader.json"), declared(actions::ORG_READER));
}

#[test]
fn account_reader_policy_is_exactly_what_collect_calls() {
    assert_eq!(
        granted("account_reader.json"),
        declared(actions::ACCOUNT_READER)
    );
}

#[test]
fn collector_policy_is_exactly_what_the_caller_calls_on_named_resources() {
    let doc = policy_file("collector.json");
    assert_eq!(
        actions_of("collector.json", &doc, false),
        declared(actions::CALLER)
    );
    let text = doc.to_string();
    assert!(text.contains("role/Headroom\"") && text.contains("role/OrgAndAccountInfoReader\""));
    assert!(text.contains("role/HeadroomActivityReader\""));
    assert!(text.contains("parameter/aws/service/global-infrastructure/services/*"));
}

#[test]
fn activity_reader_policies_are_exactly_what_collect_calls_on_the_trail() {
    let s3 = policy_file("activity_reader_s3.json");
    assert_eq!(
        actions_of("activity_reader_s3.json", &s3, false),
        declared(actions::ACTIVITY_READER_S3)
    );
    // Listing is confined to the trail's logs, reading to its log files.
    let list = s3["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == serde_json::json!(["s3:ListBucket"]))
        .unwrap();
    assert_eq!(
        list["Condition"],
        serde_json::json!({"StringLike": {"s3:prefix": ["${trail_key_prefix}AWSLogs/*"]}})
    );
    assert!(
        s3.to_string()
            .contains("${trail_bucket}/${trail_key_prefix}AWSLogs/*")
    );
    // Athena: what collect calls, and what Athena does with the reader's permissions.
    let athena = policy_file("activity_reader_athena.json");
    let mut wanted = declared(actions::ACTIVITY_READER_ATHENA);
    wanted.extend(declared(actions::ATHENA_ON_BEHALF));
    assert_eq!(
        actions_of("activity_reader_athena.json", &athena, false),
        wanted
    );
    // Reading is confined to the trail's log files, writing to the results location.
    let text = athena.to_string();
    assert!(text.contains("${trail_bucket}/${trail_key_prefix}AWSLogs/*"));
    for statement in athena["Statement"].as_array().unwrap() {
        if statement["Action"].to_string().contains("s3:PutObject") {
            assert_eq!(
                statement["Resource"],
                serde_json::json!(["arn:${partition}:s3:::${results_bucket}/${results_prefix}*"])
            );
        }
    }
}

#[test]
fn the_activity_reader_module_uses_the_policy_files() {
    let tf = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../test_environment/modules/activity_reader_role/main.tf"),
    )
    .unwrap();
    for file in ["activity_reader_s3.json", "activity_reader_athena.json"] {
        assert!(tf.contains(file), "the module must use {file}");
    }
    assert!(tf.contains("templatefile("));
    assert_eq!(tf.matches("resource \"aws_iam_role_policy\"").count(), 1);
    assert!(!tf.contains("managed_policy_arns") && !tf.contains("aws_iam_role_policy_attachment"));
}

/// The member-role template (`headroom_role.yaml`) grants the account reader exactly `account_reader.json`, and trusts
/// only the named collector principals (with the external ID when one is set).
#[test]
fn the_stackset_template_matches_the_account_reader_policy() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test_environment/cloudformation/headroom_role.yaml");
    let template: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let role = &template["Resources"]["HeadroomRole"]["Properties"];
    let policy = &role["Policies"][0]["PolicyDocument"];
    assert_eq!(
        actions_of("headroom_role.yaml", policy, true),
        declared(actions::ACCOUNT_READER)
    );
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Action"], "sts:AssumeRole");
    let [with_id, without_id] = [1, 2].map(|i| &trust["Condition"]["Fn::If"][i]);
    for condition in [with_id, without_id] {
        assert_eq!(
            condition["ArnLike"]["aws:PrincipalArn"]["Ref"],
            "CollectorPrincipalArns"
        );
    }
    assert_eq!(
        with_id["StringEquals"]["sts:ExternalId"]["Ref"],
        "ExternalId"
    );
    assert!(without_id.get("StringEquals").is_none());
}

#[test]
fn the_role_modules_use_the_policy_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_environment/modules");
    for (module, policy) in [
        ("org_reader_role", "policies/org_reader.json"),
        ("headroom_role", "policies/account_reader.json"),
    ] {
        let tf = std::fs::read_to_string(root.join(module).join("main.tf")).unwrap();
        assert!(tf.contains(policy), "{module} must attach {policy}");
        assert_eq!(
            tf.matches("resource \"aws_iam_role_policy\"").count(),
            1,
            "{module}: one inline policy"
        );
        assert!(
            !tf.contains("managed_policy_arns") && !tf.contains("aws_iam_role_policy_attachment"),
            "{module}: no managed policies beyond the file"
        );
    }
}

/// Every action constant in `actions.rs` is named by some call site, so a removed call
/// cannot leave a permission behind.
#[test]
fn every_declared_action_is_used_by_a_call_site() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut code = String::new();
    for dir in [src.clone(), src.join("services"), src.join("activity")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("actions.rs") {
                code.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let actions_rs = std::fs::read_to_string(src.join("actions.rs")).unwrap();
    for line in actions_rs.lines() {
        let Some(rest) = line.strip_prefix("pub const ") else {
            continue;
        };
        let Some((name, ty)) = rest.split_once(':') else {
            continue;
        };
        if !ty.trim_start().starts_with("&str") {
            continue;
        }
        assert!(
            code.contains(&format!("actions::{name}")),
            "`actions::{name}` is declared but no call site uses it"
        );
    }
}
