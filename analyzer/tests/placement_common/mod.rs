//! Shared helpers for the placement, Terraform and summary tests: small organizations built in
//! code, verdicts, and a stand-in statement catalog (the real one belongs to the checks).
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![expect(clippy::unwrap_used, reason = "test code")]

use std::collections::{BTreeMap, BTreeSet};

use headroom_analyzer::model::{
    AccountStatus, AccountVerdict, CheckKind, CheckRun, Counts, Statement,
};
use headroom_analyzer::policies;
use headroom_schemas::AccountId;
use headroom_schemas::inventory::NotCollectedReason;
use headroom_schemas::org::{Account, AccountState, Organization, OrganizationalUnit, Root};
use headroom_schemas::policies::{Policies, Policy, PolicyTarget, TargetType};
use proptest::prelude::*;
use serde_json::{Value, json};

pub const ROOT: &str = "r-root";
pub const MANAGEMENT: &str = "100000000000";

/// An organization under construction: a root, the management account under it.
#[derive(Debug, Clone)]
pub struct Org {
    pub org: Organization,
    pub policies: Policies,
}

pub fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

impl Org {
    pub fn new() -> Self {
        let mut org = Organization {
            id: "o-test".into(),
            arn: "arn:aws:organizations::100000000000:organization/o-test".into(),
            management_account_id: id(MANAGEMENT),
            feature_set: "ALL".into(),
            roots: vec![Root {
                id: ROOT.into(),
                arn: "arn:aws:organizations::100000000000:root/o-test/r-root".into(),
                name: "Root".into(),
                policy_types: Vec::new(),
            }],
            organizational_units: BTreeMap::new(),
            accounts: BTreeMap::new(),
        };
        org.accounts
            .insert(id(MANAGEMENT), account(MANAGEMENT, "management", ROOT));
        Self {
            org,
            policies: Policies::default(),
        }
    }

    pub fn ou(mut self, ou_id: &str, name: &str, parent: &str) -> Self {
        self.org.organizational_units.insert(
            ou_id.to_owned(),
            OrganizationalUnit {
                id: ou_id.into(),
                arn: format!("arn:aws:organizations::100000000000:ou/o-test/{ou_id}"),
                name: name.into(),
                parent_id: parent.into(),
            },
        );
        self
    }

    pub fn account(mut self, account_id: &str, name: &str, parent: &str) -> Self {
        self.org
            .accounts
            .insert(id(account_id), account(account_id, name, parent));
        self
    }

    pub fn suspended(mut self, account_id: &str) -> Self {
        self.org.accounts.get_mut(account_id).unwrap().state = AccountState::Suspended;
        self
    }

    /// Attaches `n` existing policies of `kind` to `target`.
    pub fn existing(mut self, kind: CheckKind, target: &str, n: usize) -> Self {
        let map = match kind {
            CheckKind::Scp => &mut self.policies.scps,
            CheckKind::Rcp => &mut self.policies.rcps,
        };
        for i in 0..n {
            let pid = format!("p-{target}-{i}");
            map.insert(
                pid.clone(),
                Policy {
                    id: pid.clone(),
                    arn: format!("arn:aws:organizations::100000000000:policy/{pid}"),
                    name: pid.clone(),
                    description: String::new(),
                    aws_managed: false,
                    content: "{}".into(),
                    targets: vec![PolicyTarget {
                        target_id: target.into(),
                        arn: String::new(),
                        name: target.into(),
                        target_type: if target.starts_with("r-") {
                            TargetType::Root
                        } else if target.starts_with("ou-") {
                            TargetType::OrganizationalUnit
                        } else {
                            TargetType::Account
                        },
                    }],
                },
            );
        }
        self
    }
}

pub fn account(account_id: &str, name: &str, parent: &str) -> Account {
    Account {
        id: id(account_id),
        arn: format!("arn:aws:organizations::100000000000:account/o-test/{account_id}"),
        name: name.into(),
        email: format!("{account_id}@example.com"),
        state: AccountState::Active,
        parent_id: parent.into(),
        tags: headroom_schemas::Tags::new(),
        joined_timestamp: None,
        joined_method: None,
    }
}

pub fn verdict(status: AccountStatus, allowlist: &[&str]) -> AccountVerdict {
    AccountVerdict {
        status,
        allowlist: allowlist.iter().map(|s| (*s).to_owned()).collect(),
        counts: Counts::default(),
        findings: Vec::new(),
    }
}

pub fn clean() -> AccountVerdict {
    verdict(AccountStatus::Clean, &[])
}

pub fn clean_with(allowlist: &[&str]) -> AccountVerdict {
    verdict(AccountStatus::Clean, allowlist)
}

pub fn violating(reason: &str) -> AccountVerdict {
    verdict(
        AccountStatus::Violating {
            reasons: BTreeMap::from([(reason.to_owned(), 1)]),
        },
        &[],
    )
}

pub fn incomplete(gap: &str) -> AccountVerdict {
    verdict(
        AccountStatus::Incomplete {
            gaps: vec![gap.to_owned()],
        },
        &[],
    )
}

pub fn excluded(reason: NotCollectedReason) -> AccountVerdict {
    verdict(AccountStatus::Excluded { reason }, &[])
}

/// A run where every account of `org` is clean except those listed.
pub fn run(
    org: &Org,
    check_id: &'static str,
    kind: CheckKind,
    overrides: &[(&str, AccountVerdict)],
) -> CheckRun {
    let mut verdicts = BTreeMap::new();
    for (account_id, account) in &org.org.accounts {
        let v = if *account_id == org.org.management_account_id {
            excluded(NotCollectedReason::ManagementAccount)
        } else if !account.state.is_active() {
            excluded(NotCollectedReason::Inactive)
        } else {
            clean()
        };
        verdicts.insert(account_id.clone(), v);
    }
    for (account_id, v) in overrides {
        verdicts.insert(id(account_id), v.clone());
    }
    CheckRun {
        check_id,
        kind,
        verdicts,
        configured_allowlist: BTreeSet::new(),
        empty_allowlist: Some("every action of the stand-in statement is denied"),
        require_allowlist: false,
        activity: headroom_analyzer::model::ActivityMode::Block,
    }
}

/// `deny_ec2_imds_v1` -> `DenyEc2ImdsV1`.
pub fn sid(check_id: &str) -> String {
    check_id
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A stand-in catalog: one Deny statement per check; an allowlist becomes a
/// `StringNotEquals` condition on `aws:PrincipalAccount` (RCP) or a `NotResource` (SCP).
pub fn statements(run: &CheckRun, allowlist: &BTreeSet<String>) -> Vec<Statement> {
    let list: Vec<Value> = allowlist.iter().map(|a| Value::String(a.clone())).collect();
    let mut statement = match run.kind {
        CheckKind::Scp => json!({
            "Sid": sid(run.check_id),
            "Effect": "Deny",
            "Action": ["ec2:RunInstances", "iam:CreateUser"],
            "Resource": "*",
        }),
        CheckKind::Rcp => json!({
            "Sid": sid(run.check_id),
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sts:AssumeRole",
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-test"},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }),
    };
    if !list.is_empty() {
        match run.kind {
            CheckKind::Scp => {
                let object = statement.as_object_mut().unwrap();
                object.remove("Resource");
                object.insert("NotResource".into(), Value::Array(list));
            }
            CheckKind::Rcp => {
                statement["Condition"]["StringNotEqualsIfExists"]["aws:PrincipalAccount"] =
                    Value::Array(list);
            }
        }
    }
    match statement {
        Value::Object(map) => vec![map],
        _ => unreachable!(),
    }
}

/// The demo-like organization of the named cases:
///
/// ```text
/// Root
/// ├── Security ou-sec            sec1 200000000001, sec2 200000000002
/// ├── Workloads ou-wl
/// │   ├── Prod ou-prod           prod1 300000000001
/// │   │   └── Payments ou-pay    pay1 300000000002
/// │   └── Dev ou-dev             dev1 400000000001, dev2 400000000002
/// ├── shared 500000000001        directly under the root
/// └── management 100000000000
/// ```
pub fn sample() -> Org {
    Org::new()
        .ou("ou-sec", "Security", ROOT)
        .ou("ou-wl", "Workloads", ROOT)
        .ou("ou-prod", "Prod", "ou-wl")
        .ou("ou-pay", "Payments", "ou-prod")
        .ou("ou-dev", "Dev", "ou-wl")
        .account("200000000001", "sec1", "ou-sec")
        .account("200000000002", "sec2", "ou-sec")
        .account("300000000001", "prod1", "ou-prod")
        .account("300000000002", "pay1", "ou-pay")
        .account("400000000001", "dev1", "ou-dev")
        .account("400000000002", "dev2", "ou-dev")
        .account("500000000001", "shared", ROOT)
}

/// `max_policies_per_target` of the property tests: small, so targets fill up.
pub const MAX: usize = 3;

/// A statement of fixed size per check, so packing is monotone: two fit in one document.
pub fn uniform(run: &CheckRun, _allowlist: &BTreeSet<String>) -> Vec<Statement> {
    let Value::Object(map) =
        json!({"Sid": sid(run.check_id), "Effect": "Deny", "Action": "x:y", "Resource": "*"})
    else {
        unreachable!()
    };
    vec![map]
}

pub fn uniform_limit() -> usize {
    let one = policies::statement_size(
        &uniform(
            &run(&Org::new(), "deny_p0", CheckKind::Scp, &[]),
            &BTreeSet::new(),
        )[0],
    );
    policies::empty_document_size() + 2 * one + 1
}

#[derive(Debug, Clone)]
pub struct Case {
    pub org: Org,
    pub runs: Vec<CheckRun>,
}

pub fn status_strategy() -> impl Strategy<Value = u8> {
    prop_oneof![5 => Just(0u8), 2 => Just(1), 1 => Just(2), 1 => Just(3), 1 => Just(4), 1 => Just(5)]
}

/// Random organizations (up to 6 OUs at any depth, up to 11 accounts) with up to 3 checks
/// of random verdicts and allowlists, and up to `max_existing` foreign policies of each type on
/// any node.
pub fn case_strategy(max_existing: usize) -> impl Strategy<Value = Case> {
    (0usize..7, 1usize..12, 1usize..4)
        .prop_flat_map(move |(n_ous, n_accounts, n_checks)| {
            (
                proptest::collection::vec(0usize..=n_ous, n_ous),
                proptest::collection::vec(0usize..=n_ous, n_accounts),
                0usize..=n_ous,
                proptest::collection::vec(
                    (
                        any::<bool>(),
                        proptest::collection::vec((status_strategy(), 0u8..8), n_accounts),
                        proptest::option::of(0u8..8),
                    ),
                    n_checks,
                ),
                proptest::collection::vec(
                    prop_oneof![4 => Just(0usize), 1 => 0usize..=max_existing],
                    n_ous + 1 + n_accounts,
                ),
                proptest::collection::vec(
                    prop_oneof![4 => Just(0usize), 1 => 0usize..=max_existing],
                    n_ous + 1 + n_accounts,
                ),
            )
        })
        .prop_map(
            |(ou_parents, account_parents, mgmt_parent, checks, scp_existing, rcp_existing)| {
                let node = |i: usize| {
                    if i == 0 {
                        ROOT.to_owned()
                    } else {
                        format!("ou-{i}")
                    }
                };
                let mut org = Org::new();
                for (i, p) in ou_parents.iter().enumerate() {
                    // OU i+1 hangs under the root or an earlier OU: no cycles.
                    let parent = if *p == 0 || *p > i { 0 } else { *p };
                    org = org.ou(&node(i + 1), &format!("OU {}", i + 1), &node(parent));
                }
                org.org.accounts.get_mut(MANAGEMENT).unwrap().parent_id = node(mgmt_parent);
                let ids: Vec<String> = (0..account_parents.len())
                    .map(|i| format!("8{:011}", i + 1))
                    .collect();
                for (i, p) in account_parents.iter().enumerate() {
                    org = org.account(&ids[i], &format!("acct{i}"), &node(*p));
                }
                let mut nodes: Vec<String> = (0..=ou_parents.len()).map(node).collect();
                nodes.extend(ids.iter().cloned());
                for (i, n) in nodes.iter().enumerate() {
                    org = org.existing(CheckKind::Scp, n, scp_existing[i]);
                    org = org.existing(CheckKind::Rcp, n, rcp_existing[i]);
                }
                let pool = ["111111111111", "222222222222", "333333333333"];
                let pick = |bits: u8| -> Vec<&str> {
                    (0..3)
                        .filter(|b| bits & (1 << b) != 0)
                        .map(|b| pool[b])
                        .collect()
                };
                let check_ids = ["deny_p0", "deny_p1", "deny_p2", "deny_p3"];
                let runs = checks
                    .iter()
                    .enumerate()
                    .map(|(c, (rcp, statuses, extra))| {
                        let kind = if *rcp { CheckKind::Rcp } else { CheckKind::Scp };
                        let overrides: Vec<(&str, _)> = statuses
                            .iter()
                            .enumerate()
                            .map(|(i, (s, bits))| {
                                let v = match s {
                                    0 => clean_with(&pick(*bits)),
                                    1 => violating("x"),
                                    2 => incomplete("gap"),
                                    3 => excluded(NotCollectedReason::Skipped),
                                    4 => excluded(NotCollectedReason::Inactive),
                                    _ => verdict(
                                        AccountStatus::Excluded {
                                            reason: NotCollectedReason::Skipped,
                                        },
                                        &pick(*bits),
                                    ),
                                };
                                (ids[i].as_str(), v)
                            })
                            .collect();
                        let mut r = run(&org, check_ids[c], kind, &overrides);
                        if let Some(bits) = extra {
                            r.configured_allowlist =
                                pick(*bits).into_iter().map(str::to_owned).collect();
                        }
                        r
                    })
                    .collect();
                Case { org, runs }
            },
        )
}

/// The default settings with strict placement: the tests written for strict placement.
pub fn strict_settings() -> headroom_analyzer::Settings {
    headroom_analyzer::Settings {
        strategy: headroom_schemas::config::Strategy::Strict,
        ..headroom_analyzer::Settings::default()
    }
}
