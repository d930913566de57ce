//! The model every report a person reads is rendered from: stdout, `summary.md` and
//! `report.html`. Built once per run from the placement summary, the check runs and the
//! organization; the renderers only lay it out.
//!
//! It is data-driven: a blocker's status and reasons are the strings placement and the checks
//! produced (rendered as they come, never matched against a list), and each check, target and
//! account is a row of the same shape, so a new kind of verdict or a new section reaches every
//! renderer as data.

use std::collections::BTreeMap;

use headroom_schemas::org::Organization;
use serde::Serialize;

use crate::Settings;
use crate::model::{AccountStatus, CheckKind, CheckRun, Finding};
use crate::placement::{BlockingAccount, Level, PlacementLevel, kind_name};
use crate::summary::{CheckSummary, Summary, TargetSummary};

/// Everything the human-facing reports show.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// The organization.
    pub organization: OrganizationView,
    /// Headline numbers.
    pub totals: Totals,
    /// What must be known before applying, one sentence each.
    pub warnings: Vec<String>,
    /// Per policy type: `SCPs 1 new + 6 existing (organization quota 10000)`.
    pub quotas: Vec<String>,
    /// One per enabled check, SCPs first, each kind by ID.
    pub checks: Vec<CheckView>,
    /// The root and the OUs, depth first (OUs by name, then ID): a parent precedes its children.
    pub nodes: Vec<NodeView>,
    /// Every account, in the order of `nodes` (accounts of a node by name, then ID).
    pub accounts: Vec<AccountView>,
    /// Collection gaps of the services the checks read, by account then place.
    pub gaps: Vec<GapView>,
    /// The Terraform files, in file order, with their policies.
    pub terraform: Vec<TerraformView>,
}

/// The organization, from the snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct OrganizationView {
    /// The organization ID.
    pub id: String,
    /// The root ID.
    pub root_id: String,
    /// The management account ID.
    pub management_account_id: String,
    /// When the snapshot was collected.
    pub collected_at: String,
}

/// Headline numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Accounts in the organization.
    pub accounts: usize,
    /// OUs in the organization.
    pub ous: usize,
    /// Enabled checks.
    pub checks: usize,
    /// Checks attached somewhere.
    pub placed: usize,
    /// Checks at the root.
    pub at_root: usize,
    /// (check, account) pairs that block.
    pub blockers: usize,
    /// Of those, the ones blocking for a reason other than a collection gap.
    pub blocked: usize,
    /// Accounts blocking at least one check.
    pub blocking_accounts: usize,
    /// Accounts with at least one collection gap.
    pub gap_accounts: usize,
    /// Collection gaps.
    pub gaps: usize,
}

/// One check's placement.
#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    /// The check ID.
    pub id: String,
    /// `SCP` or `RCP`.
    pub kind: &'static str,
    /// `root`, `ou`, `account` or `none`.
    pub level: &'static str,
    /// Clean, blocking, excluded and covered accounts.
    pub clean: usize,
    /// Blocking accounts.
    pub blocking: usize,
    /// Excluded accounts.
    pub excluded: usize,
    /// Covered accounts.
    pub covered: usize,
    /// Why, for the check as a whole.
    pub reasoning: String,
    /// The attachments.
    pub targets: Vec<TargetView>,
    /// The accounts that block it.
    pub blockers: Vec<BlockerView>,
    /// Clean accounts no attachment covers, with why.
    pub uncovered: Vec<UncoveredView>,
    /// What replaying the snapshot's activity window against the plan found, in one line
    /// (only when the snapshot holds activity).
    pub activity: Option<String>,
}

impl CheckView {
    /// Blocking accounts exempted by condition at some target (carve-out).
    pub fn carved_out(&self) -> usize {
        self.targets.iter().map(|t| t.carved_out.len()).sum()
    }
}

/// One check's row in the checks table of `summary.md` and `report.html`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow<'a> {
    /// The check ID.
    pub id: &'a str,
    /// `SCP` or `RCP`.
    pub kind: &'a str,
    /// Where it lands, in words (`root`, `2 OUs, 3 accounts`, `nowhere`).
    pub placement: String,
    /// Covered accounts.
    pub covered: usize,
    /// Blocking accounts.
    pub blocking: usize,
    /// Blocking accounts exempted by condition (carve-out).
    pub carved_out: usize,
    /// Excluded accounts.
    pub excluded: usize,
    /// Why, for the check as a whole.
    pub reasoning: &'a str,
    /// What the activity replay found, when the snapshot holds activity.
    pub activity: Option<&'a str>,
}

impl<'a> CheckRow<'a> {
    /// The row of `check`.
    pub fn new(check: &'a CheckView) -> Self {
        Self {
            id: &check.id,
            kind: check.kind,
            placement: crate::text::placement(check),
            covered: check.covered,
            blocking: check.blocking,
            carved_out: check.carved_out(),
            excluded: check.excluded,
            reasoning: &check.reasoning,
            activity: check.activity.as_deref(),
        }
    }
}

/// One attachment of one check.
#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    /// `root`, `ou` or `account`.
    pub level: &'static str,
    /// The root, OU or account ID.
    pub id: String,
    /// `Root`, `OU 'Workloads/Production'`, `account 'web' (555555555555)`.
    pub label: String,
    /// Covered accounts.
    pub covered: usize,
    /// Skipped accounts beneath it, as `name (id)`.
    pub skipped: Vec<String>,
    /// What the guardrail allows here.
    pub allowlist: Vec<String>,
    /// For an empty allowlist: what is denied from now on.
    pub empty_allowlist: Option<String>,
    /// Blocking accounts exempted by condition (carve-out).
    pub carved_out: Vec<BlockerView>,
    /// The Terraform file, relative to the output (`scps/root_scps.tf`).
    pub terraform_file: String,
    /// This check's policies there.
    pub policies: Vec<PolicyView>,
    /// Why here.
    pub reasoning: String,
}

/// A generated policy and its size.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyView {
    /// The policy name.
    pub name: String,
    /// Its size in characters.
    pub size: usize,
    /// The limit.
    pub max_size: usize,
}

/// An account that blocks a check.
#[derive(Debug, Clone, Serialize)]
pub struct BlockerView {
    /// The account ID.
    pub account_id: String,
    /// The account name.
    pub account_name: String,
    /// Placement's status (`violating`, `incomplete`, ...), as placement names it.
    pub status: String,
    /// Reason codes with counts, as the check named them.
    pub reasons: Vec<ReasonCount>,
    /// The violating resources, sorted.
    pub findings: Vec<Finding>,
    /// Collection gaps that make the account incomplete.
    pub gaps: Vec<String>,
}

/// A reason code and how many resources have it.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    /// The reason code.
    pub reason: String,
    /// Resources.
    pub count: usize,
}

/// A clean account no attachment covers.
#[derive(Debug, Clone, Serialize)]
pub struct UncoveredView {
    /// The account ID.
    pub account_id: String,
    /// The account name.
    pub account_name: String,
    /// Why.
    pub reason: String,
}

/// The root or an OU.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    /// The root or OU ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Index of the parent in `nodes`; `None` for the root.
    pub parent: Option<usize>,
    /// Depth: 0 for the root.
    pub depth: usize,
}

/// One account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    /// The account ID.
    pub id: String,
    /// The name reports use.
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, ...
    pub state: String,
    /// Index of the parent in `nodes`.
    pub parent: usize,
    /// Per check (aligned with `checks`): `clean`, `blocking`, `incomplete` or `excluded`.
    pub statuses: Vec<&'static str>,
}

/// One collection gap of a service a check reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GapView {
    /// The account ID.
    pub account_id: String,
    /// The account name.
    pub account_name: String,
    /// `eu-west-1 ec2: AccessDenied: ...`, as the checks report it.
    pub gap: String,
}

/// One Terraform file.
#[derive(Debug, Clone, Serialize)]
pub struct TerraformView {
    /// `scps/root_scps.tf`.
    pub file: String,
    /// The target's label.
    pub target: String,
    /// The checks in it.
    pub checks: Vec<String>,
    /// The policies in it.
    pub policies: Vec<PolicyView>,
}

/// The status of one account for one check, as the account rows show it.
fn status_word(status: &AccountStatus) -> &'static str {
    match status {
        AccountStatus::Clean => "clean",
        AccountStatus::Violating { .. } => "blocking",
        AccountStatus::Incomplete { .. } => "incomplete",
        AccountStatus::Excluded { .. } => "excluded",
    }
}

/// The name of a serializable unit enum value (`violating`), without listing the variants.
fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Root => "root",
        Level::Ou => "ou",
        Level::Account => "account",
    }
}

fn placement_name(level: PlacementLevel) -> &'static str {
    match level {
        PlacementLevel::Root => "root",
        PlacementLevel::Ou => "ou",
        PlacementLevel::Account => "account",
        PlacementLevel::None => "none",
    }
}

/// Builds the view. `runs` are the check runs placement saw (aligned with nothing: matched by
/// check ID).
pub fn build(
    summary: &Summary<'_>,
    runs: &[CheckRun],
    org: &Organization,
    settings: &Settings,
) -> View {
    let runs_by_id: BTreeMap<&str, &CheckRun> = runs.iter().map(|r| (r.check_id, r)).collect();
    let (nodes, accounts) = tree(org, settings, summary, &runs_by_id);
    let names: BTreeMap<&str, &str> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let targets: BTreeMap<(CheckKind, &str), &TargetSummary<'_>> = summary
        .targets
        .iter()
        .map(|t| ((t.kind, t.target.id.as_str()), t))
        .collect();
    let checks: Vec<CheckView> = summary
        .checks
        .iter()
        .map(|c| check_view(c, runs_by_id.get(c.check_id).copied(), &targets))
        .collect();
    let gaps = gaps(runs, &names);
    let terraform = summary
        .targets
        .iter()
        .map(|t| TerraformView {
            file: format!("{}/{}", t.kind.dir(), t.terraform_file),
            target: t.target.label(),
            checks: t.checks.iter().map(|c| (*c).to_owned()).collect(),
            policies: t
                .policies
                .iter()
                .map(|p| PolicyView {
                    name: p.name.to_owned(),
                    size: p.size,
                    max_size: p.max_size,
                })
                .collect(),
        })
        .collect();
    let mut blocking_accounts = std::collections::BTreeSet::new();
    for check in &checks {
        blocking_accounts.extend(check.blockers.iter().map(|b| b.account_id.as_str()));
    }
    let totals = Totals {
        accounts: org.accounts.len(),
        ous: org.organizational_units.len(),
        checks: checks.len(),
        placed: checks.iter().filter(|c| !c.targets.is_empty()).count(),
        at_root: checks.iter().filter(|c| c.level == "root").count(),
        blockers: checks.iter().map(|c| c.blockers.len()).sum(),
        blocked: checks
            .iter()
            .flat_map(|c| &c.blockers)
            .filter(|b| b.gaps.is_empty())
            .count(),
        blocking_accounts: blocking_accounts.len(),
        gap_accounts: gaps
            .iter()
            .map(|g| g.account_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        gaps: gaps.len(),
    };
    View {
        organization: OrganizationView {
            id: summary.organization.id.to_owned(),
            root_id: summary.organization.root_id.to_owned(),
            management_account_id: org.management_account_id.to_string(),
            collected_at: summary.organization.collected_at.to_owned(),
        },
        totals,
        warnings: summary.warnings.clone(),
        quotas: summary
            .organization_quotas
            .iter()
            .map(|q| {
                format!(
                    "{}s {} new + {} existing (organization quota {})",
                    kind_name(q.kind),
                    q.new_policies,
                    q.existing_policies,
                    q.quota
                )
            })
            .collect(),
        checks,
        nodes,
        accounts,
        gaps,
        terraform,
    }
}

/// Every collection gap a check reported, by account and place, once.
fn gaps(runs: &[CheckRun], names: &BTreeMap<&str, &str>) -> Vec<GapView> {
    let mut gaps = std::collections::BTreeSet::new();
    for run in runs {
        for (id, verdict) in &run.verdicts {
            if let AccountStatus::Incomplete { gaps: lines } = &verdict.status {
                for gap in lines {
                    gaps.insert(GapView {
                        account_id: id.to_string(),
                        account_name: names
                            .get(id.as_str())
                            .map_or_else(String::new, |n| (*n).to_owned()),
                        gap: gap.clone(),
                    });
                }
            }
        }
    }
    gaps.into_iter().collect()
}

fn blocker_view(blocker: &BlockingAccount, run: Option<&CheckRun>) -> BlockerView {
    let findings = run
        .and_then(|r| r.verdicts.get(&blocker.id))
        .map(|v| v.findings.clone())
        .unwrap_or_default();
    BlockerView {
        account_id: blocker.id.to_string(),
        account_name: blocker.name.clone(),
        status: serde_name(&blocker.status),
        reasons: blocker
            .violations
            .iter()
            .map(|(reason, count)| ReasonCount {
                reason: reason.clone(),
                count: *count,
            })
            .collect(),
        findings,
        gaps: blocker.gaps.clone(),
    }
}

fn check_view(
    check: &CheckSummary<'_>,
    run: Option<&CheckRun>,
    targets: &BTreeMap<(CheckKind, &str), &TargetSummary<'_>>,
) -> CheckView {
    let target_views = check
        .recommendations
        .iter()
        .map(|r| {
            let policies = targets
                .get(&(check.kind, r.target.id.as_str()))
                .map(|t| {
                    t.policies
                        .iter()
                        .filter(|p| r.policies.contains(&p.name))
                        .map(|p| PolicyView {
                            name: p.name.to_owned(),
                            size: p.size,
                            max_size: p.max_size,
                        })
                        .collect()
                })
                .unwrap_or_default();
            TargetView {
                level: level_name(r.level),
                id: r.target.id.clone(),
                label: r.target.label(),
                covered: r.covered_accounts.len(),
                skipped: r
                    .skipped_accounts
                    .iter()
                    .map(|a| format!("{} ({})", a.name, a.id))
                    .collect(),
                allowlist: r.allowlist.to_vec(),
                empty_allowlist: r.empty_allowlist.map(str::to_owned),
                carved_out: r.carved_out.iter().map(|b| blocker_view(b, run)).collect(),
                terraform_file: format!("{}/{}", check.kind.dir(), r.terraform_file),
                policies,
                reasoning: r.reasoning.to_owned(),
            }
        })
        .collect();
    CheckView {
        id: check.check_id.to_owned(),
        kind: kind_name(check.kind),
        level: placement_name(check.level),
        clean: check.accounts.clean,
        blocking: check.accounts.blocking,
        excluded: check.accounts.excluded,
        covered: check.accounts.covered,
        reasoning: check.reasoning.to_owned(),
        targets: target_views,
        blockers: check
            .blocking_accounts
            .iter()
            .map(|b| blocker_view(b, run))
            .collect(),
        uncovered: check
            .uncovered_accounts
            .iter()
            .map(|u| UncoveredView {
                account_id: u.id.to_string(),
                account_name: u.name.clone(),
                reason: u.reason.clone(),
            })
            .collect(),
        activity: check.activity.map(activity_line),
    }
}

/// `2 events denied in 1 account (1 blocking, mode block), 0 events undecidable`.
fn activity_line(activity: &crate::activity::placed::CheckActivity) -> String {
    if !activity.replayed {
        return "not replayed: the snapshot's activity lacks some of the events this check denies"
            .to_owned();
    }
    let denied_in = activity
        .accounts
        .iter()
        .filter(|a| a.denied.count > 0)
        .count();
    let blocking = activity.accounts.iter().filter(|a| a.blocks).count();
    format!(
        "{} denied in {} ({} blocking, mode {}), {} undecidable",
        crate::placement::Plural(
            usize::try_from(activity.denied.count).unwrap_or(usize::MAX),
            "event"
        ),
        crate::placement::Plural(denied_in, "account"),
        blocking,
        activity.mode.as_str(),
        crate::placement::Plural(
            usize::try_from(activity.undecidable.count).unwrap_or(usize::MAX),
            "event"
        ),
    )
}

/// The nodes depth first and the accounts in node order.
fn tree(
    org: &Organization,
    settings: &Settings,
    summary: &Summary<'_>,
    runs: &BTreeMap<&str, &CheckRun>,
) -> (Vec<NodeView>, Vec<AccountView>) {
    let mut child_ous: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for ou in org.organizational_units.values() {
        child_ous
            .entry(ou.parent_id.as_str())
            .or_default()
            .push((ou.name.as_str(), ou.id.as_str()));
    }
    let mut child_accounts: BTreeMap<&str, Vec<(String, &str)>> = BTreeMap::new();
    for account in org.accounts.values() {
        child_accounts
            .entry(account.parent_id.as_str())
            .or_default()
            .push((settings.account_name(account), account.id.as_str()));
    }
    let check_runs: Vec<Option<&CheckRun>> = summary
        .checks
        .iter()
        .map(|c| runs.get(c.check_id).copied())
        .collect();
    let mut nodes = Vec::new();
    let mut accounts = Vec::new();
    let root = org.root();
    // Depth first with an explicit stack: (id, name, parent, depth).
    let mut stack: Vec<(&str, &str, Option<usize>, usize)> =
        vec![(root.id.as_str(), root.name.as_str(), None, 0)];
    while let Some((id, name, parent, depth)) = stack.pop() {
        let index = nodes.len();
        nodes.push(NodeView {
            id: id.to_owned(),
            name: name.to_owned(),
            parent,
            depth,
        });
        if let Some(list) = child_accounts.get_mut(id) {
            list.sort();
            for (name, account_id) in list.iter() {
                let Some(account) = org.accounts.get(*account_id) else {
                    continue;
                };
                let statuses = check_runs
                    .iter()
                    .map(|run| {
                        run.and_then(|r| r.verdicts.get(&account.id))
                            .map_or("excluded", |v| status_word(&v.status))
                    })
                    .collect();
                accounts.push(AccountView {
                    id: account.id.to_string(),
                    name: name.clone(),
                    state: account.state.as_str().to_owned(),
                    parent: index,
                    statuses,
                });
            }
        }
        if let Some(list) = child_ous.get_mut(id) {
            list.sort_unstable();
            // Reversed onto the stack so the first by name comes out first.
            for (name, ou_id) in list.iter().rev() {
                stack.push((ou_id, name, Some(index), depth + 1));
            }
        }
    }
    (nodes, accounts)
}
