//! SQS: queues, their `Policy` and `QueueArn` attributes, and tags.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use headroom_schemas::inventory::sqs::{Queue, SqsInventory};

use crate::actions;
use crate::error::ApiError;
use crate::services::{for_each, tag_map};

fn is_gone(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist")
    )
}

/// Every queue in the region.
pub async fn collect(client: &Client) -> Result<SqsInventory, ApiError> {
    let pages: Vec<_> = client
        .list_queues()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::SQS_LIST_QUEUES, &e))?;
    let urls: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.queue_urls.unwrap_or_default())
        .collect();
    let mut queues = for_each(urls, |url| async move {
        let attrs = match client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::Policy)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
        {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) if is_gone(e.as_service_error().and_then(|s| s.meta().code())) => {
                return Ok(None);
            }
            Err(e) => return Err(ApiError::from_sdk(actions::SQS_GET_QUEUE_ATTRIBUTES, &e)),
        };
        let tags = match client.list_queue_tags().queue_url(&url).send().await {
            Ok(out) => tag_map(
                out.tags()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
            ),
            Err(e) if is_gone(e.as_service_error().and_then(|s| s.meta().code())) => {
                return Ok(None);
            }
            Err(e) => return Err(ApiError::from_sdk(actions::SQS_LIST_QUEUE_TAGS, &e)),
        };
        Ok(Some(Queue {
            queue_arn: attrs
                .get(&QueueAttributeName::QueueArn)
                .cloned()
                .unwrap_or_default(),
            policy: attrs.get(&QueueAttributeName::Policy).cloned(),
            queue_url: url,
            tags,
        }))
    })
    .await?;
    queues.sort_by(|a, b| a.queue_url.cmp(&b.queue_url));
    Ok(SqsInventory { queues })
}
