//! ECR: repositories, their policies and tags.

use aws_sdk_ecr::Client;
use headroom_schemas::inventory::ecr::{EcrInventory, Repository};

use crate::actions;
use crate::error::ApiError;
use crate::services::{for_each, tag_map};

/// Every repository in the region.
pub async fn collect(client: &Client) -> Result<EcrInventory, ApiError> {
    let pages: Vec<_> = client
        .describe_repositories()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ECR_DESCRIBE_REPOSITORIES, &e))?;
    let listed: Vec<(String, String)> = pages
        .iter()
        .flat_map(|p| p.repositories())
        .map(|r| {
            (
                r.repository_name().unwrap_or_default().to_owned(),
                r.repository_arn().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut repositories = for_each(listed, |(name, arn)| async move {
        let policy_text = match client
            .get_repository_policy()
            .repository_name(&name)
            .send()
            .await
        {
            Ok(out) => out.policy_text().map(str::to_owned),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_policy_not_found_exception()) =>
            {
                None
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(ApiError::from_sdk(actions::ECR_GET_REPOSITORY_POLICY, &e)),
        };
        let tags = match client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
        {
            Ok(out) => tag_map(out.tags().iter().map(|t| (Some(t.key()), Some(t.value())))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(ApiError::from_sdk(actions::ECR_LIST_TAGS, &e)),
        };
        Ok(Some(Repository {
            repository_name: name,
            repository_arn: arn,
            policy_text,
            tags,
        }))
    })
    .await?;
    repositories.sort_by(|a, b| a.repository_name.cmp(&b.repository_name));
    Ok(EcrInventory { repositories })
}
