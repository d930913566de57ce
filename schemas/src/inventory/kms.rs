//! KMS keys and their policies (`kms:ListKeys`, `DescribeKey`, `GetKeyPolicy`,
//! `ListResourceTags`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The KMS inventory of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KmsInventory {
    /// Every key, AWS-managed ones included, sorted by key ID.
    pub keys: Vec<Key>,
}

/// One KMS key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// The key ID (a UUID, or `mrk-...`).
    pub key_id: String,
    /// The key ARN.
    pub key_arn: String,
    /// `AWS` (AWS-managed, out of RCP scope) or `CUSTOMER`.
    pub key_manager: String,
    /// The `default` key policy as raw JSON text.
    pub policy: Option<String>,
    /// The key's tags (customer-managed keys only; AWS-managed keys have none).
    pub tags: crate::Tags,
}
