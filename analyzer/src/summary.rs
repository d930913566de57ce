//! `summary.json` (the machine-readable placement contract) and the placement summary printed
//! on stdout in the original tool's layout.
//!
//! `summary.json` holds every check's placement (level, recommendations with targets, covered,
//! skipped, inactive and blocking accounts, allowlists, reasoning) and every generated policy
//! (name, Terraform resource and file, size against the limit, checks and Sids). Its JSON Schema
//! is generated from these types into `documentation/summary.schema.json` (a test keeps it
//! fresh). Version 1.0; additions bump the minor, changes of meaning the major.
//!
//! Exclude mode (`exclude_account_ids`) redacts the organization's account IDs from
//! `summary.json` and stdout as it does from reports; the Terraform keeps them, since it must
//! attach to real targets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use headroom_schemas::Snapshot;
use headroom_schemas::config::Limits;
use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{CheckKind, CheckRun};
use crate::output::{Area, OutputFile};
use crate::placement::{
    AccountCounts, AccountRef, BlockingAccount, CheckPlacement, Level, PassedOver, PlacementLevel,
    Plan, StatementSource, Target, UncoveredAccount, kind_name,
};
use crate::render::{SnapshotFacts, TargetNames, escape_invisible as printable};
use crate::{AnalyzeError, Settings, placement, policies, render};

/// The file name of the summary, in the output directory.
pub const SUMMARY_FILE: &str = "summary.json";

/// What placement adds to the outputs: Terraform, `summary.json`, and the stdout text.
#[derive(Debug, Clone, Default)]
pub struct PlacementOutputs {
    /// Terraform files under [`Area::Scps`] and [`Area::Rcps`], `summary.json` under
    /// [`Area::Out`].
    pub files: BTreeMap<OutputFile, Vec<u8>>,
    /// The placement summary for stdout.
    pub stdout: String,
}

/// Places every check run, renders its Terraform, and writes the summaries. `statements`
/// builds a check's statements for a target (the checks' catalog).
pub fn outputs(
    snapshot: &Snapshot,
    settings: &Settings,
    runs: &[CheckRun],
    statements: &StatementSource<'_>,
) -> Result<PlacementOutputs, AnalyzeError> {
    let org = &snapshot.organization;
    let plan = placement::place(org, &snapshot.policies, settings, runs, statements)?;
    let names = render::names(&plan);
    let facts = SnapshotFacts {
        org_id: &org.id,
        root_id: org.roots.first().map_or("", |r| r.id.as_str()),
        collected_at: &snapshot.meta.collected_at,
    };
    let mut files = BTreeMap::new();
    for (kind, file, text) in render::render(&plan, &names, facts)? {
        let area = match kind {
            CheckKind::Scp => Area::Scps,
            CheckKind::Rcp => Area::Rcps,
        };
        files.insert(OutputFile::new(area, file), text.into_bytes());
    }
    let summary = summary(&plan, &names, facts, &settings.limits);
    let is_member = |id: &str| org.accounts.contains_key(id);
    let json = to_json(&summary, settings.exclude_account_ids, &is_member)
        .map_err(|e| AnalyzeError::Settings(format!("cannot serialize the summary: {e}")))?;
    files.insert(OutputFile::new(Area::Out, SUMMARY_FILE), json);
    let stdout = stdout(&summary, settings.exclude_account_ids, &is_member);
    Ok(PlacementOutputs { files, stdout })
}

/// The `format` tag of `summary.json`.
pub const SUMMARY_FORMAT: &str = "headroom-summary";

/// The placement summary: every check's placement and every generated policy.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    /// Always `headroom-summary`.
    pub format: String,
    /// The version of this document's shape.
    pub format_version: SummaryVersion,
    /// The organization the snapshot describes.
    pub organization: OrganizationInfo,
    /// The AWS quotas placement respected.
    pub limits: LimitsInfo,
    /// One entry per enabled check: SCPs first, each kind by check ID.
    pub checks: Vec<CheckSummary>,
    /// One entry per (kind, target) that receives new policies, in Terraform file order.
    pub targets: Vec<TargetSummary>,
}

/// `major.minor` of the summary format.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct SummaryVersion {
    /// Incremented for changes of meaning.
    pub major: u32,
    /// Incremented for additions.
    pub minor: u32,
}

/// Facts about the organization, from the snapshot.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OrganizationInfo {
    /// The organization ID.
    pub id: String,
    /// The root ID.
    pub root_id: String,
    /// When the snapshot was collected (RFC 3339).
    pub collected_at: String,
}

/// The quotas placement and packing respected.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct LimitsInfo {
    /// Maximum characters of one SCP.
    pub scp_max_chars: usize,
    /// Maximum characters of one RCP.
    pub rcp_max_chars: usize,
    /// Maximum policies of one type attached directly to one target.
    pub max_policies_per_target: usize,
}

/// One check's placement.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckSummary {
    /// The check ID.
    pub check_id: String,
    /// `scp` or `rcp`.
    #[schemars(with = "crate::placement::KindSchema")]
    pub kind: CheckKind,
    /// The most general level reached: `root`, `ou`, `account`, or `none`.
    pub level: PlacementLevel,
    /// Account counts.
    pub accounts: AccountCounts,
    /// Why, for the check as a whole (the reason for `none`).
    pub reasoning: String,
    /// The attachments: root first, then OUs by path, then accounts.
    pub recommendations: Vec<RecommendationSummary>,
    /// Every account that blocks this check.
    pub blocking_accounts: Vec<BlockingAccount>,
    /// Clean accounts no attachment covers because their own target is full.
    pub uncovered_accounts: Vec<UncoveredAccount>,
}

/// One attachment of one check.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecommendationSummary {
    /// `root`, `ou` or `account`.
    pub level: Level,
    /// Where to attach.
    pub target: Target,
    /// The analyzed, clean accounts it protects.
    pub covered_accounts: Vec<AccountRef>,
    /// Accounts in `skip_account_ids` beneath the target (not analyzed; the policy applies).
    pub skipped_accounts: Vec<AccountRef>,
    /// Suspended, closed or pending accounts beneath the target.
    pub inactive_accounts: Vec<AccountRef>,
    /// The accounts that keep the nearest blocked node above from taking it.
    pub blocking_accounts: Vec<BlockingAccount>,
    /// The nodes above the target, root first, and why each could not take it.
    pub passed_over: Vec<PassedOver>,
    /// What the guardrail allows here (union beneath plus configured extras), sorted.
    pub allowlist: Vec<String>,
    /// A sentence explaining the choice.
    pub reasoning: String,
    /// The Terraform file, relative to the SCP or RCP directory.
    pub terraform_file: String,
    /// The names of the new policies holding this check's statements at this target.
    pub policies: Vec<String>,
}

/// The new policies of one type for one target.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TargetSummary {
    /// `scp` or `rcp`.
    #[schemars(with = "crate::placement::KindSchema")]
    pub kind: CheckKind,
    /// The node.
    pub target: Target,
    /// The Terraform file, relative to the SCP or RCP directory.
    pub terraform_file: String,
    /// Policies of this type attached there before Headroom's.
    pub existing_policies: usize,
    /// `max_policies_per_target`.
    pub max_policies: usize,
    /// The checks placed there, by ID.
    pub checks: Vec<String>,
    /// The new policies, in file order.
    pub policies: Vec<PolicySummary>,
}

/// One generated policy.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicySummary {
    /// The policy's name in AWS.
    pub name: String,
    /// The Terraform resource name of the policy and of its attachment.
    pub resource: String,
    /// The document's size in characters, exactly as Terraform's `jsonencode` writes it.
    pub size: usize,
    /// The limit for this policy type.
    pub max_size: usize,
    /// The checks with statements in it.
    pub checks: Vec<String>,
    /// The Sids of its statements.
    pub sids: Vec<String>,
}

/// Builds the summary from the plan and the Terraform names (aligned with `plan.targets`).
pub fn summary(
    plan: &Plan,
    names: &[TargetNames],
    facts: SnapshotFacts<'_>,
    limits: &Limits,
) -> Summary {
    let targets: Vec<TargetSummary> = plan
        .targets
        .iter()
        .zip(names)
        .map(|(t, n)| TargetSummary {
            kind: t.kind,
            target: t.target.clone(),
            terraform_file: n.file.clone(),
            existing_policies: t.existing_policies,
            max_policies: limits.max_policies_per_target,
            checks: t.checks.iter().map(|c| c.check_id.clone()).collect(),
            policies: t
                .policies
                .iter()
                .zip(&n.policies)
                .map(|(p, pn)| PolicySummary {
                    name: pn.name.clone(),
                    resource: pn.resource.clone(),
                    size: p.size,
                    max_size: policies::limit_for(t.kind, limits),
                    checks: t.checks_of(p),
                    sids: policies::sids(t.statements_of(p).map(|(_, s)| s))
                        .into_iter()
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let checks = plan
        .checks
        .iter()
        .map(|c| check_summary(c, &targets))
        .collect();
    Summary {
        format: SUMMARY_FORMAT.to_owned(),
        format_version: SummaryVersion { major: 1, minor: 0 },
        organization: OrganizationInfo {
            id: facts.org_id.to_owned(),
            root_id: facts.root_id.to_owned(),
            collected_at: facts.collected_at.to_owned(),
        },
        limits: LimitsInfo {
            scp_max_chars: limits.scp_max_chars,
            rcp_max_chars: limits.rcp_max_chars,
            max_policies_per_target: limits.max_policies_per_target,
        },
        checks,
        targets,
    }
}

fn check_summary(check: &CheckPlacement, targets: &[TargetSummary]) -> CheckSummary {
    let recommendations = check
        .recommendations
        .iter()
        .map(|r| {
            let target = targets
                .iter()
                .find(|t| t.kind == check.kind && t.target.id == r.target.id);
            RecommendationSummary {
                level: r.target.level,
                target: r.target.clone(),
                covered_accounts: r.covered_accounts.clone(),
                skipped_accounts: r.skipped_accounts.clone(),
                inactive_accounts: r.inactive_accounts.clone(),
                blocking_accounts: r.blocking_accounts.clone(),
                passed_over: r.passed_over.clone(),
                allowlist: r.allowlist.clone(),
                reasoning: r.reasoning.clone(),
                terraform_file: target.map(|t| t.terraform_file.clone()).unwrap_or_default(),
                policies: target
                    .map(|t| {
                        t.policies
                            .iter()
                            .filter(|p| p.checks.contains(&check.check_id))
                            .map(|p| p.name.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    CheckSummary {
        check_id: check.check_id.clone(),
        kind: check.kind,
        level: check.level,
        accounts: check.accounts,
        reasoning: check.reasoning.clone(),
        recommendations,
        blocking_accounts: check.blocking_accounts.clone(),
        uncovered_accounts: check.uncovered_accounts.clone(),
    }
}

/// `summary.json`: pretty JSON with a trailing newline, redacted in exclude mode.
pub fn to_json(
    summary: &Summary,
    exclude_account_ids: bool,
    is_member: &dyn Fn(&str) -> bool,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(summary)?;
    if exclude_account_ids {
        text = crate::report::redact(&text, is_member);
    }
    text.push('\n');
    Ok(text.into_bytes())
}

/// The JSON Schema of `summary.json`, as checked in at `documentation/summary.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Summary);
    // Sorted keys whatever `serde_json`'s features (see `headroom_schemas::canonical`).
    let mut text = headroom_schemas::canonical::to_string_pretty(schema.as_value());
    text.push('\n');
    text
}

const RULE: &str =
    "================================================================================";
const SEPARATOR: &str = "  --------------------------------------";

/// The placement summary for stdout, in the original tool's layout (one section per policy
/// type, one group per check sorted by ID, one block per attachment), with the blocking
/// accounts, skipped accounts, policies and Terraform file added. Names are escaped so they
/// cannot forge lines; in exclude mode the organization's account IDs are redacted.
pub fn stdout(
    summary: &Summary,
    exclude_account_ids: bool,
    is_member: &dyn Fn(&str) -> bool,
) -> String {
    let mut out = format!(
        "Headroom placement for organization {} (root {}), snapshot collected {}\n",
        printable(&summary.organization.id),
        printable(&summary.organization.root_id),
        printable(&summary.organization.collected_at)
    );
    for kind in [CheckKind::Scp, CheckKind::Rcp] {
        let checks: Vec<&CheckSummary> = summary.checks.iter().filter(|c| c.kind == kind).collect();
        if checks.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "\n{RULE}\n{} PLACEMENT RECOMMENDATIONS\n{RULE}\n",
            kind_name(kind)
        );
        for check in checks {
            let _ = write!(out, "\nCheck: {}\n", printable(&check.check_id));
            if check.recommendations.is_empty() {
                let _ = write!(out, "\n  Recommended Level: NONE\n  Affected Accounts: 0\n");
                if kind == CheckKind::Scp {
                    let _ = writeln!(out, "  Compliance: {:.1}%", compliance(&check.accounts));
                }
                line(
                    &mut out,
                    "Blocking Accounts",
                    &blocking(&check.blocking_accounts),
                );
                line(&mut out, "Reasoning", &check.reasoning);
                let _ = writeln!(out, "{SEPARATOR}");
            }
            for rec in &check.recommendations {
                let _ = write!(out, "\n  Recommended Level: {}\n", rec.level.upper());
                let target = match rec.level {
                    Level::Root => ("Target", format!("{} ({})", rec.target.name, rec.target.id)),
                    Level::Ou => (
                        "Target OU",
                        format!("{} ({})", rec.target.ou_path.join("/"), rec.target.id),
                    ),
                    Level::Account => (
                        "Target Account",
                        format!("{} ({})", rec.target.name, rec.target.id),
                    ),
                };
                line(&mut out, target.0, &target.1);
                let _ = writeln!(out, "  Affected Accounts: {}", rec.covered_accounts.len());
                match kind {
                    CheckKind::Scp => {
                        let _ = writeln!(out, "  Compliance: {:.1}%", compliance(&check.accounts));
                        if !rec.allowlist.is_empty() {
                            let _ = writeln!(out, "  Allowlist Entries: {}", rec.allowlist.len());
                        }
                    }
                    CheckKind::Rcp => {
                        let _ = writeln!(out, "  Third-Party Accounts: {}", rec.allowlist.len());
                    }
                }
                if !rec.skipped_accounts.is_empty() {
                    let names: Vec<String> = rec
                        .skipped_accounts
                        .iter()
                        .map(|a| format!("{} ({})", a.name, a.id))
                        .collect();
                    line(&mut out, "Skipped Accounts Covered", &names.join(", "));
                }
                line(
                    &mut out,
                    "Blocking Accounts",
                    &blocking(&rec.blocking_accounts),
                );
                let policies: BTreeSet<&str> = rec.policies.iter().map(String::as_str).collect();
                line(
                    &mut out,
                    "Policies",
                    &policy_sizes(summary, kind, &rec.target.id, &policies),
                );
                line(
                    &mut out,
                    "Terraform",
                    &format!("{}/{}", kind.dir(), rec.terraform_file),
                );
                line(&mut out, "Reasoning", &rec.reasoning);
                let _ = writeln!(out, "{SEPARATOR}");
            }
            if !check.uncovered_accounts.is_empty() {
                let names: Vec<String> = check
                    .uncovered_accounts
                    .iter()
                    .map(|a| format!("{} ({}): {}", a.name, a.id, a.reason))
                    .collect();
                let _ = writeln!(out);
                line(&mut out, "Uncovered Clean Accounts", &names.join("; "));
            }
        }
    }
    if exclude_account_ids {
        redact_text(&out, is_member)
    } else {
        out
    }
}

fn line(out: &mut String, label: &str, value: &str) {
    if !value.is_empty() {
        let _ = writeln!(out, "  {label}: {}", printable(value));
    }
}

fn blocking(accounts: &[BlockingAccount]) -> String {
    accounts
        .iter()
        .map(BlockingAccount::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

fn policy_sizes(
    summary: &Summary,
    kind: CheckKind,
    target_id: &str,
    names: &BTreeSet<&str>,
) -> String {
    summary
        .targets
        .iter()
        .filter(|t| t.kind == kind && t.target.id == target_id)
        .flat_map(|t| t.policies.iter())
        .filter(|p| names.contains(p.name.as_str()))
        .map(|p| format!("{} ({} of {} characters)", p.name, p.size, p.max_size))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Clean accounts as a share of analyzed accounts (clean + blocking).
fn compliance(accounts: &AccountCounts) -> f64 {
    let analyzed = accounts.clean + accounts.blocking;
    if analyzed == 0 {
        0.0
    } else {
        #[expect(
            clippy::cast_precision_loss,
            reason = "account counts are far below 2^52"
        )]
        let pct = accounts.clean as f64 * 100.0 / analyzed as f64;
        pct
    }
}

/// Replaces every 12-digit run that is an organization account with `REDACTED`.
fn redact_text(text: &str, is_member: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == 12 && is_member(digits) {
            out.push_str(crate::report::REDACTED);
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_member_ids_in_text() {
        let is_member = |id: &str| id == "111111111111";
        assert_eq!(
            redact_text(
                "a (111111111111) b 121212121212 c 1111111111112",
                &is_member
            ),
            "a (REDACTED) b 121212121212 c 1111111111112"
        );
    }
}
