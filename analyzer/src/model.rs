//! The contract between the checks and placement: what one check concluded about each account.
//!
//! Checks turn inventories into per-resource findings and per-account reports; placement only
//! needs, per (check, account), whether the account is clean, why not, and which values the
//! guardrail must allow. Keeping this small lets both sides change independently.

use std::collections::{BTreeMap, BTreeSet};

use headroom_schemas::AccountId;
use headroom_schemas::inventory::NotCollectedReason;
use serde::Serialize;

/// Whether a check produces a service control policy or a resource control policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// A service control policy (applies to principals in the accounts).
    Scp,
    /// A resource control policy (applies to resources in the accounts).
    Rcp,
}

impl CheckKind {
    /// The directory name used for reports and Terraform: `scps` or `rcps`.
    pub fn dir(self) -> &'static str {
        match self {
            CheckKind::Scp => "scps",
            CheckKind::Rcp => "rcps",
        }
    }
}

/// Where one account stands for one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AccountStatus {
    /// Every resource is compliant or exempt, and every service the check reads was collected.
    Clean,
    /// At least one resource violates: the number of violations per reason code.
    Violating {
        /// Violations by reason code (`imds_v1_allowed`, `wildcard_principal`, ...).
        reasons: BTreeMap<String, usize>,
    },
    /// A service the check reads failed to collect (or the whole account did): nothing is
    /// known, so the account blocks like a violation.
    Incomplete {
        /// One line per gap: `eu-west-1 aoss: AccessDeniedException: ...`.
        gaps: Vec<String>,
    },
    /// Not analyzed on purpose. Such accounts never block; the management account is never
    /// covered by a recommendation.
    Excluded {
        /// Why.
        reason: NotCollectedReason,
    },
}

/// Violation, exemption and compliant counts of one account for one check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Resources that would break, or already break the rule.
    pub violations: usize,
    /// Resources tagged out of the guardrail.
    pub exemptions: usize,
    /// Resources that satisfy the rule.
    pub compliant: usize,
}

/// What one check concluded about one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountVerdict {
    /// Clean, violating, incomplete or excluded.
    pub status: AccountStatus,
    /// Values the guardrail must allow so this account keeps working: third-party account IDs
    /// for RCPs, IAM user ARNs for `deny_iam_user_creation`, AMI owners for
    /// `deny_ec2_ami_owner`. Empty for checks without an allowlist.
    pub allowlist: BTreeSet<String>,
    /// Resource counts.
    pub counts: Counts,
    /// The violating resources, sorted (empty unless `Violating`): what the reports people
    /// read name as the blockers.
    pub findings: Vec<Finding>,
}

/// One violating resource of one account for one check, as read from the check's report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// The resource: its ARN where the report has one, else its ID or name.
    pub resource: String,
    /// The violation's reason code.
    pub reason: String,
    /// The region, for regional resources.
    pub region: Option<String>,
}

impl AccountVerdict {
    /// Whether this account prevents a guardrail from being attached above it.
    pub fn blocks(&self) -> bool {
        matches!(
            self.status,
            AccountStatus::Violating { .. } | AccountStatus::Incomplete { .. }
        )
    }
}

/// The outcome of one check over the whole organization. Checks disabled in the
/// configuration produce none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRun {
    /// The check ID (`deny_ec2_imds_v1`).
    pub check_id: &'static str,
    /// SCP or RCP.
    pub kind: CheckKind,
    /// One verdict per account of the organization, the management account included.
    pub verdicts: BTreeMap<AccountId, AccountVerdict>,
    /// Allowlist entries from the configuration, added to every allowlist of this check.
    pub configured_allowlist: BTreeSet<String>,
    /// For a check with an allowlist: what its guardrail denies where the allowlist is empty
    /// (see `CheckMeta::empty_allowlist`).
    pub empty_allowlist: Option<&'static str>,
    /// `checks.<id>.require_allowlist`: never place the guardrail where its allowlist would
    /// be empty.
    pub require_allowlist: bool,
    /// `checks.<id>.activity`: what a recent event the planned guardrail would have denied
    /// does to placement (only with a snapshot that holds activity).
    pub activity: ActivityMode,
}

/// `checks.<id>.activity`: what the activity replay does with an event the planned guardrail
/// would have denied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityMode {
    /// The event's account blocks the guardrail like a violating resource (reason
    /// `denied_recent_activity`), and an account whose window was not read completely blocks
    /// like one not fully collected: placement moves the guardrail below them.
    #[default]
    Block,
    /// The events are reported; placement does not move.
    Warn,
}

impl ActivityMode {
    /// `block` or `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityMode::Block => "block",
            ActivityMode::Warn => "warn",
        }
    }
}

/// One IAM policy statement as JSON (keys sorted, so its text is deterministic).
///
/// Each check supplies its own Deny statements through
/// `crate::checks::statements(check_id, settings, allowlist) -> Vec<Statement>`: the
/// statements of that check for one target whose accounts need `allowlist` (the union of the
/// verdicts' allowlists beneath the target plus `configured_allowlist`). Sids are named after
/// the check. An empty allowlist never yields an empty condition or `NotResource`.
pub type Statement = serde_json::Map<String, serde_json::Value>;
