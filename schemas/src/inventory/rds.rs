//! RDS instances and clusters (`rds:DescribeDBInstances`, `rds:DescribeDBClusters`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The RDS inventory of one region (DocumentDB and Neptune included, as the APIs return them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RdsInventory {
    /// Every DB instance, sorted by identifier.
    pub db_instances: Vec<DbInstance>,
    /// Every DB cluster, sorted by identifier.
    pub db_clusters: Vec<DbCluster>,
}

/// One DB instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DbInstance {
    /// `DBInstanceIdentifier`.
    pub db_instance_identifier: String,
    /// `DBInstanceArn`.
    pub db_instance_arn: String,
    /// The engine (`postgres`, `aurora-postgresql`).
    pub engine: Option<String>,
    /// Whether storage is encrypted; absent when AWS sent nothing.
    pub storage_encrypted: Option<bool>,
    /// The cluster the instance belongs to (Aurora members).
    pub db_cluster_identifier: Option<String>,
}

/// One DB cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DbCluster {
    /// `DBClusterIdentifier`.
    pub db_cluster_identifier: String,
    /// `DBClusterArn`.
    pub db_cluster_arn: String,
    /// The engine.
    pub engine: Option<String>,
    /// Whether storage is encrypted; absent when AWS sent nothing.
    pub storage_encrypted: Option<bool>,
}
