//! The check registry, every check's fixtures (insta), the demo's intended verdicts, options,
//! statements, exclude mode and the generated documentation.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod checks_common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use checks_common::{FIXTURE_ACCOUNT, demo, demo_settings, fixture_snapshot};
use headroom_analyzer::checks::{self, ALL, common::sid};
use headroom_analyzer::model::{AccountStatus, CheckKind, CheckRun};
use headroom_analyzer::{AnalyzeError, Area};
use headroom_schemas::inventory::NotCollectedReason;
use serde_json::{Value, json};

/// SPEC §6's sixteen checks, literally.
const SPEC_IDS: [&str; 16] = [
    "deny_aoss_third_party_access",
    "deny_ec2_ami_owner",
    "deny_ec2_imds_hop_limit",
    "deny_ec2_imds_v1",
    "deny_ec2_public_ip",
    "deny_ecr_third_party_access",
    "deny_eks_create_cluster_without_tag",
    "deny_iam_saml_provider_not_aws_sso",
    "deny_iam_user_creation",
    "deny_kms_third_party_access",
    "deny_lambda_auth_type_none",
    "deny_rds_unencrypted",
    "deny_s3_third_party_access",
    "deny_secrets_manager_third_party_access",
    "deny_sqs_third_party_access",
    "deny_sts_third_party_assumerole",
];

const SCP_IDS: [&str; 9] = [
    "deny_ec2_ami_owner",
    "deny_ec2_imds_hop_limit",
    "deny_ec2_imds_v1",
    "deny_ec2_public_ip",
    "deny_eks_create_cluster_without_tag",
    "deny_iam_saml_provider_not_aws_sso",
    "deny_iam_user_creation",
    "deny_lambda_auth_type_none",
    "deny_rds_unencrypted",
];

/// Checks whose resources can be tagged out (so their fixtures must show an exemption).
const WITH_EXEMPTIONS: [&str; 11] = [
    "deny_ec2_ami_owner",
    "deny_ec2_imds_hop_limit",
    "deny_ec2_imds_v1",
    "deny_ec2_public_ip",
    "deny_eks_create_cluster_without_tag",
    "deny_ecr_third_party_access",
    "deny_kms_third_party_access",
    "deny_s3_third_party_access",
    "deny_secrets_manager_third_party_access",
    "deny_sqs_third_party_access",
    "deny_sts_third_party_assumerole",
];

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn registry_is_the_spec_list_sorted_and_complete() {
    let ids: Vec<&str> = ALL.iter().map(|c| c.meta().id).collect();
    assert_eq!(ids, SPEC_IDS, "registry must equal SPEC §6, sorted by ID");
    for c in ALL {
        let m = c.meta();
        assert!(
            m.id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
        assert_eq!(
            Path::new(m.source).file_stem().unwrap().to_str().unwrap(),
            m.id,
            "a check lives in the file named by its ID"
        );
        let expected_kind = if SCP_IDS.contains(&m.id) {
            CheckKind::Scp
        } else {
            CheckKind::Rcp
        };
        assert_eq!(m.kind, expected_kind, "{}", m.id);
        assert!(!m.reads.is_empty() && !m.reasons.is_empty(), "{}", m.id);
        for alias in m.aliases {
            assert!(
                !SPEC_IDS.contains(alias),
                "alias `{alias}` shadows a check ID"
            );
        }
        let doc = checks::doc_text(m);
        for section in [
            "## What it denies",
            "## Violations",
            "## Exemptions",
            "## Compliant",
        ] {
            assert!(doc.contains(section), "{} doc lacks `{section}`", m.id);
        }
        for reason in m.reasons {
            assert!(
                doc.contains(reason),
                "{} doc does not mention reason `{reason}`",
                m.id
            );
        }
    }
    let aliases: BTreeSet<&str> = ALL
        .iter()
        .flat_map(|c| c.meta().aliases.iter().copied())
        .collect();
    assert_eq!(
        aliases,
        BTreeSet::from(["deny_imds_v1_ec2", "third_party_assumerole"])
    );
    // Every file in src/checks is a registered check or one of the shared modules.
    let mut stems: Vec<String> = std::fs::read_dir(manifest_dir().join("src/checks"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .filter(|s| {
            ![
                "mod", "common", "rcp", "registry", "config", "runner", "docs",
            ]
            .contains(&s.as_str())
        })
        .collect();
    stems.sort();
    assert_eq!(stems, SPEC_IDS, "every src/checks file must be registered");
}

/// Runs one fixture: the verdict of the fixture account and its report text.
fn run_fixture(check: &str, fixture: &Value) -> (CheckRun, String) {
    let (snapshot, settings) = fixture_snapshot(check, fixture);
    let results = checks::run_checks(&snapshot, &settings).unwrap();
    assert_eq!(results.runs.len(), 1, "only the fixture's check runs");
    let run = results.runs.into_iter().next().unwrap();
    let dir = run.kind.dir();
    let report = results
        .files
        .iter()
        .find(|(f, _)| {
            f.area == Area::Results
                && f.path == format!("{dir}/{check}/security-tooling_{FIXTURE_ACCOUNT}.json")
        })
        .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
        .expect("the fixture account has a report");
    (run, report)
}

#[test]
fn check_fixtures() {
    let mut seen: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    insta::glob!("../../fixtures", "checks/*/*.json", |path| {
        let check = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let fixture: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let (run, report) = run_fixture(check, &fixture);
        let verdict = &run.verdicts[FIXTURE_ACCOUNT];
        let entry = seen.entry(check.to_owned()).or_default();
        entry.0 += verdict.counts.violations;
        entry.1 += verdict.counts.exemptions;
        entry.2 += verdict.counts.compliant;
        let text = format!(
            "# {}\nverdict: {}\nallowlist: {:?}\nconfigured_allowlist: {:?}\n---\n{report}",
            fixture["description"].as_str().unwrap_or(""),
            serde_json::to_string(&verdict.status).unwrap(),
            verdict.allowlist,
            run.configured_allowlist,
        );
        insta::assert_snapshot!(text);
    });
    for id in SPEC_IDS {
        let (v, e, c) = seen.get(id).copied().unwrap_or_default();
        assert!(v > 0, "{id}: no fixture shows a violation");
        assert!(c > 0, "{id}: no fixture shows a compliant resource");
        if WITH_EXEMPTIONS.contains(&id) {
            assert!(e > 0, "{id}: no fixture shows an exemption");
        }
    }
}

/// The identity of a report record.
fn record_key(record: &Value) -> String {
    for key in [
        "instance_id",
        "cluster_name",
        "user_name",
        "function_name",
        "db_identifier",
        "role_name",
        "bucket_name",
        "repository_name",
        "key_id",
        "secret_name",
        "queue_url",
        "policy_name",
        "name",
    ] {
        if let Some(v) = record.get(key).and_then(Value::as_str) {
            return v.to_owned();
        }
    }
    panic!("record without identity: {record}")
}

/// Every listed resource of every demo report: (check, account name, resource) -> outcome.
fn demo_outcomes(
    files: &BTreeMap<headroom_analyzer::OutputFile, Vec<u8>>,
) -> BTreeMap<(String, String, String), String> {
    let mut out = BTreeMap::new();
    for (file, bytes) in files {
        let report: Value = serde_json::from_slice(bytes).unwrap();
        let check = report["summary"]["check"].as_str().unwrap().to_owned();
        let account = report["summary"]["account_name"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(file.path.contains(&account));
        let lists: Vec<(&str, Value)> = report
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| *k != "summary" && *k != "collection_gaps" && v.is_array())
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        for (list, records) in lists {
            for r in records.as_array().unwrap() {
                let outcome = if let Some(reason) = r.get("reason") {
                    format!("V:{}", reason.as_str().unwrap())
                } else if let Some(tag) = r.get("exemption_tag") {
                    format!("E:{}", tag.as_str().unwrap())
                } else {
                    assert!(list != "violations" && list != "exemptions", "{check} {r}");
                    "C".to_owned()
                };
                out.insert((check.clone(), account.clone(), record_key(r)), outcome);
            }
        }
    }
    out
}

#[test]
#[expect(clippy::too_many_lines, reason = "one table of the README's verdicts")]
fn demo_is_classified_as_its_readme_says() {
    let snapshot = demo();
    let results = checks::run_checks(&snapshot, &demo_settings()).unwrap();
    assert_eq!(results.runs.len(), 16);
    let outcomes = demo_outcomes(&results.files);
    let expect: &[(&str, &str, &str, &str)] = &[
        (
            "deny_ec2_ami_owner",
            "dev-sandbox",
            "i-66666666666666661",
            "V:unknown_image_owner",
        ),
        (
            "deny_ec2_ami_owner",
            "dev-sandbox",
            "i-66666666666666663",
            "V:unknown_image_owner",
        ),
        (
            "deny_ec2_ami_owner",
            "dev-sandbox",
            "i-66666666666666662",
            "C",
        ),
        (
            "deny_ec2_ami_owner",
            "security-tooling",
            "i-22222222222222221",
            "C",
        ),
        ("deny_ec2_ami_owner", "web-prod", "i-55555555555555551", "C"),
        (
            "deny_ec2_ami_owner",
            "payments-prod",
            "i-44444444444444441",
            "C",
        ),
        (
            "deny_ec2_ami_owner",
            "log-archive",
            "i-33333333333333331",
            "C",
        ),
        (
            "deny_ec2_ami_owner",
            "shared-services",
            "i-10101010101010101",
            "C",
        ),
        (
            "deny_ec2_imds_hop_limit",
            "payments-prod",
            "i-44444444444444441",
            "V:hop_limit_above_1",
        ),
        (
            "deny_ec2_imds_hop_limit",
            "log-archive",
            "i-33333333333333331",
            "C",
        ),
        (
            "deny_ec2_imds_hop_limit",
            "payments-prod",
            "i-44444444444444442",
            "C",
        ),
        (
            "deny_ec2_imds_v1",
            "dev-sandbox",
            "i-66666666666666661",
            "V:imds_v1_allowed",
        ),
        (
            "deny_ec2_imds_v1",
            "payments-prod",
            "i-44444444444444441",
            "E:ExemptFromIMDSv2",
        ),
        (
            "deny_ec2_imds_v1",
            "log-archive",
            "i-33333333333333331",
            "C",
        ),
        ("deny_ec2_imds_v1", "web-prod", "i-55555555555555551", "C"),
        (
            "deny_ec2_public_ip",
            "web-prod",
            "i-55555555555555551",
            "V:public_ip_assigned",
        ),
        (
            "deny_ec2_public_ip",
            "security-tooling",
            "i-22222222222222221",
            "C",
        ),
        (
            "deny_eks_create_cluster_without_tag",
            "dev-sandbox",
            "experiments",
            "V:missing_paved_road_tag",
        ),
        (
            "deny_eks_create_cluster_without_tag",
            "dev-sandbox",
            "ml-test",
            "V:missing_paved_road_tag",
        ),
        (
            "deny_eks_create_cluster_without_tag",
            "security-tooling",
            "platform",
            "C",
        ),
        (
            "deny_eks_create_cluster_without_tag",
            "web-prod",
            "web",
            "C",
        ),
        (
            "deny_iam_saml_provider_not_aws_sso",
            "dev-sandbox",
            "Okta",
            "V:provider_prefix_not_awssso",
        ),
        (
            "deny_iam_saml_provider_not_aws_sso",
            "acme-co",
            "LegacyADFS",
            "V:provider_prefix_not_awssso",
        ),
        (
            "deny_iam_saml_provider_not_aws_sso",
            "acme-co",
            "AWSSSO_8888bbbb88888888_DO_NOT_DELETE",
            "V:multiple_saml_providers_present",
        ),
        (
            "deny_iam_saml_provider_not_aws_sso",
            "security-tooling",
            "AWSSSO_2222aaaa22222222_DO_NOT_DELETE",
            "C",
        ),
        (
            "deny_iam_user_creation",
            "dev-sandbox",
            "dev-local-user",
            "V:user_outside_allowed_paths",
        ),
        (
            "deny_iam_user_creation",
            "acme-co",
            "temp-contractor",
            "V:user_outside_allowed_paths",
        ),
        (
            "deny_iam_user_creation",
            "acme-co",
            "terraform-user",
            "V:user_outside_allowed_paths",
        ),
        ("deny_iam_user_creation", "acme-co", "ci-deployer", "C"),
        (
            "deny_iam_user_creation",
            "shared-services",
            "cicd-deployer",
            "C",
        ),
        (
            "deny_lambda_auth_type_none",
            "web-prod",
            "public-webhook",
            "V:function_url_auth_none",
        ),
        (
            "deny_lambda_auth_type_none",
            "security-tooling",
            "rotate-keys",
            "C",
        ),
        (
            "deny_lambda_auth_type_none",
            "web-prod",
            "internal-api",
            "C",
        ),
        ("deny_lambda_auth_type_none", "web-prod", "cron-job", "C"),
        (
            "deny_rds_unencrypted",
            "dev-sandbox",
            "scratch-mysql",
            "V:storage_unencrypted",
        ),
        (
            "deny_rds_unencrypted",
            "dev-sandbox",
            "scratch-aurora",
            "V:storage_unencrypted",
        ),
        ("deny_rds_unencrypted", "security-tooling", "audit-db", "C"),
        (
            "deny_rds_unencrypted",
            "payments-prod",
            "payments-ledger",
            "C",
        ),
        (
            "deny_rds_unencrypted",
            "payments-prod",
            "payments-ledger-1",
            "C",
        ),
        (
            "deny_sts_third_party_assumerole",
            "acme-co",
            "LegacyWildcardRole",
            "V:wildcard_principal",
        ),
        (
            "deny_sts_third_party_assumerole",
            "acme-co",
            "PartnerIfExistsRole",
            "V:wildcard_principal",
        ),
        (
            "deny_sts_third_party_assumerole",
            "shared-services",
            "ExemptWildcardRole",
            "E:dp:exclude:identity",
        ),
        (
            "deny_sts_third_party_assumerole",
            "acme-co",
            "VendorDeployRole",
            "C",
        ),
        (
            "deny_s3_third_party_access",
            "web-prod",
            "web-prod-assets",
            "V:wildcard_principal",
        ),
        (
            "deny_s3_third_party_access",
            "log-archive",
            "log-archive-public-reports",
            "E:dp:exclude:identity",
        ),
        (
            "deny_s3_third_party_access",
            "web-prod",
            "web-prod-partner-exchange",
            "C",
        ),
        (
            "deny_ecr_third_party_access",
            "data-dev",
            "ml-models",
            "V:wildcard_principal",
        ),
        (
            "deny_ecr_third_party_access",
            "shared-services",
            "public-base",
            "E:dp:exclude:identity",
        ),
        (
            "deny_ecr_third_party_access",
            "data-dev",
            "base-images",
            "C",
        ),
        (
            "deny_ecr_third_party_access",
            "shared-services",
            "golden-images",
            "C",
        ),
        (
            "deny_kms_third_party_access",
            "data-dev",
            "77777777-aaaa-4aaa-8aaa-777777777772",
            "V:wildcard_principal",
        ),
        (
            "deny_kms_third_party_access",
            "data-dev",
            "77777777-aaaa-4aaa-8aaa-777777777773",
            "E:dp:exclude:identity",
        ),
        (
            "deny_kms_third_party_access",
            "data-dev",
            "77777777-aaaa-4aaa-8aaa-777777777771",
            "C",
        ),
        (
            "deny_kms_third_party_access",
            "payments-prod",
            "44444444-aaaa-4aaa-8aaa-444444444444",
            "C",
        ),
        (
            "deny_secrets_manager_third_party_access",
            "data-dev",
            "data/wildcard-secret",
            "V:wildcard_principal",
        ),
        (
            "deny_secrets_manager_third_party_access",
            "data-dev",
            "data/legacy-shared",
            "E:dp:exclude:identity",
        ),
        (
            "deny_secrets_manager_third_party_access",
            "data-dev",
            "data/partner-token",
            "C",
        ),
        (
            "deny_secrets_manager_third_party_access",
            "payments-prod",
            "payments/partner-api-key",
            "C",
        ),
        (
            "deny_sqs_third_party_access",
            "web-prod",
            "https://sqs.us-east-1.amazonaws.com/555555555555/web-prod-orders",
            "V:wildcard_principal",
        ),
        (
            "deny_sqs_third_party_access",
            "web-prod",
            "https://sqs.us-east-1.amazonaws.com/555555555555/web-prod-events",
            "E:dp:exclude:identity",
        ),
        (
            "deny_sqs_third_party_access",
            "web-prod",
            "https://sqs.us-east-1.amazonaws.com/555555555555/web-prod-vendor-feed",
            "C",
        ),
        (
            "deny_aoss_third_party_access",
            "data-dev",
            "dashboard-sso",
            "V:non_account_principal",
        ),
        (
            "deny_aoss_third_party_access",
            "data-dev",
            "analytics-access",
            "C",
        ),
    ];
    for (check, account, resource, outcome) in expect {
        let got = outcomes.get(&(
            (*check).to_owned(),
            (*account).to_owned(),
            (*resource).to_owned(),
        ));
        assert_eq!(
            got.map(String::as_str),
            Some(*outcome),
            "{check} {account} {resource}"
        );
    }
    // Every violation and exemption in the demo is one the README names.
    let named: BTreeSet<(&str, &str, &str)> =
        expect.iter().map(|(c, a, r, _)| (*c, *a, *r)).collect();
    for ((check, account, resource), outcome) in &outcomes {
        if outcome != "C" {
            assert!(
                named.contains(&(check.as_str(), account.as_str(), resource.as_str())),
                "unexpected {outcome}: {check} {account} {resource}"
            );
        }
    }
    // The terminated instance is ignored by every check.
    assert!(!outcomes.keys().any(|(_, _, r)| r == "i-55555555555555552"));

    let run = |id: &str| results.runs.iter().find(|r| r.check_id == id).unwrap();
    let verdict = |id: &str, account: &str| run(id).verdicts[account].clone();
    let allow = |id: &str, account: &str| -> Vec<String> {
        verdict(id, account).allowlist.into_iter().collect()
    };
    // Resources the RCP checks judge compliant without listing them (no outside reach).
    for (id, account, total) in [
        ("deny_sts_third_party_assumerole", "222222222222", 2), // OrgAuditRole, HeadroomCollector
        ("deny_s3_third_party_access", "222222222222", 1),      // *, our org ID
        ("deny_s3_third_party_access", "333333333333", 2),      // cloudtrail + exempt
        ("deny_sqs_third_party_access", "333333333333", 1),     // SNS + SourceArn
        ("deny_kms_third_party_access", "222222222222", 0),     // only an AWS-managed key
    ] {
        let v = verdict(id, account);
        assert_eq!(
            v.counts.violations + v.counts.exemptions + v.counts.compliant,
            total,
            "{id} {account}"
        );
        assert_eq!(v.counts.violations, 0, "{id} {account}");
    }
    assert_eq!(
        allow("deny_ec2_ami_owner", "666666666666"),
        ["141414141414", "aws-marketplace"]
    );
    assert_eq!(
        allow("deny_ec2_ami_owner", "222222222222"),
        ["131313131313", "amazon"]
    );
    assert_eq!(
        allow("deny_sts_third_party_assumerole", "888888888888"),
        ["121212121212"]
    );
    assert_eq!(
        allow("deny_s3_third_party_access", "555555555555"),
        ["343434343434"]
    );
    assert_eq!(
        allow("deny_ecr_third_party_access", "101010101010"),
        ["121212121212"]
    );
    assert_eq!(
        allow("deny_kms_third_party_access", "777777777777"),
        ["565656565656"]
    );
    assert_eq!(
        allow("deny_kms_third_party_access", "444444444444"),
        ["343434343434"]
    );
    assert_eq!(
        allow("deny_secrets_manager_third_party_access", "777777777777"),
        ["565656565656"]
    );
    assert_eq!(
        allow("deny_sqs_third_party_access", "555555555555"),
        ["343434343434"]
    );
    assert_eq!(
        run("deny_iam_user_creation").configured_allowlist,
        BTreeSet::from(["arn:aws:iam::*:user/automation/*".to_owned()])
    );
    // Statuses: management and suspended accounts are excluded; data-dev's aoss gap makes it
    // incomplete for the aoss check only.
    for r in &results.runs {
        assert_eq!(
            r.verdicts["111111111111"].status,
            AccountStatus::Excluded {
                reason: NotCollectedReason::ManagementAccount
            }
        );
        assert_eq!(
            r.verdicts["999999999999"].status,
            AccountStatus::Excluded {
                reason: NotCollectedReason::Inactive
            }
        );
        assert_eq!(r.verdicts.len(), snapshot.organization.accounts.len());
        let data_dev = &r.verdicts["777777777777"].status;
        if r.check_id == "deny_aoss_third_party_access" {
            assert!(
                matches!(data_dev, AccountStatus::Incomplete { gaps } if gaps.len() == 1 && gaps[0].starts_with("eu-west-1 aoss: AccessDeniedException: "))
            );
        } else {
            assert!(
                !matches!(data_dev, AccountStatus::Incomplete { .. }),
                "{}",
                r.check_id
            );
        }
        assert_eq!(
            r.verdicts["222222222222"].status,
            AccountStatus::Clean,
            "security-tooling is clean in {}",
            r.check_id
        );
    }
    // Reports: 16 checks x 8 collected accounts.
    assert_eq!(results.files.len(), 16 * 8);
}

#[test]
fn skipped_accounts_are_excluded_but_still_reported() {
    let snapshot = demo();
    let mut settings = demo_settings();
    settings
        .skip_account_ids
        .insert("666666666666".parse().unwrap());
    let results = checks::run_checks(&snapshot, &settings).unwrap();
    for r in &results.runs {
        assert_eq!(
            r.verdicts["666666666666"].status,
            AccountStatus::Excluded {
                reason: NotCollectedReason::Skipped
            }
        );
    }
    assert!(
        results
            .files
            .keys()
            .any(|f| f.path == "scps/deny_ec2_imds_v1/dev-sandbox_666666666666.json")
    );
}

fn settings_error(checks: Value) -> String {
    let mut settings = demo_settings();
    settings.checks = serde_json::from_value(checks).unwrap();
    match checks::run_checks(&demo(), &settings) {
        Err(AnalyzeError::Settings(message)) => message,
        Err(other) => panic!("expected a settings error, got {other}"),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn check_options_are_validated() {
    let err = settings_error(json!({ "deny_everything": {} }));
    assert!(err.starts_with("unknown check `deny_everything` in `checks` (known checks: deny_aoss_third_party_access, "), "{err}");
    let err = settings_error(json!({ "deny_ec2_imds_v1": { "exemption_tags": ["X"] } }));
    assert!(
        err.starts_with(
            "checks.deny_ec2_imds_v1: unknown field `exemption_tags`, expected `exemption_tag_keys`"
        ),
        "{err}"
    );
    let err = settings_error(json!({ "deny_imds_v1_ec2": { "bogus": 1 } }));
    assert!(
        err.starts_with("checks.deny_imds_v1_ec2: unknown field `bogus`"),
        "{err}"
    );
    let err = settings_error(json!({ "deny_imds_v1_ec2": {}, "deny_ec2_imds_v1": {} }));
    assert_eq!(
        err,
        "check `deny_ec2_imds_v1` is configured twice in `checks` (as `deny_ec2_imds_v1` and `deny_imds_v1_ec2`)"
    );
    let err = settings_error(json!({ "deny_rds_unencrypted": { "enabled": "no" } }));
    assert_eq!(
        err,
        "checks.deny_rds_unencrypted.enabled: expected true or false, found \"no\""
    );
    let err =
        settings_error(json!({ "third_party_assumerole": { "allowed_account_ids": ["12345"] } }));
    assert!(
        err.contains("`12345` is not a 12-digit AWS account ID"),
        "{err}"
    );
    let err = settings_error(
        json!({ "deny_iam_user_creation": { "allowed_user_paths": ["automation"] } }),
    );
    assert!(err.contains("`automation` is not an IAM path"), "{err}");
}

#[test]
fn aliases_and_disabling_work() {
    let mut settings = demo_settings();
    settings.checks = serde_json::from_value(json!({
        "deny_imds_v1_ec2": { "exemption_tag_keys": [] },
        "third_party_assumerole": { "allowed_account_ids": ["989898989898"] },
        "deny_rds_unencrypted": { "enabled": false },
    }))
    .unwrap();
    let results = checks::run_checks(&demo(), &settings).unwrap();
    assert_eq!(results.runs.len(), 15);
    assert!(
        !results
            .files
            .keys()
            .any(|f| f.path.contains("deny_rds_unencrypted"))
    );
    let imds = results
        .runs
        .iter()
        .find(|r| r.check_id == "deny_ec2_imds_v1")
        .unwrap();
    // Without exemption keys the tagged payments instance is a violation.
    assert!(imds.verdicts["444444444444"].blocks());
    let sts = results
        .runs
        .iter()
        .find(|r| r.check_id == "deny_sts_third_party_assumerole")
        .unwrap();
    assert_eq!(
        sts.configured_allowlist,
        BTreeSet::from(["989898989898".to_owned()])
    );
}

#[test]
fn statements_are_named_bounded_and_never_empty() {
    let snapshot = demo();
    let settings = demo_settings();
    let mut all = BTreeMap::new();
    for c in ALL {
        let id = c.meta().id;
        for allowlist in [
            BTreeSet::new(),
            BTreeSet::from(["121212121212".to_owned(), "343434343434".to_owned()]),
        ] {
            let statements = checks::statements(id, &snapshot, &settings, &allowlist).unwrap();
            assert!(!statements.is_empty(), "{id}");
            for s in &statements {
                let text = serde_json::to_string(s).unwrap();
                assert!(
                    s["Sid"].as_str().unwrap().starts_with(&sid(id)),
                    "{id}: {text}"
                );
                assert!(
                    s["Sid"]
                        .as_str()
                        .unwrap()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric()),
                    "{id}"
                );
                assert_eq!(s["Effect"], "Deny");
                assert!(
                    !text.contains("{}") && !text.contains("[]"),
                    "{id}: empty condition or list: {text}"
                );
                assert!(
                    text.len() < 1024,
                    "{id}: one statement should stay small: {text}"
                );
                if c.meta().kind == CheckKind::Rcp {
                    assert!(
                        text.contains("\"aws:PrincipalOrgID\":\"o-aaaa11111111\""),
                        "{text}"
                    );
                    assert!(
                        text.contains("\"aws:PrincipalIsAWSService\":\"false\""),
                        "{text}"
                    );
                    assert_eq!(s["Principal"], "*");
                    assert_eq!(
                        text.contains("aws:PrincipalAccount"),
                        !allowlist.is_empty(),
                        "{text}"
                    );
                }
            }
            all.insert(format!("{id} allowlist={}", allowlist.len()), statements);
        }
    }
    // Statements are `serde_json` maps: snapshot their canonical (sorted-key) form, which is
    // the same whether or not feature unification turned on `preserve_order`.
    let canonical: serde_json::Value = serde_json::from_str(
        &headroom_schemas::canonical::to_string(&serde_json::to_value(&all).unwrap()),
    )
    .unwrap();
    insta::assert_json_snapshot!("statements", canonical);
    // An empty IAM-user allowlist denies every CreateUser; a non-empty one uses NotResource.
    let users = |a: &BTreeSet<String>| {
        checks::statements("deny_iam_user_creation", &snapshot, &settings, a).unwrap()
    };
    assert_eq!(users(&BTreeSet::new())[0]["Resource"], "*");
    assert!(
        users(&BTreeSet::from([
            "arn:aws:iam::*:user/automation/*".to_owned()
        ]))[0]
            .contains_key("NotResource")
    );
    assert!(checks::statements("deny_nothing", &snapshot, &settings, &BTreeSet::new()).is_err());
    // The placement helper builds the same statements.
    let results = checks::run_checks(&snapshot, &settings).unwrap();
    let source = checks::statement_source(&snapshot, &settings).unwrap();
    for run in &results.runs {
        assert_eq!(
            source(run, &BTreeSet::new()),
            checks::statements(run.check_id, &snapshot, &settings, &BTreeSet::new()).unwrap()
        );
    }
}

#[test]
fn exclude_mode_redacts_every_org_account_id() {
    let snapshot = demo();
    let mut settings = demo_settings();
    settings.exclude_account_ids = true;
    let results = checks::run_checks(&snapshot, &settings).unwrap();
    assert_eq!(results.files.len(), 16 * 8);
    let members = &snapshot.organization.accounts;
    for (file, bytes) in &results.files {
        for id in members.keys() {
            assert!(!file.path.contains(id.as_str()), "{}", file.path);
        }
        let report: Value = serde_json::from_slice(bytes).unwrap();
        assert!(report["summary"].get("account_id").is_none());
        let mut strings = Vec::new();
        collect_strings(&report, &mut strings);
        for s in strings {
            for run in s.split(|c: char| !c.is_ascii_digit()) {
                assert!(
                    !members.contains_key(run),
                    "{} leaks {run} in `{s}`",
                    file.path
                );
            }
        }
    }
    let queue = &results.files[&headroom_analyzer::OutputFile::new(
        Area::Results,
        "rcps/deny_sqs_third_party_access/web-prod.json",
    )];
    let text = String::from_utf8(queue.clone()).unwrap();
    assert!(text.contains("https://sqs.us-east-1.amazonaws.com/REDACTED/web-prod-orders"));
    assert!(
        text.contains("\"343434343434\""),
        "third parties stay reviewable"
    );
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            collect_strings(v, out);
        }),
        _ => {}
    }
}

/// Compares a generated file with its checked-in copy; `UPDATE_GENERATED=1` rewrites it.
fn check_generated(relative: &str, expected: &str) -> Option<String> {
    let path = manifest_dir().join("..").join(relative);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, expected).unwrap();
        return None;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    (actual != expected).then(|| relative.to_owned())
}

#[test]
fn generated_documentation_is_fresh() {
    let mut stale = Vec::new();
    stale.extend(check_generated(
        "documentation/CHECKS.md",
        &checks::checks_markdown(),
    ));
    for (id, schema) in checks::report_schemas() {
        stale.extend(check_generated(
            &format!("documentation/reports/{id}.schema.json"),
            &schema,
        ));
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {}; regenerate with `UPDATE_GENERATED=1 cargo test -p headroom-analyzer --test checks generated_documentation_is_fresh`",
        stale.join(", ")
    );
}

#[test]
fn demo_reports_follow_their_schemas() {
    let results = checks::run_checks(&demo(), &demo_settings()).unwrap();
    let schemas: BTreeMap<&str, Value> = checks::report_schemas()
        .into_iter()
        .map(|(id, s)| (id, serde_json::from_str(&s).unwrap()))
        .collect();
    for (file, bytes) in &results.files {
        let report: Value = serde_json::from_slice(bytes).unwrap();
        let check = file.path.split('/').nth(1).unwrap();
        let schema = &schemas[check];
        let errors = validate(schema, schema, &report, "");
        assert!(errors.is_empty(), "{}: {}", file.path, errors.join("; "));
    }
}

/// A small JSON Schema validator for what schemars generates: `$ref`, `type`, `properties`,
/// `required`, `items`, `additionalProperties`, `anyOf`/`oneOf`.
fn validate(root: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return validate(root, &root["$defs"][name], value, at);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            if options
                .iter()
                .any(|o| validate(root, o, value, at).is_empty())
            {
                return Vec::new();
            }
            return vec![format!("{at}: matches no `{key}` option")];
        }
    }
    let mut errors = Vec::new();
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !(types.contains(&actual) || (actual == "integer" && types.contains(&"number"))) {
            errors.push(format!("{at}: expected {types:?}, found {actual}"));
            return errors;
        }
    }
    if let (Some(props), Value::Object(obj)) =
        (schema.get("properties").and_then(Value::as_object), value)
    {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(required.as_str().unwrap()) {
                errors.push(format!("{at}: missing `{required}`"));
            }
        }
        for (k, v) in obj {
            match props.get(k) {
                Some(p) => errors.extend(validate(root, p, v, &format!("{at}.{k}"))),
                None => errors.push(format!("{at}: unexpected key `{k}`")),
            }
        }
    } else if let (Some(extra), Value::Object(obj)) = (schema.get("additionalProperties"), value) {
        for (k, v) in obj {
            errors.extend(validate(root, extra, v, &format!("{at}.{k}")));
        }
    }
    if let (Some(items), Value::Array(list)) = (schema.get("items"), value) {
        for (i, v) in list.iter().enumerate() {
            errors.extend(validate(root, items, v, &format!("{at}[{i}]")));
        }
    }
    errors
}
