//! Placement over the organization tree: named cases and property tests of SPEC §8.
#![expect(clippy::unwrap_used, reason = "test code")]

mod placement_common;

use std::collections::{BTreeMap, BTreeSet};

use headroom_analyzer::Settings;
use headroom_analyzer::model::{AccountStatus, CheckKind, CheckRun};
use headroom_analyzer::placement::{
    BlockStatus, CheckPlacement, Level, PassedOverReason, PlacementLevel, Plan, place,
};
use headroom_analyzer::policies::{self, PolicyError};
use headroom_schemas::inventory::NotCollectedReason;
use placement_common::*;
use proptest::prelude::*;
use serde_json::json;

fn plan(org: &Org, settings: &Settings, runs: &[CheckRun]) -> Plan {
    place(&org.org, &org.policies, settings, runs, &statements).unwrap()
}

fn targets(check: &CheckPlacement) -> Vec<(Level, String)> {
    check
        .recommendations
        .iter()
        .map(|r| (r.target.level, r.target.id.clone()))
        .collect()
}

fn covered(check: &CheckPlacement) -> Vec<String> {
    let mut ids: Vec<String> = check
        .recommendations
        .iter()
        .flat_map(|r| r.covered_accounts.iter().map(|a| a.id.to_string()))
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_clean_organization_gets_one_root_attachment() {
    let org = sample();
    let p = plan(
        &org,
        &strict_settings(),
        &[run(&org, "deny_a", CheckKind::Scp, &[])],
    );
    let check = &p.checks[0];
    assert_eq!(check.level, PlacementLevel::Root);
    assert_eq!(targets(check), [(Level::Root, ROOT.to_owned())]);
    // Every member account, never the management account.
    assert_eq!(covered(check).len(), 7);
    assert!(!covered(check).contains(&MANAGEMENT.to_owned()));
    assert_eq!(p.targets.len(), 1);
    assert_eq!(p.targets[0].policies.len(), 1);
}

#[test]
fn root_level_accounts_and_a_mixed_ou_beside_clean_ones() {
    // dev1 violates: Root, Workloads and Dev are unclean. Security and Prod are clean OUs, the
    // root-level account `shared` is an account target (not an "OU" with the root's ID, the
    // original's crash), and dev2, the clean account of the mixed OU Dev, still gets covered.
    let org = sample();
    let r = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[("400000000001", violating("bad"))],
    );
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    assert_eq!(check.level, PlacementLevel::Ou);
    assert_eq!(
        targets(check),
        [
            (Level::Ou, "ou-sec".to_owned()),
            (Level::Ou, "ou-prod".to_owned()),
            (Level::Account, "500000000001".to_owned()),
            (Level::Account, "400000000002".to_owned()),
        ]
    );
    assert_eq!(
        covered(check),
        [
            "200000000001",
            "200000000002",
            "300000000001",
            "300000000002",
            "400000000002",
            "500000000001"
        ]
    );
    let dev2 = &check.recommendations[3];
    assert_eq!(dev2.blocked_at.as_deref(), Some("ou-dev"));
    let blockers: Vec<&str> = check
        .blocking_accounts
        .iter()
        .filter(|b| b.ancestor_ids.iter().any(|a| a == "ou-dev"))
        .map(|b| b.id.as_str())
        .collect();
    assert_eq!(blockers, ["400000000001"]);
    assert_eq!(
        check.blocking_accounts[0].ancestor_ids,
        [ROOT, "ou-wl", "ou-dev"]
    );
    assert!(
        dev2.reasoning
            .contains("OU 'Workloads/Dev' has 1 blocking account beneath it"),
        "{}",
        dev2.reasoning
    );
    let prod = &check.recommendations[1];
    assert_eq!(prod.target.ou_path, ["Workloads", "Prod"]);
    assert_eq!(
        prod.passed_over.len(),
        2,
        "Root and Workloads were passed over"
    );
    assert_eq!(check.blocking_accounts.len(), 1);
    assert_eq!(check.blocking_accounts[0].status, BlockStatus::Violating);
}

#[test]
fn nested_five_deep() {
    let org = Org::new()
        .ou("ou-1", "L1", ROOT)
        .ou("ou-2", "L2", "ou-1")
        .ou("ou-3", "L3", "ou-2")
        .ou("ou-4", "L4", "ou-3")
        .ou("ou-5", "L5", "ou-4")
        .account("600000000005", "deep", "ou-5")
        .account("600000000004", "four", "ou-4")
        .account("600000000003", "three", "ou-3")
        .account("600000000002", "bad", "ou-2");
    let r = run(
        &org,
        "deny_a",
        CheckKind::Rcp,
        &[("600000000002", violating("wildcard_principal"))],
    );
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    // L1 and L2 hold the violator; L3 is the highest clean node.
    assert_eq!(targets(check), [(Level::Ou, "ou-3".to_owned())]);
    assert_eq!(check.recommendations[0].target.ou_path, ["L1", "L2", "L3"]);
    assert_eq!(
        covered(check),
        ["600000000003", "600000000004", "600000000005"]
    );

    // A violator at the bottom: every ancestor is blocked, siblings at each level are covered.
    let r = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[("600000000005", violating("x"))],
    );
    let p = plan(&org, &strict_settings(), &[r]);
    assert_eq!(
        targets(&p.checks[0]),
        [
            (Level::Account, "600000000002".to_owned()),
            (Level::Account, "600000000003".to_owned()),
            (Level::Account, "600000000004".to_owned()),
        ]
    );
}

#[test]
fn a_target_already_holding_five_policies_pushes_down() {
    // Payments holds 5 SCPs; prod1 violates, so Prod is unclean and Payments would be the
    // target, but it is full: the policy goes to its only account.
    let org = sample().existing(CheckKind::Scp, "ou-pay", 5);
    let r = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[("300000000001", violating("x"))],
    );
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    assert!(targets(check).contains(&(Level::Account, "300000000002".to_owned())));
    assert!(!targets(check).iter().any(|(_, id)| id == "ou-pay"));
    let pay1 = check
        .recommendations
        .iter()
        .find(|r| r.target.id == "300000000002")
        .unwrap();
    let last = pay1.passed_over.last().unwrap();
    assert_eq!(last.target.id, "ou-pay");
    assert_eq!(
        last.why,
        PassedOverReason::Full {
            existing_policies: 5,
            needed_policies: 1,
            max_policies: 5
        }
    );
    assert!(
        pay1.reasoning.contains("already holds 5 SCPs"),
        "{}",
        pay1.reasoning
    );
    // RCP slots are separate.
    let r = run(
        &org,
        "deny_b",
        CheckKind::Rcp,
        &[("300000000001", violating("x"))],
    );
    let p = plan(&org, &strict_settings(), &[r]);
    assert!(targets(&p.checks[0]).contains(&(Level::Ou, "ou-pay".to_owned())));
}

#[test]
fn a_full_account_is_reported_uncovered() {
    let org =
        sample()
            .existing(CheckKind::Scp, "ou-pay", 5)
            .existing(CheckKind::Scp, "300000000002", 5);
    let r = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[("300000000001", violating("x"))],
    );
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    assert_eq!(check.uncovered_accounts.len(), 1);
    assert_eq!(check.uncovered_accounts[0].id.as_str(), "300000000002");
    assert!(!covered(check).contains(&"300000000002".to_owned()));
}

#[test]
fn a_full_root_splits_into_its_children() {
    let org = sample().existing(CheckKind::Scp, ROOT, 5);
    let p = plan(
        &org,
        &strict_settings(),
        &[run(&org, "deny_a", CheckKind::Scp, &[])],
    );
    assert_eq!(
        targets(&p.checks[0]),
        [
            (Level::Ou, "ou-sec".to_owned()),
            (Level::Ou, "ou-wl".to_owned()),
            (Level::Account, "500000000001".to_owned()),
        ]
    );
    assert_eq!(covered(&p.checks[0]).len(), 7);
}

#[test]
fn checks_share_slots_in_id_order() {
    // The root has 3 of 5 SCP slots taken: 2 free. Each stand-in statement is small, so all
    // three checks pack into one policy at the root.
    let org = sample().existing(CheckKind::Scp, ROOT, 3);
    let runs: Vec<CheckRun> = ["deny_c", "deny_a", "deny_b"]
        .into_iter()
        .map(|c| run(&org, c, CheckKind::Scp, &[]))
        .collect();
    let p = plan(&org, &strict_settings(), &runs);
    assert_eq!(
        p.checks
            .iter()
            .map(|c| c.check_id.as_str())
            .collect::<Vec<_>>(),
        ["deny_a", "deny_b", "deny_c"]
    );
    assert_eq!(p.targets.len(), 1);
    assert_eq!(p.targets[0].policies.len(), 1);
    assert_eq!(p.targets[0].checks.len(), 3);

    // With a limit that fits one statement per document, the root can take two checks; the
    // third (by ID) moves down to the root's children.
    let one = statements(&runs[0], &BTreeSet::new());
    let mut settings = strict_settings();
    settings.limits.scp_max_chars =
        policies::empty_document_size() + policies::statement_size(&one[0]) + 1;
    let p = plan(&org, &settings, &runs);
    assert_eq!(targets(&p.checks[0]), [(Level::Root, ROOT.to_owned())]);
    assert_eq!(targets(&p.checks[1]), [(Level::Root, ROOT.to_owned())]);
    assert_eq!(targets(&p.checks[2]).len(), 3);
    let root = p.targets.iter().find(|t| t.target.id == ROOT).unwrap();
    assert_eq!(root.existing_policies + root.policies.len(), 5);
}

#[test]
fn rcp_allowlist_is_the_union_beneath_plus_configured_extras() {
    let org = sample();
    let mut r = run(
        &org,
        "deny_r",
        CheckKind::Rcp,
        &[
            ("200000000001", clean_with(&["121212121212"])),
            (
                "200000000002",
                clean_with(&["343434343434", "121212121212"]),
            ),
            ("300000000001", clean_with(&["565656565656"])),
            ("300000000002", clean_with(&["787878787878"])),
            ("400000000001", violating("wildcard_principal")),
        ],
    );
    r.configured_allowlist.insert("999999999990".to_owned());
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    let sec = check
        .recommendations
        .iter()
        .find(|r| r.target.id == "ou-sec")
        .unwrap();
    assert_eq!(
        sec.allowlist,
        ["121212121212", "343434343434", "999999999990"]
    );
    let prod = check
        .recommendations
        .iter()
        .find(|r| r.target.id == "ou-prod")
        .unwrap();
    assert_eq!(
        prod.allowlist,
        ["565656565656", "787878787878", "999999999990"]
    );
    let shared = check
        .recommendations
        .iter()
        .find(|r| r.target.id == "500000000001")
        .unwrap();
    assert_eq!(shared.allowlist, ["999999999990"]);
    // The statements of each target carry that target's allowlist.
    let target = p.targets.iter().find(|t| t.target.id == "ou-sec").unwrap();
    assert_eq!(target.checks[0].allowlist, sec.allowlist);
    let principal_accounts = &target.checks[0].statements[0]["Condition"]["StringNotEqualsIfExists"]
        ["aws:PrincipalAccount"];
    assert_eq!(
        principal_accounts,
        &json!(["121212121212", "343434343434", "999999999990"])
    );
}

#[test]
fn a_wildcard_account_blocks_its_ancestors_only() {
    let org = sample();
    let r = run(
        &org,
        "deny_r",
        CheckKind::Rcp,
        &[("300000000002", violating("wildcard_principal"))],
    );
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    assert_eq!(
        targets(check),
        [
            (Level::Ou, "ou-sec".to_owned()),
            (Level::Ou, "ou-dev".to_owned()),
            (Level::Account, "500000000001".to_owned()),
            (Level::Account, "300000000001".to_owned()),
        ]
    );
    assert!(!covered(check).contains(&"300000000002".to_owned()));
}

#[test]
fn management_skipped_and_inactive_accounts_never_block() {
    let org = sample().suspended("400000000002");
    let mut settings = strict_settings();
    settings.skip_account_ids.insert(id("200000000002"));
    let r = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[
            (MANAGEMENT, violating("x")), // ignored even if a check says so
            ("200000000002", excluded(NotCollectedReason::Skipped)),
        ],
    );
    let p = plan(&org, &settings, &[r]);
    let check = &p.checks[0];
    assert_eq!(targets(check), [(Level::Root, ROOT.to_owned())]);
    let root = &check.recommendations[0];
    assert_eq!(root.skipped_accounts.len(), 1);
    assert_eq!(root.skipped_accounts[0].id.as_str(), "200000000002");
    assert_eq!(root.inactive_accounts[0].id.as_str(), "400000000002");
    assert!(
        root.reasoning.contains("skip_account_ids"),
        "{}",
        root.reasoning
    );
    assert_eq!(check.accounts.covered, 5);
    assert_eq!(check.accounts.excluded, 3);
}

#[test]
fn incomplete_and_missing_verdicts_block() {
    let org = sample();
    let mut r = run(
        &org,
        "deny_a",
        CheckKind::Rcp,
        &[("200000000001", incomplete("eu-west-1 aoss: AccessDenied"))],
    );
    r.verdicts.remove(&id("500000000001"));
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    let statuses: BTreeMap<String, BlockStatus> = check
        .blocking_accounts
        .iter()
        .map(|b| (b.id.to_string(), b.status))
        .collect();
    assert_eq!(
        statuses,
        BTreeMap::from([
            ("200000000001".to_owned(), BlockStatus::Incomplete),
            ("500000000001".to_owned(), BlockStatus::NoVerdict),
        ])
    );
    assert_eq!(
        targets(check),
        [
            (Level::Ou, "ou-wl".to_owned()),
            (Level::Account, "200000000002".to_owned())
        ]
    );
}

#[test]
fn nothing_coverable_gives_none_with_reasons() {
    let org = Org::new().account("700000000001", "only", ROOT);
    let r = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[("700000000001", violating("imds_v1_allowed"))],
    );
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    assert_eq!(check.level, PlacementLevel::None);
    assert!(check.recommendations.is_empty());
    assert!(p.targets.is_empty());
    assert!(
        check
            .reasoning
            .starts_with("No safe placement: every analyzed account blocks it"),
        "{}",
        check.reasoning
    );
}

#[test]
fn an_allowlist_too_large_for_a_node_moves_down_to_smaller_ones() {
    // Each account allows 50 user ARNs (about 1.8k characters): the union of the whole
    // organization or of Workloads makes a statement over 5120 characters, two accounts fit.
    let org = sample();
    let users = |account: &str| -> Vec<String> {
        (0..50)
            .map(|i| format!("arn:aws:iam::{account}:user/u{i:02}"))
            .collect()
    };
    let overrides: Vec<(String, headroom_analyzer::model::AccountVerdict)> = org
        .org
        .accounts
        .keys()
        .filter(|id| id.as_str() != MANAGEMENT)
        .map(|id| {
            let list = users(id.as_str());
            let refs: Vec<&str> = list.iter().map(String::as_str).collect();
            (id.to_string(), clean_with(&refs))
        })
        .collect();
    let overrides: Vec<(&str, _)> = overrides
        .iter()
        .map(|(id, v)| (id.as_str(), v.clone()))
        .collect();
    let r = run(&org, "deny_iam_user_creation", CheckKind::Scp, &overrides);
    let p = plan(&org, &strict_settings(), &[r]);
    let check = &p.checks[0];
    assert_eq!(
        targets(check),
        [
            (Level::Ou, "ou-sec".to_owned()),
            (Level::Ou, "ou-dev".to_owned()),
            (Level::Ou, "ou-prod".to_owned()),
            (Level::Account, "500000000001".to_owned()),
        ]
    );
    let sec = &check.recommendations[0];
    assert!(
        matches!(sec.passed_over[0].why, PassedOverReason::TooLarge { limit: 5120, size } if size > 5120)
    );
    assert!(
        sec.reasoning
            .contains("at Root the allowlist makes a statement of"),
        "{}",
        sec.reasoning
    );
    assert_eq!(covered(check).len(), 7);
}

#[test]
fn a_statement_too_large_even_for_one_account_is_reported_with_check_and_size() {
    // Configured extras apply at every node: nothing can take the policy, and each account
    // says why, naming the check and the size. The run goes on.
    let org = sample();
    let mut r = run(&org, "deny_iam_user_creation", CheckKind::Scp, &[]);
    r.configured_allowlist = (0..400)
        .map(|i| format!("arn:aws:iam::{i:012}:user/u"))
        .collect();
    let p = plan(&org, &strict_settings(), &[r.clone()]);
    let check = &p.checks[0];
    assert_eq!(check.level, PlacementLevel::None);
    assert_eq!(check.uncovered_accounts.len(), 7);
    let size = policies::empty_document_size()
        + policies::statement_size(&statements(&r, &r.configured_allowlist)[0]);
    let expected = PolicyError::StatementTooLarge {
        check_id: "deny_iam_user_creation".to_owned(),
        kind: "SCP",
        kind_key: "scp",
        size,
        limit: 5120,
    }
    .to_string();
    assert!(
        expected.contains("`deny_iam_user_creation`")
            && expected.contains(&format!("{size} characters"))
    );
    assert!(
        check
            .uncovered_accounts
            .iter()
            .all(|u| u.reason == expected),
        "{:?}",
        check.uncovered_accounts
    );
    assert!(
        check.reasoning.starts_with("No safe placement"),
        "{}",
        check.reasoning
    );
}

#[test]
fn a_large_allowlist_forces_packing_into_several_policies() {
    // Nine SCP checks at the root, each allowing 60 user ARNs (about 2.4k characters a
    // statement): they need several documents, and each stays within the limit.
    let org = sample();
    let runs: Vec<CheckRun> = [
        "deny_a", "deny_b", "deny_c", "deny_d", "deny_e", "deny_f", "deny_g", "deny_h", "deny_i",
    ]
    .into_iter()
    .map(|c| {
        let mut r = run(&org, c, CheckKind::Scp, &[]);
        r.configured_allowlist = (0..60)
            .map(|i| format!("arn:aws:iam::{i:012}:user/x"))
            .collect();
        r
    })
    .collect();
    let mut settings = strict_settings();
    settings.limits.max_policies_per_target = 10;
    let p = plan(&org, &settings, &runs);
    let root = p.targets.iter().find(|t| t.target.id == ROOT).unwrap();
    assert!(root.policies.len() >= 5, "{}", root.policies.len());
    for policy in &root.policies {
        let text = policies::document_text(root.statements_of(policy).map(|(_, s)| s));
        assert_eq!(text.len(), policy.size);
        assert!(policy.size <= 5120);
    }
    // With the default 5 slots, 2 of them taken, six checks fit at the root (two statements a
    // document) and the last three move down to the root's children.
    let org = org.existing(CheckKind::Scp, ROOT, 2);
    let p = plan(&org, &strict_settings(), &runs);
    let root = p.targets.iter().find(|t| t.target.id == ROOT).unwrap();
    assert_eq!(root.policies.len(), 3);
    let levels: Vec<PlacementLevel> = p.checks.iter().map(|c| c.level).collect();
    assert_eq!(levels[..6], [PlacementLevel::Root; 6]);
    assert_eq!(levels[6..], [PlacementLevel::Ou; 3]);
}

#[test]
fn input_order_does_not_matter() {
    let org = sample();
    let runs: Vec<CheckRun> = ["deny_a", "deny_b"]
        .into_iter()
        .map(|c| run(&org, c, CheckKind::Scp, &[("400000000001", violating("x"))]))
        .collect();
    let forward = plan(&org, &strict_settings(), &runs);
    let mut reversed = runs.clone();
    reversed.reverse();
    assert_eq!(forward, plan(&org, &strict_settings(), &reversed));
}

// ---- Property tests ----------------------------------------------------------------------

fn ancestors_or_self(org: &Org, node: &str) -> Vec<String> {
    let mut out = vec![node.to_owned()];
    let mut cursor = org
        .org
        .accounts
        .get(node)
        .map_or_else(|| node.to_owned(), |a| a.parent_id.clone());
    if cursor != node {
        out.push(cursor.clone());
    }
    while let Some(ou) = org.org.organizational_units.get(&cursor) {
        cursor = ou.parent_id.clone();
        out.push(cursor.clone());
    }
    out
}

fn parent_of(org: &Org, node: &str) -> Option<String> {
    if let Some(a) = org.org.accounts.get(node) {
        return Some(a.parent_id.clone());
    }
    org.org
        .organizational_units
        .get(node)
        .map(|ou| ou.parent_id.clone())
}

fn blocks(run: &CheckRun, account: &str) -> bool {
    run.verdicts
        .get(account)
        .is_none_or(headroom_analyzer::model::AccountVerdict::blocks)
}

fn beneath(org: &Org, node: &str) -> Vec<String> {
    org.org
        .accounts
        .keys()
        .filter(|a| {
            a.as_str() != MANAGEMENT && ancestors_or_self(org, a.as_str()).iter().any(|n| n == node)
        })
        .map(ToString::to_string)
        .collect()
}

fn settings_for_props() -> Settings {
    let mut s = strict_settings();
    s.limits.max_policies_per_target = MAX;
    s.limits.scp_max_chars = uniform_limit();
    s.limits.rcp_max_chars = uniform_limit();
    s
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/placement.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn placement_invariants(case in case_strategy(MAX)) {
        let settings = settings_for_props();
        let org = &case.org;
        let plan = place(&org.org, &org.policies, &settings, &case.runs, &uniform).unwrap();

        // Slots: no target ends over the quota, and a full target takes nothing new.
        for t in &plan.targets {
            prop_assert!(t.existing_policies + t.policies.len() <= MAX, "{:?} over quota", t.target.id);
            prop_assert!(!t.policies.is_empty());
        }
        let per_target = |kind: CheckKind, id: &str| -> (usize, Vec<String>) {
            plan.targets.iter().find(|t| t.kind == kind && t.target.id == id).map_or_else(
                || {
                    let (s, r) = org.policies.attachment_counts(id);
                    (if kind == CheckKind::Scp { s } else { r }, Vec::new())
                },
                |t| (t.existing_policies, t.checks.iter().map(|c| c.check_id.clone()).collect()),
            )
        };

        for (check, run) in plan.checks.iter().zip({
            let mut sorted: Vec<&CheckRun> = case.runs.iter().collect();
            sorted.sort_by_key(|r| (r.kind, r.check_id));
            sorted
        }) {
            prop_assert_eq!(&check.check_id, run.check_id);
            let mut coverage: BTreeMap<String, usize> = BTreeMap::new();
            for rec in &check.recommendations {
                let under = beneath(org, &rec.target.id);
                // No unclean account is ever covered, and the management account never is.
                for a in &under {
                    prop_assert!(!blocks(run, a), "{} covers blocking {}", rec.target.id, a);
                }
                prop_assert!(!rec.covered_accounts.is_empty());
                for a in &rec.covered_accounts {
                    prop_assert!(a.id.as_str() != MANAGEMENT);
                    prop_assert!(under.contains(&a.id.to_string()));
                    *coverage.entry(a.id.to_string()).or_default() += 1;
                }
                // The allowlist is the union beneath plus the configured extras.
                let mut union: BTreeSet<String> = run.configured_allowlist.clone();
                for a in &under {
                    union.extend(run.verdicts[a.as_str()].allowlist.iter().cloned());
                }
                prop_assert_eq!(rec.allowlist.iter().cloned().collect::<BTreeSet<_>>(), union);
                // No recommendation could move higher: its parent is unclean, or full with
                // this check's policy added (statements are uniform, so packing is monotone).
                if let Some(parent) = parent_of(org, &rec.target.id) {
                    let parent_blocked = beneath(org, &parent).iter().any(|a| blocks(run, a));
                    // Only checks earlier in ID order were there when this one was placed.
                    let (existing, checks_there) = per_target(check.kind, &parent);
                    let before = checks_there.iter().filter(|c| c.as_str() < run.check_id).count();
                    let needed = (before + 1).div_ceil(2);
                    prop_assert!(
                        parent_blocked || existing + needed > MAX,
                        "{} could move up to {}", rec.target.id, parent
                    );
                }
            }
            // Every clean account is covered exactly once, or reported uncovered (full).
            for (id, v) in &run.verdicts {
                let clean = matches!(v.status, AccountStatus::Clean) && id.as_str() != MANAGEMENT;
                let n = coverage.get(id.as_str()).copied().unwrap_or(0);
                let uncovered = check.uncovered_accounts.iter().any(|u| u.id == *id);
                if clean {
                    prop_assert!((n == 1) != uncovered, "{} covered {} times, uncovered {}", id, n, uncovered);
                } else {
                    prop_assert_eq!(n, 0);
                }
            }
            // Root chosen exactly when everything beneath is clean and the root had room.
            let root_clean = beneath(org, ROOT).iter().all(|a| !blocks(run, a))
                && beneath(org, ROOT).iter().any(|a| matches!(run.verdicts[a.as_str()].status, AccountStatus::Clean));
            let (existing, checks_there) = per_target(check.kind, ROOT);
            let before = checks_there.iter().filter(|c| c.as_str() < run.check_id).count();
            let room = existing + (before + 1).div_ceil(2) <= MAX;
            prop_assert_eq!(check.level == PlacementLevel::Root, root_clean && room);
        }

        // Deterministic whatever the input order.
        let mut reversed = case.runs.clone();
        reversed.reverse();
        prop_assert_eq!(&plan, &place(&org.org, &org.policies, &settings, &reversed, &uniform).unwrap());
    }
}

/// The accounts the plan's policies actually constrain for `check`: every account at or beneath
/// a target holding the check's statements, unless those statements exempt it by condition
/// (read from the statements themselves, not from the recommendations).
fn constrained(org: &Org, plan: &Plan, check: &CheckPlacement) -> BTreeSet<String> {
    let key = policies::carve_out_key(check.kind);
    let mut out = BTreeSet::new();
    for target in plan.targets.iter().filter(|t| t.kind == check.kind) {
        let Some(placed) = target.checks.iter().find(|c| c.check_id == check.check_id) else {
            continue;
        };
        let exempted: BTreeSet<String> = placed
            .statements
            .iter()
            .filter_map(|s| s.get("Condition")?.get("StringNotEquals")?.get(key))
            .flat_map(|v| match v {
                serde_json::Value::String(one) => vec![one.clone()],
                serde_json::Value::Array(many) => many
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        for account in beneath(org, &target.target.id) {
            if !exempted.contains(&account) {
                out.insert(account);
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/placement.txt"))),
        ..ProptestConfig::default()
    })]

    /// Carve-out placement: never fewer accounts covered than strict placement, no blocking
    /// account ever constrained (the statements exempt exactly the carved-out accounts), every
    /// policy within its size and slot limits, and the organization quotas kept.
    #[test]
    fn carve_out_invariants(
        case in case_strategy(MAX),
        quota in 1usize..40,
        limit in prop_oneof![Just(uniform_limit()), 250usize..1200],
    ) {
        let mut strict = settings_for_props();
        strict.limits.scp_max_chars = limit;
        strict.limits.rcp_max_chars = limit;
        let mut carve = strict.clone();
        carve.strategy = headroom_schemas::config::Strategy::CarveOut;
        carve.limits.max_rcps_per_organization = quota;
        carve.limits.max_scps_per_organization = quota;
        let org = &case.org;
        let strict_plan = place(&org.org, &org.policies, &strict, &case.runs, &uniform).unwrap();
        let plan = match place(&org.org, &org.policies, &carve, &case.runs, &uniform) {
            Ok(plan) => plan,
            Err(e) => {
                // Refused only for a quota, and then rightly.
                prop_assert!(e.to_string().contains("over the organization quota"), "{}", e);
                return Ok(());
            }
        };
        for used in headroom_analyzer::placement::quota_use(&plan, &org.policies, &carve.limits) {
            prop_assert!(used.new_policies + used.existing_policies <= used.quota);
        }
        for t in &plan.targets {
            prop_assert!(t.existing_policies + t.policies.len() <= MAX, "{:?} over the slots", t.target.id);
            for p in &t.policies {
                prop_assert!(p.size <= limit);
            }
        }
        let mut runs: Vec<&CheckRun> = case.runs.iter().collect();
        runs.sort_by_key(|r| (r.kind, r.check_id));
        for ((check, strict_check), run) in plan.checks.iter().zip(&strict_plan.checks).zip(runs) {
            let covered: BTreeSet<String> = check
                .recommendations
                .iter()
                .flat_map(|r| r.covered_accounts.iter().map(|a| a.id.to_string()))
                .collect();
            let strict_covered: BTreeSet<String> = strict_check
                .recommendations
                .iter()
                .flat_map(|r| r.covered_accounts.iter().map(|a| a.id.to_string()))
                .collect();
            prop_assert!(covered.is_superset(&strict_covered), "{}: carve-out covers less", check.check_id);
            let constrained = constrained(org, &plan, check);
            for account in &constrained {
                prop_assert!(!blocks(run, account), "{}: blocking {} constrained", check.check_id, account);
            }
            // What the recommendations say is what the statements do.
            for account in &covered {
                prop_assert!(constrained.contains(account), "{}: {} covered but exempt", check.check_id, account);
            }
            for rec in &check.recommendations {
                let carved: BTreeSet<String> = rec.carved_out.iter().map(|b| b.id.to_string()).collect();
                let blocking_beneath: BTreeSet<String> = beneath(org, &rec.target.id)
                    .into_iter()
                    .filter(|a| blocks(run, a))
                    .collect();
                prop_assert_eq!(carved, blocking_beneath);
            }
        }
    }
}

#[test]
fn a_carve_out_never_takes_the_room_another_check_needed() {
    // The root holds 4 foreign SCPs: one slot. `deny_a` could carve out `b` at the root, and
    // `deny_b` (clean everywhere) needs the root too, but the two do not fit one document. `a`
    // sits directly under the root and its own account is full, so `deny_b` placed below the
    // root would leave it uncovered. Carve-out must not cost `deny_b` that account: `deny_a`
    // is placed strictly instead, and `deny_b` keeps the root.
    let org = Org::new()
        .ou("ou-x", "X", ROOT)
        .account("200000000001", "a", ROOT)
        .account("200000000002", "b", "ou-x")
        .account("200000000003", "c", "ou-x")
        .existing(CheckKind::Scp, ROOT, 4)
        .existing(CheckKind::Scp, "200000000001", 5);
    let runs = [
        run(
            &org,
            "deny_a",
            CheckKind::Scp,
            &[("200000000002", violating("bad"))],
        ),
        run(&org, "deny_b", CheckKind::Scp, &[]),
    ];
    let carved = policies::carve_out(
        uniform(&runs[0], &BTreeSet::new()),
        CheckKind::Scp,
        &["200000000002".to_owned()],
    );
    let mut settings = strict_settings();
    settings.strategy = headroom_schemas::config::Strategy::CarveOut;
    settings.limits.scp_max_chars =
        policies::empty_document_size() + policies::statement_size(&carved[0]);
    let p = place(&org.org, &org.policies, &settings, &runs, &uniform).unwrap();
    let b = &p.checks[1];
    assert_eq!(targets(b), [(Level::Root, ROOT.to_owned())]);
    assert!(b.uncovered_accounts.is_empty());
    let a = &p.checks[0];
    assert!(a.recommendations.iter().all(|r| r.carved_out.is_empty()));
    // Without the competition, deny_a alone is carved out at the root.
    let alone = place(&org.org, &org.policies, &settings, &runs[..1], &uniform).unwrap();
    assert_eq!(targets(&alone.checks[0]), [(Level::Root, ROOT.to_owned())]);
    assert_eq!(alone.checks[0].recommendations[0].carved_out.len(), 1);
}

#[test]
fn carve_out_falls_back_to_the_children_when_the_exemptions_do_not_fit() {
    // Two blocking accounts under Dev: exempting both does not fit one document at the root,
    // exempting one does at each child OU.
    let org = sample();
    let r = run(
        &org,
        "deny_a",
        CheckKind::Scp,
        &[
            ("400000000001", violating("bad")),
            ("300000000002", violating("bad")),
        ],
    );
    let one = policies::carve_out(
        uniform(&r, &BTreeSet::new()),
        CheckKind::Scp,
        &["400000000001".to_owned()],
    );
    let mut settings = strict_settings();
    settings.strategy = headroom_schemas::config::Strategy::CarveOut;
    settings.limits.scp_max_chars =
        policies::empty_document_size() + policies::statement_size(&one[0]);
    let p = place(&org.org, &org.policies, &settings, &[r], &uniform).unwrap();
    let check = &p.checks[0];
    let passed = &check.recommendations[0].passed_over[0];
    assert_eq!(passed.target.id, ROOT);
    assert!(
        passed
            .describe(CheckKind::Scp)
            .starts_with("Root has 2 blocking accounts beneath it and cannot carve them out: exempting 2 accounts makes a statement of"),
        "{}",
        passed.describe(CheckKind::Scp)
    );
    // Workloads holds both blockers too; its children Prod and Dev carve out one each.
    let carved: Vec<(String, Vec<String>)> = check
        .recommendations
        .iter()
        .map(|r| {
            (
                r.target.id.clone(),
                r.carved_out.iter().map(|b| b.id.to_string()).collect(),
            )
        })
        .collect();
    assert!(
        carved.contains(&("ou-prod".to_owned(), vec!["300000000002".to_owned()])),
        "{carved:?}"
    );
    assert!(
        carved.contains(&("ou-dev".to_owned(), vec!["400000000001".to_owned()])),
        "{carved:?}"
    );
    assert!(
        carved.contains(&("ou-sec".to_owned(), Vec::new())),
        "{carved:?}"
    );
}
