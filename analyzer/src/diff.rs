//! `analyze diff OLD NEW`: what changed between two runs, for a scheduled job that alerts and
//! for a person reviewing a change. Each side is a snapshot (analyzed in memory, nothing
//! written), a `summary.json`, or an output directory holding one.
//!
//! Compared per check: blockers (account and status) new and resolved; where the guardrail
//! lands (its level moving up or down the tree, or its targets changing at the same level);
//! allowlist entries added and removed (over all of the check's targets); checks enabled or
//! disabled. Accounts added and removed are those placement saw (covered, skipped, inactive,
//! blocking or uncovered in some check). Rendered as text, Markdown (`templates/diff.md.j2`)
//! or JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::render::escape_invisible as printable;

/// The `summary.json` fields a diff reads (unknown fields are ignored: a newer minor adds
/// fields, a newer major is refused before this is parsed).
#[derive(Debug, Clone, Deserialize)]
pub struct SummaryDoc {
    /// `headroom-summary`.
    pub format: String,
    /// The document version.
    pub format_version: Version,
    /// The organization.
    pub organization: Org,
    /// Every check.
    pub checks: Vec<Check>,
}

/// `major.minor`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Version {
    /// Changes of meaning.
    pub major: u32,
    /// Additions.
    pub minor: u32,
}

/// The organization.
#[derive(Debug, Clone, Deserialize)]
pub struct Org {
    /// The organization ID.
    pub id: String,
    /// When its snapshot was collected.
    pub collected_at: String,
}

/// One check's placement.
#[derive(Debug, Clone, Deserialize)]
pub struct Check {
    /// The check ID.
    pub check_id: String,
    /// `root`, `ou`, `account` or `none`.
    pub level: String,
    /// The attachments.
    pub recommendations: Vec<Recommendation>,
    /// The blockers.
    pub blocking_accounts: Vec<Blocker>,
    /// Clean accounts without an attachment.
    #[serde(default)]
    pub uncovered_accounts: Vec<Account>,
}

/// One attachment.
#[derive(Debug, Clone, Deserialize)]
pub struct Recommendation {
    /// Where.
    pub target: Target,
    /// What it covers.
    #[serde(default)]
    pub covered_accounts: Vec<Account>,
    /// Skipped accounts beneath it.
    #[serde(default)]
    pub skipped_accounts: Vec<Account>,
    /// Inactive accounts beneath it.
    #[serde(default)]
    pub inactive_accounts: Vec<Account>,
    /// What it allows.
    #[serde(default)]
    pub allowlist: Vec<String>,
}

/// A target.
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    /// `root`, `ou` or `account`.
    pub level: String,
    /// Its ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The OU path.
    #[serde(default)]
    pub ou_path: Vec<String>,
}

/// An account.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// The ID.
    pub id: String,
    /// The name.
    pub name: String,
}

/// A blocker.
#[derive(Debug, Clone, Deserialize)]
pub struct Blocker {
    /// The ID.
    pub id: String,
    /// The name.
    pub name: String,
    /// Placement's status.
    pub status: String,
    /// Reason counts.
    #[serde(default)]
    pub violations: BTreeMap<String, usize>,
    /// Gaps.
    #[serde(default)]
    pub gaps: Vec<String>,
}

impl Target {
    fn label(&self) -> String {
        match self.level.as_str() {
            "root" => "Root".to_owned(),
            "ou" => format!("OU '{}'", self.ou_path.join("/")),
            _ => format!("account '{}' ({})", self.name, self.id),
        }
    }
}

/// What changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    /// The old run's organization and collection time.
    pub old: Side,
    /// The new run's.
    pub new: Side,
    /// Checks enabled only in the new run.
    pub checks_added: Vec<String>,
    /// Checks enabled only in the old run.
    pub checks_removed: Vec<String>,
    /// Blockers only in the new run.
    pub new_blockers: Vec<BlockerChange>,
    /// Blockers only in the old run.
    pub resolved_blockers: Vec<BlockerChange>,
    /// Guardrails whose placement changed.
    pub moved: Vec<Move>,
    /// Allowlist entries only in the new run.
    pub allowlist_added: Vec<AllowlistChange>,
    /// Allowlist entries only in the old run.
    pub allowlist_removed: Vec<AllowlistChange>,
    /// Accounts only in the new run.
    pub accounts_added: Vec<AccountChange>,
    /// Accounts only in the old run.
    pub accounts_removed: Vec<AccountChange>,
}

/// One side of a diff.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Side {
    /// The organization ID.
    pub organization: String,
    /// When the snapshot was collected.
    pub collected_at: String,
}

/// A blocker that appeared or went away.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BlockerChange {
    /// The check.
    pub check_id: String,
    /// The account ID.
    pub account_id: String,
    /// The account name.
    pub account_name: String,
    /// Placement's status.
    pub status: String,
    /// Reasons with counts, or the gaps.
    pub why: String,
}

/// A guardrail that moved.
#[derive(Debug, Clone, Serialize)]
pub struct Move {
    /// The check.
    pub check_id: String,
    /// `up` (toward the root), `down`, or `changed` (other targets at the same level).
    pub direction: &'static str,
    /// The old level.
    pub old_level: String,
    /// The new level.
    pub new_level: String,
    /// Targets only in the old run.
    pub targets_removed: Vec<String>,
    /// Targets only in the new run.
    pub targets_added: Vec<String>,
}

/// An allowlist entry that appeared or went away.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AllowlistChange {
    /// The check.
    pub check_id: String,
    /// The entry.
    pub entry: String,
}

/// An account that appeared or went away.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccountChange {
    /// The ID.
    pub id: String,
    /// The name.
    pub name: String,
}

impl Diff {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        !(self.checks_added.is_empty()
            && self.checks_removed.is_empty()
            && self.new_blockers.is_empty()
            && self.resolved_blockers.is_empty()
            && self.moved.is_empty()
            && self.allowlist_added.is_empty()
            && self.allowlist_removed.is_empty()
            && self.accounts_added.is_empty()
            && self.accounts_removed.is_empty())
    }
}

fn why(blocker: &Blocker) -> String {
    if blocker.gaps.is_empty() {
        blocker
            .violations
            .iter()
            .map(|(r, n)| format!("{r} x{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        blocker.gaps.join("; ")
    }
}

fn rank(level: &str) -> u8 {
    match level {
        "root" => 0,
        "ou" => 1,
        "account" => 2,
        _ => 3,
    }
}

fn accounts(doc: &SummaryDoc) -> BTreeMap<&str, &str> {
    let mut out = BTreeMap::new();
    for check in &doc.checks {
        for r in &check.recommendations {
            for a in r
                .covered_accounts
                .iter()
                .chain(&r.skipped_accounts)
                .chain(&r.inactive_accounts)
            {
                out.insert(a.id.as_str(), a.name.as_str());
            }
        }
        for a in &check.uncovered_accounts {
            out.insert(a.id.as_str(), a.name.as_str());
        }
        for b in &check.blocking_accounts {
            out.insert(b.id.as_str(), b.name.as_str());
        }
    }
    out
}

/// Compares two summaries.
pub fn compare(old: &SummaryDoc, new: &SummaryDoc) -> Diff {
    let old_checks: BTreeMap<&str, &Check> = old
        .checks
        .iter()
        .map(|c| (c.check_id.as_str(), c))
        .collect();
    let new_checks: BTreeMap<&str, &Check> = new
        .checks
        .iter()
        .map(|c| (c.check_id.as_str(), c))
        .collect();
    let mut diff = Diff {
        old: Side {
            organization: old.organization.id.clone(),
            collected_at: old.organization.collected_at.clone(),
        },
        new: Side {
            organization: new.organization.id.clone(),
            collected_at: new.organization.collected_at.clone(),
        },
        checks_added: new_checks
            .keys()
            .filter(|k| !old_checks.contains_key(*k))
            .map(|k| (*k).to_owned())
            .collect(),
        checks_removed: old_checks
            .keys()
            .filter(|k| !new_checks.contains_key(*k))
            .map(|k| (*k).to_owned())
            .collect(),
        ..Diff::default()
    };
    for (id, o) in &old_checks {
        let Some(n) = new_checks.get(id) else {
            continue;
        };
        compare_check(id, o, n, &mut diff);
    }
    let (old_accounts, new_accounts) = (accounts(old), accounts(new));
    let change = |(id, name): (&&str, &&str)| AccountChange {
        id: (*id).to_owned(),
        name: (*name).to_owned(),
    };
    diff.accounts_added = new_accounts
        .iter()
        .filter(|(id, _)| !old_accounts.contains_key(*id))
        .map(change)
        .collect();
    diff.accounts_removed = old_accounts
        .iter()
        .filter(|(id, _)| !new_accounts.contains_key(*id))
        .map(change)
        .collect();
    diff
}

fn compare_check(id: &str, old: &Check, new: &Check, diff: &mut Diff) {
    let blockers = |c: &Check| -> BTreeMap<(String, String), BlockerChange> {
        c.blocking_accounts
            .iter()
            .map(|b| {
                (
                    (b.id.clone(), b.status.clone()),
                    BlockerChange {
                        check_id: id.to_owned(),
                        account_id: b.id.clone(),
                        account_name: b.name.clone(),
                        status: b.status.clone(),
                        why: why(b),
                    },
                )
            })
            .collect()
    };
    let (ob, nb) = (blockers(old), blockers(new));
    diff.new_blockers.extend(
        nb.iter()
            .filter(|(k, _)| !ob.contains_key(*k))
            .map(|(_, v)| v.clone()),
    );
    diff.resolved_blockers.extend(
        ob.iter()
            .filter(|(k, _)| !nb.contains_key(*k))
            .map(|(_, v)| v.clone()),
    );
    let targets = |c: &Check| -> BTreeSet<String> {
        c.recommendations.iter().map(|r| r.target.label()).collect()
    };
    let (ot, nt) = (targets(old), targets(new));
    if ot != nt || old.level != new.level {
        let direction = match rank(&new.level).cmp(&rank(&old.level)) {
            std::cmp::Ordering::Less => "up",
            std::cmp::Ordering::Greater => "down",
            std::cmp::Ordering::Equal => "changed",
        };
        diff.moved.push(Move {
            check_id: id.to_owned(),
            direction,
            old_level: old.level.clone(),
            new_level: new.level.clone(),
            targets_removed: ot.difference(&nt).cloned().collect(),
            targets_added: nt.difference(&ot).cloned().collect(),
        });
    }
    let allowlist = |c: &Check| -> BTreeSet<String> {
        c.recommendations
            .iter()
            .flat_map(|r| r.allowlist.iter().cloned())
            .collect()
    };
    let (oa, na) = (allowlist(old), allowlist(new));
    let entry = |e: &String| AllowlistChange {
        check_id: id.to_owned(),
        entry: e.clone(),
    };
    diff.allowlist_added.extend(na.difference(&oa).map(entry));
    diff.allowlist_removed.extend(oa.difference(&na).map(entry));
}

/// The diff as text for a terminal: one line of verdict, then one section per kind of change.
pub fn text(diff: &Diff) -> String {
    let mut out = format!(
        "Comparing {} collected {} with {} collected {}: {}\n",
        printable(&diff.old.organization),
        printable(&diff.old.collected_at),
        printable(&diff.new.organization),
        printable(&diff.new.collected_at),
        if diff.changed() {
            "changed"
        } else {
            "no change"
        }
    );
    let mut section = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{title} ({}):", lines.len());
            for line in lines {
                let _ = writeln!(out, "  {}", printable(&line));
            }
        }
    };
    section("Checks enabled", diff.checks_added.clone());
    section("Checks disabled", diff.checks_removed.clone());
    let blocker = |b: &BlockerChange| {
        format!(
            "{}: {} ({}): {}{}",
            b.check_id,
            b.account_name,
            b.account_id,
            b.status,
            if b.why.is_empty() {
                String::new()
            } else {
                format!(": {}", b.why)
            }
        )
    };
    section(
        "New blockers",
        diff.new_blockers.iter().map(blocker).collect(),
    );
    section(
        "Resolved blockers",
        diff.resolved_blockers.iter().map(blocker).collect(),
    );
    section(
        "Guardrails moved",
        diff.moved
            .iter()
            .map(|m| {
                let mut line = format!(
                    "{} {}: {} -> {}",
                    m.check_id, m.direction, m.old_level, m.new_level
                );
                if !m.targets_added.is_empty() {
                    let _ = write!(line, "; now at {}", m.targets_added.join(", "));
                }
                if !m.targets_removed.is_empty() {
                    let _ = write!(line, "; no longer at {}", m.targets_removed.join(", "));
                }
                line
            })
            .collect(),
    );
    let allow = |a: &AllowlistChange| format!("{}: {}", a.check_id, a.entry);
    section(
        "Allowlist entries added",
        diff.allowlist_added.iter().map(allow).collect(),
    );
    section(
        "Allowlist entries removed",
        diff.allowlist_removed.iter().map(allow).collect(),
    );
    let account = |a: &AccountChange| format!("{} ({})", a.name, a.id);
    section(
        "Accounts added",
        diff.accounts_added.iter().map(account).collect(),
    );
    section(
        "Accounts removed",
        diff.accounts_removed.iter().map(account).collect(),
    );
    out
}

/// The diff in Markdown (`templates/diff.md.j2`).
pub fn markdown(diff: &Diff) -> Result<String, minijinja::Error> {
    let mut env = crate::markdown::environment();
    env.add_template("diff.md.j2", include_str!("../templates/diff.md.j2"))?;
    let changed = diff.changed();
    env.get_template("diff.md.j2")?
        .render(minijinja::context! { diff => diff, changed => changed })
}

/// The diff as pretty JSON with a final newline.
pub fn json(diff: &Diff) -> String {
    let mut text = serde_json::to_string_pretty(diff).unwrap_or_default();
    text.push('\n');
    text
}
