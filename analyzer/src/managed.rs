//! Headroom's own policies, as a snapshot shows them after an earlier plan was applied.
//!
//! The rollout loop is collect → analyze → `terraform apply` → collect again. The second
//! snapshot holds the policies the first plan created; the new plan *replaces* them (Terraform
//! updates or destroys what the new files no longer define), so they must not weigh on it:
//!
//! - they take no slot of `max_policies_per_target` and count toward no organization quota
//!   (otherwise a target holding four foreign policies and Headroom's would look full, the
//!   guardrail would move to the children, and move back on the run after: a plan that never
//!   settles);
//! - their statements never count as guardrails someone else already enforces;
//! - where one of them carries a check that the new plan no longer places on that target, the
//!   check is reported as *would be removed* there, with why ([`Removal`]), never silently.
//!
//! **The rule.** A policy of the snapshot is Headroom's when AWS does not manage it and either
//! its name starts with `Headroom-SCP-` / `Headroom-RCP-` (the names the renderer writes), or
//! its description contains [`DESCRIPTION_MARKER`] (which the renderer writes at the start of
//! every description, so a policy renamed by hand is still recognised). Which checks it holds
//! is read from its statements' Sids, each named after its check (`DenyEc2ImdsV1...`).

use std::collections::{BTreeMap, BTreeSet};

use headroom_schemas::Policies;
use headroom_schemas::policies::Policy;
use serde::Serialize;

use crate::checks::common::sid;
use crate::model::CheckKind;

/// Written at the start of every policy description Headroom generates.
pub const DESCRIPTION_MARKER: &str = "[managed by Headroom]";

/// The prefix of the names Headroom gives its policies of `kind`.
pub fn name_prefix(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Scp => "Headroom-SCP-",
        CheckKind::Rcp => "Headroom-RCP-",
    }
}

/// Whether `policy` (of `kind`) is one Headroom generated.
pub fn is_headroom(policy: &Policy, kind: CheckKind) -> bool {
    !policy.aws_managed
        && (policy.name.starts_with(name_prefix(kind))
            || policy.description.contains(DESCRIPTION_MARKER))
}

/// The policies of `kind` in the snapshot, with whether each is Headroom's.
pub fn policies_of(
    policies: &Policies,
    kind: CheckKind,
) -> impl Iterator<Item = (&Policy, bool)> + '_ {
    let map = match kind {
        CheckKind::Scp => &policies.scps,
        CheckKind::Rcp => &policies.rcps,
    };
    map.values().map(move |p| (p, is_headroom(p, kind)))
}

/// Customer-managed policies of `kind` that are not Headroom's: what counts toward the
/// organization's quota besides the new plan. (AWS-managed policies such as `FullAWSAccess` are
/// AWS's, not the organization's.)
pub fn foreign_customer_policies(policies: &Policies, kind: CheckKind) -> usize {
    policies_of(policies, kind)
        .filter(|(p, headroom)| !headroom && !p.aws_managed)
        .count()
}

/// Where an earlier plan attached each check: by (kind, check ID), the target IDs and the
/// names of the Headroom policies carrying the check there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prior {
    /// `(kind, check ID) -> target ID -> policy names`.
    pub attachments: BTreeMap<(CheckKind, String), BTreeMap<String, BTreeSet<String>>>,
}

impl Prior {
    /// Reads the snapshot's Headroom policies. `check_ids` are the checks Headroom knows: a
    /// statement is attributed to the check whose Sid is the longest prefix of its own.
    pub fn read(policies: &Policies, check_ids: &[&str]) -> Self {
        let mut named: Vec<(String, &str)> = check_ids.iter().map(|id| (sid(id), *id)).collect();
        // Longest Sid first, so `DenyEc2ImdsHopLimit` wins over a shorter prefix.
        named.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let mut out = Self::default();
        for kind in [CheckKind::Scp, CheckKind::Rcp] {
            for (policy, headroom) in policies_of(policies, kind) {
                if !headroom {
                    continue;
                }
                for check in checks_in(&policy.content, &named) {
                    let targets = out.attachments.entry((kind, check.to_owned())).or_default();
                    for target in &policy.targets {
                        targets
                            .entry(target.target_id.clone())
                            .or_default()
                            .insert(policy.name.clone());
                    }
                }
            }
        }
        out
    }
}

/// The checks whose statements a policy document holds, by Sid.
fn checks_in<'c>(content: &str, named: &[(String, &'c str)]) -> BTreeSet<&'c str> {
    let Ok(document) = serde_json::from_str::<serde_json::Value>(content) else {
        return BTreeSet::new();
    };
    let statements = match document.get("Statement") {
        Some(serde_json::Value::Array(list)) => list.iter().collect(),
        Some(single @ serde_json::Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    statements
        .into_iter()
        .filter_map(|s| s.get("Sid").and_then(serde_json::Value::as_str))
        .filter_map(|s| {
            named
                .iter()
                .find(|(prefix, _)| s.starts_with(prefix.as_str()))
                .map(|(_, id)| *id)
        })
        .collect()
}

/// A check an earlier plan attached to a target that the new plan no longer attaches there:
/// applying the new Terraform takes the guardrail off that target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Removal {
    /// The target's ID (root, OU or account).
    pub target_id: String,
    /// How people read the target (`OU 'Workloads/Production'`), or the ID alone when the
    /// target is no longer in the organization.
    pub target: String,
    /// The Headroom policies carrying the check there today.
    pub policies: Vec<String>,
    /// Why the new plan does not attach the check there.
    pub reason: String,
    /// The target higher up that the new plan attaches the check to, when it still covers
    /// this target (a move up, not a loss of protection).
    pub covered_by: Option<String>,
}
