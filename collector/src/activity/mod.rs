//! `collect --activity-days N`: the organization's CloudTrail activity of the last `N` days,
//! reduced to the events the checks could deny (the snapshot's `activity` section).
//!
//! Two sources, chosen by `activity.source`:
//! - [`s3`] (default): the organization trail's log files, listed by day prefix for the
//!   window only and read in one streaming, parallel pass through the shared request budget;
//! - [`athena`]: one query over an Athena table of the same trail, generated from the same
//!   catalog, for organizations too large to read on one machine.
//!
//! Both keep events through `headroom_schemas::activity::cloudtrail`, so they keep the same
//! events. Every part of the window records whether it was read completely; a failure (the
//! reader role cannot be assumed, a listing or an object is refused, a file is corrupt, the
//! query fails) is recorded as a gap, never as "no activity".

pub mod athena;
pub mod s3;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use aws_config::{Region, SdkConfig};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use headroom_schemas::activity::cloudtrail::{Filter, sort_events};
use headroom_schemas::activity::config::{ActivityConfig, AthenaConfig, Layout, SourceKind};
use headroom_schemas::activity::{AccountReads, Activity, Event, Read, Source, Window};
use headroom_schemas::status::CollectionError;
use headroom_schemas::{AccountId, Organization};

use crate::credentials::{AssumeOptions, with_role};
use crate::error::ApiError;
use crate::progress::Progress;

/// The session name of the activity reader role.
pub const SESSION_NAME: &str = "HeadroomActivityReader";

/// What to read.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The days of the window, oldest first (`YYYY-MM-DD`).
    pub days: Vec<String>,
    /// `activity` from the configuration.
    pub config: ActivityConfig,
    /// Log files read at once (downloads and parses in flight).
    pub objects_in_flight: usize,
}

/// Where and how to reach AWS.
#[derive(Debug, Clone)]
pub struct Access<'a> {
    /// The session roles are assumed from (the security analysis session).
    pub session: &'a SdkConfig,
    /// Address buckets path-style (custom endpoints such as emulators).
    pub path_style: bool,
    /// Counts calls and retries for progress.
    pub interceptor: Option<&'a SharedInterceptor>,
}

/// Reads the activity of the organization's accounts (every account but the management
/// account and `skip`).
pub async fn collect(
    access: &Access<'_>,
    plan: &Plan,
    organization: &Organization,
    skip: &BTreeSet<AccountId>,
    progress: &Progress,
) -> Activity {
    let window = Window {
        first_day: plan.days.first().cloned().unwrap_or_default(),
        last_day: plan.days.last().cloned().unwrap_or_default(),
    };
    let accounts: Vec<AccountId> = organization
        .accounts
        .keys()
        .filter(|id| **id != organization.management_account_id && !skip.contains(*id))
        .cloned()
        .collect();
    let filter = Filter::new(organization.accounts.keys().map(ToString::to_string));
    let selectors = filter.actions();
    let config = &plan.config;
    progress.status(&format!(
        "reading activity of {} account(s) for {} day(s) ({} to {}) from {}",
        accounts.len(),
        plan.days.len(),
        window.first_day,
        window.last_day,
        match config.source {
            SourceKind::S3 => format!("s3://{}", config.bucket.as_deref().unwrap_or_default()),
            SourceKind::Athena => "Athena".to_owned(),
        }
    ));
    let session = match reader_session(access, config).await {
        Ok(session) => Ok(session),
        Err(e) => Err(CollectionError::from(e)),
    };
    let (source, mut events) = match config.source {
        SourceKind::S3 => from_s3(access, plan, organization, &accounts, &filter, &session).await,
        SourceKind::Athena => from_athena(access, plan, &filter, &session).await,
    };
    sort_events(&mut events);
    Activity {
        window,
        selectors,
        source,
        events,
    }
}

/// Reads the trail's log files in S3 (every account failed if the reader role could not be
/// assumed).
async fn from_s3(
    access: &Access<'_>,
    plan: &Plan,
    organization: &Organization,
    accounts: &[AccountId],
    filter: &Filter,
    session: &Result<SdkConfig, CollectionError>,
) -> (Source, Vec<Event>) {
    let config = &plan.config;
    let bucket = config.bucket.clone().unwrap_or_default();
    let key_prefix = config.key_prefix.clone().unwrap_or_default();
    let organization_id = match config.layout {
        Layout::Organization => Some(organization.id.clone()),
        Layout::Account => None,
    };
    let (reads, events) = match session {
        Ok(session) => {
            let client = s3_client(session, access.path_style, access.interceptor);
            let spec = s3::Spec {
                bucket: bucket.clone(),
                root: format!(
                    "{key_prefix}AWSLogs/{}",
                    organization_id
                        .as_ref()
                        .map(|o| format!("{o}/"))
                        .unwrap_or_default()
                ),
                objects_in_flight: plan.objects_in_flight.max(1),
            };
            s3::read(&client, &spec, accounts, &plan.days, filter).await
        }
        Err(error) => (
            accounts
                .iter()
                .map(|id| {
                    (
                        id.clone(),
                        AccountReads::Failed {
                            error: error.clone(),
                        },
                    )
                })
                .collect(),
            Vec::new(),
        ),
    };
    (
        Source::S3 {
            bucket,
            key_prefix,
            organization_id,
            accounts: reads,
        },
        events,
    )
}

/// Runs the Athena query (failed if the reader role could not be assumed).
async fn from_athena(
    access: &Access<'_>,
    plan: &Plan,
    filter: &Filter,
    session: &Result<SdkConfig, CollectionError>,
) -> (Source, Vec<Event>) {
    // `ActivityConfig::problem` refused a configuration without a table before any call.
    let table = plan.config.athena.clone().unwrap_or_else(|| AthenaConfig {
        workgroup: "primary".into(),
        database: String::new(),
        table: String::new(),
        output_location: None,
        date_partition: None,
    });
    let (query, events) = match session {
        Ok(session) => {
            let mut builder = aws_sdk_athena::config::Builder::from(session);
            if let Some(i) = access.interceptor {
                builder = builder.interceptor(i.clone());
            }
            let client = aws_sdk_athena::Client::from_conf(builder.build());
            athena::read(&client, &table, &plan.days, filter).await
        }
        Err(error) => (
            Read::Failed {
                error: error.clone(),
            },
            Vec::new(),
        ),
    };
    (
        Source::Athena {
            workgroup: table.workgroup,
            database: table.database,
            table: table.table,
            query,
        },
        events,
    )
}

/// The session the trail is read with: the activity reader role if configured, assumed from
/// the security analysis session, in the configured region.
async fn reader_session(
    access: &Access<'_>,
    config: &ActivityConfig,
) -> Result<SdkConfig, ApiError> {
    let mut session = access.session.clone();
    if let Some(region) = &config.region {
        session = session
            .into_builder()
            .region(Region::new(region.clone()))
            .build();
    }
    match &config.role_arn {
        None => Ok(session),
        Some(arn) => {
            with_role(
                &session,
                arn.clone(),
                SESSION_NAME,
                &AssumeOptions::default(),
                access.interceptor,
            )
            .await
        }
    }
}

fn s3_client(
    session: &SdkConfig,
    path_style: bool,
    interceptor: Option<&SharedInterceptor>,
) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(session).force_path_style(path_style);
    if let Some(i) = interceptor {
        builder = builder.interceptor(i.clone());
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// The parts of an activity section that could not be read, one line each:
/// `(account or "query", line)`.
pub fn gaps(activity: &Activity) -> Vec<(Option<AccountId>, String)> {
    let line = |e: &CollectionError| {
        let mut s = format!("{} failed", e.operation);
        if let Some(code) = &e.code {
            let _ = write!(s, " with {code}");
        }
        let _ = write!(s, ": {}", e.message);
        s
    };
    match &activity.source {
        Source::Athena { query, .. } => query
            .error()
            .map(|e| vec![(None, format!("activity query: {}", line(e)))])
            .unwrap_or_default(),
        Source::S3 { accounts, .. } => accounts
            .iter()
            .flat_map(|(id, reads)| match reads {
                AccountReads::Failed { error } => {
                    vec![(
                        Some(id.clone()),
                        format!("activity of `{id}`: {}", line(error)),
                    )]
                }
                AccountReads::Listed { regions } => regions
                    .iter()
                    .flat_map(|(region, days)| {
                        days.iter().filter_map(move |(day, read)| {
                            read.error().map(|e| {
                                (
                                    Some(id.clone()),
                                    format!("activity of `{id}` in {region} on {day}: {}", line(e)),
                                )
                            })
                        })
                    })
                    .collect(),
            })
            .collect(),
    }
}
