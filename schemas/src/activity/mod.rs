//! The `activity` section of a snapshot (since 1.2): the CloudTrail management events that the
//! planned guardrails could deny, read from the organization trail for a window of days.
//!
//! `collect --activity-days N` fills it; it is absent otherwise. Like the inventories it is raw
//! data: each event is reduced to what evaluating a Deny statement needs (time, account,
//! region, event source and name, the principal, the request parameters the conditions read,
//! the error code), and nothing is judged. Which events are kept is decided in one place,
//! [`catalog`], from the actions the checks' Deny statements name; reading CloudTrail's
//! log-file format into these events is [`cloudtrail`].
//!
//! Every part of the window that was read records whether it was read completely (per
//! account, region and day for the S3 source; the query for the Athena source), so a window
//! that could not be read is never mistaken for a window without activity.

pub mod catalog;
pub mod cloudtrail;
pub mod config;
#[cfg(feature = "synthetic")]
pub mod synthetic;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::AccountId;
use crate::status::CollectionError;

/// The events of the window and how completely the window was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// The days read.
    pub window: Window,
    /// The [`catalog`] selectors the collector kept events for, by their action pattern
    /// (`ec2:RunInstances`, `kms:*`, `*`), sorted. A check whose actions are not all here was
    /// not replayed: its absence of events means nothing.
    pub selectors: Vec<String>,
    /// Where the events were read, and how completely.
    pub source: Source,
    /// The events kept, sorted by account, time and event ID.
    pub events: Vec<Event>,
}

/// A window of whole UTC days, both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// The first day (`YYYY-MM-DD`, UTC).
    pub first_day: String,
    /// The last day (`YYYY-MM-DD`, UTC): the day collection started, read up to that moment.
    pub last_day: String,
}

/// Where the events come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// The organization trail's log files in S3, listed by day prefix
    /// (`<key_prefix>AWSLogs/<organization_id>/<account>/CloudTrail/<region>/YYYY/MM/DD/`).
    S3 {
        /// The trail's bucket.
        bucket: String,
        /// What comes before `AWSLogs/` in every key (empty, or ending with `/`).
        key_prefix: String,
        /// The organization ID in the keys, or `None` for the account layout
        /// (`AWSLogs/<account>/CloudTrail/...`) of trails created before organization IDs
        /// were part of the path.
        organization_id: Option<String>,
        /// Per account read: what was read, per region and day.
        accounts: BTreeMap<AccountId, AccountReads>,
    },
    /// An Amazon Athena table over the same trail: one query for the whole window.
    Athena {
        /// The Athena workgroup the query ran in.
        workgroup: String,
        /// The database (Glue catalog) of the table.
        database: String,
        /// The CloudTrail table.
        table: String,
        /// The query's outcome. A failed query means nothing is known of any account.
        query: Read,
    },
}

/// What was read of one account's logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum AccountReads {
    /// The account's regions were listed; each region's days were read.
    Listed {
        /// Per region with logs (a region without a prefix has no logs), per day
        /// (`YYYY-MM-DD`) of the window: how the day's log files were read.
        regions: BTreeMap<String, BTreeMap<String, Read>>,
    },
    /// The account's regions could not be listed: nothing is known of its activity.
    Failed {
        /// What failed.
        error: CollectionError,
    },
}

/// How one part of the window (a day of one account and region, or the Athena query) was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Read {
    /// Everything was read.
    Complete {
        /// Log files read (S3 source; absent for Athena).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        objects: Option<u64>,
        /// CloudTrail records examined (Athena: rows returned).
        records: u64,
        /// Records kept as events.
        events: u64,
    },
    /// Something could not be read: whatever was kept of this part is incomplete, and the
    /// part must be treated as unknown, never as "no activity".
    Failed {
        /// What failed.
        error: CollectionError,
    },
}

impl Read {
    /// Whether everything was read.
    pub fn is_complete(&self) -> bool {
        matches!(self, Read::Complete { .. })
    }

    /// The error, if the read failed.
    pub fn error(&self) -> Option<&CollectionError> {
        match self {
            Read::Complete { .. } => None,
            Read::Failed { error } => Some(error),
        }
    }
}

/// One CloudTrail event, reduced to what evaluating a Deny statement needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The account whose log holds the event (`recipientAccountId`): for calls to a resource
    /// of another account, the account that owns the resource.
    pub account: AccountId,
    /// `eventTime`, as CloudTrail wrote it (RFC 3339, UTC).
    pub time: String,
    /// `eventID`.
    pub id: String,
    /// `awsRegion`.
    pub region: String,
    /// `eventSource` (`ec2.amazonaws.com`).
    pub source: String,
    /// `eventName` (`RunInstances`), as CloudTrail wrote it (Lambda's carry an API version
    /// suffix, such as `CreateFunctionUrlConfig20211031`).
    pub name: String,
    /// Who made the request.
    pub principal: Principal,
    /// `errorCode`, when the call failed (it already did not happen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The request (and response) values the conditions of the checks read, by the names
    /// [`catalog`] documents per selector (`metadataOptions.httpTokens`, `tag:instance/Owner`);
    /// several values where the request has several (one per network interface). A name
    /// missing here was missing from the request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Vec<String>>,
    /// The ARNs of `resources`, when CloudTrail listed the resources the call touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// The `userIdentity` of an event, reduced.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// `userIdentity.type`: `IAMUser`, `AssumedRole`, `Root`, `AWSAccount` (a principal of
    /// another account, seen from the resource's account), `AWSService`, `FederatedUser`,
    /// `IdentityCenterUser`, `SAMLUser`, `WebIdentityUser`, `Unknown`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `userIdentity.arn`, when CloudTrail gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// `userIdentity.accountId`: the principal's account (`ANONYMOUS_PRINCIPAL` for anonymous
    /// requests), when CloudTrail gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `userIdentity.sessionContext.sessionIssuer.arn`: the role (or user) a temporary
    /// session was issued from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_arn: Option<String>,
    /// `userIdentity.invokedBy`: the AWS service that made the call on the principal's
    /// behalf, or the service principal itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    /// `userIdentity.sessionContext.ec2RoleDelivery`: `1.0` or `2.0` for EC2 instance-role
    /// credentials (fetched through IMDSv1 or IMDSv2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_role_delivery: Option<String>,
}

/// Whether an account's activity in the window is fully known, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage<'a> {
    /// Every part of the window that holds the account's logs was read completely.
    Complete,
    /// Some part could not be read (or the account was not read at all): one entry per part,
    /// `(region, day, error)`, `None` where the whole account or the whole query failed.
    Gaps(Vec<ActivityGap<'a>>),
}

/// A part of the window that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityGap<'a> {
    /// The region, or `None` for the whole account (or query).
    pub region: Option<&'a str>,
    /// The day, or `None` for every day.
    pub day: Option<&'a str>,
    /// What failed; `None` when the account was not read at all.
    pub error: Option<&'a CollectionError>,
}

impl Activity {
    /// Whether `account`'s activity in the window is fully known.
    pub fn coverage(&self, account: &AccountId) -> Coverage<'_> {
        let gaps = match &self.source {
            Source::Athena { query, .. } => match query {
                Read::Complete { .. } => Vec::new(),
                Read::Failed { error } => vec![ActivityGap {
                    region: None,
                    day: None,
                    error: Some(error),
                }],
            },
            Source::S3 { accounts, .. } => match accounts.get(account) {
                None => vec![ActivityGap {
                    region: None,
                    day: None,
                    error: None,
                }],
                Some(AccountReads::Failed { error }) => vec![ActivityGap {
                    region: None,
                    day: None,
                    error: Some(error),
                }],
                Some(AccountReads::Listed { regions }) => regions
                    .iter()
                    .flat_map(|(region, days)| {
                        days.iter().filter_map(move |(day, read)| {
                            read.error().map(|error| ActivityGap {
                                region: Some(region),
                                day: Some(day),
                                error: Some(error),
                            })
                        })
                    })
                    .collect(),
            },
        };
        if gaps.is_empty() {
            Coverage::Complete
        } else {
            Coverage::Gaps(gaps)
        }
    }

    /// The events of one account, in time order.
    pub fn events_of<'a>(&'a self, account: &'a AccountId) -> impl Iterator<Item = &'a Event> {
        let start = self.events.partition_point(|e| e.account < *account);
        self.events[start..]
            .iter()
            .take_while(move |e| e.account == *account)
    }
}

/// The UTC day (`YYYY-MM-DD`) of a Unix time in seconds.
pub fn day_of(unix_seconds: i64) -> String {
    let (y, m, d) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The `n` days ending with `last_day` (`YYYY-MM-DD`), oldest first; empty if `last_day` is
/// not a day.
pub fn days_ending(last_day: &str, n: u32) -> Vec<String> {
    let Some(last) = days_of(last_day) else {
        return Vec::new();
    };
    (0..i64::from(n))
        .rev()
        .map(|back| {
            let (y, m, d) = civil_from_days(last - back);
            format!("{y:04}-{m:02}-{d:02}")
        })
        .collect()
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` day; `None` if it is not a calendar day.
fn days_of(day: &str) -> Option<i64> {
    let b = day.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    let y: i64 = day[0..4].parse().ok()?;
    let m: i64 = day[5..7].parse().ok()?;
    let d: i64 = day[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // 2026-02-30 comes back as 2026-03-02: not a calendar day.
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether `day` is a `YYYY-MM-DD` calendar date.
pub fn is_day(day: &str) -> bool {
    days_of(day).is_some()
}

/// The consistency rules of an `activity` section: a well-formed window, days of the window
/// only, accounts of the organization only, events sorted and listed once.
pub(crate) fn validate(
    activity: &Activity,
    organization: &crate::Organization,
) -> Result<(), String> {
    let window = &activity.window;
    if !is_day(&window.first_day) || !is_day(&window.last_day) {
        return Err(format!(
            "activity window `{}` to `{}` is not two YYYY-MM-DD days",
            window.first_day, window.last_day
        ));
    }
    if window.first_day > window.last_day {
        return Err(format!(
            "activity window starts on `{}`, after it ends on `{}`",
            window.first_day, window.last_day
        ));
    }
    if let Source::S3 { accounts, .. } = &activity.source {
        for (id, reads) in accounts {
            if !organization.accounts.contains_key(id) {
                return Err(format!(
                    "activity was read for account `{id}`, which is not in the organization"
                ));
            }
            if let AccountReads::Listed { regions } = reads {
                for (region, days) in regions {
                    if let Some(day) = days
                        .keys()
                        .find(|d| !is_day(d) || **d < window.first_day || **d > window.last_day)
                    {
                        return Err(format!(
                            "activity of account `{id}` in `{region}` names day `{day}`, outside the window"
                        ));
                    }
                }
            }
        }
    }
    let mut selectors = activity.selectors.clone();
    selectors.sort();
    selectors.dedup();
    if selectors != activity.selectors {
        return Err("activity selectors are not sorted and distinct".into());
    }
    if let Some(pair) = activity
        .events
        .windows(2)
        .find(|w| (&w[0].account, &w[0].time, &w[0].id) >= (&w[1].account, &w[1].time, &w[1].id))
    {
        return Err(format!(
            "activity events are not sorted by account, time and ID, or list event `{}` twice",
            pair[1].id
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_back_across_months_and_leap_years() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_709_251_199), "2024-02-29");
        assert_eq!(
            days_ending("2024-03-02", 3),
            ["2024-02-29", "2024-03-01", "2024-03-02"]
        );
        assert_eq!(days_ending("2026-01-01", 2), ["2025-12-31", "2026-01-01"]);
        assert!(days_ending("nonsense", 2).is_empty());
        for n in [0, 59, 365, 10_000, 20_000] {
            let day = day_of(n * 86_400);
            assert_eq!(days_of(&day), Some(n), "{day}");
        }
    }

    #[test]
    fn days_are_checked() {
        assert!(is_day("2026-01-31"));
        assert!(is_day("2024-02-29"));
        for bad in [
            "2026-1-31",
            "2026-13-01",
            "2026-00-10",
            "2026-01-32",
            "2026/01/31",
            "2026-11-31",
            "2025-02-29",
            "",
        ] {
            assert!(!is_day(bad), "{bad}");
        }
    }
}
