//! Placement: where each check's guardrail can be attached without breaking anything today.
//!
//! For each check, over the whole tree (root, OUs at any depth, accounts at any level):
//!
//! - An account *blocks* when its verdict is violating or incomplete (or missing: fail closed).
//!   The management account is ignored (SCPs and RCPs never apply to it); skipped and inactive
//!   accounts never block.
//! - A node is *clean* when no account beneath it blocks. The guardrail is attached at the
//!   highest clean nodes: the root if it is clean, otherwise each clean child, and each unclean
//!   OU is split further. A clean node is only a target if it covers at least one analyzed,
//!   clean account (a subtree of suspended or skipped accounts gets nothing of its own).
//! - Slots: a target can hold `max_policies_per_target` policies of a type. The policies
//!   already attached (from the snapshot, AWS-managed `FullAWSAccess` included) count, and so
//!   do the new ones: all statements placed on one target, from every check, are packed
//!   together ([`crate::policies::pack`]) and every resulting document takes a slot. Checks are
//!   placed in ID order; a check whose statements would push a target over the quota is not
//!   placed there and moves down to the target's children (an account target that is full
//!   leaves that account uncovered, reported with the reason).
//!
//! So every clean account is covered exactly once (or reported uncovered because a target is
//! full), no blocking account is ever covered, and every recommendation says why it is not
//! higher.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::Arc;

use headroom_schemas::config::{Limits, Strategy};
use headroom_schemas::inventory::NotCollectedReason;
use headroom_schemas::org::{Account, Organization};
use headroom_schemas::{AccountId, Policies};
use schemars::JsonSchema;
use serde::Serialize;

use crate::Settings;
use crate::managed::{self, Prior, Removal};
use crate::model::{AccountStatus, AccountVerdict, CheckKind, CheckRun, Statement};
use crate::policies::{self, Item, PolicyError};

/// The statements of one check for one target whose accounts need the given allowlist.
/// Called from several threads: SCPs and RCPs are placed side by side.
pub type StatementSource<'a> = dyn Fn(&CheckRun, &BTreeSet<String>) -> Vec<Statement> + Sync + 'a;

/// The JSON Schema of [`CheckKind`] (which lives in the checks contract).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[expect(dead_code, reason = "only its schema is used")]
pub(crate) enum KindSchema {
    /// A service control policy.
    Scp,
    /// A resource control policy.
    Rcp,
}

/// The level of a target in the organization tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The organization root.
    Root,
    /// An organizational unit, at any depth.
    Ou,
    /// A single account.
    Account,
}

impl Level {
    /// `ROOT`, `OU` or `ACCOUNT`.
    pub fn upper(self) -> &'static str {
        match self {
            Level::Root => "ROOT",
            Level::Ou => "OU",
            Level::Account => "ACCOUNT",
        }
    }
}

/// A node a policy can be attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Target {
    /// Root, OU or account.
    pub level: Level,
    /// The root ID (`r-...`), OU ID (`ou-...`) or account ID.
    pub id: String,
    /// The root's name, the OU's name, or the account's name (as reports name it).
    pub name: String,
    /// The names of the OUs from the top-level OU down to the target itself (for an OU) or
    /// to the account's parent (for an account); empty for the root.
    pub ou_path: Vec<String>,
}

impl Target {
    /// How people read it: `Root`, `OU 'Workloads/Production'`, `account 'web-prod'
    /// (555555555555)`. Names are raw: escape them for the medium.
    pub fn label(&self) -> String {
        Label(self).to_string()
    }
}

/// [`Target::label`], written straight into the text that contains it.
struct Label<'a>(&'a Target);

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = self.0;
        match target.level {
            Level::Root => f.write_str("Root"),
            Level::Ou => {
                f.write_str("OU '")?;
                for (i, name) in target.ou_path.iter().enumerate() {
                    if i > 0 {
                        f.write_str("/")?;
                    }
                    f.write_str(name)?;
                }
                f.write_str("'")
            }
            Level::Account => write!(f, "account '{}' ({})", target.name, target.id),
        }
    }
}

/// `1 noun`, `2 nouns`, written straight into the text that contains it.
pub(crate) struct Plural<'a>(pub(crate) usize, pub(crate) &'a str);

impl std::fmt::Display for Plural<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Plural(n, noun) = *self;
        if n == 1 {
            write!(f, "1 {noun}")
        } else {
            write!(f, "{n} {noun}s")
        }
    }
}

/// An account, by ID and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct AccountRef {
    /// The account ID.
    pub id: AccountId,
    /// The account name (the name tag with `use_account_name_from_tags`).
    pub name: String,
}

impl AccountRef {
    fn label(&self) -> String {
        format!("{} ({})", self.name, self.id)
    }
}

/// Why an account blocks a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlockStatus {
    /// At least one resource violates.
    Violating,
    /// A service the check reads was not collected.
    Incomplete,
    /// The check produced no verdict for the account (treated as blocking).
    NoVerdict,
}

/// An account that prevents attaching a check above it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BlockingAccount {
    /// The account ID.
    pub id: AccountId,
    /// The account name.
    pub name: String,
    /// The IDs of the root and the OUs above the account, root first: the blockers of a
    /// recommendation are those with its `blocked_at` among these.
    pub ancestor_ids: Vec<String>,
    /// Violating, incomplete, or without a verdict.
    pub status: BlockStatus,
    /// Violations by reason code (for `violating`).
    pub violations: BTreeMap<String, usize>,
    /// Collection gaps (for `incomplete`).
    pub gaps: Vec<String>,
}

impl BlockingAccount {
    /// `dev-sandbox (666666666666): unknown_image_owner x2`.
    pub fn describe(&self) -> String {
        let why = match self.status {
            BlockStatus::Violating => self
                .violations
                .iter()
                .map(|(reason, n)| format!("{reason} x{n}"))
                .collect::<Vec<_>>()
                .join(", "),
            BlockStatus::Incomplete => format!("not fully collected: {}", self.gaps.join("; ")),
            BlockStatus::NoVerdict => "no verdict".to_owned(),
        };
        format!("{} ({}): {why}", self.name, self.id)
    }
}

/// A node above a recommendation that could not take it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PassedOver {
    /// The node.
    pub target: Target,
    /// Why it was passed over.
    pub why: PassedOverReason,
}

/// Why a node above a recommendation could not take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PassedOverReason {
    /// Accounts beneath it block the check.
    Blocked {
        /// How many accounts beneath it block.
        blocking_accounts: usize,
        /// With the carve-out strategy: why the node could not take the guardrail with those
        /// accounts exempted.
        #[serde(skip_serializing_if = "Option::is_none")]
        carve_out: Option<String>,
    },
    /// It has no free slot for the policies this check would add.
    Full {
        /// Policies of this type attached today.
        existing_policies: usize,
        /// Policies Headroom would attach there, this check included.
        needed_policies: usize,
        /// `max_policies_per_target`.
        max_policies: usize,
    },
    /// A statement of this check, built with the allowlist of the node's whole subtree, is
    /// too large for a policy of its own; nodes below need smaller allowlists.
    TooLarge {
        /// The size of a policy holding only that statement.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
}

impl PassedOver {
    /// `Root has 2 blocking accounts beneath it`, `OU 'X' already holds 5 SCPs ...`.
    pub fn describe(&self, kind: CheckKind) -> String {
        let kind = kind_name(kind);
        match &self.why {
            PassedOverReason::Blocked {
                blocking_accounts,
                carve_out,
            } => {
                let mut text = format!(
                    "{} has {} beneath it",
                    Label(&self.target),
                    Plural(*blocking_accounts, "blocking account")
                );
                if let Some(why) = carve_out {
                    let _ = write!(text, " and cannot carve them out: {why}");
                }
                text
            }
            PassedOverReason::Full {
                existing_policies,
                needed_policies,
                max_policies,
            } => format!(
                "{} already holds {existing_policies} {kind}s and would need {needed_policies} new, over the limit of {max_policies} per target",
                Label(&self.target)
            ),
            PassedOverReason::TooLarge { size, limit } => format!(
                "at {} the allowlist makes a statement of {size} characters alone, over the {kind} limit of {limit}",
                Label(&self.target)
            ),
        }
    }
}

/// One attachment of one check's guardrail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Recommendation {
    /// Where to attach.
    pub target: Target,
    /// The analyzed, clean accounts it protects.
    pub covered_accounts: Vec<AccountRef>,
    /// Accounts in `skip_account_ids` beneath the target: not analyzed, but the policy applies.
    pub skipped_accounts: Vec<AccountRef>,
    /// Suspended, closed or pending accounts beneath the target.
    pub inactive_accounts: Vec<AccountRef>,
    /// The nearest node above the target that accounts block (a root or OU ID), if any: the
    /// check's `blocking_accounts` with this ID among their `ancestor_ids` are the accounts
    /// that keep the recommendation from going higher. (Listed once per check rather than per
    /// recommendation, so the summary stays linear in the size of the organization.)
    pub blocked_at: Option<String>,
    /// The nodes above the target, root first, and why each could not take the policy.
    /// (Shared by the recommendations below one passed-over node.)
    #[serde(serialize_with = "as_slice")]
    pub passed_over: Arc<[PassedOver]>,
    /// What the guardrail must allow here: the union of the covered accounts' needs plus the
    /// configured extras, sorted.
    pub allowlist: Vec<String>,
    /// For a check with an allowlist that comes out empty here: what the guardrail denies
    /// from now on, in a sentence.
    pub empty_allowlist: Option<String>,
    /// Carve-out: the blocking accounts beneath the target that its statements exempt by
    /// condition (`aws:PrincipalAccount` for SCPs, `aws:ResourceAccount` for RCPs), with why
    /// each blocks. Empty for a plain attachment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub carved_out: Vec<BlockingAccount>,
    /// A sentence explaining the choice.
    pub reasoning: String,
}

/// The most general level a check reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlacementLevel {
    /// Attached at the root.
    Root,
    /// The highest attachment is an OU.
    Ou,
    /// Only accounts.
    Account,
    /// Nothing can be attached.
    None,
}

impl PlacementLevel {
    /// `ROOT`, `OU`, `ACCOUNT` or `NONE`.
    pub fn upper(self) -> &'static str {
        match self {
            PlacementLevel::Root => "ROOT",
            PlacementLevel::Ou => "OU",
            PlacementLevel::Account => "ACCOUNT",
            PlacementLevel::None => "NONE",
        }
    }
}

/// A clean account that no recommendation covers, because its own account node is full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UncoveredAccount {
    /// The account ID.
    pub id: AccountId,
    /// The account name.
    pub name: String,
    /// Why it is not covered.
    pub reason: String,
}

/// Account counts of one check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccountCounts {
    /// Analyzed and clean (compliant or exempt, fully collected).
    pub clean: usize,
    /// Violating, incomplete or without a verdict.
    pub blocking: usize,
    /// Skipped, inactive or the management account.
    pub excluded: usize,
    /// Clean accounts some recommendation covers.
    pub covered: usize,
}

/// Everything placement decided for one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CheckPlacement {
    /// The check ID.
    pub check_id: String,
    /// SCP or RCP.
    #[schemars(with = "KindSchema")]
    pub kind: CheckKind,
    /// The most general level reached, or `none`.
    pub level: PlacementLevel,
    /// Account counts.
    pub accounts: AccountCounts,
    /// The attachments, root first, then OUs and accounts by name.
    pub recommendations: Vec<Recommendation>,
    /// Every account that blocks this check, by ID.
    pub blocking_accounts: Vec<BlockingAccount>,
    /// Clean accounts left uncovered because their target is full.
    pub uncovered_accounts: Vec<UncoveredAccount>,
    /// A sentence for the check as a whole (the reason for `none`).
    pub reasoning: String,
}

/// One check's part of a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetCheck {
    /// The check ID.
    pub check_id: String,
    /// The allowlist the statements were built with.
    pub allowlist: Vec<String>,
    /// The blocking accounts the statements exempt (carve-out), each with why it blocks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub carved_out: Vec<String>,
    /// The check's statements for this target (shared by every target with the same
    /// allowlist).
    #[serde(serialize_with = "as_slice")]
    pub statements: Arc<[Statement]>,
}

/// Serializes a shared slice as the list it holds.
fn as_slice<T: Serialize, S: serde::Serializer>(
    items: &Arc<[T]>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    items.as_ref().serialize(serializer)
}

/// Where a statement of a packed policy comes from: `checks[check].statements[statement]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    /// Index into [`TargetPlan::checks`].
    pub check: usize,
    /// Index into that check's statements.
    pub statement: usize,
}

/// One new policy for a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedPolicy {
    /// Its statements, in check order.
    pub statements: Vec<StatementRef>,
    /// The exact size of its document as Terraform's `jsonencode` writes it.
    pub size: usize,
}

/// All new policies of one type for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetPlan {
    /// SCP or RCP.
    pub kind: CheckKind,
    /// The node.
    pub target: Target,
    /// Policies of this type attached there today.
    pub existing_policies: usize,
    /// The checks placed there, in ID order.
    pub checks: Vec<TargetCheck>,
    /// The packed policies.
    pub policies: Vec<PlannedPolicy>,
}

impl TargetPlan {
    /// The statements of `policy`, with their check IDs.
    pub fn statements_of<'a>(
        &'a self,
        policy: &'a PlannedPolicy,
    ) -> impl Iterator<Item = (&'a str, &'a Statement)> + 'a {
        policy.statements.iter().filter_map(|r| {
            let check = self.checks.get(r.check)?;
            Some((check.check_id.as_str(), check.statements.get(r.statement)?))
        })
    }

    /// The IDs of the checks with a statement in `policy`, in order, without repeats.
    pub fn checks_of(&self, policy: &PlannedPolicy) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for r in &policy.statements {
            if let Some(check) = self.checks.get(r.check)
                && ids.last() != Some(&check.check_id)
            {
                ids.push(check.check_id.clone());
            }
        }
        ids
    }
}

/// The placement of every check and the policies of every target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// One entry per check run, SCPs first, each kind by check ID.
    pub checks: Vec<CheckPlacement>,
    /// One entry per (kind, target) receiving policies: SCPs first, then root, OUs by path,
    /// accounts by name and ID.
    pub targets: Vec<TargetPlan>,
    /// Where an earlier Headroom plan attached a check that this plan no longer attaches:
    /// SCPs first, each kind by check ID (enabled or not).
    pub removals: Vec<CheckRemovals>,
}

/// The attachments of one check that applying this plan takes away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CheckRemovals {
    /// The check ID.
    pub check_id: String,
    /// SCP or RCP.
    #[schemars(with = "KindSchema")]
    pub kind: CheckKind,
    /// One entry per target, in target order.
    pub removals: Vec<Removal>,
}

/// A node of the tree, by its index in [`Tree::nodes`].
type NodeId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Root,
    Ou,
    /// An account, by its index in [`Tree::accounts`].
    Account(usize),
}

/// One node, with everything every check asks about it computed once.
struct NodeData {
    kind: NodeKind,
    /// The node as a target (cloned into recommendations and slots).
    target: Target,
    /// Child OUs (by ID), then child accounts (by ID).
    children: Vec<NodeId>,
    /// The non-management accounts at or beneath the node (indexes into [`Tree::accounts`]),
    /// in ID order.
    beneath: Vec<usize>,
    /// The node's position in [`target_order`] among all nodes.
    rank: usize,
    /// Policies attached today: SCPs, RCPs.
    existing: [usize; 2],
}

/// The tree, indexed once for every check.
struct Tree<'a> {
    org: &'a Organization,
    /// Every account, in ID order.
    accounts: Vec<&'a Account>,
    /// Each account's name as reports write it.
    names: Vec<String>,
    /// Each account's `ancestor_ids`.
    ancestor_ids: Vec<Vec<String>>,
    /// The root is node 0.
    nodes: Vec<NodeData>,
    /// Each node's parent (`None` for the root and for nodes whose parent is missing).
    parents: Vec<Option<NodeId>>,
    /// Nodes by target ID.
    by_id: BTreeMap<String, NodeId>,
}

const ROOT: NodeId = 0;

fn kind_index(kind: CheckKind) -> usize {
    match kind {
        CheckKind::Scp => 0,
        CheckKind::Rcp => 1,
    }
}

impl<'a> Tree<'a> {
    fn new(org: &'a Organization, settings: &'a Settings, existing: &Attachments<'_>) -> Self {
        let root_id = root_id(org);
        let accounts: Vec<&Account> = org.accounts.values().collect();
        // Node IDs of the root and the OUs, which hold children and accounts beneath.
        let mut containers: BTreeMap<&str, NodeId> = BTreeMap::new();
        let mut nodes: Vec<(NodeKind, &str)> = vec![(NodeKind::Root, root_id)];
        containers.insert(root_id, ROOT);
        for ou in org.organizational_units.values() {
            containers.entry(ou.id.as_str()).or_insert(nodes.len());
            nodes.push((NodeKind::Ou, ou.id.as_str()));
        }
        let first_account = nodes.len();
        nodes.extend(
            accounts
                .iter()
                .enumerate()
                .map(|(i, a)| (NodeKind::Account(i), a.id.as_str())),
        );
        let mut child_ous: Vec<Vec<NodeId>> = vec![Vec::new(); nodes.len()];
        let mut child_accounts: Vec<Vec<NodeId>> = vec![Vec::new(); nodes.len()];
        let mut beneath: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for (n, ou) in org.organizational_units.values().enumerate() {
            if let Some(&parent) = containers.get(ou.parent_id.as_str()) {
                child_ous[parent].push(1 + n);
            }
        }
        for (i, account) in accounts.iter().enumerate() {
            if let Some(&parent) = containers.get(account.parent_id.as_str()) {
                child_accounts[parent].push(first_account + i);
            }
            if account.id == org.management_account_id {
                continue;
            }
            beneath[first_account + i].push(i);
            // Walk up; the snapshot has no cycles, the bound only guards the walk.
            let mut cursor = account.parent_id.as_str();
            for _ in 0..=org.organizational_units.len() {
                if let Some(&node) = containers.get(cursor) {
                    beneath[node].push(i);
                }
                if cursor == root_id {
                    break;
                }
                match org.organizational_units.get(cursor) {
                    Some(ou) => cursor = &ou.parent_id,
                    None => break,
                }
            }
        }
        let targets: Vec<Target> = nodes
            .iter()
            .map(|(kind, id)| target(org, settings, *kind, id, &accounts))
            .collect();
        let parents = parents(nodes.len(), [&child_ous, &child_accounts]);
        let by_id: BTreeMap<String, NodeId> = targets
            .iter()
            .enumerate()
            .map(|(node, t)| (t.id.clone(), node))
            .collect();
        let mut order: Vec<NodeId> = (0..nodes.len()).collect();
        order.sort_by(|a, b| target_order(&targets[*a], &targets[*b]));
        let mut ranks = vec![0; nodes.len()];
        for (rank, node) in order.into_iter().enumerate() {
            ranks[node] = rank;
        }
        let nodes = nodes
            .into_iter()
            .zip(targets)
            .zip(child_ous.into_iter().zip(child_accounts))
            .zip(beneath.into_iter().zip(ranks))
            .map(
                |((((kind, _), target), (mut ous, accounts)), (beneath, rank))| {
                    ous.extend(accounts);
                    let existing = [
                        existing.count(CheckKind::Scp, &target.id),
                        existing.count(CheckKind::Rcp, &target.id),
                    ];
                    NodeData {
                        kind,
                        target,
                        children: ous,
                        beneath,
                        rank,
                        existing,
                    }
                },
            )
            .collect();
        Self {
            org,
            names: accounts.iter().map(|a| settings.account_name(a)).collect(),
            ancestor_ids: accounts.iter().map(|a| ancestor_ids(org, a)).collect(),
            accounts,
            nodes,
            parents,
            by_id,
        }
    }

    /// The nodes above `node`, nearest first.
    fn ancestors(&self, node: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut cursor = self.parents[node];
        while let Some(parent) = cursor {
            if out.contains(&parent) {
                break; // guards the walk; a snapshot has no cycles
            }
            out.push(parent);
            cursor = self.parents[parent];
        }
        out
    }

    fn account_ref(&self, account: usize) -> AccountRef {
        AccountRef {
            id: self.accounts[account].id.clone(),
            name: self.names[account].clone(),
        }
    }
}

/// Each node's parent, from the children lists of every node.
fn parents(nodes: usize, children: [&Vec<Vec<NodeId>>; 2]) -> Vec<Option<NodeId>> {
    let mut parents: Vec<Option<NodeId>> = vec![None; nodes];
    for lists in children {
        for (parent, list) in lists.iter().enumerate() {
            for &child in list {
                parents[child] = Some(parent);
            }
        }
    }
    parents
}

/// A node as a target.
fn target(
    org: &Organization,
    settings: &Settings,
    kind: NodeKind,
    id: &str,
    accounts: &[&Account],
) -> Target {
    match kind {
        NodeKind::Root => Target {
            level: Level::Root,
            id: id.to_owned(),
            name: org
                .roots
                .first()
                .map_or_else(|| "Root".to_owned(), |r| r.name.clone()),
            ou_path: Vec::new(),
        },
        NodeKind::Ou => Target {
            level: Level::Ou,
            id: id.to_owned(),
            name: org
                .organizational_units
                .get(id)
                .map(|ou| ou.name.clone())
                .unwrap_or_default(),
            ou_path: org.ou_path(id).into_iter().map(str::to_owned).collect(),
        },
        NodeKind::Account(i) => {
            let a = accounts[i];
            Target {
                level: Level::Account,
                id: a.id.to_string(),
                name: settings.account_name(a),
                ou_path: org
                    .ou_path(&a.parent_id)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            }
        }
    }
}

/// The IDs of the root and the OUs above an account, root first.
fn ancestor_ids(org: &Organization, account: &Account) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = account.parent_id.as_str();
    for _ in 0..=org.organizational_units.len() {
        out.push(cursor.to_owned());
        match org.organizational_units.get(cursor) {
            Some(ou) => cursor = &ou.parent_id,
            None => break,
        }
    }
    out.reverse();
    out
}

fn root_id(org: &Organization) -> &str {
    org.roots.first().map_or("", |r| r.id.as_str())
}

/// One check's verdicts, by account index.
struct Verdicts<'v> {
    by_account: Vec<Option<&'v AccountVerdict>>,
}

impl<'v> Verdicts<'v> {
    fn new(tree: &Tree<'_>, run: &'v CheckRun) -> Self {
        Self {
            by_account: tree
                .accounts
                .iter()
                .map(|a| run.verdicts.get(&a.id))
                .collect(),
        }
    }
}

/// What one account means for one check.
enum Standing<'v> {
    Clean(&'v AccountVerdict),
    Blocking(BlockingAccount),
    Skipped(&'v AccountVerdict),
    Inactive(&'v AccountVerdict),
    /// Management account (never covered) or excluded for a reason we do not list.
    Ignored,
}

fn standing<'v>(tree: &Tree<'_>, verdicts: &Verdicts<'v>, index: usize) -> Standing<'v> {
    let account = tree.accounts[index];
    if account.id == tree.org.management_account_id {
        return Standing::Ignored;
    }
    let blocking = |status, violations, gaps| {
        Standing::Blocking(BlockingAccount {
            id: account.id.clone(),
            name: tree.names[index].clone(),
            ancestor_ids: tree.ancestor_ids[index].clone(),
            status,
            violations,
            gaps,
        })
    };
    let Some(verdict) = verdicts.by_account[index] else {
        return blocking(BlockStatus::NoVerdict, BTreeMap::new(), Vec::new());
    };
    match &verdict.status {
        AccountStatus::Clean => Standing::Clean(verdict),
        AccountStatus::Violating { reasons } => {
            blocking(BlockStatus::Violating, reasons.clone(), Vec::new())
        }
        AccountStatus::Incomplete { gaps } => {
            blocking(BlockStatus::Incomplete, BTreeMap::new(), gaps.clone())
        }
        AccountStatus::Excluded { reason } => match reason {
            NotCollectedReason::Skipped => Standing::Skipped(verdict),
            NotCollectedReason::Inactive => Standing::Inactive(verdict),
            NotCollectedReason::ManagementAccount => Standing::Ignored,
        },
    }
}

/// What a subtree holds for one check.
#[derive(Default)]
struct Subtree {
    clean: Vec<AccountRef>,
    blocking: Vec<BlockingAccount>,
    skipped: Vec<AccountRef>,
    inactive: Vec<AccountRef>,
    allowlist: BTreeSet<String>,
}

fn subtree(
    tree: &Tree<'_>,
    run: &CheckRun,
    verdicts: &Verdicts<'_>,
    accounts: &[usize],
) -> Subtree {
    let mut out = Subtree::default();
    for &account in accounts {
        match standing(tree, verdicts, account) {
            Standing::Clean(v) => {
                out.clean.push(tree.account_ref(account));
                out.allowlist.extend(v.allowlist.iter().cloned());
            }
            Standing::Blocking(b) => out.blocking.push(b),
            Standing::Skipped(v) => {
                out.skipped.push(tree.account_ref(account));
                out.allowlist.extend(v.allowlist.iter().cloned());
            }
            Standing::Inactive(v) => {
                out.inactive.push(tree.account_ref(account));
                out.allowlist.extend(v.allowlist.iter().cloned());
            }
            Standing::Ignored => {}
        }
    }
    out.allowlist
        .extend(run.configured_allowlist.iter().cloned());
    out
}

/// What the whole organization holds for one check: the clean accounts are only counted.
struct Whole {
    clean: usize,
    blocking: Vec<BlockingAccount>,
}

fn whole(tree: &Tree<'_>, verdicts: &Verdicts<'_>) -> Whole {
    let mut out = Whole {
        clean: 0,
        blocking: Vec::new(),
    };
    for &account in &tree.nodes[ROOT].beneath {
        match standing(tree, verdicts, account) {
            Standing::Clean(_) => out.clean += 1,
            Standing::Blocking(b) => out.blocking.push(b),
            Standing::Skipped(_) | Standing::Inactive(_) | Standing::Ignored => {}
        }
    }
    out
}

/// A target being filled, check by check.
struct Slot {
    target: Target,
    existing: usize,
    checks: Vec<TargetCheck>,
    /// The size of each statement of each check, as measured when it was placed.
    sizes: Vec<Arc<[usize]>>,
}

/// One pending node of the walk, with what lies above it.
struct Pending {
    node: NodeId,
    /// Shared by siblings and by the recommendations below them.
    passed_over: Arc<[PassedOver]>,
    /// The nearest blocked ancestor.
    blocked: Option<Rc<Blocked>>,
    /// Why not at the parent, for the reasoning text ([`not_higher`]); `None` at the root.
    not_higher: Option<Rc<str>>,
}

/// A blocked node, with the first few blocking accounts beneath it for the reasoning text.
struct Blocked {
    node_id: String,
    count: usize,
    first: Vec<String>,
}

/// How many blocking accounts a reasoning text names before "and N more".
const NAMED_BLOCKERS: usize = 3;

/// Places every check run. `statements` builds a check's statements for a target's allowlist.
///
/// The SCP and the RCP checks are placed on two workers of the current rayon pool: their
/// targets' slots are separate (a target holds a quota per policy type), so the two kinds never
/// interact. Pure and deterministic: runs are processed by (kind, check ID), whatever their
/// input order, and the plan is the same at any thread count.
pub fn place(
    org: &Organization,
    existing_policies: &Policies,
    settings: &Settings,
    runs: &[CheckRun],
    statements: &StatementSource<'_>,
) -> Result<Plan, PlacementError> {
    let existing = Attachments::new(existing_policies);
    let tree = Tree::new(org, settings, &existing);
    let (scps, rcps) = by_kind(runs);
    let (scps, rcps) = rayon::join(
        || place_kind(&tree, settings, &scps, statements),
        || place_kind(&tree, settings, &rcps, statements),
    );
    let mut plan = finish_plan(settings, scps, rcps)?;
    check_quotas(&plan, existing_policies, &settings.limits)?;
    // The registry's checks (enabled or not), and whatever else was run.
    let known: BTreeSet<&str> = crate::checks::ALL
        .iter()
        .map(|c| c.meta().id)
        .chain(runs.iter().map(|r| r.check_id))
        .collect();
    let known: Vec<&str> = known.into_iter().collect();
    plan.removals = removals(&tree, &plan.checks, &Prior::read(existing_policies, &known));
    Ok(plan)
}

/// Why no plan can be made.
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    /// A statement cannot fit a policy.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The plan exceeds an organization quota.
    #[error(transparent)]
    Quota(#[from] QuotaError),
}

/// A plan that would take the organization over a quota on the number of policies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the plan needs {}; with the organization's {} that makes {}, {} over the organization quota of {quota} (`limits.{key}`; raise it only if AWS raised your quota)",
    Plural(*new, &format!("new {kind}")),
    Plural(*existing, &format!("other customer-managed {kind}")),
    new + existing,
    (new + existing).saturating_sub(*quota)
)]
pub struct QuotaError {
    /// `SCP` or `RCP`.
    pub kind: &'static str,
    /// Policies the plan creates.
    pub new: usize,
    /// Customer-managed policies of the type that are not Headroom's.
    pub existing: usize,
    /// The quota.
    pub quota: usize,
    /// The configuration key of the quota.
    pub key: &'static str,
}

/// How many policies of each type the organization holds with the plan applied, against the
/// quotas: Headroom's earlier policies are replaced, so only the foreign customer-managed ones
/// count besides the plan's.
pub fn quota_use(plan: &Plan, existing: &Policies, limits: &Limits) -> [QuotaUse; 2] {
    [CheckKind::Scp, CheckKind::Rcp].map(|kind| QuotaUse {
        kind,
        new_policies: plan
            .targets
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.policies.len())
            .sum(),
        existing_policies: managed::foreign_customer_policies(existing, kind),
        quota: match kind {
            CheckKind::Scp => limits.max_scps_per_organization,
            CheckKind::Rcp => limits.max_rcps_per_organization,
        },
    })
}

/// One policy type's count against its organization quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct QuotaUse {
    /// SCP or RCP.
    #[schemars(with = "KindSchema")]
    pub kind: CheckKind,
    /// Policies the plan creates.
    pub new_policies: usize,
    /// Customer-managed policies of the type that are not Headroom's (kept as they are).
    pub existing_policies: usize,
    /// The organization quota (`limits.max_scps_per_organization` or
    /// `limits.max_rcps_per_organization`).
    pub quota: usize,
}

fn check_quotas(plan: &Plan, existing: &Policies, limits: &Limits) -> Result<(), QuotaError> {
    for used in quota_use(plan, existing, limits) {
        if used.new_policies + used.existing_policies > used.quota {
            return Err(QuotaError {
                kind: kind_name(used.kind),
                new: used.new_policies,
                existing: used.existing_policies,
                quota: used.quota,
                key: match used.kind {
                    CheckKind::Scp => "max_scps_per_organization",
                    CheckKind::Rcp => "max_rcps_per_organization",
                },
            });
        }
    }
    Ok(())
}

/// Every attachment of an earlier Headroom plan that this plan does not repeat, with why.
fn removals(tree: &Tree<'_>, checks: &[CheckPlacement], prior: &Prior) -> Vec<CheckRemovals> {
    let mut out = Vec::new();
    for ((kind, check_id), targets) in &prior.attachments {
        let placement = checks
            .iter()
            .find(|c| c.kind == *kind && c.check_id == *check_id);
        let placed: BTreeSet<&str> = placement
            .map(|c| {
                c.recommendations
                    .iter()
                    .map(|r| r.target.id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut removals: Vec<(usize, Removal)> = targets
            .iter()
            .filter(|(target_id, _)| !placed.contains(target_id.as_str()))
            .map(|(target_id, policies)| {
                let node = tree.by_id.get(target_id).copied();
                let (rank, target) = node.map_or((usize::MAX, target_id.clone()), |n| {
                    (tree.nodes[n].rank, tree.nodes[n].target.label())
                });
                let (reason, covered_by) = removal_reason(tree, placement, node);
                (
                    rank,
                    Removal {
                        target_id: target_id.clone(),
                        target,
                        policies: policies.iter().cloned().collect(),
                        reason,
                        covered_by,
                    },
                )
            })
            .collect();
        if removals.is_empty() {
            continue;
        }
        removals.sort_by(|a, b| (a.0, &a.1.target_id).cmp(&(b.0, &b.1.target_id)));
        out.push(CheckRemovals {
            check_id: check_id.clone(),
            kind: *kind,
            removals: removals.into_iter().map(|(_, r)| r).collect(),
        });
    }
    out.sort_by(|a, b| (a.kind, &a.check_id).cmp(&(b.kind, &b.check_id)));
    out
}

/// Why `placement` no longer attaches its check at `node`, and the target that still covers
/// it from above, if any.
fn removal_reason(
    tree: &Tree<'_>,
    placement: Option<&CheckPlacement>,
    node: Option<NodeId>,
) -> (String, Option<String>) {
    let Some(check) = placement else {
        return (
            "the check is disabled in the configuration (or unknown to this version)".to_owned(),
            None,
        );
    };
    let Some(node) = node else {
        return (
            "the target is no longer in the organization".to_owned(),
            None,
        );
    };
    let target = &tree.nodes[node].target;
    let ancestors: BTreeSet<&str> = tree
        .ancestors(node)
        .into_iter()
        .map(|n| tree.nodes[n].target.id.as_str())
        .collect();
    if let Some(above) = check
        .recommendations
        .iter()
        .find(|r| ancestors.contains(r.target.id.as_str()))
    {
        return (
            format!(
                "the {} now attaches higher, at {}, which covers this target",
                kind_name(check.kind),
                above.target.label()
            ),
            Some(above.target.id.clone()),
        );
    }
    let passed_over = check
        .recommendations
        .iter()
        .flat_map(|r| r.passed_over.iter())
        .find(|p| p.target.id == target.id);
    let blockers: Vec<&BlockingAccount> = check
        .blocking_accounts
        .iter()
        .filter(|b| b.id.as_str() == target.id || b.ancestor_ids.contains(&target.id))
        .collect();
    if !blockers.is_empty() {
        let named: Vec<String> = blockers
            .iter()
            .take(NAMED_BLOCKERS)
            .map(|b| b.describe())
            .collect();
        let more = blockers.len().saturating_sub(named.len());
        let subject = match (target.level, blockers.len()) {
            (Level::Account, _) => "the account now blocks the check".to_owned(),
            (_, 1) => "1 account beneath it now blocks the check".to_owned(),
            (_, n) => format!("{n} accounts beneath it now block the check"),
        };
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let below = if passed_over.is_some() {
            format!("; the {} now attaches below it", kind_name(check.kind))
        } else {
            String::new()
        };
        return (
            format!("{subject}: {}{tail}{below}", named.join("; ")),
            None,
        );
    }
    if let Some(passed) = passed_over {
        return (
            format!(
                "{}; the {} now attaches below it",
                passed.describe(check.kind),
                kind_name(check.kind)
            ),
            None,
        );
    }
    if let Some(uncovered) = check
        .uncovered_accounts
        .iter()
        .find(|u| u.id.as_str() == target.id)
    {
        return (uncovered.reason.clone(), None);
    }
    (
        "no analyzed account beneath it needs the guardrail now (only skipped, inactive or management accounts)".to_owned(),
        None,
    )
}

/// The SCP runs and the RCP runs, each by check ID.
fn by_kind(runs: &[CheckRun]) -> (Vec<&CheckRun>, Vec<&CheckRun>) {
    let mut runs: Vec<&CheckRun> = runs.iter().collect();
    runs.sort_by_key(|r| (r.kind, r.check_id));
    runs.into_iter().partition(|r| r.kind == CheckKind::Scp)
}

/// The placements of one kind's checks (in order), and the targets they filled, by rank.
type KindPlacement = (Vec<CheckPlacement>, BTreeMap<usize, Slot>);

/// Places one kind's checks in order: each fills the slots the previous ones left.
fn place_kind<S>(
    tree: &Tree<'_>,
    settings: &Settings,
    runs: &[&CheckRun],
    statements: &S,
) -> KindPlacement
where
    S: Fn(&CheckRun, &BTreeSet<String>) -> Vec<Statement> + ?Sized,
{
    let place_all = |carve: &[bool]| {
        // Keyed by the target's rank, so iteration is already in `target_order`.
        let mut slots: BTreeMap<usize, Slot> = BTreeMap::new();
        let checks: Vec<CheckPlacement> = runs
            .iter()
            .zip(carve)
            .map(|(run, &carve)| place_check(tree, settings, run, statements, carve, &mut slots))
            .collect();
        (checks, slots)
    };
    let mut carve = vec![settings.strategy == Strategy::CarveOut; runs.len()];
    let mut placed = place_all(&carve);
    if !carve.contains(&true) {
        return placed;
    }
    // Carve-out never protects fewer accounts than strict placement. Checks share the slots of
    // a target, so a carve-out can take room a later check needed; only a check that leaves
    // clean accounts uncovered can have lost any. Such checks are compared with strict
    // placement, and a check that covers less is placed strictly (with every check before it,
    // if that is not enough) until none does.
    let strict = std::cell::OnceCell::new();
    loop {
        if placed.0.iter().all(|p| p.uncovered_accounts.is_empty()) {
            return placed; // every clean account covered: nothing can be less than strict
        }
        let strict = strict.get_or_init(|| place_all(&vec![false; runs.len()]).0);
        let losing: Vec<usize> = placed
            .0
            .iter()
            .zip(strict)
            .enumerate()
            .filter(|(_, (p, s))| !p.uncovered_accounts.is_empty() && !covers_all(p, s))
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = losing.first() else {
            return placed;
        };
        if carve[first] {
            for &i in &losing {
                carve[i] = false;
            }
        } else {
            // Already strict, yet it lost: earlier checks' carve-outs took its room.
            carve[..first].fill(false);
        }
        placed = place_all(&carve);
    }
}

/// Whether `placement` covers every account `strict` covers.
fn covers_all(placement: &CheckPlacement, strict: &CheckPlacement) -> bool {
    let covered: BTreeSet<&AccountId> = placement
        .recommendations
        .iter()
        .flat_map(|r| r.covered_accounts.iter().map(|a| &a.id))
        .collect();
    strict
        .recommendations
        .iter()
        .flat_map(|r| r.covered_accounts.iter())
        .all(|a| covered.contains(&a.id))
}

/// Packs every target's statements into policies: SCP targets first, each kind in target
/// order.
fn finish_plan(
    settings: &Settings,
    scps: KindPlacement,
    rcps: KindPlacement,
) -> Result<Plan, PolicyError> {
    let (mut checks, scp_slots) = scps;
    let (rcp_checks, rcp_slots) = rcps;
    checks.extend(rcp_checks);
    let slots = scp_slots
        .into_values()
        .map(|slot| (CheckKind::Scp, slot))
        .chain(rcp_slots.into_values().map(|slot| (CheckKind::Rcp, slot)));
    let mut targets = Vec::new();
    for (kind, slot) in slots {
        let limit = policies::limit_for(kind, &settings.limits);
        let mut refs: Vec<StatementRef> = Vec::new();
        let mut items: Vec<Item<'_>> = Vec::new();
        let mut sizes: Vec<usize> = Vec::new();
        for (c, (check, check_sizes)) in slot.checks.iter().zip(&slot.sizes).enumerate() {
            for (s, (statement, size)) in
                check.statements.iter().zip(check_sizes.iter()).enumerate()
            {
                refs.push(StatementRef {
                    check: c,
                    statement: s,
                });
                items.push(Item {
                    check_id: &check.check_id,
                    statement,
                });
                sizes.push(*size);
            }
        }
        let bins = policies::pack_measured(&items, &sizes, kind, limit)?;
        drop(items);
        let policies = bins
            .into_iter()
            .map(|bin| PlannedPolicy {
                statements: bin
                    .members
                    .iter()
                    .filter_map(|i| refs.get(*i).copied())
                    .collect(),
                size: bin.size,
            })
            .collect();
        targets.push(TargetPlan {
            kind,
            target: slot.target,
            existing_policies: slot.existing,
            checks: slot.checks,
            policies,
        });
    }
    Ok(Plan {
        checks,
        targets,
        removals: Vec::new(),
    })
}

/// Root first, then OUs by path, then accounts by OU path and name; IDs break ties.
fn target_order(a: &Target, b: &Target) -> std::cmp::Ordering {
    (a.level, &a.ou_path, &a.name, &a.id).cmp(&(b.level, &b.ou_path, &b.name, &b.id))
}

/// How many foreign policies of each type are attached to each target today (AWS-managed
/// full-access policies included, Headroom's own excluded: see [`crate::managed`]), indexed
/// once: the AWS-managed policies are attached everywhere, so asking per node would be
/// quadratic.
struct Attachments<'a> {
    counts: BTreeMap<(CheckKind, &'a str), usize>,
}

impl<'a> Attachments<'a> {
    fn new(existing: &'a Policies) -> Self {
        let mut counts = BTreeMap::new();
        for kind in [CheckKind::Scp, CheckKind::Rcp] {
            // Headroom's own policies are what the new plan replaces: they take no slot.
            for (policy, _) in managed::policies_of(existing, kind).filter(|(_, own)| !own) {
                let targets: BTreeSet<&str> = policy
                    .targets
                    .iter()
                    .map(|t| t.target_id.as_str())
                    .collect();
                for target in targets {
                    *counts.entry((kind, target)).or_default() += 1;
                }
            }
        }
        Self { counts }
    }

    fn count(&self, kind: CheckKind, target_id: &str) -> usize {
        self.counts.get(&(kind, target_id)).copied().unwrap_or(0)
    }
}

/// A check's statements for one allowlist, and their sizes.
type Built = (Arc<[Statement]>, Arc<[usize]>);

fn place_check<S>(
    tree: &Tree<'_>,
    settings: &Settings,
    run: &CheckRun,
    statements: &S,
    carve: bool,
    slots: &mut BTreeMap<usize, Slot>,
) -> CheckPlacement
where
    S: Fn(&CheckRun, &BTreeSet<String>) -> Vec<Statement> + ?Sized,
{
    let max = settings.limits.max_policies_per_target;
    let limit = policies::limit_for(run.kind, &settings.limits);
    let verdicts = Verdicts::new(tree, run);
    let whole = whole(tree, &verdicts);
    let mut recommendations: Vec<(usize, Recommendation)> = Vec::new();
    let mut uncovered = Vec::new();
    let mut built: BTreeMap<BTreeSet<String>, Built> = BTreeMap::new();
    let mut stack = vec![Pending {
        node: ROOT,
        passed_over: Arc::from(Vec::new()),
        blocked: None,
        not_higher: None,
    }];
    while let Some(pending) = stack.pop() {
        let data = &tree.nodes[pending.node];
        let accounts = data.beneath.as_slice();
        // Counting first keeps the walk linear: the full subtree is built only for targets.
        let scan = scan(tree, &verdicts, accounts);
        if scan.clean == 0 && scan.blocking == 0 {
            continue; // only skipped, inactive or management accounts beneath
        }
        if scan.blocking > 0 && matches!(data.kind, NodeKind::Account(_)) {
            continue; // a blocking account: listed once per check, nothing below it
        }
        let target = &data.target;
        let key = data.rank;
        let existing_here = data.existing[kind_index(run.kind)];
        let room = Room {
            existing: existing_here,
            max,
            limit,
        };
        if scan.blocking > 0 {
            let mut refused = None;
            if carve && scan.clean > 0 {
                refused = carve_out_cannot_fit(run.kind, scan.blocking, room);
            }
            if carve && scan.clean > 0 && refused.is_none() {
                let sub = subtree(tree, run, &verdicts, accounts);
                match carve_out(run, &sub, statements, slots.get(&key), room) {
                    Ok((list, sizes)) => {
                        let check = carved_check(run, &sub, list);
                        fill_slot(slots, key, target, existing_here, check, sizes);
                        recommendations
                            .push((data.rank, recommendation(run, target, sub, pending)));
                        continue;
                    }
                    Err(why) => refused = Some(why),
                }
            }
            let why = PassedOverReason::Blocked {
                blocking_accounts: scan.blocking,
                carve_out: refused,
            };
            let blocked = Rc::new(Blocked {
                node_id: target.id.clone(),
                count: scan.blocking,
                first: scan.first,
            });
            stack.extend(descend(tree, run.kind, &pending, why, Some(blocked)));
            continue;
        }
        let sub = subtree(tree, run, &verdicts, accounts);
        if let Some(refused) = refused_empty_allowlist(run, target, &sub) {
            // Every node below has an allowlist as empty: nothing to split.
            uncovered.extend(refused);
            continue;
        }
        let (new_statements, new_sizes) = build_once(&mut built, run, &sub.allowlist, statements);
        if let Some(why) = obstacle(slots.get(&key), &new_sizes, room) {
            if let NodeKind::Account(a) = data.kind {
                uncovered.push(UncoveredAccount {
                    id: tree.accounts[a].id.clone(),
                    name: tree.names[a].clone(),
                    reason: uncovered_reason(run, target.clone(), why, &new_statements, limit),
                });
            } else {
                let blocked = pending.blocked.clone();
                stack.extend(descend(tree, run.kind, &pending, why, blocked));
            }
            continue;
        }
        let check = TargetCheck {
            check_id: run.check_id.to_owned(),
            allowlist: sub.allowlist.iter().cloned().collect(),
            carved_out: Vec::new(),
            statements: new_statements,
        };
        fill_slot(slots, key, target, existing_here, check, new_sizes);
        recommendations.push((data.rank, recommendation(run, target, sub, pending)));
    }
    // Ranks are distinct, so this is `target_order` without comparing paths.
    recommendations.sort_unstable_by_key(|(rank, _)| *rank);
    let recommendations = recommendations.into_iter().map(|(_, r)| r).collect();
    finish_check(tree, run, whole, recommendations, uncovered)
}

/// The recommendation to attach `run`'s guardrail to `target`, with `sub` beneath it (a
/// carve-out when `sub` holds blocking accounts: the statements exempt them).
fn recommendation(
    run: &CheckRun,
    target: &Target,
    sub: Subtree,
    pending: Pending,
) -> Recommendation {
    let empty_allowlist = run
        .empty_allowlist
        .filter(|_| sub.allowlist.is_empty())
        .map(|effect| format!("From now on, {effect}."));
    let reasoning = if sub.blocking.is_empty() {
        recommendation_reasoning(target, &sub, &pending)
    } else {
        carve_out_reasoning(run.kind, target, &sub, &pending)
    };
    Recommendation {
        empty_allowlist,
        carved_out: sub.blocking,
        target: target.clone(),
        covered_accounts: sub.clean,
        skipped_accounts: sub.skipped,
        inactive_accounts: sub.inactive,
        blocked_at: pending.blocked.as_ref().map(|b| b.node_id.clone()),
        passed_over: pending.passed_over,
        allowlist: sub.allowlist.into_iter().collect(),
        reasoning,
    }
}

/// The statements of `run` for a target with `sub` beneath it, with its blocking accounts
/// exempted, and their sizes; or why the target cannot take them.
fn carve_out<S>(
    run: &CheckRun,
    sub: &Subtree,
    statements: &S,
    slot: Option<&Slot>,
    room: Room,
) -> Result<Built, String>
where
    S: Fn(&CheckRun, &BTreeSet<String>) -> Vec<Statement> + ?Sized,
{
    if run.require_allowlist && run.empty_allowlist.is_some() && sub.allowlist.is_empty() {
        return Err("require_allowlist is set and the allowlist here would be empty".to_owned());
    }
    let accounts: Vec<String> = sub.blocking.iter().map(|b| b.id.to_string()).collect();
    let list: Arc<[Statement]> =
        policies::carve_out(statements(run, &sub.allowlist), run.kind, &accounts).into();
    let sizes: Arc<[usize]> = list.iter().map(policies::statement_size).collect();
    match obstacle(slot, &sizes, room) {
        None => Ok((list, sizes)),
        Some(PassedOverReason::TooLarge { size, limit }) => Err(format!(
            "exempting {} makes a statement of {size} characters, over the {} limit of {limit}",
            Plural(accounts.len(), "account"),
            kind_name(run.kind)
        )),
        Some(PassedOverReason::Full {
            existing_policies,
            needed_policies,
            max_policies,
        }) => Err(format!(
            "it already holds {existing_policies} {kind}s and would need {needed_policies} new, over the limit of {max_policies} per target",
            kind = kind_name(run.kind)
        )),
        Some(PassedOverReason::Blocked { .. }) => Err(String::new()),
    }
}

/// Each exempted account adds at least this much to a statement: `"123456789012",` (the
/// last one without its comma).
const CARVED_ACCOUNT_SIZE: usize = 15;

/// Why exempting `blocking` accounts cannot fit a policy, known without building the
/// statements: placement tries every blocked node from the root down, and at the top of a
/// large organization the lists run to thousands of accounts.
fn carve_out_cannot_fit(kind: CheckKind, blocking: usize, room: Room) -> Option<String> {
    let at_least = policies::empty_document_size() + CARVED_ACCOUNT_SIZE * blocking - 1;
    (at_least > room.limit).then(|| {
        format!(
            "exempting {} makes a policy of at least {at_least} characters, over the {} limit of {}",
            Plural(blocking, "account"),
            kind_name(kind),
            room.limit
        )
    })
}

/// Why a carve-out target takes the guardrail, naming the first exempted accounts (the
/// recommendation lists them all).
fn carve_out_reasoning(
    kind: CheckKind,
    target: &Target,
    sub: &Subtree,
    pending: &Pending,
) -> String {
    let named: Vec<String> = sub
        .blocking
        .iter()
        .take(NAMED_BLOCKERS)
        .map(BlockingAccount::describe)
        .collect();
    let more = sub.blocking.len().saturating_sub(named.len());
    let mut text = format!(
        "Carve-out: attach at {} ({} covered, and every account added beneath it later), exempting by condition on `{}` the {} beneath it: {}{}.",
        Label(target),
        Plural(sub.clean.len(), "account"),
        policies::carve_out_key(kind),
        Plural(sub.blocking.len(), "blocking account"),
        named.join("; "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
    if let Some(not_higher) = &pending.not_higher {
        text.push_str(not_higher);
    }
    if !sub.skipped.is_empty() {
        let skipped: Vec<String> = sub.skipped.iter().map(AccountRef::label).collect();
        let _ = write!(
            text,
            " Also applies to {} in skip_account_ids, not analyzed: {}.",
            Plural(sub.skipped.len(), "account"),
            skipped.join(", ")
        );
    }
    text
}

/// `run`'s statements for `allowlist`, and their sizes. Many targets share an allowlist (often
/// the empty one): each is built once.
fn build_once<S>(
    built: &mut BTreeMap<BTreeSet<String>, Built>,
    run: &CheckRun,
    allowlist: &BTreeSet<String>,
    statements: &S,
) -> Built
where
    S: Fn(&CheckRun, &BTreeSet<String>) -> Vec<Statement> + ?Sized,
{
    if let Some((list, sizes)) = built.get(allowlist) {
        return (Arc::clone(list), Arc::clone(sizes));
    }
    let list: Arc<[Statement]> = statements(run, allowlist).into();
    let sizes: Arc<[usize]> = list.iter().map(policies::statement_size).collect();
    built.insert(allowlist.clone(), (Arc::clone(&list), Arc::clone(&sizes)));
    (list, sizes)
}

/// A carve-out's part of its target: the statements with the exemptions, and who is exempted.
fn carved_check(run: &CheckRun, sub: &Subtree, statements: Arc<[Statement]>) -> TargetCheck {
    TargetCheck {
        check_id: run.check_id.to_owned(),
        allowlist: sub.allowlist.iter().cloned().collect(),
        carved_out: sub.blocking.iter().map(BlockingAccount::describe).collect(),
        statements,
    }
}

/// Adds one check's statements to the slot of `target` (`key`, its rank), creating the slot.
fn fill_slot(
    slots: &mut BTreeMap<usize, Slot>,
    key: usize,
    target: &Target,
    existing: usize,
    check: TargetCheck,
    sizes: Arc<[usize]>,
) {
    let slot = slots.entry(key).or_insert_with(|| Slot {
        target: target.clone(),
        existing,
        checks: Vec::new(),
        sizes: Vec::new(),
    });
    slot.checks.push(check);
    slot.sizes.push(sizes);
}

/// With `require_allowlist`, the clean accounts of a target whose allowlist is empty, reported
/// uncovered instead of placed.
fn refused_empty_allowlist(
    run: &CheckRun,
    target: &Target,
    sub: &Subtree,
) -> Option<Vec<UncoveredAccount>> {
    let effect = run.empty_allowlist?;
    if !(run.require_allowlist && sub.allowlist.is_empty()) {
        return None;
    }
    let reason = format!(
        "require_allowlist is set and the allowlist at {} would be empty: there, {effect}",
        Label(target)
    );
    Some(
        sub.clean
            .iter()
            .map(|a| UncoveredAccount {
                id: a.id.clone(),
                name: a.name.clone(),
                reason: reason.clone(),
            })
            .collect(),
    )
}

/// Blocking and clean accounts beneath a node, counted without building the subtree.
struct Scan {
    blocking: usize,
    clean: usize,
    /// The first few blocking accounts, for the reasoning text.
    first: Vec<String>,
}

fn scan(tree: &Tree<'_>, verdicts: &Verdicts<'_>, accounts: &[usize]) -> Scan {
    let mut out = Scan {
        blocking: 0,
        clean: 0,
        first: Vec::new(),
    };
    for &account in accounts {
        match verdicts.by_account[account].map(|v| &v.status) {
            None | Some(AccountStatus::Violating { .. } | AccountStatus::Incomplete { .. }) => {
                out.blocking += 1;
                if out.first.len() < NAMED_BLOCKERS {
                    out.first.push(format!(
                        "{} ({})",
                        tree.names[account], tree.accounts[account].id
                    ));
                }
            }
            Some(AccountStatus::Clean) => out.clean += 1,
            Some(AccountStatus::Excluded { .. }) => {}
        }
    }
    out
}

/// The children of a passed-over node, to visit next (in order, for a stack).
fn descend(
    tree: &Tree<'_>,
    kind: CheckKind,
    pending: &Pending,
    why: PassedOverReason,
    blocked: Option<Rc<Blocked>>,
) -> impl Iterator<Item = Pending> {
    let data = &tree.nodes[pending.node];
    let mut passed_over = Vec::with_capacity(pending.passed_over.len() + 1);
    passed_over.extend(pending.passed_over.iter().cloned());
    passed_over.push(PassedOver {
        target: data.target.clone(),
        why,
    });
    let passed_over: Arc<[PassedOver]> = passed_over.into();
    let not_higher: Option<Rc<str>> = passed_over
        .last()
        .map(|parent| not_higher(kind, parent, blocked.as_deref()).into());
    data.children.iter().rev().map(move |&child| Pending {
        node: child,
        passed_over: Arc::clone(&passed_over),
        blocked: blocked.clone(),
        not_higher: not_higher.clone(),
    })
}

/// Why a clean account that cannot take the check's policy stays uncovered.
fn uncovered_reason(
    run: &CheckRun,
    target: Target,
    why: PassedOverReason,
    statements: &[Statement],
    limit: usize,
) -> String {
    match why {
        PassedOverReason::TooLarge { .. } => {
            policies::too_large_alone(run.check_id, run.kind, statements, limit)
                .map(|e| e.to_string())
                .unwrap_or_default()
        }
        why => format!(
            "{}; there is no node below an account",
            PassedOver { target, why }.describe(run.kind)
        ),
    }
}

/// What a target has room for.
#[derive(Clone, Copy)]
struct Room {
    /// Policies of the type attached there today.
    existing: usize,
    /// `max_policies_per_target`.
    max: usize,
    /// The size limit of one document.
    limit: usize,
}

/// Why a clean target cannot take a check's statements (of `new_sizes`), if it cannot: one is
/// too large for a document of its own, or the packed policies would exceed the quota.
fn obstacle(slot: Option<&Slot>, new_sizes: &[usize], room: Room) -> Option<PassedOverReason> {
    let alone = policies::empty_document_size() + new_sizes.iter().copied().max().unwrap_or(0);
    if alone > room.limit {
        return Some(PassedOverReason::TooLarge {
            size: alone,
            limit: room.limit,
        });
    }
    let needed = policies_needed(slot, new_sizes, room.limit);
    (room.existing + needed > room.max).then_some(PassedOverReason::Full {
        existing_policies: room.existing,
        needed_policies: needed,
        max_policies: room.max,
    })
}

/// How many new policies a target needs with statements of `new_sizes` added to those of the
/// checks placed there before.
fn policies_needed(slot: Option<&Slot>, new_sizes: &[usize], limit: usize) -> usize {
    let placed = slot.map_or(&[][..], |s| s.sizes.as_slice());
    let sizes = || {
        placed
            .iter()
            .flat_map(|c| c.iter())
            .chain(new_sizes)
            .copied()
    };
    let (count, total) = sizes().fold((0, 0), |(count, total), size| (count + 1, total + size));
    // When one document holds every statement, first-fit-decreasing fills the first document
    // and opens no other: packing is only needed beyond that (the usual case).
    if count == 0 {
        0
    } else if policies::empty_document_size() + total + (count - 1) <= limit {
        1
    } else {
        policies::pack_sizes(&sizes().collect::<Vec<_>>(), limit).len()
    }
}

/// The check-level summary once every recommendation is known.
fn finish_check(
    tree: &Tree<'_>,
    run: &CheckRun,
    whole: Whole,
    recommendations: Vec<Recommendation>,
    uncovered: Vec<UncoveredAccount>,
) -> CheckPlacement {
    let covered: usize = recommendations
        .iter()
        .map(|r| r.covered_accounts.len())
        .sum();
    let excluded = tree
        .org
        .accounts
        .len()
        .saturating_sub(whole.clean + whole.blocking.len());
    let level = match recommendations.iter().map(|r| r.target.level).min() {
        Some(Level::Root) => PlacementLevel::Root,
        Some(Level::Ou) => PlacementLevel::Ou,
        Some(Level::Account) => PlacementLevel::Account,
        None => PlacementLevel::None,
    };
    let reasoning = check_reasoning(run, &whole, &recommendations, &uncovered, covered);
    CheckPlacement {
        check_id: run.check_id.to_owned(),
        kind: run.kind,
        level,
        accounts: AccountCounts {
            clean: whole.clean,
            blocking: whole.blocking.len(),
            excluded,
            covered,
        },
        recommendations,
        blocking_accounts: whole.blocking,
        uncovered_accounts: uncovered,
        reasoning,
    }
}

/// The sentence saying why the children of a passed-over node are not attached higher (the
/// same for all of them).
fn not_higher(kind: CheckKind, parent: &PassedOver, blocked: Option<&Blocked>) -> String {
    let mut text = format!(" Not higher: {}", parent.describe(kind));
    if matches!(parent.why, PassedOverReason::Blocked { .. })
        && let Some(blocked) = blocked
    {
        let more = blocked.count.saturating_sub(blocked.first.len());
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let _ = write!(text, " ({}{tail})", blocked.first.join(", "));
    }
    text.push('.');
    text
}

fn recommendation_reasoning(target: &Target, sub: &Subtree, pending: &Pending) -> String {
    let mut text = match target.level {
        Level::Root => format!(
            "Every account in the organization is compliant or exempt and fully collected: attach at the root ({} covered).",
            Plural(sub.clean.len(), "account")
        ),
        Level::Ou => format!(
            "Every account in {} is compliant or exempt and fully collected: attach at the OU ({} covered).",
            Label(target),
            Plural(sub.clean.len(), "account")
        ),
        Level::Account => format!(
            "The account is compliant or exempt and fully collected: attach to {}.",
            Label(target)
        ),
    };
    if let Some(not_higher) = &pending.not_higher {
        text.push_str(not_higher);
    }
    if !sub.skipped.is_empty() {
        let names: Vec<String> = sub.skipped.iter().map(AccountRef::label).collect();
        let _ = write!(
            text,
            " Also applies to {} in skip_account_ids, not analyzed: {}.",
            Plural(sub.skipped.len(), "account"),
            names.join(", ")
        );
    }
    text
}

fn check_reasoning(
    run: &CheckRun,
    whole: &Whole,
    recommendations: &[Recommendation],
    uncovered: &[UncoveredAccount],
    covered: usize,
) -> String {
    let kind = kind_name(run.kind);
    if recommendations.is_empty() {
        let mut reasons = Vec::new();
        if whole.clean == 0 && whole.blocking.is_empty() {
            reasons.push("no account of the organization was analyzed".to_owned());
        } else if whole.clean == 0 {
            reasons.push(format!(
                "every analyzed account blocks it ({})",
                Plural(whole.blocking.len(), "account")
            ));
        }
        if !uncovered.is_empty() {
            reasons.push(format!(
                "{} clean but uncovered: {}",
                if uncovered.len() == 1 {
                    "1 account is".to_owned()
                } else {
                    format!("{} accounts are", uncovered.len())
                },
                uncovered.first().map_or("", |u| u.reason.as_str())
            ));
        }
        return format!(
            "No safe placement: {}. Attaching this {kind} anywhere would break existing use.",
            reasons.join("; ")
        );
    }
    let mut text = format!(
        "{} covered by {}",
        Plural(covered, "clean account"),
        Plural(recommendations.len(), "attachment")
    );
    let carved: usize = recommendations.iter().map(|r| r.carved_out.len()).sum();
    if carved > 0 {
        let _ = write!(
            text,
            "; {} exempted by carve-out",
            Plural(carved, "blocking account")
        );
    }
    if whole.blocking.len() > carved {
        let _ = write!(
            text,
            "; {} left out",
            Plural(whole.blocking.len() - carved, "blocking account")
        );
    }
    if !uncovered.is_empty() {
        let _ = write!(
            text,
            "; {} uncovered (a full target or an allowlist too large)",
            Plural(uncovered.len(), "clean account")
        );
    }
    text.push('.');
    text
}

/// `SCP` or `RCP`.
pub fn kind_name(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Scp => "SCP",
        CheckKind::Rcp => "RCP",
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use headroom_schemas::config::Config;

    use super::*;
    use crate::{DEMO_CONFIG, DEMO_SNAPSHOT, checks};

    #[test]
    fn parallel_placement_is_sequential_placement() {
        let snapshot = headroom_schemas::read(DEMO_SNAPSHOT).unwrap();
        let settings =
            Settings::from_config(&Config::from_yaml(DEMO_CONFIG, Path::new("demo.yaml")).unwrap());
        let runs = checks::run_checks(&snapshot, &settings).unwrap().runs;
        let statements = checks::statement_source(&snapshot, &settings).unwrap();
        let org = &snapshot.organization;
        let in_pool = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| place(org, &snapshot.policies, &settings, &runs, &statements))
                .unwrap()
        };
        let sequential = in_pool(1);
        let parallel = in_pool(2);
        assert!(sequential.checks.iter().any(|c| c.kind == CheckKind::Scp));
        assert!(sequential.checks.iter().any(|c| c.kind == CheckKind::Rcp));
        assert_eq!(sequential, parallel);
    }
}
