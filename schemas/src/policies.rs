//! The SCPs and RCPs that already exist in the organization, with their targets.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The existing policies, from `organizations:ListPolicies`, `DescribePolicy` and
/// `ListTargetsForPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// Service control policies by policy ID (`p-...`).
    #[serde(deserialize_with = "crate::unique::map")]
    pub scps: BTreeMap<String, Policy>,
    /// Resource control policies by policy ID.
    #[serde(deserialize_with = "crate::unique::map")]
    pub rcps: BTreeMap<String, Policy>,
}

/// One existing policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The policy ID (`p-...`).
    pub id: String,
    /// The policy ARN.
    pub arn: String,
    /// The policy name.
    pub name: String,
    /// The policy description.
    pub description: String,
    /// Whether AWS manages the policy (`FullAWSAccess`, `RCPFullAWSAccess`).
    pub aws_managed: bool,
    /// The policy document exactly as AWS returned it.
    pub content: String,
    /// Where the policy is attached, sorted by target ID.
    pub targets: Vec<PolicyTarget>,
}

/// One attachment of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyTarget {
    /// The root, OU or account ID.
    pub target_id: String,
    /// The target's ARN.
    pub arn: String,
    /// The target's name.
    pub name: String,
    /// `ROOT`, `ORGANIZATIONAL_UNIT` or `ACCOUNT`.
    #[serde(rename = "type")]
    pub target_type: TargetType,
}

/// The kind of node a policy is attached to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetType {
    /// The organization root.
    Root,
    /// An organizational unit.
    OrganizationalUnit,
    /// An account.
    Account,
}

impl Policies {
    /// How many policies of each kind are attached directly to `target_id`: (SCPs, RCPs).
    pub fn attachment_counts(&self, target_id: &str) -> (usize, usize) {
        let count = |m: &BTreeMap<String, Policy>| {
            m.values()
                .filter(|p| p.targets.iter().any(|t| t.target_id == target_id))
                .count()
        };
        (count(&self.scps), count(&self.rcps))
    }
}
