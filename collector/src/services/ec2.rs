//! EC2: regions, instances and the images they were launched from.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::Client;
use headroom_schemas::inventory::ec2::{
    Ec2Inventory, ImageLookup, Instance, InstanceMetadataOptions,
};

use crate::actions;
use crate::error::ApiError;
use crate::services::tag_map;

/// Image IDs per `DescribeImages` call.
const IMAGE_BATCH: usize = 100;

/// The account's regions by opt-in status (`DescribeRegions` with `AllRegions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionStatus {
    /// Regions the account can use: `opt-in-not-required`, `opted-in`, or a status this build
    /// does not know (collected rather than skipped on a guess).
    pub enabled: BTreeSet<String>,
    /// Opt-in regions the account has not enabled (`not-opted-in`): nothing runs there.
    pub not_enabled: BTreeSet<String>,
}

/// Every region of the account's partition with its opt-in status.
pub async fn region_status(client: &Client) -> Result<RegionStatus, ApiError> {
    let out = client
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(actions::EC2_DESCRIBE_REGIONS, &e))?;
    let mut status = RegionStatus::default();
    for region in out.regions() {
        let Some(name) = region.region_name() else {
            continue;
        };
        if region.opt_in_status() == Some("not-opted-in") {
            status.not_enabled.insert(name.to_owned());
        } else {
            status.enabled.insert(name.to_owned());
        }
    }
    Ok(status)
}

/// Every instance in the region and a lookup of each image they use.
pub async fn collect(client: &Client) -> Result<Ec2Inventory, ApiError> {
    let pages: Vec<_> = client
        .describe_instances()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::EC2_DESCRIBE_INSTANCES, &e))?;
    let mut instances: Vec<Instance> = pages
        .iter()
        .flat_map(|p| p.reservations())
        .flat_map(|r| r.instances())
        .map(|i| Instance {
            instance_id: i.instance_id().unwrap_or_default().to_owned(),
            image_id: i.image_id().map(str::to_owned),
            state: i
                .state()
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
            public_ip_address: i.public_ip_address().map(str::to_owned),
            metadata_options: i.metadata_options().map(|m| InstanceMetadataOptions {
                http_tokens: m.http_tokens().map(|t| t.as_str().to_owned()),
                http_endpoint: m.http_endpoint().map(|t| t.as_str().to_owned()),
                http_put_response_hop_limit: m.http_put_response_hop_limit(),
            }),
            tags: tag_map(i.tags().iter().map(|t| (t.key(), t.value()))),
        })
        .collect();
    instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    instances.dedup_by(|a, b| a.instance_id == b.instance_id);

    let image_ids: BTreeSet<String> = instances
        .iter()
        .filter_map(|i| i.image_id.clone())
        .collect();
    let images = lookup_images(client, image_ids.into_iter().collect()).await?;
    Ok(Ec2Inventory { instances, images })
}

fn is_gone(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable")
    )
}

/// Looks up images in batches; a batch naming a deregistered image fails as a whole, so it
/// is retried one image at a time.
async fn lookup_images(
    client: &Client,
    image_ids: Vec<String>,
) -> Result<BTreeMap<String, ImageLookup>, ApiError> {
    let mut out = BTreeMap::new();
    for batch in image_ids.chunks(IMAGE_BATCH) {
        match describe_images(client, batch).await {
            Ok(found) => {
                for id in batch {
                    let lookup = found.get(id).cloned().unwrap_or(ImageLookup::NotVisible);
                    out.insert(id.clone(), lookup);
                }
            }
            Err(e) if is_gone(e.code.as_deref()) => {
                for id in batch {
                    let lookup = match describe_images(client, std::slice::from_ref(id)).await {
                        Ok(found) => found.get(id).cloned().unwrap_or(ImageLookup::NotVisible),
                        Err(e) if is_gone(e.code.as_deref()) => ImageLookup::Deregistered,
                        Err(e) => return Err(e),
                    };
                    out.insert(id.clone(), lookup);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

async fn describe_images(
    client: &Client,
    ids: &[String],
) -> Result<BTreeMap<String, ImageLookup>, ApiError> {
    let mut found = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .describe_images()
            .set_image_ids(Some(ids.to_vec()))
            .include_deprecated(true)
            .include_disabled(true)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| ApiError::from_sdk(actions::EC2_DESCRIBE_IMAGES, &e))?;
        for image in out.images() {
            let Some(id) = image.image_id() else { continue };
            found.insert(
                id.to_owned(),
                ImageLookup::Found {
                    owner_id: image.owner_id().map(str::to_owned),
                    image_owner_alias: image.image_owner_alias().map(str::to_owned),
                    name: image.name().map(str::to_owned),
                    state: image.state().map(|s| s.as_str().to_owned()),
                },
            );
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(found)
}
