//! Collection status: every (account, region, service) is either complete or failed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The result of collecting one service in one account and region (or globally).
///
/// A failed collection is never read as "no resources": the analyzer treats the account as
/// not fully collected, and placement never covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Collected<T> {
    /// Every call for the service succeeded; `data` is the whole inventory.
    Complete {
        /// The inventory.
        data: T,
    },
    /// A call failed; the inventory is unknown.
    Failed {
        /// What failed.
        error: CollectionError,
    },
}

impl<T> Collected<T> {
    /// The inventory, if collection completed.
    pub fn data(&self) -> Option<&T> {
        match self {
            Collected::Complete { data } => Some(data),
            Collected::Failed { .. } => None,
        }
    }

    /// The error, if collection failed.
    pub fn error(&self) -> Option<&CollectionError> {
        match self {
            Collected::Complete { .. } => None,
            Collected::Failed { error } => Some(error),
        }
    }

    /// Whether collection completed.
    pub fn is_complete(&self) -> bool {
        matches!(self, Collected::Complete { .. })
    }
}

/// An error recorded in place of an inventory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionError {
    /// The API operation that failed, as an IAM action (`ec2:DescribeInstances`).
    pub operation: String,
    /// The AWS error code (`AccessDenied`), when AWS sent one.
    pub code: Option<String>,
    /// The error message.
    pub message: String,
}
