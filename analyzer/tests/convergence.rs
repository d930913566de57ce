//! The rollout loop is a fixed point: analyze → `terraform apply` (modelled by
//! `rollout::apply`) → analyze gives the same Terraform and the same placements, and Headroom's
//! own policies never take the slots or quotas of the plan that replaces them. Also what a
//! re-run reports when an earlier plan's attachments go away, empty allowlists, and the
//! organization quotas.
#![expect(clippy::unwrap_used, reason = "test code")]

mod placement_common;

use std::path::Path;

use headroom_analyzer::model::{CheckKind, CheckRun};
use headroom_analyzer::placement::{Plan, place};
use headroom_analyzer::render::{self, SnapshotFacts};
use headroom_analyzer::{AnalyzeError, Settings, managed, rollout, summary};
use headroom_schemas::Policies;
use headroom_schemas::config::{Config, Strategy};
use headroom_schemas::org::PolicyTypeSummary;
use placement_common::*;
use proptest::prelude::*;

/// Settings placing strictly: only nodes with no blocking account beneath them.
fn strict() -> Settings {
    Settings {
        strategy: Strategy::Strict,
        ..Settings::default()
    }
}

fn enabled() -> Vec<PolicyTypeSummary> {
    ["RESOURCE_CONTROL_POLICY", "SERVICE_CONTROL_POLICY"]
        .map(|t| PolicyTypeSummary {
            policy_type: t.to_owned(),
            status: "ENABLED".to_owned(),
        })
        .to_vec()
}

/// Everything one run writes that the next must repeat: the Terraform files and
/// `summary.json`.
fn outputs(
    org: &Org,
    policies: &Policies,
    settings: &Settings,
    runs: &[CheckRun],
) -> (Plan, Vec<(CheckKind, String, String)>, String) {
    let plan = place(&org.org, policies, settings, runs, &statements).unwrap();
    let names = render::names(&plan);
    let types = enabled();
    let facts = SnapshotFacts {
        org_id: &org.org.id,
        root_id: ROOT,
        collected_at: "2026-11-20T10:00:00Z",
        policy_types: &types,
    };
    let files = render::render(&plan, &names, facts).unwrap();
    let quotas = headroom_analyzer::placement::quota_use(&plan, policies, &settings.limits);
    let sum = summary::summary(&plan, &names, facts, &settings.limits, quotas);
    let json = String::from_utf8(summary::to_json(&sum, false, &|_| false).unwrap()).unwrap();
    (plan, files, json)
}

/// The policies after applying `plan`'s Terraform to an organization holding `policies`.
fn applied(org: &Org, policies: &Policies, plan: &Plan) -> Policies {
    let mut after = policies.clone();
    let names = render::names(plan);
    rollout::apply(&mut after, &org.org, &render::deployed(plan, &names));
    after
}

/// Runs the loop twice from `org` and asserts the second and third runs repeat the first.
fn assert_fixed_point(org: &Org, settings: &Settings, runs: &[CheckRun]) -> Plan {
    let (plan, files, json) = outputs(org, &org.policies, settings, runs);
    let once = applied(org, &org.policies, &plan);
    let (plan2, files2, json2) = outputs(org, &once, settings, runs);
    assert_eq!(files, files2, "Terraform changed after one apply");
    assert_eq!(json, json2, "summary.json changed after one apply");
    assert!(plan2.removals.is_empty(), "{:?}", plan2.removals);
    let twice = applied(org, &once, &plan2);
    assert_eq!(once, twice, "a second apply changed the organization");
    plan
}

#[test]
fn four_foreign_policies_and_headroom_s_own_stay_put() {
    // ou-sec holds 4 foreign SCPs: Headroom's is the fifth. Counting it as foreign on the next
    // run made the target "full", moved the guardrail to the accounts, and back the run after.
    let org = sample().existing(CheckKind::Scp, "ou-sec", 4);
    let r = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[("400000000001", violating("bad"))],
    );
    let plan = assert_fixed_point(&org, &strict(), &[r]);
    let sec = plan
        .targets
        .iter()
        .find(|t| t.target.id == "ou-sec")
        .unwrap();
    assert_eq!(sec.existing_policies, 4);
    assert_eq!(sec.policies.len(), 1);
}

#[test]
fn headroom_policies_are_recognised_by_name_or_by_marker() {
    let org = sample();
    let r = run(&org, "deny_a", CheckKind::Scp, &[]);
    let (plan, _, _) = outputs(&org, &org.policies, &Settings::default(), &[r]);
    let mut after = applied(&org, &org.policies, &plan);
    let policy = after.scps.values_mut().next().unwrap();
    assert!(policy.name.starts_with("Headroom-SCP-"));
    assert!(policy.description.starts_with(managed::DESCRIPTION_MARKER));
    assert!(managed::is_headroom(policy, CheckKind::Scp));
    // Renamed by hand: the description still says whose it is.
    policy.name = "platform-guardrails".to_owned();
    assert!(managed::is_headroom(policy, CheckKind::Scp));
    // Neither: someone else's.
    policy.description = "Platform team guardrails".to_owned();
    assert!(!managed::is_headroom(policy, CheckKind::Scp));
    // An AWS-managed policy never is.
    policy.name = "Headroom-SCP-root-1".to_owned();
    policy.aws_managed = true;
    assert!(!managed::is_headroom(policy, CheckKind::Scp));
}

#[test]
fn a_blocked_target_reports_the_removal_with_why() {
    let org = sample();
    let clean = run(&org, "deny_a", CheckKind::Scp, &[]);
    let (plan, _, _) = outputs(&org, &org.policies, &Settings::default(), &[clean]);
    assert_eq!(plan.targets[0].target.id, ROOT);
    let after = applied(&org, &org.policies, &plan);
    // A week later an account of Dev violates: the root can no longer take the SCP.
    let blocked = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[("400000000001", violating("imds_v1_allowed"))],
    );
    let (plan2, _, json) = outputs(&org, &after, &strict(), &[blocked]);
    assert_eq!(plan2.removals.len(), 1);
    let removal = &plan2.removals[0];
    assert_eq!(removal.check_id, "deny_a");
    assert_eq!(removal.removals.len(), 1);
    let r = &removal.removals[0];
    assert_eq!(r.target_id, ROOT);
    assert_eq!(r.target, "Root");
    assert_eq!(r.policies, ["Headroom-SCP-root-1"]);
    assert_eq!(r.covered_by, None);
    assert!(
        r.reason.starts_with(
            "1 account beneath it now blocks the check: dev1 (400000000001): imds_v1_allowed x1"
        ),
        "{}",
        r.reason
    );
    let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(summary["removals"][0]["removals"][0]["target_id"], ROOT);
    assert!(
        summary["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("applying this plan removes `deny_a` from 1 target")
    );
}

#[test]
fn moves_up_and_disabled_checks_are_reported_too() {
    let org = sample();
    // First week: dev1 violates, so deny_a lands on the OUs and accounts beside it.
    let first = [
        run(
            &org,
            "deny_a",
            CheckKind::Scp,
            &[("400000000001", violating("bad"))],
        ),
        run(&org, "deny_s3_third_party_access", CheckKind::Rcp, &[]),
    ];
    let (plan, _, _) = outputs(&org, &org.policies, &strict(), &first);
    let after = applied(&org, &org.policies, &plan);
    // Next week dev1 is fixed (deny_a moves up to the root) and the RCP check is disabled.
    let second = [run(&org, "deny_a", CheckKind::Scp, &[])];
    let (plan2, _, _) = outputs(&org, &after, &strict(), &second);
    let a = plan2
        .removals
        .iter()
        .find(|c| c.check_id == "deny_a")
        .unwrap();
    assert!(!a.removals.is_empty());
    for r in &a.removals {
        assert_eq!(r.covered_by.as_deref(), Some(ROOT), "{r:?}");
        assert!(
            r.reason.starts_with("the SCP now attaches higher, at Root"),
            "{}",
            r.reason
        );
    }
    let b = plan2
        .removals
        .iter()
        .find(|c| c.check_id == "deny_s3_third_party_access")
        .unwrap();
    assert_eq!(b.kind, CheckKind::Rcp);
    assert!(b.removals[0].reason.starts_with("the check is disabled"));
}

#[test]
fn empty_allowlists_say_what_is_denied_and_can_be_refused() {
    let org = sample();
    let mut r = run(&org, "deny_a", CheckKind::Scp, &[]);
    let (plan, files, json) = outputs(&org, &org.policies, &Settings::default(), &[r.clone()]);
    let rec = &plan.checks[0].recommendations[0];
    assert_eq!(
        rec.empty_allowlist.as_deref(),
        Some("From now on, every action of the stand-in statement is denied.")
    );
    assert!(json.contains("\"empty_allowlist\": \"From now on, every action"));
    let root_file = &files.iter().find(|f| f.1 == "root_scps.tf").unwrap().2;
    assert!(
        root_file.contains("The allowlist here is empty. From now on, every action"),
        "{root_file}"
    );
    // require_allowlist: nothing is placed, every clean account is uncovered with the reason.
    r.require_allowlist = true;
    let (plan, files, _) = outputs(&org, &org.policies, &Settings::default(), &[r.clone()]);
    assert!(plan.targets.is_empty() && files.is_empty());
    let check = &plan.checks[0];
    assert_eq!(check.uncovered_accounts.len(), 7);
    assert!(
        check.uncovered_accounts[0]
            .reason
            .starts_with("require_allowlist is set and the allowlist at Root would be empty"),
        "{}",
        check.uncovered_accounts[0].reason
    );
    // Where an allowlist is not empty, require_allowlist changes nothing.
    r.verdicts.get_mut("200000000001").unwrap().allowlist =
        ["arn:aws:iam::200000000001:user/ci".to_owned()].into();
    let (plan, _, _) = outputs(&org, &org.policies, &Settings::default(), &[r]);
    assert_eq!(plan.checks[0].recommendations.len(), 1);
    assert_eq!(plan.checks[0].recommendations[0].empty_allowlist, None);
}

#[test]
fn organization_quotas_count_foreign_policies_and_refuse_the_plan() {
    // Three accounts each need their own RCP (their OU is blocked).
    let org = Org::new()
        .ou("ou-a", "A", ROOT)
        .account("200000000001", "a1", "ou-a")
        .account("200000000002", "a2", "ou-a")
        .account("200000000003", "a3", "ou-a")
        .account("200000000004", "bad", "ou-a")
        .existing(CheckKind::Rcp, "ou-a", 1);
    let r = run(
        &org,
        "deny_b",
        CheckKind::Rcp,
        &[("200000000004", violating("wildcard_principal"))],
    );
    let mut settings = strict();
    settings.limits.max_rcps_per_organization = 3;
    let err = place(
        &org.org,
        &org.policies,
        &settings,
        std::slice::from_ref(&r),
        &statements,
    )
    .unwrap_err();
    assert_eq!(
        AnalyzeError::from(err).to_string(),
        "the plan needs 3 new RCPs; with the organization's 1 other customer-managed RCP that makes 4, 1 over the organization quota of 3 (`limits.max_rcps_per_organization`; raise it only if AWS raised your quota)"
    );
    // Headroom's own earlier policies are replaced, so they do not count.
    settings.limits.max_rcps_per_organization = 4;
    let plan = place(
        &org.org,
        &org.policies,
        &settings,
        std::slice::from_ref(&r),
        &statements,
    )
    .unwrap();
    let after = applied(&org, &org.policies, &plan);
    assert_eq!(after.rcps.len(), 4);
    assert!(place(&org.org, &after, &settings, &[r], &statements).is_ok());
}

#[test]
fn the_demo_converges_through_the_whole_analysis() {
    let mut snapshot = headroom_schemas::read(headroom_analyzer::DEMO_SNAPSHOT).unwrap();
    let config = Config::from_yaml(headroom_analyzer::DEMO_CONFIG, Path::new("demo.yaml")).unwrap();
    let settings = Settings::from_config(&config);
    let first = headroom_analyzer::analyze(&snapshot, &settings).unwrap();
    let runs = headroom_analyzer::checks::run_checks(&snapshot, &settings)
        .unwrap()
        .runs;
    let statements = headroom_analyzer::checks::statement_source(&snapshot, &settings).unwrap();
    let plan = place(
        &snapshot.organization,
        &snapshot.policies,
        &settings,
        &runs,
        &statements,
    )
    .unwrap();
    let deployed = render::deployed(&plan, &render::names(&plan));
    drop((plan, statements));
    rollout::apply(&mut snapshot.policies, &snapshot.organization, &deployed);
    // A new collection: only its time differs.
    "2026-11-27T09:00:00Z".clone_into(&mut snapshot.meta.collected_at);
    let second = headroom_analyzer::analyze(&snapshot, &settings).unwrap();
    let terraform = |o: &headroom_analyzer::Outputs| {
        o.files
            .iter()
            .filter(|(f, _)| {
                matches!(
                    f.area,
                    headroom_analyzer::Area::Scps | headroom_analyzer::Area::Rcps
                )
            })
            .map(|(f, b)| (f.clone(), b.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(terraform(&first), terraform(&second));
    let placements = |o: &headroom_analyzer::Outputs| {
        let file = o
            .files
            .iter()
            .find(|(f, _)| f.path == summary::SUMMARY_FILE)
            .unwrap();
        let mut value: serde_json::Value = serde_json::from_slice(file.1).unwrap();
        value["organization"]["collected_at"] = serde_json::Value::Null;
        value
    };
    assert_eq!(placements(&first), placements(&second));
}

fn settings_at_aws_limits() -> Settings {
    // AWS's per-target limit, and documents small enough that several fill a target.
    let mut s = Settings::default();
    s.limits.scp_max_chars = 1200;
    s.limits.rcp_max_chars = 1200;
    s
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/convergence.txt"))),
        ..ProptestConfig::default()
    })]

    /// Over random organizations whose targets hold 0 to 5 foreign policies of each type, with
    /// either strategy: analyze → apply → analyze repeats the Terraform and `summary.json`
    /// byte for byte, and removes nothing.
    #[test]
    fn analyze_apply_analyze_is_a_fixed_point(case in case_strategy(5), carve in any::<bool>()) {
        let mut settings = settings_at_aws_limits();
        if !carve {
            settings.strategy = Strategy::Strict;
        }
        let org = &case.org;
        let (plan, files, json) = outputs(org, &org.policies, &settings, &case.runs);
        let once = applied(org, &org.policies, &plan);
        let (plan2, files2, json2) = outputs(org, &once, &settings, &case.runs);
        prop_assert_eq!(&files, &files2);
        prop_assert_eq!(&json, &json2);
        prop_assert!(plan2.removals.is_empty());
        // The same attachments, with the same reasoning.
        for (second, first) in plan2.checks.iter().zip(&plan.checks) {
            prop_assert_eq!(&second.recommendations, &first.recommendations);
            prop_assert_eq!(&second.uncovered_accounts, &first.uncovered_accounts);
        }
        let twice = applied(org, &once, &plan2);
        prop_assert_eq!(once, twice);
    }
}

/// Runs the `analyze` binary on the demo with `config`, output under `dir/out`.
fn analyze_demo(dir: &Path, config: &str) -> (Option<i32>, String) {
    let config_path = dir.join("headroom.yaml");
    std::fs::write(&config_path, config).unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/snapshots/demo.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_analyze"))
        .arg(demo)
        .arg("--config")
        .arg(&config_path)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn a_plan_over_an_organization_quota_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = analyze_demo(
        dir.path(),
        "placement: {strategy: strict}\nlimits: {max_rcps_per_organization: 5}\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "error: the plan needs 8 new RCPs; with the organization's 1 other customer-managed RCP that makes 9, 4 over the organization quota of 5 (`limits.max_rcps_per_organization`; raise it only if AWS raised your quota)\n"
    );
    let out = dir.path().join("out");
    assert!(!out.join("summary.json").exists());
    for kind in ["scps", "rcps"] {
        let tf = std::fs::read_dir(out.join(kind)).map_or(0, Iterator::count);
        assert_eq!(tf, 0, "{kind}: Terraform written");
    }
    let (code, stderr) = analyze_demo(dir.path(), "limits: {max_scps_per_organization: 0}\n");
    assert_eq!(code, Some(2));
    assert!(
        stderr.ends_with("limits.max_scps_per_organization must be at least 1\n"),
        "{stderr}"
    );
}

#[test]
fn require_allowlist_is_checked_in_the_configuration() {
    let settings = |yaml: &str| {
        Settings::from_config(&Config::from_yaml(yaml, Path::new("headroom.yaml")).unwrap())
    };
    let err = |yaml: &str| {
        headroom_analyzer::checks::resolve_config(&settings(yaml))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("checks: {deny_ec2_imds_v1: {require_allowlist: true}}\n"),
        "checks.deny_ec2_imds_v1.require_allowlist: `deny_ec2_imds_v1` has no allowlist to require"
    );
    assert_eq!(
        err("checks: {deny_ec2_ami_owner: {require_allowlist: yes please}}\n"),
        "checks.deny_ec2_ami_owner.require_allowlist: expected true or false, found \"yes please\""
    );
    let resolved = headroom_analyzer::checks::resolve_config(&settings(
        "checks: {deny_ec2_ami_owner: {require_allowlist: true}}\n",
    ))
    .unwrap();
    assert!(resolved["deny_ec2_ami_owner"].require_allowlist);
    assert!(!resolved["deny_iam_user_creation"].require_allowlist);
}

#[test]
fn a_policy_type_not_enabled_is_said_everywhere() {
    let mut snapshot = headroom_schemas::read(headroom_analyzer::DEMO_SNAPSHOT).unwrap();
    snapshot.organization.roots[0]
        .policy_types
        .retain(|t| t.policy_type != "RESOURCE_CONTROL_POLICY");
    let config = Config::from_yaml(headroom_analyzer::DEMO_CONFIG, Path::new("demo.yaml")).unwrap();
    let outputs = headroom_analyzer::analyze(&snapshot, &Settings::from_config(&config)).unwrap();
    let file = |area: headroom_analyzer::Area, path: &str| {
        String::from_utf8(
            outputs
                .files
                .iter()
                .find(|(f, _)| f.area == area && f.path == path)
                .unwrap()
                .1
                .clone(),
        )
        .unwrap()
    };
    let summary: serde_json::Value =
        serde_json::from_str(&file(headroom_analyzer::Area::Out, summary::SUMMARY_FILE)).unwrap();
    assert_eq!(
        summary["organization"]["enabled_policy_types"],
        serde_json::json!(["SERVICE_CONTROL_POLICY"])
    );
    let warning = summary["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("RCPs are not enabled on root r-aaaa according to the snapshot"),
        "{warning}"
    );
    assert!(outputs.stdout.contains(&format!("Warning: {warning}")));
    for path in ["versions.tf", "grab_org_info.tf"] {
        let text = file(headroom_analyzer::Area::Rcps, path);
        assert!(
            text.contains("# WARNING: the snapshot shows RCPs not enabled on root r-aaaa"),
            "{path}: {text}"
        );
        // The SCP directory has nothing to warn about.
        assert!(!file(headroom_analyzer::Area::Scps, path).contains("WARNING"));
    }
}
