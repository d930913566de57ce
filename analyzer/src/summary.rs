//! `summary.json` (the machine-readable placement contract) and the placement summary printed
//! on stdout in the original tool's layout.
//!
//! `summary.json` holds every check's placement (level, recommendations with targets, covered,
//! skipped, inactive and blocking accounts, allowlists, reasoning) and every generated policy
//! (name, Terraform resource and file, size against the limit, checks and Sids). Its JSON Schema
//! is generated from these types into `documentation/summary.schema.json` (a test keeps it
//! fresh). Additions bump the minor, changes of meaning the major: 1.1 is written for a
//! snapshot without activity (byte for byte what earlier releases wrote), 1.2 when the snapshot
//! holds an `activity` section, whose replay adds the `activity` fields (top level, per check,
//! per recommendation; see `documentation/ACTIVITY.md`).
//!
//! Exclude mode (`exclude_account_ids`) redacts the organization's account IDs from
//! `summary.json` and stdout as it does from reports; the Terraform keeps them, since it must
//! attach to real targets.

use std::collections::BTreeMap;
use std::io::Write as _;

use headroom_schemas::Snapshot;
use headroom_schemas::config::Limits;
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;

use crate::activity::Findings;
use crate::activity::placed::{self, CheckActivity, Replay, Report, WindowSummary};
use crate::model::{CheckKind, CheckRun};
use crate::output::{Area, OutputFile, Sink};
use crate::placement::{
    AccountCounts, AccountRef, BlockingAccount, CheckPlacement, CheckRemovals, Level, PassedOver,
    PlacementLevel, Plan, QuotaUse, StatementSource, Target, UncoveredAccount, kind_name,
};
use crate::render::{SnapshotFacts, TargetNames};
use crate::{AnalyzeError, Settings, placement, policies, render};

/// The file name of the summary, in the output directory.
pub const SUMMARY_FILE: &str = "summary.json";

/// Places every check run, renders its Terraform and writes `summary.json`, `summary.md` and
/// `report.html`, putting each file into `sink` ([`Area::Scps`], [`Area::Rcps`], and
/// [`Area::Out`] for the summaries); returns the placement summary for stdout. `statements` builds a check's statements for a target (the
/// checks' catalog).
pub fn outputs_into(
    snapshot: &Snapshot,
    settings: &Settings,
    runs: &[CheckRun],
    statements: &StatementSource<'_>,
    replay: Option<Replay<'_>>,
    sink: &dyn Sink,
) -> Result<crate::Printed, AnalyzeError> {
    let org = &snapshot.organization;
    let (plan, report) = match replay {
        Some(replay) => {
            let placed =
                placed::place(org, &snapshot.policies, settings, runs, statements, replay)?;
            (placed.plan, Some(placed.report))
        }
        None => (
            placement::place(org, &snapshot.policies, settings, runs, statements)?,
            None,
        ),
    };
    let is_member = |id: &str| org.accounts.contains_key(id);
    let names = render::names_for(
        &plan,
        settings
            .exclude_account_ids
            .then_some(&is_member as &dyn Fn(&str) -> bool),
    );
    let facts = SnapshotFacts {
        org_id: &org.id,
        root_id: org.roots.first().map_or("", |r| r.id.as_str()),
        collected_at: &snapshot.meta.collected_at,
        policy_types: org.roots.first().map_or(&[][..], |r| &r.policy_types),
    };
    let quotas = placement::quota_use(&plan, &snapshot.policies, &settings.limits);
    // The Terraform and the summary are independent: make and write them side by side.
    let (terraform, summary) = rayon::join(
        || -> Result<(), AnalyzeError> {
            render::render(&plan, &names, facts)?
                .into_par_iter()
                .try_for_each(|(kind, file, text)| {
                    let area = match kind {
                        CheckKind::Scp => Area::Scps,
                        CheckKind::Rcp => Area::Rcps,
                    };
                    sink.put(OutputFile::new(area, file), text.into_bytes())
                })?;
            Ok(())
        },
        || -> Result<crate::Printed, AnalyzeError> {
            let mut summary = summary(&plan, &names, facts, &settings.limits, quotas);
            if let Some(report) = &report {
                with_activity(&mut summary, &plan, report);
            }
            let (written, printed) = rayon::join(
                || {
                    // Hundreds of megabytes for a large organization: streamed, never whole.
                    sink.put_written(OutputFile::new(Area::Out, SUMMARY_FILE), &mut |out| {
                        write_json(&summary, settings.exclude_account_ids, &is_member, out)
                    })
                },
                || human_outputs(&summary, runs, snapshot, settings, &is_member, sink),
            );
            written?;
            printed
        },
    );
    terraform?;
    // The plan of a large organization is millions of small allocations: free it on a worker
    // instead of making the caller wait.
    rayon::spawn(move || drop((plan, names, report)));
    summary
}

/// The reports a person reads, from one [`crate::view::View`]: `summary.md` and
/// `report.html` into `sink`, and the stdout text returned. In exclude mode the organization's
/// account IDs are redacted from all three.
fn human_outputs(
    summary: &Summary<'_>,
    runs: &[CheckRun],
    snapshot: &Snapshot,
    settings: &Settings,
    is_member: &(dyn Fn(&str) -> bool + Sync),
    sink: &dyn Sink,
) -> Result<crate::Printed, AnalyzeError> {
    let view = crate::view::build(summary, runs, &snapshot.organization, settings);
    let redact = |text: String| {
        if settings.exclude_account_ids {
            redact_text(&text, is_member)
        } else {
            text
        }
    };
    let template_error =
        |file: &'static str, source: minijinja::Error| AnalyzeError::Report { file, source };
    let (markdown, html) = rayon::join(
        || crate::markdown::render(&view),
        || crate::html::render(&view),
    );
    let markdown = markdown.map_err(|e| template_error(crate::markdown::SUMMARY_MD_FILE, e))?;
    let html = html.map_err(|e| template_error(crate::html::REPORT_HTML_FILE, e))?;
    sink.put(
        OutputFile::new(Area::Out, crate::markdown::SUMMARY_MD_FILE),
        redact(markdown).into_bytes(),
    )?;
    sink.put(
        OutputFile::new(Area::Out, crate::html::REPORT_HTML_FILE),
        redact(html).into_bytes(),
    )?;
    Ok(crate::Printed {
        text: redact(crate::text::render(&view)),
        totals: view.totals,
    })
}

/// The `format` tag of `summary.json`.
pub const SUMMARY_FORMAT: &str = "headroom-summary";

/// The placement summary: every check's placement and every generated policy. It borrows the
/// plan: it exists to be serialized and printed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary<'a> {
    /// Always `headroom-summary`.
    pub format: &'static str,
    /// The version of this document's shape.
    pub format_version: SummaryVersion,
    /// The organization the snapshot describes.
    pub organization: OrganizationInfo<'a>,
    /// The AWS quotas placement respected.
    pub limits: LimitsInfo,
    /// Per policy type: the policies the organization holds once the plan is applied,
    /// against its organization quota.
    pub organization_quotas: [QuotaUse; 2],
    /// What must be done or known before applying, one sentence each (a policy type not
    /// enabled on the root, guardrails the plan takes away).
    pub warnings: Vec<String>,
    /// One entry per enabled check: SCPs first, each kind by check ID.
    pub checks: Vec<CheckSummary<'a>>,
    /// One entry per (kind, target) that receives new policies, in Terraform file order.
    pub targets: Vec<TargetSummary<'a>>,
    /// Where an earlier Headroom plan attached a check that this plan no longer attaches there
    /// (applying it removes those attachments): SCPs first, each kind by check ID.
    pub removals: &'a [CheckRemovals],
    /// The activity window replayed against the plan (since 1.2; only when the snapshot holds
    /// activity): its days, source, events and the accounts whose window was not read
    /// completely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<&'a WindowSummary>,
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
pub struct OrganizationInfo<'a> {
    /// The organization ID.
    pub id: &'a str,
    /// The root ID.
    pub root_id: &'a str,
    /// When the snapshot was collected (RFC 3339).
    pub collected_at: &'a str,
    /// The policy types enabled on the root (`SERVICE_CONTROL_POLICY`,
    /// `RESOURCE_CONTROL_POLICY`, ...), as the snapshot recorded them, sorted.
    pub enabled_policy_types: Vec<&'a str>,
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
    /// Maximum SCPs in the organization.
    pub max_scps_per_organization: usize,
    /// Maximum RCPs in the organization.
    pub max_rcps_per_organization: usize,
}

/// One check's placement.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckSummary<'a> {
    /// The check ID.
    pub check_id: &'a str,
    /// `scp` or `rcp`.
    #[schemars(with = "crate::placement::KindSchema")]
    pub kind: CheckKind,
    /// The most general level reached: `root`, `ou`, `account`, or `none`.
    pub level: PlacementLevel,
    /// Account counts.
    pub accounts: AccountCounts,
    /// Why, for the check as a whole (the reason for `none`).
    pub reasoning: &'a str,
    /// The attachments: root first, then OUs by path, then accounts.
    pub recommendations: Vec<RecommendationSummary<'a>>,
    /// Every account that blocks this check, with why and where.
    pub blocking_accounts: &'a [BlockingAccount],
    /// Clean accounts no attachment covers (their own target is full, or the check's
    /// statement is too large even for them alone), with why.
    pub uncovered_accounts: &'a [UncoveredAccount],
    /// What replaying the activity window against the plan found (since 1.2; only when the
    /// snapshot holds activity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<&'a CheckActivity>,
}

/// One attachment of one check.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecommendationSummary<'a> {
    /// `root`, `ou` or `account`.
    pub level: Level,
    /// Where to attach.
    pub target: &'a Target,
    /// The analyzed, clean accounts it protects.
    pub covered_accounts: &'a [AccountRef],
    /// Accounts in `skip_account_ids` beneath the target (not analyzed; the policy applies).
    pub skipped_accounts: &'a [AccountRef],
    /// Suspended, closed or pending accounts beneath the target.
    pub inactive_accounts: &'a [AccountRef],
    /// The nearest node above that accounts block (root or OU ID), if any: the check's
    /// `blocking_accounts` with it among their `ancestor_ids` keep this attachment from going
    /// higher.
    pub blocked_at: Option<&'a str>,
    /// The nodes above the target, root first, and why each could not take it.
    #[serde(serialize_with = "as_slice")]
    pub passed_over: &'a [PassedOver],
    /// What the guardrail allows here (union beneath plus configured extras), sorted.
    pub allowlist: &'a [String],
    /// For a check with an allowlist that is empty here: what the guardrail denies from now
    /// on, in a sentence.
    pub empty_allowlist: Option<&'a str>,
    /// Carve-out: the blocking accounts beneath the target that the statements exempt by
    /// condition (`aws:PrincipalAccount` for SCPs, `aws:ResourceAccount` for RCPs), each with
    /// why it blocks. Absent for a plain attachment.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub carved_out: &'a [BlockingAccount],
    /// A sentence explaining the choice.
    pub reasoning: &'a str,
    /// The Terraform file, relative to the SCP or RCP directory.
    pub terraform_file: &'a str,
    /// The names of the new policies holding this check's statements at this target.
    pub policies: Vec<&'a str>,
    /// The events of the activity window this attachment would have denied, and those it
    /// might have (undecidable), over the accounts it covers, skipped and inactive ones
    /// included (since 1.2; only when the snapshot holds activity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<Findings>,
}

/// The new policies of one type for one target.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TargetSummary<'a> {
    /// `scp` or `rcp`.
    #[schemars(with = "crate::placement::KindSchema")]
    pub kind: CheckKind,
    /// The node.
    pub target: &'a Target,
    /// The Terraform file, relative to the SCP or RCP directory.
    pub terraform_file: &'a str,
    /// Policies of this type attached there before Headroom's.
    pub existing_policies: usize,
    /// `max_policies_per_target`.
    pub max_policies: usize,
    /// The checks placed there, by ID.
    pub checks: Vec<&'a str>,
    /// The new policies, in file order.
    pub policies: Vec<PolicySummary<'a>>,
}

/// One generated policy.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicySummary<'a> {
    /// The policy's name in AWS.
    pub name: &'a str,
    /// The Terraform resource name of the policy and of its attachment.
    pub resource: &'a str,
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
pub fn summary<'a>(
    plan: &'a Plan,
    names: &'a [TargetNames],
    facts: SnapshotFacts<'a>,
    limits: &Limits,
    quotas: [QuotaUse; 2],
) -> Summary<'a> {
    let targets: Vec<TargetSummary<'a>> = plan
        .targets
        .iter()
        .zip(names)
        .map(|(t, n)| TargetSummary {
            kind: t.kind,
            target: &t.target,
            terraform_file: &n.file,
            existing_policies: t.existing_policies,
            max_policies: limits.max_policies_per_target,
            checks: t.checks.iter().map(|c| c.check_id.as_str()).collect(),
            policies: t
                .policies
                .iter()
                .zip(&n.policies)
                .map(|(p, pn)| PolicySummary {
                    name: &pn.name,
                    resource: &pn.resource,
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
    let index: BTreeMap<(CheckKind, &str), &TargetSummary<'a>> = targets
        .iter()
        .map(|t| ((t.kind, t.target.id.as_str()), t))
        .collect();
    let checks = plan
        .checks
        .iter()
        .map(|c| check_summary(c, &index))
        .collect();
    let warnings = warnings(plan, facts);
    let mut enabled_policy_types: Vec<&str> = facts
        .policy_types
        .iter()
        .filter(|t| t.status == "ENABLED")
        .map(|t| t.policy_type.as_str())
        .collect();
    enabled_policy_types.sort_unstable();
    Summary {
        format: SUMMARY_FORMAT,
        format_version: SummaryVersion { major: 1, minor: 1 },
        organization: OrganizationInfo {
            id: facts.org_id,
            root_id: facts.root_id,
            collected_at: facts.collected_at,
            enabled_policy_types,
        },
        limits: LimitsInfo {
            scp_max_chars: limits.scp_max_chars,
            rcp_max_chars: limits.rcp_max_chars,
            max_policies_per_target: limits.max_policies_per_target,
            max_scps_per_organization: limits.max_scps_per_organization,
            max_rcps_per_organization: limits.max_rcps_per_organization,
        },
        organization_quotas: quotas,
        warnings,
        checks,
        targets,
        removals: &plan.removals,
        activity: None,
    }
}

/// What must be known before applying: a policy type the plan uses that the root does not
/// have enabled, and guardrails the plan takes away from targets it no longer covers.
fn warnings(plan: &Plan, facts: SnapshotFacts<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for kind in [CheckKind::Scp, CheckKind::Rcp] {
        if !plan.targets.iter().any(|t| t.kind == kind) {
            continue;
        }
        if let Some(status) = facts.not_enabled(kind) {
            out.push(format!(
                "{kind}s are {status} on root {root} according to the snapshot: the {kind} Terraform stops at plan time until they are enabled (`aws organizations enable-policy-type --root-id {root} --policy-type {type_name}`, from the management account)",
                kind = kind_name(kind),
                root = facts.root_id,
                type_name = render::policy_type(kind),
            ));
        }
    }
    for check in &plan.removals {
        let lost = check
            .removals
            .iter()
            .filter(|r| r.covered_by.is_none())
            .count();
        if lost > 0 {
            out.push(format!(
                "applying this plan removes `{}` from {}: see `removals`",
                check.check_id,
                if lost == 1 {
                    "1 target".to_owned()
                } else {
                    format!("{lost} targets")
                }
            ));
        }
    }
    out
}

fn check_summary<'a>(
    check: &'a CheckPlacement,
    targets: &BTreeMap<(CheckKind, &str), &TargetSummary<'a>>,
) -> CheckSummary<'a> {
    let recommendations = check
        .recommendations
        .iter()
        .map(|r| {
            let target = targets.get(&(check.kind, r.target.id.as_str()));
            RecommendationSummary {
                level: r.target.level,
                target: &r.target,
                covered_accounts: &r.covered_accounts,
                skipped_accounts: &r.skipped_accounts,
                inactive_accounts: &r.inactive_accounts,
                blocked_at: r.blocked_at.as_deref(),
                passed_over: &r.passed_over,
                allowlist: &r.allowlist,
                empty_allowlist: r.empty_allowlist.as_deref(),
                carved_out: &r.carved_out,
                reasoning: &r.reasoning,
                terraform_file: target.map_or("", |t| t.terraform_file),
                policies: target
                    .map(|t| {
                        t.policies
                            .iter()
                            .filter(|p| p.checks.contains(&check.check_id))
                            .map(|p| p.name)
                            .collect()
                    })
                    .unwrap_or_default(),
                activity: None,
            }
        })
        .collect();
    CheckSummary {
        check_id: &check.check_id,
        kind: check.kind,
        level: check.level,
        accounts: check.accounts,
        reasoning: &check.reasoning,
        recommendations,
        blocking_accounts: &check.blocking_accounts,
        uncovered_accounts: &check.uncovered_accounts,
        activity: None,
    }
}

/// Adds what the replay found to `summary` (format 1.2).
fn with_activity<'a>(summary: &mut Summary<'a>, plan: &'a Plan, report: &'a Report) {
    summary.format_version.minor = 2;
    summary.activity = Some(&report.window);
    for (check, placement) in summary.checks.iter_mut().zip(&plan.checks) {
        check.activity = report.checks.get(check.check_id);
        for (rec, full) in check
            .recommendations
            .iter_mut()
            .zip(&placement.recommendations)
        {
            let accounts = full
                .covered_accounts
                .iter()
                .chain(&full.skipped_accounts)
                .chain(&full.inactive_accounts)
                .map(|a| &a.id);
            rec.activity = Some(placed::findings_of(&report.last, check.check_id, accounts));
        }
    }
}

/// `summary.json`: pretty JSON with a trailing newline, redacted in exclude mode.
pub fn to_json(
    summary: &Summary<'_>,
    exclude_account_ids: bool,
    is_member: &dyn Fn(&str) -> bool,
) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    write_json(summary, exclude_account_ids, is_member, &mut out)?;
    Ok(out)
}

/// Writes `summary.json` (pretty JSON and a final newline) to `out` as it is serialized; in
/// exclude mode the organization's account IDs are redacted on the way.
///
/// The checks and targets, nearly all of a large organization's summary, are serialized a few
/// at a time on the rayon workers and written in order; the bytes are exactly those of
/// `serde_json::to_writer_pretty` on the whole summary (a test holds it to that).
pub fn write_json(
    summary: &Summary<'_>,
    exclude_account_ids: bool,
    is_member: &dyn Fn(&str) -> bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if exclude_account_ids {
        let mut redacting = RedactLines {
            out,
            is_member,
            line: Vec::new(),
        };
        write_pretty(summary, &mut redacting)?;
        // The final newline emitted the last line.
        debug_assert!(redacting.line.is_empty());
        redacting.flush()
    } else {
        write_pretty(summary, out)?;
        out.flush()
    }
}

/// The summary as [`crate::pretty`] writes it (the bytes of `serde_json::to_writer_pretty`),
/// plus a final newline, with its two long lists serialized in parallel.
fn write_pretty(summary: &Summary<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    // The document without its lists, split where each list goes.
    let skeleton = Summary {
        format: summary.format,
        format_version: summary.format_version,
        organization: summary.organization.clone(),
        limits: summary.limits,
        organization_quotas: summary.organization_quotas,
        warnings: summary.warnings.clone(),
        checks: Vec::new(),
        targets: Vec::new(),
        removals: summary.removals,
        activity: summary.activity,
    };
    let mut text = String::new();
    crate::pretty::append(&skeleton, &mut text)?;
    let skeleton = text;
    let (head, rest) = skeleton
        .split_once("\n  \"checks\": []")
        .ok_or_else(|| std::io::Error::other("summary skeleton without `checks`"))?;
    let (middle, tail) = rest
        .split_once("\n  \"targets\": []")
        .ok_or_else(|| std::io::Error::other("summary skeleton without `targets`"))?;
    out.write_all(head.as_bytes())?;
    out.write_all(b"\n  \"checks\": ")?;
    write_list(&summary.checks, out, &|check| to_vec_nested(check, 2))?;
    out.write_all(middle.as_bytes())?;
    out.write_all(b"\n  \"targets\": ")?;
    write_list(&summary.targets, out, &|target| to_vec_nested(target, 2))?;
    out.write_all(tail.as_bytes())?;
    out.write_all(b"\n")
}

/// Serializes a shared `passed_over` list as the list it is.
fn as_slice<S: serde::Serializer>(list: &&[PassedOver], serializer: S) -> Result<S::Ok, S::Error> {
    list.serialize(serializer)
}

/// A list one level inside the top-level object, as the pretty printer writes it: `[]`, or
/// each element on its own lines indented by four spaces. `to_vec_nested` serializes an element
/// as it reads two levels deep ([`to_vec_nested`] at depth 2).
fn write_list<T: Sync>(
    items: &[T],
    out: &mut dyn std::io::Write,
    to_vec_nested: &(dyn Fn(&T) -> serde_json::Result<Vec<u8>> + Sync),
) -> std::io::Result<()> {
    if items.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    // A few elements per worker at a time: parallel, without holding the whole list's text.
    let window = 4 * rayon::current_num_threads();
    for (n, chunk) in items.chunks(window).enumerate() {
        let texts = chunk
            .par_iter()
            .map(to_vec_nested)
            .collect::<Result<Vec<_>, _>>()?;
        for (i, text) in texts.iter().enumerate() {
            out.write_all(if n > 0 || i > 0 {
                b",\n    "
            } else {
                b"\n    "
            })?;
            out.write_all(text)?;
        }
    }
    out.write_all(b"\n  ]")
}

/// `value` pretty-printed as it reads nested `depth` levels deep in the document (inner lines
/// indented accordingly; the first line continues the line of its key or list).
fn to_vec_nested<T: Serialize + ?Sized>(value: &T, depth: usize) -> serde_json::Result<Vec<u8>> {
    let mut out = String::with_capacity(4096);
    crate::pretty::append_nested(value, depth, &mut out)?;
    Ok(out.into_bytes())
}

/// Redacts pretty-printed JSON line by line as it passes through. Exact: a JSON string never
/// holds a raw newline, so every line starts outside a string, and redacting each line gives
/// what redacting the whole text would.
struct RedactLines<'a> {
    out: &'a mut dyn std::io::Write,
    is_member: &'a dyn Fn(&str) -> bool,
    /// The current line, up to (not including) its newline.
    line: Vec<u8>,
}

impl RedactLines<'_> {
    fn emit_line(&mut self) -> std::io::Result<()> {
        let text = std::str::from_utf8(&self.line)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        self.out
            .write_all(crate::report::redact(text, self.is_member).as_bytes())?;
        self.line.clear();
        Ok(())
    }
}

impl std::io::Write for RedactLines<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = rest.iter().position(|b| *b == b'\n') {
            self.line.extend_from_slice(&rest[..at]);
            self.emit_line()?;
            self.out.write_all(b"\n")?;
            rest = &rest[at + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    /// Flushes the lines passed so far; a partial line waits for its newline.
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The JSON Schema of `summary.json`, as checked in at `documentation/summary.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Summary);
    // Sorted keys whatever `serde_json`'s features (see `headroom_schemas::canonical`).
    let mut text = headroom_schemas::canonical::to_string_pretty(schema.as_value());
    text.push('\n');
    text
}

/// Replaces every 12-digit run that is an organization account with `REDACTED`.
pub(crate) fn redact_text(text: &str, is_member: &dyn Fn(&str) -> bool) -> String {
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

#[cfg(test)]
mod streaming_tests {
    use std::io::Write as _;

    use super::{RedactLines, to_vec_nested};

    /// The parallel writer gives exactly what serde's pretty printer gives, lists empty or not.
    #[test]
    fn parallel_summary_equals_serde_pretty() {
        use crate::placement::Plan;
        use crate::render::SnapshotFacts;
        let facts = SnapshotFacts {
            org_id: "o-aaaa1111bb",
            root_id: "r-aaaa",
            collected_at: "2026-01-01T00:00:00Z",
            policy_types: &[],
        };
        let plan = Plan::default();
        let limits = headroom_schemas::config::Limits::default();
        let quotas =
            crate::placement::quota_use(&plan, &headroom_schemas::Policies::default(), &limits);
        let empty = super::summary(&plan, &[], facts, &limits, quotas);
        assert!(empty.checks.is_empty() && empty.targets.is_empty());
        let mut want = serde_json::to_vec_pretty(&empty).unwrap();
        want.push(b'\n');
        let mut got = Vec::new();
        super::write_json(&empty, false, &|_| false, &mut got).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    /// Redacting line by line, in writes of any size, gives what redacting the whole text does.
    #[test]
    fn nested_formatter_writes_what_the_pretty_printer_writes_at_that_depth() {
        let values = [
            serde_json::json!({"a": [], "b": {}, "c": [1, {"d": [[]], "e": "x"}], "f": null}),
            serde_json::json!([[], [{}], "s"]),
            serde_json::json!({}),
            serde_json::json!("plain"),
        ];
        for value in values {
            for depth in 0..4 {
                // `value` nested `depth` levels deep, as the last element of lists.
                let mut wrapped = value.clone();
                for _ in 0..depth {
                    wrapped = serde_json::json!([0, wrapped]);
                }
                let whole = serde_json::to_string_pretty(&wrapped).unwrap();
                let nested = String::from_utf8(to_vec_nested(&value, depth).unwrap()).unwrap();
                let mut closing = String::new();
                for d in (0..depth).rev() {
                    closing.push('\n');
                    closing.push_str(&"  ".repeat(d));
                    closing.push(']');
                }
                assert!(
                    whole.ends_with(&format!("{nested}{closing}")),
                    "{depth}: {whole}"
                );
            }
        }
    }

    #[test]
    fn redacting_lines_equals_redacting_the_whole() {
        let text = concat!(
            "{\n  \"a\": \"111111111111\",\n  \"arn\": \"arn:aws:iam::222222222222:role/x\",\n",
            "  \"n\": 111111111111,\n  \"esc\": \"q\\\"111111111111\\\\\",\n",
            "  \"other\": \"333333333333 and 1111111111112\"\n}\n"
        );
        let is_member = |id: &str| id == "111111111111";
        let whole = crate::report::redact(text, &is_member);
        assert!(whole.contains("REDACTED") && whole.contains("333333333333"));
        for chunk in [1, 2, 3, 7, 64] {
            let mut out = Vec::new();
            let mut lines = RedactLines {
                out: &mut out,
                is_member: &is_member,
                line: Vec::new(),
            };
            for piece in text.as_bytes().chunks(chunk) {
                lines.write_all(piece).unwrap();
            }
            assert!(lines.line.is_empty());
            assert_eq!(String::from_utf8(out).unwrap(), whole, "chunks of {chunk}");
        }
    }
}
