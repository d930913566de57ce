//! OpenSearch Serverless data access policies (`aoss:ListAccessPolicies`, `GetAccessPolicy`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The OpenSearch Serverless inventory of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AossInventory {
    /// Every data access policy, sorted by name.
    pub access_policies: Vec<AccessPolicy>,
}

/// One data access policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    /// The policy name.
    pub name: String,
    /// The policy type (`data`).
    #[serde(rename = "type")]
    pub policy_type: String,
    /// The policy version.
    pub policy_version: Option<String>,
    /// The policy description.
    pub description: Option<String>,
    /// The policy (a JSON list of rules with `Principal`) serialized as JSON text; AWS
    /// returns it as a document, `collect` stores its canonical text.
    pub policy: String,
}
