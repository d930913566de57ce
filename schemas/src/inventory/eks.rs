//! EKS clusters (`eks:ListClusters`, `eks:DescribeCluster`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The EKS inventory of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EksInventory {
    /// Every cluster, sorted by name.
    pub clusters: Vec<Cluster>,
}

/// One EKS cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The cluster name.
    pub name: String,
    /// The cluster ARN.
    pub arn: String,
    /// The cluster's tags.
    pub tags: crate::Tags,
}
