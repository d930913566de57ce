//! Secrets Manager: secrets (metadata only, never values) and their resource policies.

use aws_sdk_secretsmanager::Client;
use headroom_schemas::inventory::secretsmanager::{Secret, SecretsManagerInventory};

use crate::actions;
use crate::error::ApiError;
use crate::services::{for_each, tag_map};

/// Every secret in the region with its resource policy.
pub async fn collect(client: &Client) -> Result<SecretsManagerInventory, ApiError> {
    let pages: Vec<_> = client
        .list_secrets()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::SECRETS_LIST_SECRETS, &e))?;
    let listed: Vec<Secret> = pages
        .iter()
        .flat_map(|p| p.secret_list())
        .map(|s| Secret {
            name: s.name().unwrap_or_default().to_owned(),
            arn: s.arn().unwrap_or_default().to_owned(),
            resource_policy: None,
            tags: tag_map(s.tags().iter().map(|t| (t.key(), t.value()))),
        })
        .collect();
    let mut secrets = for_each(listed, |mut secret| async move {
        match client
            .get_resource_policy()
            .secret_id(&secret.arn)
            .send()
            .await
        {
            Ok(out) => {
                secret.resource_policy = out.resource_policy().map(str::to_owned);
                Ok(Some(secret))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ApiError::from_sdk(actions::SECRETS_GET_RESOURCE_POLICY, &e)),
        }
    })
    .await?;
    secrets.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(SecretsManagerInventory { secrets })
}
