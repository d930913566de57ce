//! Collection status: every (account, region, service) is either complete or failed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The result of collecting one service in one account and region (or globally).
///
/// A failed collection is never read as "no resources": the analyzer treats the account as
/// not fully collected, and placement never covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
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

/// The derived representation, used only when `status` is not the first field.
#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum BufferedCollected<T> {
    Complete { data: T },
    Failed { error: CollectionError },
}

impl<T> From<BufferedCollected<T>> for Collected<T> {
    fn from(b: BufferedCollected<T>) -> Self {
        match b {
            BufferedCollected::Complete { data } => Collected::Complete { data },
            BufferedCollected::Failed { error } => Collected::Failed { error },
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CollectedTag {
    Complete,
    Failed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteFields<T> {
    data: T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailedFields {
    error: CollectionError,
}

impl<'de, T: Deserialize<'de>> crate::tagged::TagFirst<'de> for Collected<T> {
    const TAG: &'static str = "status";
    const EXPECTING: &'static str = "a collection result with `status` `complete` or `failed`";
    type Tag = CollectedTag;
    type Buffered = BufferedCollected<T>;

    fn variant<D: serde::Deserializer<'de>>(tag: CollectedTag, rest: D) -> Result<Self, D::Error> {
        Ok(match tag {
            CollectedTag::Complete => Collected::Complete {
                data: CompleteFields::deserialize(rest)?.data,
            },
            CollectedTag::Failed => Collected::Failed {
                error: FailedFields::deserialize(rest)?.error,
            },
        })
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Collected<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::tagged::deserialize(deserializer)
    }
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
