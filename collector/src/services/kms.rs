//! KMS: keys (AWS-managed ones included), who manages each, the `default` key policy, tags.

use aws_sdk_kms::Client;
use headroom_schemas::Tags;
use headroom_schemas::inventory::kms::{Key, KmsInventory};

use crate::actions;
use crate::error::ApiError;
use crate::services::{for_each, tag_map};

/// Every key in the region.
pub async fn collect(client: &Client) -> Result<KmsInventory, ApiError> {
    let pages: Vec<_> = client
        .list_keys()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::KMS_LIST_KEYS, &e))?;
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.keys())
        .filter_map(|k| k.key_id().map(str::to_owned))
        .collect();
    let mut keys = for_each(ids, |id| async move {
        let gone = |code: Option<&str>| code == Some("NotFoundException");
        let described = match client.describe_key().key_id(&id).send().await {
            Ok(out) => out,
            Err(e) if gone(e.as_service_error().and_then(|s| s.meta().code())) => {
                return Ok(None);
            }
            Err(e) => return Err(ApiError::from_sdk(actions::KMS_DESCRIBE_KEY, &e)),
        };
        let Some(meta) = described.key_metadata() else {
            return Ok(None);
        };
        let key_manager = meta
            .key_manager()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let policy = match client
            .get_key_policy()
            .key_id(&id)
            .policy_name("default")
            .send()
            .await
        {
            Ok(out) => out.policy().map(str::to_owned),
            Err(e) if gone(e.as_service_error().and_then(|s| s.meta().code())) => None,
            Err(e) => return Err(ApiError::from_sdk(actions::KMS_GET_KEY_POLICY, &e)),
        };
        let tags = if key_manager == "CUSTOMER" {
            let pages: Result<Vec<_>, _> = client
                .list_resource_tags()
                .key_id(&id)
                .into_paginator()
                .send()
                .try_collect()
                .await;
            match pages {
                Ok(pages) => tag_map(
                    pages
                        .iter()
                        .flat_map(|p| p.tags())
                        .map(|t| (Some(t.tag_key()), Some(t.tag_value()))),
                ),
                Err(e) if gone(e.as_service_error().and_then(|s| s.meta().code())) => {
                    return Ok(None);
                }
                Err(e) => return Err(ApiError::from_sdk(actions::KMS_LIST_RESOURCE_TAGS, &e)),
            }
        } else {
            Tags::new()
        };
        Ok(Some(Key {
            key_id: meta.key_id().to_owned(),
            key_arn: meta.arn().unwrap_or_default().to_owned(),
            key_manager,
            policy,
            tags,
        }))
    })
    .await?;
    keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    Ok(KmsInventory { keys })
}
