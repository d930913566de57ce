//! RDS: DB instances and DB clusters with their encryption.

use aws_sdk_rds::Client;
use headroom_schemas::inventory::rds::{DbCluster, DbInstance, RdsInventory};

use crate::actions;
use crate::error::ApiError;

/// Every DB instance and cluster in the region.
pub async fn collect(client: &Client) -> Result<RdsInventory, ApiError> {
    let pages: Vec<_> = client
        .describe_db_instances()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::RDS_DESCRIBE_DB_INSTANCES, &e))?;
    let mut db_instances: Vec<DbInstance> = pages
        .iter()
        .flat_map(|p| p.db_instances())
        .map(|d| DbInstance {
            db_instance_identifier: d.db_instance_identifier().unwrap_or_default().to_owned(),
            db_instance_arn: d.db_instance_arn().unwrap_or_default().to_owned(),
            engine: d.engine().map(str::to_owned),
            storage_encrypted: d.storage_encrypted(),
            db_cluster_identifier: d.db_cluster_identifier().map(str::to_owned),
        })
        .collect();
    db_instances.sort_by(|a, b| a.db_instance_identifier.cmp(&b.db_instance_identifier));

    let pages: Vec<_> = client
        .describe_db_clusters()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::RDS_DESCRIBE_DB_CLUSTERS, &e))?;
    let mut db_clusters: Vec<DbCluster> = pages
        .iter()
        .flat_map(|p| p.db_clusters())
        .map(|d| DbCluster {
            db_cluster_identifier: d.db_cluster_identifier().unwrap_or_default().to_owned(),
            db_cluster_arn: d.db_cluster_arn().unwrap_or_default().to_owned(),
            engine: d.engine().map(str::to_owned),
            storage_encrypted: d.storage_encrypted(),
        })
        .collect();
    db_clusters.sort_by(|a, b| a.db_cluster_identifier.cmp(&b.db_cluster_identifier));
    Ok(RdsInventory {
        db_instances,
        db_clusters,
    })
}
