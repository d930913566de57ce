//! EKS: clusters and their tags.

use aws_sdk_eks::Client;
use headroom_schemas::inventory::eks::{Cluster, EksInventory};

use crate::actions;
use crate::error::ApiError;
use crate::services::{for_each, tag_map};

/// Every cluster in the region.
pub async fn collect(client: &Client) -> Result<EksInventory, ApiError> {
    let pages: Vec<_> = client
        .list_clusters()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::EKS_LIST_CLUSTERS, &e))?;
    let names: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.clusters.unwrap_or_default())
        .collect();
    let mut clusters = for_each(names, |name| async move {
        match client.describe_cluster().name(&name).send().await {
            Ok(out) => Ok(out.cluster().map(|c| Cluster {
                name: c.name().unwrap_or(&name).to_owned(),
                arn: c.arn().unwrap_or_default().to_owned(),
                tags: tag_map(
                    c.tags()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
                ),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ApiError::from_sdk(actions::EKS_DESCRIBE_CLUSTER, &e)),
        }
    })
    .await?;
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(EksInventory { clusters })
}
