//! EC2 instances (`ec2:DescribeInstances`) and their images (`ec2:DescribeImages`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The EC2 inventory of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ec2Inventory {
    /// Every instance in every state (terminated ones included), sorted by instance ID.
    pub instances: Vec<Instance>,
    /// The outcome of looking up each distinct image ID the instances use, by image ID.
    #[serde(deserialize_with = "crate::unique::map")]
    pub images: BTreeMap<String, ImageLookup>,
}

/// One EC2 instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// `i-...`.
    pub instance_id: String,
    /// The image the instance was launched from; AWS omits it in rare cases.
    pub image_id: Option<String>,
    /// `State.Name`: `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`.
    pub state: String,
    /// The public IPv4 address, if any.
    pub public_ip_address: Option<String>,
    /// The instance metadata options; absent when AWS sent none.
    pub metadata_options: Option<InstanceMetadataOptions>,
    /// The instance's tags.
    pub tags: crate::Tags,
}

/// `MetadataOptions` of an instance, each field as AWS sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceMetadataOptions {
    /// `optional` (IMDSv1 allowed) or `required` (IMDSv2 only).
    pub http_tokens: Option<String>,
    /// `enabled` or `disabled`.
    pub http_endpoint: Option<String>,
    /// The PUT response hop limit (1 to 64).
    pub http_put_response_hop_limit: Option<i32>,
}

/// What `ec2:DescribeImages` (with disabled and deprecated images included) said of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "result", rename_all = "snake_case", deny_unknown_fields)]
pub enum ImageLookup {
    /// The image was found.
    Found {
        /// The account that owns the image; AWS omits it only in error.
        owner_id: Option<String>,
        /// `amazon` or `aws-marketplace` for images owned by AWS or sold through Marketplace.
        image_owner_alias: Option<String>,
        /// The image name.
        name: Option<String>,
        /// `available`, `disabled`, `deprecated` and so on.
        state: Option<String>,
    },
    /// `DescribeImages` returned no image: the image is private to another account or shared
    /// no longer.
    NotVisible,
    /// `InvalidAMIID.NotFound` or `InvalidAMIID.Unavailable`: the image was deregistered.
    Deregistered,
}
