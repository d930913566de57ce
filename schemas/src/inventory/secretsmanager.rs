//! Secrets Manager secrets and their resource policies (`secretsmanager:ListSecrets`,
//! `GetResourcePolicy`). Secret values are never read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Secrets Manager inventory of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsManagerInventory {
    /// Every secret, sorted by ARN.
    pub secrets: Vec<Secret>,
}

/// One secret (its metadata, never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// The secret name.
    pub name: String,
    /// The secret ARN.
    pub arn: String,
    /// The resource policy as raw JSON text; absent when it has none.
    pub resource_policy: Option<String>,
    /// The secret's tags.
    pub tags: crate::Tags,
}
