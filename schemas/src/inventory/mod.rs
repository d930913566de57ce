//! Raw per-account inventories: what `collect` read in each account, globally and per region.
//!
//! Field names are the AWS API field names in `snake_case`, as aws-sdk-rust spells them.
//! Policy documents are kept as the raw JSON text AWS returned (URL-decoded where AWS encodes
//! them). Lists whose order means nothing are sorted by the resource's ID or name; tags are maps.

pub mod aoss;
pub mod ec2;
pub mod ecr;
pub mod eks;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod rds;
pub mod s3;
pub mod secretsmanager;
pub mod sqs;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::status::{Collected, CollectionError};

/// What `collect` knows about one account of the organization.
///
/// Every account of `organization.accounts` has exactly one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum AccountInventory {
    /// The account reader role was assumed; each service records its own status.
    Collected {
        /// The role `collect` assumed in the account.
        role_arn: String,
        /// Services with one endpoint per account (IAM, S3).
        global: GlobalInventory,
        /// Regional services, by region name; one entry per region collected.
        regions: BTreeMap<String, RegionalInventory>,
        /// Opt-in regions that were to be collected but that the account has not enabled
        /// (`DescribeRegions` reports `not-opted-in`), sorted. Nothing runs there, so nothing
        /// is collected and nothing is missing (since 1.1; absent when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        regions_not_enabled: Vec<String>,
    },
    /// The account could not be entered (the role could not be assumed, or its regions could
    /// not be listed); nothing is known of its resources.
    Failed {
        /// What failed.
        error: CollectionError,
    },
    /// The account was deliberately not collected.
    NotCollected {
        /// Why.
        reason: NotCollectedReason,
    },
}

/// The derived representation, used only when `status` is not the first field.
#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum BufferedAccountInventory {
    Collected {
        role_arn: String,
        global: GlobalInventory,
        #[serde(deserialize_with = "crate::unique::map")]
        regions: BTreeMap<String, RegionalInventory>,
        #[serde(default)]
        regions_not_enabled: Vec<String>,
    },
    Failed {
        error: CollectionError,
    },
    NotCollected {
        reason: NotCollectedReason,
    },
}

impl From<BufferedAccountInventory> for AccountInventory {
    fn from(b: BufferedAccountInventory) -> Self {
        match b {
            BufferedAccountInventory::Collected {
                role_arn,
                global,
                regions,
                regions_not_enabled,
            } => AccountInventory::Collected {
                role_arn,
                global,
                regions,
                regions_not_enabled,
            },
            BufferedAccountInventory::Failed { error } => AccountInventory::Failed { error },
            BufferedAccountInventory::NotCollected { reason } => {
                AccountInventory::NotCollected { reason }
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AccountTag {
    Collected,
    Failed,
    NotCollected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectedFields {
    role_arn: String,
    global: GlobalInventory,
    #[serde(deserialize_with = "crate::unique::map")]
    regions: BTreeMap<String, RegionalInventory>,
    #[serde(default)]
    regions_not_enabled: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailedFields {
    error: CollectionError,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotCollectedFields {
    reason: NotCollectedReason,
}

impl<'de> crate::tagged::TagFirst<'de> for AccountInventory {
    const TAG: &'static str = "status";
    const EXPECTING: &'static str =
        "an account inventory with `status` `collected`, `failed` or `not_collected`";
    type Tag = AccountTag;
    type Buffered = BufferedAccountInventory;

    fn variant<D: serde::Deserializer<'de>>(tag: AccountTag, rest: D) -> Result<Self, D::Error> {
        Ok(match tag {
            AccountTag::Collected => {
                let f = CollectedFields::deserialize(rest)?;
                AccountInventory::Collected {
                    role_arn: f.role_arn,
                    global: f.global,
                    regions: f.regions,
                    regions_not_enabled: f.regions_not_enabled,
                }
            }
            AccountTag::Failed => AccountInventory::Failed {
                error: FailedFields::deserialize(rest)?.error,
            },
            AccountTag::NotCollected => AccountInventory::NotCollected {
                reason: NotCollectedFields::deserialize(rest)?.reason,
            },
        })
    }
}

impl<'de> Deserialize<'de> for AccountInventory {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::tagged::deserialize(deserializer)
    }
}

/// Why an account was deliberately not collected.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NotCollectedReason {
    /// The management account: SCPs and RCPs never apply to it.
    ManagementAccount,
    /// Named in `skip_account_ids`.
    Skipped,
    /// Not `ACTIVE` (suspended, closed, pending).
    Inactive,
}

/// Services with one endpoint per account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalInventory {
    /// IAM users, roles and SAML providers.
    pub iam: Collected<iam::IamInventory>,
    /// S3 buckets and their policies.
    pub s3: Collected<s3::S3Inventory>,
}

/// The regional services of one account in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionalInventory {
    /// EC2 instances and the images they were launched from.
    pub ec2: Collected<ec2::Ec2Inventory>,
    /// EKS clusters.
    pub eks: Collected<eks::EksInventory>,
    /// Lambda functions and their function URLs.
    pub lambda: Collected<lambda::LambdaInventory>,
    /// RDS instances and clusters.
    pub rds: Collected<rds::RdsInventory>,
    /// ECR repositories and their policies.
    pub ecr: Collected<ecr::EcrInventory>,
    /// KMS keys and their policies.
    pub kms: Collected<kms::KmsInventory>,
    /// Secrets Manager secrets and their resource policies (never secret values).
    pub secretsmanager: Collected<secretsmanager::SecretsManagerInventory>,
    /// SQS queues and their policies.
    pub sqs: Collected<sqs::SqsInventory>,
    /// OpenSearch Serverless data access policies.
    pub aoss: Collected<aoss::AossInventory>,
}

/// The service keys of [`GlobalInventory`] and [`RegionalInventory`], as they appear in JSON.
pub const GLOBAL_SERVICES: [&str; 2] = ["iam", "s3"];
/// See [`GLOBAL_SERVICES`].
pub const REGIONAL_SERVICES: [&str; 9] = [
    "ec2",
    "eks",
    "lambda",
    "rds",
    "ecr",
    "kms",
    "secretsmanager",
    "sqs",
    "aoss",
];

/// A collection gap: one (region, service) that failed, or the whole account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Gap<'a> {
    /// The region, or `None` for the account or a global service.
    pub region: Option<&'a str>,
    /// The service key, or `None` when the whole account failed.
    pub service: Option<&'static str>,
    /// The error.
    pub error: &'a CollectionError,
}

/// A service AWS does not offer in a region of a collected account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NotOffered<'a> {
    /// The region.
    pub region: &'a str,
    /// The service key.
    pub service: &'static str,
}

impl GlobalInventory {
    /// The status of each global service, in [`GLOBAL_SERVICES`] order.
    pub fn statuses(&self) -> [(&'static str, Option<&CollectionError>); 2] {
        [("iam", self.iam.error()), ("s3", self.s3.error())]
    }
}

impl RegionalInventory {
    /// The status of each regional service, in [`REGIONAL_SERVICES`] order.
    pub fn statuses(&self) -> [(&'static str, Option<&CollectionError>); 9] {
        [
            ("ec2", self.ec2.error()),
            ("eks", self.eks.error()),
            ("lambda", self.lambda.error()),
            ("rds", self.rds.error()),
            ("ecr", self.ecr.error()),
            ("kms", self.kms.error()),
            ("secretsmanager", self.secretsmanager.error()),
            ("sqs", self.sqs.error()),
            ("aoss", self.aoss.error()),
        ]
    }
}

impl RegionalInventory {
    /// The keys of the services AWS does not offer in this region, in [`REGIONAL_SERVICES`]
    /// order.
    pub fn not_offered(&self) -> Vec<&'static str> {
        [
            ("ec2", self.ec2.is_not_offered()),
            ("eks", self.eks.is_not_offered()),
            ("lambda", self.lambda.is_not_offered()),
            ("rds", self.rds.is_not_offered()),
            ("ecr", self.ecr.is_not_offered()),
            ("kms", self.kms.is_not_offered()),
            ("secretsmanager", self.secretsmanager.is_not_offered()),
            ("sqs", self.sqs.is_not_offered()),
            ("aoss", self.aoss.is_not_offered()),
        ]
        .into_iter()
        .filter_map(|(service, absent)| absent.then_some(service))
        .collect()
    }
}

impl AccountInventory {
    /// Every (region, service) AWS does not offer, in region order. Empty for accounts that
    /// were not collected.
    pub fn not_offered(&self) -> Vec<NotOffered<'_>> {
        match self {
            AccountInventory::Collected { regions, .. } => regions
                .iter()
                .flat_map(|(region, inventory)| {
                    inventory
                        .not_offered()
                        .into_iter()
                        .map(move |service| NotOffered { region, service })
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Opt-in regions the account has not enabled (skipped). Empty for accounts that were not
    /// collected.
    pub fn regions_not_enabled(&self) -> &[String] {
        match self {
            AccountInventory::Collected {
                regions_not_enabled,
                ..
            } => regions_not_enabled,
            _ => &[],
        }
    }

    /// Every failed (region, service) of this account, or the account itself when it could
    /// not be entered. Empty for complete and deliberately uncollected accounts.
    pub fn gaps(&self) -> Vec<Gap<'_>> {
        match self {
            AccountInventory::Failed { error } => vec![Gap {
                region: None,
                service: None,
                error,
            }],
            AccountInventory::NotCollected { .. } => Vec::new(),
            AccountInventory::Collected {
                global, regions, ..
            } => {
                let mut gaps = Vec::new();
                for (service, error) in global.statuses() {
                    if let Some(error) = error {
                        gaps.push(Gap {
                            region: None,
                            service: Some(service),
                            error,
                        });
                    }
                }
                for (region, inventory) in regions {
                    for (service, error) in inventory.statuses() {
                        if let Some(error) = error {
                            gaps.push(Gap {
                                region: Some(region),
                                service: Some(service),
                                error,
                            });
                        }
                    }
                }
                gaps
            }
        }
    }
}
