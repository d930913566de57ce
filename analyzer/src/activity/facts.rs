//! What the snapshot's inventories tell about the resources and principals of events: the
//! owner of an image (`ec2:Owner`), the tags of a role (`aws:PrincipalTag/...` of its
//! sessions) and the tags of a resource (`aws:ResourceTag/...`).
//!
//! Only what was collected is known. A resource missing from the inventory (deleted since, or
//! its service not collected) has unknown tags, never "no tags": the evaluation then cannot
//! decide a condition on them. Built account by account ([`Facts::add_account`]), so that the
//! streaming analysis can keep these few facts and drop each inventory.

use std::collections::BTreeMap;

use headroom_schemas::inventory::AccountInventory;
use headroom_schemas::inventory::ec2::ImageLookup;
use headroom_schemas::{AccountId, Snapshot, Tags};

/// The owner of an image, as the inventory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageOwner {
    /// Found: its owner account and, for AWS's and Marketplace's images, the alias.
    Found {
        /// The owner account.
        owner_id: Option<String>,
        /// `amazon` or `aws-marketplace`.
        alias: Option<String>,
    },
    /// Not visible to the account, or deregistered: the owner is unknown.
    Unknown(&'static str),
}

/// Facts from the inventories, by key.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    images: BTreeMap<(AccountId, String, String), ImageOwner>,
    tags: BTreeMap<String, Tags>,
}

impl Facts {
    /// The facts of every account of a snapshot.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mut facts = Facts::default();
        for (id, inventory) in &snapshot.accounts {
            facts.add_account(&snapshot.meta.partition, id, inventory);
        }
        facts
    }

    /// Adds what one account's inventory tells.
    pub fn add_account(&mut self, partition: &str, id: &AccountId, inventory: &AccountInventory) {
        let AccountInventory::Collected {
            global, regions, ..
        } = inventory
        else {
            return;
        };
        if let Some(iam) = global.iam.data() {
            for role in &iam.roles {
                self.tags.insert(role.arn.clone(), role.tags.clone());
            }
        }
        if let Some(s3) = global.s3.data() {
            for bucket in &s3.buckets {
                self.tags.insert(
                    format!("arn:{partition}:s3:::{}", bucket.name),
                    bucket.tags.clone(),
                );
            }
        }
        for (region, inventory) in regions {
            if let Some(ec2) = inventory.ec2.data() {
                for (image, lookup) in &ec2.images {
                    let owner = match lookup {
                        ImageLookup::Found {
                            owner_id,
                            image_owner_alias,
                            ..
                        } => ImageOwner::Found {
                            owner_id: owner_id.clone(),
                            alias: image_owner_alias.clone(),
                        },
                        ImageLookup::NotVisible => ImageOwner::Unknown(
                            "the image is not visible to the account (private to another account, or no longer shared)",
                        ),
                        ImageLookup::Deregistered => {
                            ImageOwner::Unknown("the image was deregistered")
                        }
                    };
                    self.images
                        .insert((id.clone(), region.clone(), image.clone()), owner);
                }
            }
            if let Some(kms) = inventory.kms.data() {
                for key in &kms.keys {
                    self.tags.insert(key.key_arn.clone(), key.tags.clone());
                }
            }
            if let Some(secrets) = inventory.secretsmanager.data() {
                for secret in &secrets.secrets {
                    self.tags.insert(secret.arn.clone(), secret.tags.clone());
                    self.tags.insert(
                        format!("secret-name:{region}:{id}:{}", secret.name),
                        secret.tags.clone(),
                    );
                }
            }
            if let Some(sqs) = inventory.sqs.data() {
                for queue in &sqs.queues {
                    self.tags
                        .insert(queue.queue_arn.clone(), queue.tags.clone());
                    self.tags
                        .insert(queue.queue_url.clone(), queue.tags.clone());
                }
            }
            if let Some(ecr) = inventory.ecr.data() {
                for repository in &ecr.repositories {
                    self.tags
                        .insert(repository.repository_arn.clone(), repository.tags.clone());
                }
            }
        }
    }

    /// Adds the facts of other accounts (each key names its account, so none is replaced).
    pub fn merge(&mut self, other: Facts) {
        self.images.extend(other.images);
        self.tags.extend(other.tags);
    }

    /// The owner of `image` as `account` saw it in `region`; `None` when the inventory did
    /// not look it up (no instance of the account used it when `collect` ran).
    pub fn image_owner(
        &self,
        account: &AccountId,
        region: &str,
        image: &str,
    ) -> Option<&ImageOwner> {
        self.images
            .get(&(account.clone(), region.to_owned(), image.to_owned()))
    }

    /// The tags of the resource or role with this ARN (or the alternate names indexed: an
    /// SQS queue URL, `secret-name:<region>:<account>:<name>`); `None` when not collected.
    pub fn tags(&self, key: &str) -> Option<&Tags> {
        self.tags.get(key)
    }
}
