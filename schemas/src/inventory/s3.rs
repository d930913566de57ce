//! S3 buckets and their policies (`s3:ListAllMyBuckets`, `GetBucketPolicy`, `GetBucketTagging`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The S3 inventory of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Inventory {
    /// Every bucket the account owns, sorted by name.
    pub buckets: Vec<Bucket>,
}

/// One bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// The bucket name.
    pub name: String,
    /// The bucket's region.
    pub bucket_region: Option<String>,
    /// The bucket policy as raw JSON text; absent when the bucket has none
    /// (`NoSuchBucketPolicy`).
    pub policy: Option<String>,
    /// The bucket's tags (empty when it has none).
    pub tags: crate::Tags,
}
