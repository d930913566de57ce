//! Where AWS offers each regional service, so that a service missing from a region is recorded
//! `not_offered` (a known absence) instead of a failed call (a gap).
//!
//! Read once per run from AWS's public SSM parameters
//! `/aws/service/global-infrastructure/services/<service>/regions` (one paginated
//! `ssm:GetParametersByPath` per service, by the identity that runs `collect`, in its home
//! region), stored in `meta.service_availability`. When SSM cannot be read, `collect` warns and
//! uses the table built into it (`service_regions.txt`, taken from the same parameters).
//!
//! A region that the lists name for no service at all is unknown to them (a region newer than
//! the table): every service is called there, so a stale table can cost a gap but never hides
//! an inventory.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};
use headroom_schemas::inventory::REGIONAL_SERVICES;
use headroom_schemas::{AvailabilitySource, ServiceAvailability};

use crate::actions;
use crate::error::ApiError;

/// The SSM service code of each regional inventory key.
pub const SSM_SERVICE_CODES: [(&str, &str); 9] = [
    ("ec2", "ec2"),
    ("eks", "eks"),
    ("lambda", "lambda"),
    ("rds", "rds"),
    ("ecr", "ecr"),
    ("kms", "kms"),
    ("secretsmanager", "secretsmanager"),
    ("sqs", "sqs"),
    ("aoss", "opensearchserverless"),
];

/// The SSM parameter path listing the regions of service `code`.
pub fn ssm_path(code: &str) -> String {
    format!("/aws/service/global-infrastructure/services/{code}/regions")
}

const BUILTIN: &str = include_str!("service_regions.txt");

/// The table built into `collect`.
pub fn builtin() -> ServiceAvailability {
    let mut services = BTreeMap::new();
    for line in BUILTIN.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        if let Some(service) = words.next() {
            services.insert(
                service.to_owned(),
                words.map(str::to_owned).collect::<BTreeSet<_>>(),
            );
        }
    }
    ServiceAvailability {
        source: AvailabilitySource::Builtin,
        services,
    }
}

/// Reads every service's region list from SSM; fails on the first failed call.
pub async fn from_ssm(client: &aws_sdk_ssm::Client) -> Result<ServiceAvailability, ApiError> {
    let lists: Vec<(String, BTreeSet<String>)> = stream::iter(SSM_SERVICE_CODES)
        .map(|(service, code)| async move {
            Ok::<_, ApiError>((service.to_owned(), service_regions(client, code).await?))
        })
        .buffer_unordered(SSM_SERVICE_CODES.len())
        .try_collect()
        .await?;
    Ok(ServiceAvailability {
        source: AvailabilitySource::Ssm,
        services: lists.into_iter().collect(),
    })
}

async fn service_regions(
    client: &aws_sdk_ssm::Client,
    code: &str,
) -> Result<BTreeSet<String>, ApiError> {
    let path = ssm_path(code);
    let pages: Vec<_> = client
        .get_parameters_by_path()
        .path(&path)
        .recursive(false)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::SSM_GET_PARAMETERS_BY_PATH, &e))?;
    let regions: BTreeSet<String> = pages
        .iter()
        .flat_map(|p| p.parameters())
        .filter_map(|p| {
            // `.../regions/us-east-1`, whose value is the region name.
            p.value()
                .or_else(|| p.name().and_then(|n| n.rsplit('/').next()))
                .map(str::to_owned)
        })
        .filter(|r| !r.is_empty())
        .collect();
    if regions.is_empty() {
        return Err(ApiError::other(
            actions::SSM_GET_PARAMETERS_BY_PATH,
            format!("`{path}` lists no region"),
        ));
    }
    Ok(regions)
}

/// Availability as `collect` consults it.
#[derive(Debug, Clone)]
pub struct Availability {
    data: ServiceAvailability,
    known_regions: BTreeSet<String>,
}

impl Availability {
    /// Wraps the lists.
    pub fn new(data: ServiceAvailability) -> Self {
        let known_regions = data.services.values().flatten().cloned().collect();
        Self {
            data,
            known_regions,
        }
    }

    /// Whether to call `service` in `region`: offered there, or the region is unknown to the
    /// lists, or the lists do not cover the service.
    pub fn offered(&self, service: &str, region: &str) -> bool {
        if !self.known_regions.contains(region) {
            return true;
        }
        self.data
            .services
            .get(service)
            .is_none_or(|regions| regions.contains(region))
    }

    /// The lists, for `meta.service_availability`.
    pub fn data(&self) -> &ServiceAvailability {
        &self.data
    }
}

/// Every regional inventory key has an SSM code (a test keeps the two lists together).
pub fn covers_every_service() -> bool {
    REGIONAL_SERVICES
        .iter()
        .all(|s| SSM_SERVICE_CODES.iter().any(|(k, _)| k == s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_covers_every_regional_service() {
        assert!(covers_every_service());
        let table = builtin();
        for service in REGIONAL_SERVICES {
            let regions = &table.services[service];
            assert!(regions.contains("us-east-1"), "{service}");
        }
    }

    #[test]
    fn unknown_regions_are_assumed_offered() {
        let a = Availability::new(builtin());
        assert!(!a.offered("aoss", "af-south-1"));
        assert!(a.offered("ec2", "af-south-1"));
        assert!(a.offered("aoss", "us-east-1"));
        assert!(a.offered("aoss", "xx-newregion-9"));
        assert!(a.offered("not-a-service", "af-south-1"));
    }
}
