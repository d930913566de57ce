//! The activity replay: would the planned guardrails have denied what happened?
//!
//! Pure, like the rest of the analysis: [`evaluate`] takes the snapshot's `activity` section,
//! the policy documents the plan attaches to each target (rendered exactly as Terraform gets
//! them), the organization and the few facts the inventories give ([`facts::Facts`]), and
//! returns, per check and account, the events the plan would have denied and the events whose
//! outcome cannot be decided. It evaluates the documents themselves with a small IAM evaluator
//! for Deny statements ([`policy`], [`condition`]) against each event's request context
//! ([`request`]), so "this SCP would not have denied anything in the last N days" is a replay,
//! not a pattern match.
//!
//! Which policies apply to an event is AWS's rule: an SCP attached to a target governs the
//! principals of every account beneath it (not the management account, not service-linked
//! roles, not AWS service principals); an RCP governs the resources of every account beneath
//! it (not the management account). An event is attributed to the principal's account for
//! SCPs and to the resource's account (the account whose log holds it) for RCPs.
//!
//! Nothing undecidable is ever counted as "not denied": an event is denied when some Deny
//! statement applies to some resource the call was authorized on; undecidable when none
//! applies for sure but some might; not denied only when every statement is decided not to
//! apply. Accounts whose window could not be read completely are listed in
//! [`Verdicts::gaps`]: their absence of findings proves nothing.

pub mod calls;
pub mod condition;
pub mod facts;
pub mod placed;
pub mod policy;
pub mod request;

use std::collections::{BTreeMap, BTreeSet};

use headroom_schemas::activity::catalog::{self, SELECTORS, Selector};
use headroom_schemas::activity::{Activity, Coverage, Event};
use headroom_schemas::{AccountId, Organization};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use self::calls::{Call, Calls};
use self::condition::Truth;
use self::facts::Facts;
use self::policy::{DenyStatement, DocumentError};
use self::request::{Context, Request};
use crate::checks::{self, AnyCheck, PolicyContext};
use crate::model::CheckKind;

/// One policy document the plan attaches to one target.
#[derive(Debug, Clone, Copy)]
pub struct Planned<'a> {
    /// The target's ID: the root (`r-...`), an OU (`ou-...`) or an account.
    pub target: &'a str,
    /// SCP or RCP.
    pub kind: CheckKind,
    /// The document, as rendered for Terraform (`policies::document_value`).
    pub document: &'a Value,
}

/// What the replay found, per check and account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdicts {
    /// Per check ID (from the denying statement's `Sid`), per account: what the plan would
    /// have denied and what cannot be decided. Accounts with neither are absent.
    pub checks: BTreeMap<String, BTreeMap<AccountId, Findings>>,
    /// Accounts whose activity in the window is not fully known, with one line per part that
    /// could not be read: no finding there proves no absence of activity.
    pub gaps: BTreeMap<AccountId, Vec<String>>,
    /// Events examined.
    pub events: u64,
}

/// The findings of one check in one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Findings {
    /// Events a planned Deny statement applies to.
    pub denied: Summary,
    /// Events no planned statement is known to deny, but some might.
    pub undecidable: Summary,
}

/// A set of events, summarized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// How many.
    pub count: u64,
    /// Of those, calls that failed anyway (they carry an `errorCode`: the call did not happen,
    /// for instance because something denies it already).
    pub failed_calls: u64,
    /// The earliest `eventTime`.
    pub first_seen: Option<String>,
    /// The latest `eventTime`.
    pub last_seen: Option<String>,
    /// Who made them: principal ARNs (a role session's without its session name, so that
    /// a pipeline's thousand sessions are one role), or `account <id>` where the event gives
    /// no ARN. The examples keep the whole ARN.
    pub principals: BTreeSet<String>,
    /// The `Sid`s of the statements involved.
    pub statements: BTreeSet<String>,
    /// Undecidable only: why, with how many events each.
    pub reasons: BTreeMap<String, u64>,
    /// The earliest few, as examples.
    pub examples: Vec<Example>,
}

/// How many examples a [`Summary`] keeps.
pub const EXAMPLES: usize = 3;

/// One event, as an example.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Example {
    /// `eventTime`.
    pub time: String,
    /// `eventID`.
    pub id: String,
    /// The account whose log holds it.
    pub account: String,
    /// `awsRegion`.
    pub region: String,
    /// The IAM action.
    pub action: String,
    /// Who.
    pub principal: String,
    /// The statement that denies it (or might).
    pub statement: Option<String>,
    /// Undecidable only: why.
    pub reason: Option<String>,
    /// `errorCode`, if the call failed.
    pub error_code: Option<String>,
}

impl Summary {
    /// Whether an example of `event` would be kept (it is among the earliest few).
    fn keeps(&self, event: &Event) -> bool {
        self.examples.len() < EXAMPLES
            || self.examples.last().is_some_and(|last| {
                (event.time.as_str(), event.id.as_str()) <= (last.time.as_str(), last.id.as_str())
            })
    }

    /// Counts the events of `call`, by `principal`, denied or maybe denied by `sid` (and,
    /// undecidable, for `reason`); `example` makes the example of one of its events, called
    /// only for those kept.
    fn count(
        &mut self,
        call: &Call<'_>,
        principal: &str,
        sid: Option<&str>,
        reason: Option<&str>,
        example: impl Fn(&Event) -> Example,
    ) {
        self.count += call.count;
        self.failed_calls += call.failed;
        if self
            .first_seen
            .as_deref()
            .is_none_or(|t| call.first_seen() < t)
        {
            self.first_seen = Some(call.first_seen().to_owned());
        }
        if self.last_seen.as_deref().is_none_or(|t| call.last_seen > t) {
            self.last_seen = Some(call.last_seen.to_owned());
        }
        if !self.principals.contains(principal) {
            self.principals.insert(principal.to_owned());
        }
        if let Some(sid) = sid
            && !self.statements.contains(sid)
        {
            self.statements.insert(sid.to_owned());
        }
        if let Some(reason) = reason {
            match self.reasons.get_mut(reason) {
                Some(n) => *n += call.count,
                None => {
                    self.reasons.insert(reason.to_owned(), call.count);
                }
            }
        }
        for event in &call.earliest {
            if self.keeps(event) {
                self.keep_example(example(event));
            }
        }
    }

    fn keep_example(&mut self, example: Example) {
        let at = self.examples.partition_point(|e| e < &example);
        if at < EXAMPLES {
            self.examples.insert(at, example);
            self.examples.truncate(EXAMPLES);
        }
    }

    pub(crate) fn merge(&mut self, other: Summary) {
        self.count += other.count;
        self.failed_calls += other.failed_calls;
        for (mine, theirs, earlier) in [
            (&mut self.first_seen, other.first_seen, true),
            (&mut self.last_seen, other.last_seen, false),
        ] {
            if let Some(t) = theirs
                && mine
                    .as_ref()
                    .is_none_or(|m| if earlier { t < *m } else { t > *m })
            {
                *mine = Some(t);
            }
        }
        self.principals.extend(other.principals);
        self.statements.extend(other.statements);
        for (reason, n) in other.reasons {
            *self.reasons.entry(reason).or_default() += n;
        }
        for example in other.examples {
            self.keep_example(example);
        }
    }
}

impl Verdicts {
    fn merge(&mut self, other: Verdicts) {
        self.events += other.events;
        for (check, accounts) in other.checks {
            let mine = self.checks.entry(check).or_default();
            for (account, findings) in accounts {
                let entry = mine.entry(account).or_default();
                entry.denied.merge(findings.denied);
                entry.undecidable.merge(findings.undecidable);
            }
        }
    }
}

/// What one event's replay against one check's statements concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A statement applies: its `Sid`.
    Denied(Option<String>),
    /// No statement applies for sure, this one might: its `Sid` and why it is undecided.
    Undecidable(Option<String>, String),
    /// No statement applies.
    NotDenied,
}

/// Replays one request against `statements` (one check's, in document order).
pub fn replay(request: &Request<'_>, statements: &[&DenyStatement]) -> Outcome {
    let mut undecided: Option<(Option<String>, String)> = None;
    for statement in statements {
        if !statement.covers_action(&request.action) {
            continue;
        }
        for authorization in &request.authorizations {
            let truth = statement.applies_to(&authorization.resource, &mut |key, lower| {
                request.key(authorization, key, lower)
            });
            match truth {
                Truth::True => return Outcome::Denied(statement.sid.clone()),
                Truth::False => {}
                Truth::Unknown(why) => {
                    if undecided.is_none() {
                        undecided = Some((statement.sid.clone(), why));
                    }
                }
            }
        }
    }
    match undecided {
        Some((sid, why)) => Outcome::Undecidable(sid, why),
        None => Outcome::NotDenied,
    }
}

/// The check a statement belongs to, by its `Sid` (named after the check: the longest check
/// whose Sid prefix starts it), or the `Sid` itself for a statement of no check.
pub fn check_of_sid(sid: Option<&str>) -> String {
    let Some(sid) = sid else {
        return "(no Sid)".to_owned();
    };
    checks::ALL
        .iter()
        .map(|c| (c.meta().id, checks::common::sid(c.meta().id)))
        .filter(|(_, prefix)| sid.starts_with(prefix.as_str()))
        .max_by_key(|(_, prefix)| prefix.len())
        .map_or_else(|| sid.to_owned(), |(id, _)| id.to_owned())
}

/// The Deny statements governing one account, grouped by check, in check order.
#[derive(Debug, Default)]
struct Governing<'p> {
    scp: Vec<(String, Vec<&'p DenyStatement>)>,
    rcp: Vec<(String, Vec<&'p DenyStatement>)>,
}

/// The targets above and at `account` (itself, its OUs, the root).
fn lineage<'o>(org: &'o Organization, account: &'o AccountId) -> Vec<&'o str> {
    let mut out = vec![account.as_str()];
    let Some(mut parent) = org.accounts.get(account).map(|a| a.parent_id.as_str()) else {
        return out;
    };
    // The snapshot's validation guarantees a tree of bounded depth; the bound is a guard.
    for _ in 0..16 {
        out.push(parent);
        match org.organizational_units.get(parent) {
            Some(ou) => parent = ou.parent_id.as_str(),
            None => break,
        }
    }
    out
}

/// The planned statements each event can meet, found once per evaluation: per account, the
/// group of accounts governed by the same documents (the targets above them that carry
/// any), and per group and IAM action, the statements of each check whose `Action` covers it.
/// An event then meets only the statements that may deny it, and one of an action no
/// governing statement names costs a lookup, not a request context.
///
/// Measured A/B (`xtask bench-replay`, 1,000 accounts, 1M events, 2 cores, load 5 to 6,
/// the binaries in turn): the replay's extra time went from 14.2 s to 10.9 s per million
/// events in one round, from 8.5 s to 7.7 s as the median of 3 in a later run.
struct Index<'p> {
    /// The IAM action of each event source and name met in the activity.
    actions: BTreeMap<(&'p str, &'p str), (usize, String)>,
    /// Per member account (not the management account): its group.
    groups: BTreeMap<AccountId, usize>,
    /// Per group, per action (the index in `actions`): the statements it meets.
    statements: Vec<Vec<Governing<'p>>>,
}

impl<'p> Index<'p> {
    fn new(
        calls: &Calls<'p>,
        org: &'p Organization,
        by_target: &BTreeMap<&'p str, Vec<(CheckKind, &'p DenyStatement)>>,
        only: Option<&BTreeSet<&str>>,
    ) -> Self {
        let actions: BTreeMap<(&str, &str), (usize, String)> = calls
            .sources
            .iter()
            .copied()
            .enumerate()
            .map(|(i, (source, name))| ((source, name), (i, catalog::action_of(source, name))))
            .collect();
        let mut named: Vec<&str> = vec![""; actions.len()];
        for (i, action) in actions.values() {
            named[*i] = action;
        }
        let mut keys: BTreeMap<Vec<&str>, usize> = BTreeMap::new();
        let mut groups = BTreeMap::new();
        let mut statements = Vec::new();
        let management = org.management_account_id.as_str();
        for id in org.accounts.keys().filter(|id| id.as_str() != management) {
            let key: Vec<&str> = lineage(org, id)
                .into_iter()
                .filter(|t| by_target.contains_key(t))
                .collect();
            let next = keys.len();
            let group = *keys.entry(key).or_insert_with_key(|key| {
                statements.push(
                    named
                        .iter()
                        .map(|action| governing(key, by_target, only, action))
                        .collect(),
                );
                next
            });
            groups.insert(id.clone(), group);
        }
        Self {
            actions,
            groups,
            statements,
        }
    }
}

/// The statements of the documents of `targets` that an event of `action` meets, by check,
/// in check order (of the checks in `only`, or every check).
fn governing<'p>(
    targets: &[&str],
    by_target: &BTreeMap<&'p str, Vec<(CheckKind, &'p DenyStatement)>>,
    only: Option<&BTreeSet<&str>>,
    action: &str,
) -> Governing<'p> {
    let mut groups: [BTreeMap<String, Vec<&DenyStatement>>; 2] = Default::default();
    for target in targets {
        for (kind, s) in by_target.get(target).into_iter().flatten() {
            if !s.covers_action(action) {
                continue;
            }
            let slot = usize::from(*kind == CheckKind::Rcp);
            let check = check_of_sid(s.sid.as_deref());
            if only.is_some_and(|only| !only.contains(check.as_str())) {
                continue;
            }
            groups[slot].entry(check).or_default().push(s);
        }
    }
    let [scp, rcp] = groups;
    Governing {
        scp: scp.into_iter().collect(),
        rcp: rcp.into_iter().collect(),
    }
}

/// Replays `activity` against the documents the plan attaches (`planned`), for the
/// organization `org` of partition `partition`, with the inventories' `facts`.
///
/// Deterministic: the result does not depend on the order of `planned`, of the events or on
/// the thread count.
pub fn evaluate(
    activity: &Activity,
    planned: &[Planned<'_>],
    org: &Organization,
    facts: &Facts,
    partition: &str,
) -> Result<Verdicts, DocumentError> {
    evaluate_calls(
        activity,
        &calls::group(&activity.events),
        planned,
        org,
        facts,
        partition,
        None,
    )
}

/// [`evaluate`], with the window's events already grouped by call (`calls`, of
/// `activity.events`), for the statements of the checks in `only` alone (every check with
/// `None`): a check's verdicts depend on its own statements only, so a placement round that
/// changed a few checks replays those alone.
pub fn evaluate_calls(
    activity: &Activity,
    calls: &Calls<'_>,
    planned: &[Planned<'_>],
    org: &Organization,
    facts: &Facts,
    partition: &str,
    only: Option<&BTreeSet<&str>>,
) -> Result<Verdicts, DocumentError> {
    let mut compiled: Vec<(&str, CheckKind, Vec<DenyStatement>)> = planned
        .iter()
        .map(|p| Ok((p.target, p.kind, policy::deny_statements(p.document)?)))
        .collect::<Result<_, DocumentError>>()?;
    // Statement order within a check follows the documents sorted by target, then text.
    compiled.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut by_target: BTreeMap<&str, Vec<(CheckKind, &DenyStatement)>> = BTreeMap::new();
    for (target, kind, statements) in &compiled {
        for s in statements {
            by_target.entry(target).or_default().push((*kind, s));
        }
    }
    let index = Index::new(calls, org, &by_target, only);
    let is_member = |a: &str| org.accounts.contains_key(a);
    let ctx = Context {
        partition,
        org_id: &org.id,
        is_member: &is_member,
        facts,
    };
    let mut verdicts = calls
        .calls
        .par_iter()
        .with_min_len(1024)
        .fold(Verdicts::default, |mut part, call| {
            replay_call(call, ctx, &index, &mut part);
            part
        })
        .reduce(Verdicts::default, |mut a, b| {
            a.merge(b);
            a
        });
    verdicts.events = calls.events;
    verdicts.gaps = gaps(activity, org);
    Ok(verdicts)
}

/// The accounts of `org` (but the management account) whose window was not read completely,
/// with one line per part not read (`us-east-1 2026-01-10: GetObject: AccessDenied: ...`).
pub fn gaps(activity: &Activity, org: &Organization) -> BTreeMap<AccountId, Vec<String>> {
    let mut out = BTreeMap::new();
    let management = &org.management_account_id;
    for id in org.accounts.keys().filter(|id| *id != management) {
        if let Coverage::Gaps(gaps) = activity.coverage(id) {
            let lines = gaps
                .into_iter()
                .map(|g| {
                    let place = match (g.region, g.day) {
                        (Some(r), Some(d)) => format!("{r} {d}"),
                        _ => "the whole window".to_owned(),
                    };
                    match g.error {
                        Some(e) => format!(
                            "{place}: {}: {}{}",
                            e.operation,
                            e.code
                                .as_deref()
                                .map(|c| format!("{c}: "))
                                .unwrap_or_default(),
                            e.message
                        ),
                        None => format!("{place}: not read"),
                    }
                })
                .collect();
            out.insert(id.clone(), lines);
        }
    }
    out
}

/// A principal ARN without what changes with every session: the session name of an
/// assumed-role ARN (`arn:aws:sts::111111111111:assumed-role/ci/run-42` ->
/// `arn:aws:sts::111111111111:assumed-role/ci`); anything else as it is.
pub fn principal_identity(arn: &str) -> &str {
    match arn.find(":assumed-role/") {
        Some(at) => {
            let role = at + ":assumed-role/".len();
            match arn[role..].find('/') {
                Some(slash) => &arn[..role + slash],
                None => arn,
            }
        }
        None => arn,
    }
}

fn replay_call(call: &Call<'_>, ctx: Context<'_>, index: &Index<'_>, out: &mut Verdicts) {
    let event = call.event();
    let Some((action, name)) = index
        .actions
        .get(&(event.source.as_str(), event.name.as_str()))
    else {
        return;
    };
    // SCPs: the principal's account, unless the caller is a service or service-linked role.
    let scp = if request::exempt_from_scps(event) {
        None
    } else {
        request::principal_account(event)
            .and_then(|a| index.groups.get_key_value(a))
            .map(|(id, group)| (id, &index.statements[*group][*action].scp))
            .filter(|(_, s)| !s.is_empty())
    };
    // RCPs: the account that owns the resource, whose log holds the event.
    let rcp = index
        .groups
        .get(event.account.as_str())
        .map(|group| &index.statements[*group][*action].rcp)
        .filter(|s| !s.is_empty());
    if scp.is_none() && rcp.is_none() {
        return;
    }
    let request = Request::with_action(event, ctx, name.clone());
    // Made once, and only for a call that is denied or undecidable somewhere.
    let who: std::cell::OnceCell<(String, String)> = std::cell::OnceCell::new();
    let principal = || {
        who.get_or_init(|| {
            let full = event
                .principal
                .arn
                .clone()
                .or_else(|| {
                    event
                        .principal
                        .account
                        .as_ref()
                        .map(|a| format!("account {a}"))
                })
                .unwrap_or_else(|| format!("a {} principal", event.principal.kind));
            let identity = principal_identity(&full).to_owned();
            (full, identity)
        })
    };
    let mut record = |check: &str, account: &AccountId, outcome: Outcome| {
        let (sid, reason, denied) = match outcome {
            Outcome::Denied(sid) => (sid, None, true),
            Outcome::Undecidable(sid, why) => (sid, Some(why), false),
            Outcome::NotDenied => return,
        };
        let by_account = match out.checks.get_mut(check) {
            Some(by_account) => by_account,
            None => out.checks.entry(check.to_owned()).or_default(),
        };
        let findings = match by_account.get_mut(account) {
            Some(findings) => findings,
            None => by_account.entry(account.clone()).or_default(),
        };
        let summary = if denied {
            &mut findings.denied
        } else {
            &mut findings.undecidable
        };
        let (full, identity) = principal();
        summary.count(call, identity, sid.as_deref(), reason.as_deref(), |e| {
            Example {
                time: e.time.clone(),
                id: e.id.clone(),
                account: e.account.to_string(),
                region: e.region.clone(),
                action: request.action.clone(),
                principal: full.clone(),
                statement: sid.clone(),
                reason: reason.clone(),
                error_code: e.error_code.clone(),
            }
        });
    };
    if let Some((id, statements)) = scp {
        for (check, statements) in statements {
            record(check, id, replay(&request, statements));
        }
    }
    if let Some(statements) = rcp {
        for (check, statements) in statements {
            record(check, &event.account, replay(&request, statements));
        }
    }
}

/// The external accounts seen calling into each account, per catalog selector of calls from
/// outside the organization (`kms:*`, `sts:AssumeRole`, ...) and resource: evidence for the
/// third-party RCP checks, whatever the plan. Only events whose principal names an account
/// outside the organization count (anonymous callers have none).
pub fn external_accounts(
    calls: &Calls<'_>,
    org: &Organization,
) -> BTreeMap<&'static str, BTreeMap<AccountId, BTreeMap<String, BTreeSet<String>>>> {
    let mut out: BTreeMap<&'static str, BTreeMap<AccountId, BTreeMap<String, BTreeSet<String>>>> =
        BTreeMap::new();
    let outside: Vec<&Selector> = SELECTORS
        .iter()
        .filter(|s| s.principals == catalog::Principals::OutsideOrganization)
        .collect();
    for event in calls.calls.iter().map(Call::event) {
        let Some(caller) = event.principal.account.as_deref() else {
            continue;
        };
        if !headroom_schemas::ids::is_account_id(caller)
            || org.accounts.contains_key(caller)
            || event.principal.kind == "AWSService"
        {
            continue;
        }
        for selector in &outside {
            if catalog::matches_call(selector, &event.source, &event.name) {
                let resource = event
                    .resources
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "(resource not named)".to_owned());
                out.entry(selector.action)
                    .or_default()
                    .entry(event.account.clone())
                    .or_default()
                    .entry(resource)
                    .or_default()
                    .insert(caller.to_owned());
            }
        }
    }
    out
}

/// The action patterns of a check's Deny statements (with default options; no check's
/// actions depend on its options), sorted.
pub fn check_actions(check: &dyn AnyCheck) -> BTreeSet<String> {
    let ctx = PolicyContext {
        partition: "aws",
        org_id: "o-aaaa11111111",
    };
    let allowlist = BTreeSet::from(["121212121212".to_owned()]);
    let mut out = BTreeSet::new();
    for empty in [true, false] {
        let allowlist = if empty {
            BTreeSet::new()
        } else {
            allowlist.clone()
        };
        let Ok(statements) = check.statements(&serde_json::Map::new(), &ctx, &allowlist) else {
            continue;
        };
        for s in statements {
            if s.get("Effect").and_then(Value::as_str) != Some("Deny") {
                continue;
            }
            match s.get("Action") {
                Some(Value::String(a)) => {
                    out.insert(a.clone());
                }
                Some(Value::Array(list)) => {
                    out.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                _ => {}
            }
        }
    }
    out
}

/// Whether the activity holds the events of every action of `check` (its selectors were
/// collected): otherwise the check was not replayed and its lack of findings means nothing.
pub fn replays(activity: &Activity, check: &dyn AnyCheck) -> bool {
    check_actions(check)
        .iter()
        .all(|a| activity.selectors.iter().any(|s| s == a))
}
