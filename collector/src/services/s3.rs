//! S3: the account's buckets, each bucket's policy and tags (read in the bucket's region).

use headroom_schemas::Tags;
use std::sync::Arc;

use headroom_schemas::inventory::s3::{Bucket, S3Inventory};

use crate::actions;
use crate::credentials::AccountClients;
use crate::error::ApiError;
use crate::services::{for_each, tag_map};

/// Buckets per `ListBuckets` page. Asking for a page size also makes S3 return each bucket's
/// region.
const PAGE_SIZE: i32 = 1000;

/// Every bucket the account owns.
pub async fn collect(clients: &Arc<dyn AccountClients>) -> Result<S3Inventory, ApiError> {
    let home = clients.home_region().to_owned();
    let client = clients.s3(&home);
    let pages: Vec<_> = client
        .list_buckets()
        .max_buckets(PAGE_SIZE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::S3_LIST_ALL_MY_BUCKETS, &e))?;
    let listed: Vec<(String, Option<String>)> = pages
        .iter()
        .flat_map(|p| p.buckets())
        .filter_map(|b| Some((b.name()?.to_owned(), b.bucket_region().map(str::to_owned))))
        .collect();
    let home = &home;
    let mut buckets = for_each(listed, |(name, bucket_region)| async move {
        let client = clients.s3(bucket_region.as_deref().unwrap_or(home));
        let policy = match client.get_bucket_policy().bucket(&name).send().await {
            Ok(out) => out.policy().map(str::to_owned),
            Err(e) => match e.as_service_error().and_then(|s| s.meta().code()) {
                Some("NoSuchBucketPolicy") => None,
                Some("NoSuchBucket") => return Ok(None),
                _ => return Err(ApiError::from_sdk(actions::S3_GET_BUCKET_POLICY, &e)),
            },
        };
        let tags = match client.get_bucket_tagging().bucket(&name).send().await {
            Ok(out) => tag_map(
                out.tag_set()
                    .iter()
                    .map(|t| (Some(t.key()), Some(t.value()))),
            ),
            Err(e) => match e.as_service_error().and_then(|s| s.meta().code()) {
                Some("NoSuchTagSet") => Tags::new(),
                Some("NoSuchBucket") => return Ok(None),
                _ => return Err(ApiError::from_sdk(actions::S3_GET_BUCKET_TAGGING, &e)),
            },
        };
        Ok(Some(Bucket {
            name,
            bucket_region,
            policy,
            tags,
        }))
    })
    .await?;
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(S3Inventory { buckets })
}
