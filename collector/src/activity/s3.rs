//! Reading the organization trail's log files from S3: list each account's regions, list each
//! region's day prefixes of the window only, fetch every log file, decompress and filter it,
//! all at once under the shared request budget.
//!
//! Keys follow CloudTrail's layout,
//! `<prefix>AWSLogs/<org id>/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`, so the
//! listing touches only the window's days (a bucket holding years of logs costs no more than
//! the days read). Memory is bounded whatever the window: downloads and parses in flight by
//! `objects_in_flight`, listings held by [`ACCOUNTS_IN_FLIGHT`] x [`DAYS_IN_FLIGHT`]; the HTTP
//! requests themselves by the request budget every client shares. Decompression and parsing
//! run on tokio's blocking threads, beside the downloads.
//!
//! A day is complete when every object under its prefix was listed, fetched, decompressed and
//! read; otherwise it is failed, with the first error in key order (the events of the objects
//! that were read are kept: they happened).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{StreamExt, stream};
use headroom_schemas::AccountId;
use headroom_schemas::activity::cloudtrail::{Filter, read_gzip_log_file};
use headroom_schemas::activity::{AccountReads, Event, Read};
use headroom_schemas::status::CollectionError;
use tokio::sync::Semaphore;

use crate::actions;
use crate::error::ApiError;

/// Accounts read at once.
const ACCOUNTS_IN_FLIGHT: usize = 64;

/// (region, day) parts of one account read at once. A part holds its listing (one key per
/// log file) until its files are read; with [`ACCOUNTS_IN_FLIGHT`] this bounds the keys held
/// to 512 days' worth, however long the window, while keeping far more downloads queued than
/// `objects_in_flight` lets run.
const DAYS_IN_FLIGHT: usize = 8;

/// What reading one log file gave: (records, events kept), or why it could not be read.
type Parsed = Result<(u64, Vec<Event>), ApiError>;

/// Where the logs are.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The bucket.
    pub bucket: String,
    /// `<key_prefix>AWSLogs/<org id>/` (or without the org ID for the account layout).
    pub root: String,
    /// Log files downloaded and parsed at once.
    pub objects_in_flight: usize,
}

/// Reads `accounts` for `days`; returns what was read per account and the events kept.
pub async fn read(
    client: &aws_sdk_s3::Client,
    spec: &Spec,
    accounts: &[AccountId],
    days: &[String],
    filter: &Filter,
) -> (BTreeMap<AccountId, AccountReads>, Vec<Event>) {
    let objects = Arc::new(Semaphore::new(spec.objects_in_flight.max(1)));
    let filter = Arc::new(filter.clone());
    let results: Vec<(AccountId, AccountReads, Vec<Event>)> = stream::iter(accounts)
        .map(|account| {
            let (objects, filter) = (Arc::clone(&objects), Arc::clone(&filter));
            async move {
                let (reads, events) =
                    read_account(client, spec, account, days, &filter, &objects).await;
                (account.clone(), reads, events)
            }
        })
        .buffer_unordered(ACCOUNTS_IN_FLIGHT)
        .collect()
        .await;
    let mut reads = BTreeMap::new();
    let mut events = Vec::new();
    for (account, account_reads, account_events) in results {
        reads.insert(account, account_reads);
        events.extend(account_events);
    }
    (reads, events)
}

async fn read_account(
    client: &aws_sdk_s3::Client,
    spec: &Spec,
    account: &AccountId,
    days: &[String],
    filter: &Arc<Filter>,
    objects: &Arc<Semaphore>,
) -> (AccountReads, Vec<Event>) {
    let prefix = format!("{}{account}/CloudTrail/", spec.root);
    let regions = match list(client, &spec.bucket, &prefix, true).await {
        Ok(prefixes) => prefixes
            .into_iter()
            .filter_map(|p| {
                p.strip_prefix(&prefix)
                    .map(|r| r.trim_end_matches('/').to_owned())
            })
            .filter(|r| !r.is_empty())
            .collect::<Vec<_>>(),
        Err(error) => {
            return (
                AccountReads::Failed {
                    error: error.into(),
                },
                Vec::new(),
            );
        }
    };
    let parts: Vec<(String, String)> = regions
        .iter()
        .flat_map(|region| days.iter().map(move |day| (region.clone(), day.clone())))
        .collect();
    let prefix = &prefix;
    let read: Vec<(String, String, Read, Vec<Event>)> = stream::iter(parts)
        .map(|(region, day)| async move {
            let day_prefix = format!("{prefix}{region}/{}/", day.replace('-', "/"));
            let (status, events) =
                read_day(client, spec, &day_prefix, account, filter, objects).await;
            (region, day, status, events)
        })
        .buffer_unordered(DAYS_IN_FLIGHT)
        .collect()
        .await;
    let mut regions: BTreeMap<String, BTreeMap<String, Read>> = BTreeMap::new();
    let mut events = Vec::new();
    for (region, day, status, day_events) in read {
        regions.entry(region).or_default().insert(day, status);
        events.extend(day_events);
    }
    (AccountReads::Listed { regions }, events)
}

/// Reads every log file under one day prefix.
async fn read_day(
    client: &aws_sdk_s3::Client,
    spec: &Spec,
    prefix: &str,
    account: &AccountId,
    filter: &Arc<Filter>,
    objects: &Arc<Semaphore>,
) -> (Read, Vec<Event>) {
    let keys = match list(client, &spec.bucket, prefix, false).await {
        Ok(keys) => keys,
        Err(e) => return (Read::Failed { error: e.into() }, Vec::new()),
    };
    let keys: Vec<String> = keys.into_iter().filter(|k| !k.ends_with('/')).collect();
    let count = keys.len();
    let results: Vec<(String, Parsed)> = stream::iter(keys)
        .map(|key| async move {
            let result = read_object(client, &spec.bucket, &key, account, filter, objects).await;
            (key, result)
        })
        .buffer_unordered(spec.objects_in_flight.max(1))
        .collect()
        .await;
    let mut records = 0u64;
    let mut events = Vec::new();
    let mut failures: Vec<(String, ApiError)> = Vec::new();
    for (key, result) in results {
        match result {
            Ok((n, kept)) => {
                records += n;
                events.extend(kept);
            }
            Err(e) => failures.push((key, e)),
        }
    }
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    let status = match failures.into_iter().next() {
        Some((_, error)) => Read::Failed {
            error: CollectionError::from(error),
        },
        None => Read::Complete {
            objects: Some(count as u64),
            records,
            events: events.len() as u64,
        },
    };
    (status, events)
}

/// Every key (or, with `delimited`, every common prefix) under `prefix`, all pages.
async fn list(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    delimited: bool,
) -> Result<Vec<String>, ApiError> {
    let mut request = client.list_objects_v2().bucket(bucket).prefix(prefix);
    if delimited {
        request = request.delimiter("/");
    }
    let pages: Vec<_> = request
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| {
            ApiError::from_sdk(actions::S3_LIST_BUCKET, &e)
                .context(&format!("cannot list `s3://{bucket}/{prefix}`"))
        })?;
    Ok(pages
        .iter()
        .flat_map(|page| {
            if delimited {
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned))
                    .collect::<Vec<_>>()
            } else {
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned))
                    .collect()
            }
        })
        .collect())
}

/// Fetches, decompresses and reads one log file: (records, events kept).
async fn read_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    account: &AccountId,
    filter: &Arc<Filter>,
    objects: &Arc<Semaphore>,
) -> Result<(u64, Vec<Event>), ApiError> {
    // Never closed: acquiring cannot fail; if it did, the read would go on unbounded.
    let _permit = objects.acquire().await.ok();
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            let mut error = ApiError::from_sdk(actions::S3_GET_OBJECT, &e)
                .context(&format!("cannot read `s3://{bucket}/{key}`"));
            // S3 refuses a file it cannot decrypt for the reader with KMS's error.
            if error.code.as_deref().is_some_and(|c| c.starts_with("KMS."))
                || error.message.contains("kms:Decrypt")
            {
                actions::KMS_DECRYPT.clone_into(&mut error.operation);
            }
            error
        })?;
    let body = out.body.collect().await.map_err(|e| {
        ApiError::other(
            actions::S3_GET_OBJECT,
            format!("cannot read `s3://{bucket}/{key}`: the download failed: {e}"),
        )
    })?;
    let bytes = body.into_bytes();
    let (filter, account, name) = (
        Arc::clone(filter),
        account.clone(),
        format!("s3://{bucket}/{key}"),
    );
    tokio::task::spawn_blocking(move || parse(&bytes, &filter, &account, &name))
        .await
        .unwrap_or_else(|e| {
            Err(ApiError::other(
                actions::S3_GET_OBJECT,
                format!("reading the log file failed: {e}"),
            ))
        })
}

/// Decompresses (gzip, as CloudTrail writes them) and reads one log file.
pub fn parse(
    compressed: &[u8],
    filter: &Filter,
    account: &AccountId,
    name: &str,
) -> Result<(u64, Vec<Event>), ApiError> {
    let mut events = Vec::new();
    let stats = read_gzip_log_file(compressed, filter, Some(account), &mut events)
        .map_err(|e| ApiError::other(actions::S3_GET_OBJECT, format!("`{name}`: {e}")))?;
    Ok((stats.records, events))
}
