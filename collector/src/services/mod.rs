//! One module per AWS service: the SDK calls of one inventory and the conversion of SDK types
//! to `headroom-schemas` types. Lists come out sorted as the schema documents; a call that
//! fails fails the whole (account, region, service), except the documented "gone" or "none"
//! codes (a resource deleted between listing and reading, a resource without a policy).

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

use headroom_schemas::Tags;
use std::future::Future;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use futures::{StreamExt, TryStreamExt, stream};

use crate::error::ApiError;

/// Follow-up calls (one per listed resource) in flight at once within one service.
pub const ITEM_PARALLELISM: usize = 4;

/// A timestamp as RFC 3339 UTC text (`2026-11-26T19:27:28Z`).
pub fn rfc3339(t: &DateTime) -> String {
    t.fmt(Format::DateTime)
        .unwrap_or_else(|_| t.secs().to_string())
}

/// Tags, sorted by key; entries without a key are dropped, a missing value is empty.
pub fn tag_map<'a>(tags: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Tags {
    tags.into_iter()
        .filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned())))
        .collect()
}

/// Runs `f` over `items` with [`ITEM_PARALLELISM`] calls in flight, keeping input order;
/// `None` results (resources gone since listing) are dropped.
pub async fn for_each<T, U, F, Fut>(items: Vec<T>, f: F) -> Result<Vec<U>, ApiError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<Option<U>, ApiError>>,
{
    let out: Vec<Option<U>> = stream::iter(items)
        .map(f)
        .buffered(ITEM_PARALLELISM)
        .try_collect()
        .await?;
    Ok(out.into_iter().flatten().collect())
}
