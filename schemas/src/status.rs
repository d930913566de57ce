//! Collection status: every (account, region, service) is complete, failed, or not offered by
//! AWS in that region.

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
    /// AWS does not offer the service in this region (`meta.service_availability`), so nothing
    /// was called. A known absence: not a gap, and not an unknown inventory (since 1.1).
    NotOffered,
}

/// The derived representation, used only when `status` is not the first field.
#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum BufferedCollected<T> {
    Complete { data: T },
    Failed { error: CollectionError },
    // A struct variant, so that `deny_unknown_fields` rejects fields a unit variant would
    // ignore.
    NotOffered {},
}

impl<T> From<BufferedCollected<T>> for Collected<T> {
    fn from(b: BufferedCollected<T>) -> Self {
        match b {
            BufferedCollected::Complete { data } => Collected::Complete { data },
            BufferedCollected::Failed { error } => Collected::Failed { error },
            BufferedCollected::NotOffered {} => Collected::NotOffered,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CollectedTag {
    Complete,
    Failed,
    NotOffered,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

impl<'de, T: Deserialize<'de>> crate::tagged::TagFirst<'de> for Collected<T> {
    const TAG: &'static str = "status";
    const EXPECTING: &'static str =
        "a collection result with `status` `complete`, `failed` or `not_offered`";
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
            CollectedTag::NotOffered => {
                NoFields::deserialize(rest)?;
                Collected::NotOffered
            }
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
            Collected::Failed { .. } | Collected::NotOffered => None,
        }
    }

    /// The error, if collection failed.
    pub fn error(&self) -> Option<&CollectionError> {
        match self {
            Collected::Complete { .. } | Collected::NotOffered => None,
            Collected::Failed { error } => Some(error),
        }
    }

    /// Whether AWS does not offer the service in the region (nothing to collect).
    pub fn is_not_offered(&self) -> bool {
        matches!(self, Collected::NotOffered)
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
    /// The error message, on one line: AWS's message, or what went wrong on the way.
    pub message: String,
    /// The raw detail for diagnosis: the HTTP status and (truncated) body of an error
    /// response, or the transport error's whole cause chain (since 1.1; absent when
    /// there is nothing beyond `message`). Never shown in summaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
