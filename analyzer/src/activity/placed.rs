//! The replay's verdicts put to use: placement that respects what happened in the window.
//!
//! [`place`] places every check, replays the window against the documents of that plan
//! ([`super::evaluate`]) and, for each check in `activity: block` mode (the default), makes
//! every account where the planned guardrail would have denied an event block the check like
//! a violating resource (reason [`DENIED_RECENT_ACTIVITY`]); then it places again, and repeats
//! until no new account blocks (after the first round replaying only the checks the previous
//! round moved: a check's verdicts depend on its own statements alone). Repeating matters: an account that blocks no longer adds its
//! allowlist above it, and a smaller allowlist may deny an event elsewhere. It ends, since each
//! round adds at least one (check, account) pair and none is ever removed. An account whose
//! window was not read completely blocks a `block` check like one not fully collected: an
//! unread window is a collection gap, never "no activity". `activity: warn` reports the same
//! events and moves nothing.
//!
//! What each check's report holds ([`CheckActivity`]): per account, the events the guardrail
//! would have denied (for an account that blocks because of them, under the plan of the round
//! that found them; otherwise under the final plan) and the undecidable ones; for the
//! third-party RCP checks, the external accounts seen calling into each account holding a
//! wildcard-principal finding, as evidence beside it (never added to an allowlist).

use std::collections::{BTreeMap, BTreeSet};

use headroom_schemas::activity::catalog::{self, SELECTORS};
use headroom_schemas::activity::{Activity, Source};
use headroom_schemas::{AccountId, Organization, Policies};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::calls::Calls;
use super::facts::Facts;
use super::{Findings, Planned, Summary, Verdicts};
use crate::checks::{self, rcp};
use crate::model::{AccountStatus, ActivityMode, CheckKind, CheckRun};
use crate::placement::{self, Plan, StatementSource};
use crate::{AnalyzeError, Settings, policies};

/// The violation reason of an account where the planned guardrail would have denied an event
/// of the window.
pub const DENIED_RECENT_ACTIVITY: &str = "denied_recent_activity";

/// What `gaps` lines of an account blocked for an unread window start with.
pub const GAP_PREFIX: &str = "activity ";

/// What the replay needs besides the plan: the window and the inventories' facts.
#[derive(Debug, Clone, Copy)]
pub struct Replay<'a> {
    /// The snapshot's `activity` section.
    pub activity: &'a Activity,
    /// What the inventories tell about images, roles and resources.
    pub facts: &'a Facts,
    /// The AWS partition.
    pub partition: &'a str,
}

/// The plan that respects the window, and what the replay found.
#[derive(Debug)]
pub struct Placed {
    /// The final plan.
    pub plan: Plan,
    /// The runs placed: the given runs with the activity blocks applied.
    pub runs: Vec<CheckRun>,
    /// How many times the organization was placed and replayed (1 when no account blocks).
    pub rounds: usize,
    /// What the replay found.
    pub report: Report,
}

/// What the replay found, for `summary.json`.
#[derive(Debug, Clone)]
pub struct Report {
    /// The window, its gaps and how many events were examined.
    pub window: WindowSummary,
    /// Per check ID.
    pub checks: BTreeMap<String, CheckActivity>,
    /// The replay under the final plan.
    pub last: Verdicts,
}

/// The window the replay read, for `summary.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct WindowSummary {
    /// The first day (`YYYY-MM-DD`, UTC).
    pub first_day: String,
    /// The last day (`YYYY-MM-DD`, UTC).
    pub last_day: String,
    /// `s3` (the organization trail's log files) or `athena`.
    pub source: &'static str,
    /// Events in the snapshot (all relevant to some check).
    pub events: u64,
    /// The catalog selectors collected (`ec2:RunInstances`, `kms:*`, ...), sorted.
    pub selectors: Vec<String>,
    /// Accounts whose window was not read completely, by ID, with one line per part not
    /// read: the absence of findings there proves nothing.
    pub gaps: Vec<AccountGaps>,
}

/// One account whose window was not read completely. (Accounts are listed, not map keys,
/// so that exclude mode's redaction leaves a valid document.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccountGaps {
    /// The account ID.
    pub account: AccountId,
    /// One line per part not read (`us-east-1 2026-01-10: GetObject: AccessDenied: ...`).
    pub gaps: Vec<String>,
}

/// What the replay found for one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CheckActivity {
    /// `block` or `warn` (`checks.<id>.activity`).
    pub mode: ActivityMode,
    /// Whether the events of every action the check denies were collected. When `false` the
    /// check was not replayed: nothing below means "no activity".
    pub replayed: bool,
    /// Events the guardrail would have denied, over every account.
    pub denied: Summary,
    /// Events whose outcome cannot be decided (never counted as not denied), over every
    /// account.
    pub undecidable: Summary,
    /// Per account with denied or undecidable events, by ID.
    pub accounts: Vec<AccountActivity>,
    /// Third-party RCP checks: per account holding a `wildcard_principal` finding, per
    /// resource named by the events (`(resource not named)` when none is), the accounts
    /// outside the organization seen calling into it in the window. Evidence for the
    /// reviewer, beside the finding: never added to an allowlist.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<AccountEvidence>,
}

/// The external callers seen in one account holding a `wildcard_principal` finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccountEvidence {
    /// The account ID.
    pub account: AccountId,
    /// Per resource named by the events, the accounts outside the organization seen calling.
    pub resources: BTreeMap<String, BTreeSet<String>>,
}

/// What the replay found for one check in one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccountActivity {
    /// The account ID.
    pub account: AccountId,
    /// Whether these events make the account block the check (`block` mode).
    pub blocks: bool,
    /// Events the guardrail would have denied: for an account that blocks, under the plan
    /// that covered it; otherwise under the final plan.
    pub denied: Summary,
    /// Events whose outcome cannot be decided.
    pub undecidable: Summary,
}

/// Places every run as [`placement::place`] does, then moves each `block` check below the
/// accounts where its planned guardrail would have denied an event of the window, until no
/// new account blocks (see the module documentation).
pub fn place(
    org: &Organization,
    existing: &Policies,
    settings: &Settings,
    runs: &[CheckRun],
    statements: &StatementSource<'_>,
    replay: Replay<'_>,
) -> Result<Placed, AnalyzeError> {
    let mut runs = runs.to_vec();
    let replayed: BTreeMap<&'static str, bool> = runs
        .iter()
        .map(|r| {
            let replays = checks::find(r.check_id)
                .is_some_and(|check| super::replays(replay.activity, check));
            (r.check_id, replays)
        })
        .collect();
    let gaps = super::gaps(replay.activity, org);
    for run in &mut runs {
        if run.activity == ActivityMode::Block && replayed[run.check_id] {
            block_gaps(run, &gaps);
        }
    }
    // Grouped once: every round replays each call once.
    let calls = super::calls::group(&replay.activity.events);
    let mut found: BTreeMap<(&'static str, AccountId), Findings> = BTreeMap::new();
    // Each round replays only the checks whose placement the previous round changed.
    let mut changed: Option<BTreeSet<&str>> = None;
    let mut verdicts = Verdicts::default();
    let mut rounds = 0;
    let plan = loop {
        rounds += 1;
        let plan = placement::place(org, existing, settings, &runs, statements)?;
        let round = evaluate(&plan, replay, &calls, org, changed.as_ref())?;
        match &changed {
            None => verdicts = round,
            Some(checks) => {
                verdicts
                    .checks
                    .retain(|check, _| !checks.contains(check.as_str()));
                verdicts.checks.extend(round.checks);
            }
        }
        let mut next = BTreeSet::new();
        for run in &mut runs {
            if run.activity != ActivityMode::Block || !replayed[run.check_id] {
                continue;
            }
            for (account, findings) in verdicts.checks.get(run.check_id).into_iter().flatten() {
                if findings.denied.count > 0 && block_denied(run, account, findings.denied.count) {
                    found.insert((run.check_id, account.clone()), findings.clone());
                    next.insert(run.check_id);
                }
            }
        }
        if next.is_empty() {
            break plan;
        }
        changed = Some(next);
    };
    let last = verdicts;
    let evidence = super::external_accounts(&calls, org);
    let checks = runs
        .iter()
        .map(|run| {
            let report = check_activity(run, replayed[run.check_id], &found, &last, &evidence);
            (run.check_id.to_owned(), report)
        })
        .collect();
    let window = WindowSummary {
        first_day: replay.activity.window.first_day.clone(),
        last_day: replay.activity.window.last_day.clone(),
        source: match replay.activity.source {
            Source::S3 { .. } => "s3",
            Source::Athena { .. } => "athena",
        },
        events: replay.activity.events.len() as u64,
        selectors: replay.activity.selectors.clone(),
        gaps: gaps
            .into_iter()
            .map(|(account, gaps)| AccountGaps { account, gaps })
            .collect(),
    };
    Ok(Placed {
        plan,
        runs,
        rounds,
        report: Report {
            window,
            checks,
            last,
        },
    })
}

/// Replays the window against every policy document of `plan` (for the checks in `only`, or
/// all).
fn evaluate(
    plan: &Plan,
    replay: Replay<'_>,
    calls: &Calls<'_>,
    org: &Organization,
    only: Option<&BTreeSet<&str>>,
) -> Result<Verdicts, AnalyzeError> {
    let documents: Vec<(&str, CheckKind, Value)> = plan
        .targets
        .iter()
        .flat_map(|t| {
            t.policies.iter().map(move |p| {
                let document = policies::document_value(t.statements_of(p).map(|(_, s)| s));
                (t.target.id.as_str(), t.kind, document)
            })
        })
        .collect();
    let planned: Vec<Planned<'_>> = documents
        .iter()
        .map(|(target, kind, document)| Planned {
            target,
            kind: *kind,
            document,
        })
        .collect();
    super::evaluate_calls(
        replay.activity,
        calls,
        &planned,
        org,
        replay.facts,
        replay.partition,
        only,
    )
    .map_err(|e| {
        AnalyzeError::Settings(format!(
            "cannot replay the activity against a planned policy: {e}"
        ))
    })
}

/// Makes every clean account of `run` with a gap in its window incomplete.
fn block_gaps(run: &mut CheckRun, gaps: &BTreeMap<AccountId, Vec<String>>) {
    for (account, lines) in gaps {
        let Some(verdict) = run.verdicts.get_mut(account) else {
            continue;
        };
        let lines = lines.iter().map(|l| format!("{GAP_PREFIX}{l}"));
        match &mut verdict.status {
            AccountStatus::Clean => {
                verdict.status = AccountStatus::Incomplete {
                    gaps: lines.collect(),
                };
            }
            AccountStatus::Incomplete { gaps } => gaps.extend(lines),
            AccountStatus::Violating { .. } | AccountStatus::Excluded { .. } => {}
        }
    }
}

/// Makes `account` block `run` for `count` denied events; `false` when it already did for
/// them (or cannot: an excluded account never blocks, an incomplete one blocks already).
fn block_denied(run: &mut CheckRun, account: &AccountId, count: u64) -> bool {
    let Some(verdict) = run.verdicts.get_mut(account) else {
        return false;
    };
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    match &mut verdict.status {
        AccountStatus::Clean => {
            verdict.status = AccountStatus::Violating {
                reasons: BTreeMap::from([(DENIED_RECENT_ACTIVITY.to_owned(), count)]),
            };
            true
        }
        AccountStatus::Violating { reasons } => {
            if reasons.contains_key(DENIED_RECENT_ACTIVITY) {
                false
            } else {
                reasons.insert(DENIED_RECENT_ACTIVITY.to_owned(), count);
                true
            }
        }
        AccountStatus::Incomplete { .. } | AccountStatus::Excluded { .. } => false,
    }
}

type Evidence = BTreeMap<&'static str, BTreeMap<AccountId, BTreeMap<String, BTreeSet<String>>>>;

fn check_activity(
    run: &CheckRun,
    replayed: bool,
    found: &BTreeMap<(&'static str, AccountId), Findings>,
    last: &Verdicts,
    evidence: &Evidence,
) -> CheckActivity {
    let mut accounts: BTreeMap<AccountId, AccountActivity> = BTreeMap::new();
    for (account, findings) in last.checks.get(run.check_id).into_iter().flatten() {
        accounts.insert(
            account.clone(),
            AccountActivity {
                account: account.clone(),
                blocks: false,
                denied: findings.denied.clone(),
                undecidable: findings.undecidable.clone(),
            },
        );
    }
    for ((check, account), findings) in found {
        if *check == run.check_id {
            accounts.insert(
                account.clone(),
                AccountActivity {
                    account: account.clone(),
                    blocks: true,
                    denied: findings.denied.clone(),
                    undecidable: findings.undecidable.clone(),
                },
            );
        }
    }
    let mut denied = Summary::default();
    let mut undecidable = Summary::default();
    for a in accounts.values() {
        denied.merge(a.denied.clone());
        undecidable.merge(a.undecidable.clone());
    }
    CheckActivity {
        mode: run.activity,
        replayed,
        denied,
        undecidable,
        accounts: accounts.into_values().collect(),
        evidence: wildcard_evidence(run, evidence)
            .into_iter()
            .map(|(account, resources)| AccountEvidence { account, resources })
            .collect(),
    }
}

/// For a third-party RCP check: the external callers seen in each account holding a
/// `wildcard_principal` finding, for the calls the check's guardrail governs.
fn wildcard_evidence(
    run: &CheckRun,
    evidence: &Evidence,
) -> BTreeMap<AccountId, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<AccountId, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    if run.kind != CheckKind::Rcp {
        return out;
    }
    let Some(check) = checks::find(run.check_id) else {
        return out;
    };
    let actions = super::check_actions(check);
    let selectors: BTreeSet<&'static str> = SELECTORS
        .iter()
        .filter(|s| s.principals == catalog::Principals::OutsideOrganization)
        .filter(|s| actions.contains(s.action))
        .map(|s| s.action)
        .collect();
    for (account, verdict) in &run.verdicts {
        let AccountStatus::Violating { reasons } = &verdict.status else {
            continue;
        };
        if !reasons.contains_key(rcp::WILDCARD) {
            continue;
        }
        for selector in &selectors {
            let Some(seen) = evidence.get(selector).and_then(|e| e.get(account)) else {
                continue;
            };
            let entry = out.entry(account.clone()).or_default();
            for (resource, callers) in seen {
                entry
                    .entry(resource.clone())
                    .or_default()
                    .extend(callers.iter().cloned());
            }
        }
    }
    out
}

/// The findings of `accounts` under the final plan, merged: what a recommendation covering
/// them would deny in the window.
pub fn findings_of<'a>(
    last: &Verdicts,
    check: &str,
    accounts: impl IntoIterator<Item = &'a AccountId>,
) -> Findings {
    let mut out = Findings::default();
    let Some(by_account) = last.checks.get(check) else {
        return out;
    };
    for account in accounts {
        if let Some(f) = by_account.get(account) {
            out.denied.merge(f.denied.clone());
            out.undecidable.merge(f.undecidable.clone());
        }
    }
    out
}
