//! Reading CloudTrail log files: the records of one file, filtered by the [`super::catalog`]
//! selectors and reduced to [`Event`]s, in one pass.
//!
//! A CloudTrail log file is one JSON object, `{"Records": [...]}`, each record an event
//! (`eventVersion`, `userIdentity`, `eventTime`, `eventSource`, `eventName`, `awsRegion`,
//! `sourceIPAddress`, `requestParameters`, `responseElements`, `errorCode`,
//! `recipientAccountId`, ...). Records are parsed one at a time, into borrowed strings where
//! the text has no escapes, and most are dropped without building anything:
//! - `userIdentity` is kept as raw JSON text and read only when a selector needs the
//!   principal: a call that only the IMDSv1 selector (`*`) could keep needs
//!   `ec2RoleDelivery`, which a text without that key spelled out or any `\` cannot hold;
//! - as soon as `eventSource`, `eventName` and `userIdentity` have been read (CloudTrail
//!   writes them first), the selectors decide, and the rest of a record none keeps
//!   (`requestParameters`, `responseElements`, `tlsDetails`...) is skipped as serde's
//!   `IgnoredAny` skips it: checked to be JSON, not read. Like the fields the reader never
//!   reads, the fields of a dropped record that the decision did not need are not checked
//!   to have the type a kept record's must have;
//! - a kept record's `requestParameters` and `responseElements` are raw JSON until then.
//!
//! `cargo xtask bench-activity` measures this against its floor (gunzip and `serde_json` into
//! `IgnoredAny`): 63 to 65% of it, where the derived reader it replaced (every record read
//! whole into a struct) reached 58 to 60% in alternating runs (see `documentation/ACTIVITY.md`).
//!
//! The collector's S3 path and its Athena path (which rebuilds records from query rows) both
//! read through [`read_log_file`], so both keep exactly the same events.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use memchr::memmem;

use super::catalog::{self, Principals, SELECTORS, Selector};
use super::{Event, Principal};
use crate::AccountId;

/// Which records to keep: the selectors, and the organization's accounts (for the selectors
/// that keep principals outside it).
#[derive(Debug, Clone)]
pub struct Filter {
    selectors: Vec<&'static Selector>,
    members: BTreeSet<String>,
    delivery_key: memmem::Finder<'static>,
}

impl Filter {
    /// Every selector of the catalog, for an organization of `members`.
    pub fn new(members: impl IntoIterator<Item = String>) -> Self {
        Self {
            selectors: SELECTORS.iter().collect(),
            members: members.into_iter().collect(),
            delivery_key: memmem::Finder::new(DELIVERY_KEY).into_owned(),
        }
    }

    /// The action patterns of the selectors in use, sorted.
    pub fn actions(&self) -> Vec<String> {
        let mut out: Vec<String> = self.selectors.iter().map(|s| s.action.to_owned()).collect();
        out.sort();
        out
    }

    /// Whether a selector may keep a call of `source` and `name` by the principal whose
    /// `userIdentity` is the JSON text `identity`, without reading it: false only when none
    /// can. Selectors of every principal decide on the call alone; the IMDSv1 selector needs
    /// `ec2RoleDelivery`, which a text without that key spelled out or any escape (`\`)
    /// cannot hold; the others need the principal read.
    fn may_keep(&self, source: &str, name: &str, identity: Option<&RawValue>) -> bool {
        let delivery = || {
            identity.is_some_and(|text| {
                let text = text.get();
                self.delivery_key.find(text.as_bytes()).is_some()
                    || memchr::memchr(b'\\', text.as_bytes()).is_some()
            })
        };
        self.selectors.iter().any(|selector| {
            catalog::matches_call(selector, source, name)
                && (selector.principals != Principals::Ec2RoleDeliveryBelow2 || delivery())
        })
    }

    /// The selectors that keep a record of this call by this principal, in catalog order.
    fn matching<'a>(
        &'a self,
        source: &'a str,
        name: &'a str,
        principal: PrincipalKey<'a>,
    ) -> impl Iterator<Item = &'static Selector> + 'a {
        let is_member = |a: &str| self.members.contains(a);
        self.selectors.iter().copied().filter(move |selector| {
            catalog::matches_call(selector, source, name)
                && catalog::matches_principal(
                    selector.principals,
                    principal.kind,
                    principal.account,
                    principal.delivery,
                    &is_member,
                )
        })
    }
}

/// The key of `userIdentity.sessionContext` that [`Principals::Ec2RoleDeliveryBelow2`] reads.
const DELIVERY_KEY: &str = "ec2RoleDelivery";

/// What [`Filter::matching`] reads of a principal.
#[derive(Clone, Copy)]
struct PrincipalKey<'a> {
    kind: &'a str,
    account: Option<&'a str>,
    delivery: Option<&'a str>,
}

/// What reading one file found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Records in the file.
    pub records: u64,
    /// Records kept.
    pub events: u64,
}

/// A file that is not a CloudTrail log file, or a kept record missing what an event needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LogFileError(pub String);

/// The largest log file accepted, decompressed. CloudTrail delivers a file about every five
/// minutes per account and region; even the busiest hold a few hundred MB at most.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads one gzip-compressed CloudTrail log file, as CloudTrail delivers it, through
/// [`read_log_file`]: decompressed whole into memory first (at most [`MAX_FILE_BYTES`]),
/// because parsing a slice is several times faster than parsing a stream.
#[cfg(feature = "gzip")]
pub fn read_gzip_log_file(
    compressed: &[u8],
    filter: &Filter,
    account: Option<&AccountId>,
    out: &mut Vec<Event>,
) -> Result<FileStats, LogFileError> {
    use std::io::Read as _;
    let mut json = Vec::with_capacity(compressed.len().saturating_mul(10));
    let read = flate2::read::MultiGzDecoder::new(compressed)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut json);
    match read {
        Err(e) => return Err(LogFileError(format!("not a gzip file: {e}"))),
        Ok(n) if n as u64 > MAX_FILE_BYTES => {
            return Err(LogFileError(format!(
                "holds more than {MAX_FILE_BYTES} bytes once decompressed"
            )));
        }
        Ok(_) => {}
    }
    read_log_file(&json, filter, account, out)
}

/// Reads one CloudTrail log file (the decompressed JSON) and appends the events `filter` keeps
/// to `out`. `account` is the account whose log this is (from the object's key), used when a
/// record lacks `recipientAccountId` (records older than version 1.02).
///
/// Any problem (not JSON, no `Records` list, a kept record without time, ID, region or
/// account) fails the whole file: its day is then unknown, never "no activity".
pub fn read_log_file(
    json: &[u8],
    filter: &Filter,
    account: Option<&AccountId>,
    out: &mut Vec<Event>,
) -> Result<FileStats, LogFileError> {
    let mut stats = FileStats::default();
    let mut error = None;
    let seed = FileSeed {
        filter,
        account,
        out,
        stats: &mut stats,
        error: &mut error,
    };
    let mut de = serde_json::Deserializer::from_slice(json);
    let found = seed
        .deserialize(&mut de)
        .and_then(|found| de.end().map(|()| found));
    if let Some(e) = error {
        return Err(e);
    }
    match found {
        Ok(true) => Ok(stats),
        Ok(false) => Err(LogFileError(
            "not a CloudTrail log file: no `Records` list".into(),
        )),
        Err(e) => Err(LogFileError(format!(
            "not a CloudTrail log file: {}",
            e.to_string().replace('\n', " ")
        ))),
    }
}

/// The top-level object; its value is whether `Records` was found.
struct FileSeed<'f, 'o> {
    filter: &'f Filter,
    account: Option<&'f AccountId>,
    out: &'o mut Vec<Event>,
    stats: &'o mut FileStats,
    error: &'o mut Option<LogFileError>,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_, '_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a `Records` list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "Records" && !found {
                found = true;
                map.next_value_seed(RecordsSeed {
                    filter: self.filter,
                    account: self.account,
                    out: &mut *self.out,
                    stats: &mut *self.stats,
                    error: &mut *self.error,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

struct RecordsSeed<'f, 'o> {
    filter: &'f Filter,
    account: Option<&'f AccountId>,
    out: &'o mut Vec<Event>,
    stats: &'o mut FileStats,
    error: &'o mut Option<LogFileError>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of CloudTrail records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element_seed(RecordSeed {
            filter: self.filter,
        })? {
            self.stats.records += 1;
            let Some(record) = record else { continue };
            if self.error.is_some() {
                continue;
            }
            match reduce(&record, self.filter, self.account) {
                Ok(Some(event)) => {
                    self.stats.events += 1;
                    self.out.push(event);
                }
                Ok(None) => {}
                Err(e) => {
                    *self.error = Some(LogFileError(format!(
                        "record {}: {}",
                        self.stats.records, e.0
                    )));
                }
            }
        }
        Ok(())
    }
}

/// One record, as much as selection and reduction read.
#[derive(Default)]
struct RawRecord<'a> {
    event_time: Option<Cow<'a, str>>,
    event_id: Option<Cow<'a, str>>,
    event_source: Option<Cow<'a, str>>,
    event_name: Option<Cow<'a, str>>,
    aws_region: Option<Cow<'a, str>>,
    recipient_account_id: Option<Cow<'a, str>>,
    error_code: Option<Cow<'a, str>>,
    /// `userIdentity` as JSON text, read into `identity` when needed.
    user_identity: Option<&'a RawValue>,
    /// `userIdentity` read, when `identity_read`.
    identity: Option<RawIdentity<'a>>,
    identity_read: bool,
    request_parameters: Option<&'a RawValue>,
    response_elements: Option<&'a RawValue>,
    resources: Option<Vec<RawResource<'a>>>,
}

/// The keys of a record that the reader reads; `Other` for the rest.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(field_identifier, rename_all = "camelCase")]
enum RecordField {
    EventTime,
    #[serde(rename = "eventID")]
    EventId,
    EventSource,
    EventName,
    AwsRegion,
    RecipientAccountId,
    ErrorCode,
    UserIdentity,
    RequestParameters,
    ResponseElements,
    Resources,
    #[serde(other)]
    Other,
}

impl RecordField {
    /// The key, for errors.
    fn key(self) -> &'static str {
        match self {
            Self::EventTime => "eventTime",
            Self::EventId => "eventID",
            Self::EventSource => "eventSource",
            Self::EventName => "eventName",
            Self::AwsRegion => "awsRegion",
            Self::RecipientAccountId => "recipientAccountId",
            Self::ErrorCode => "errorCode",
            Self::UserIdentity => "userIdentity",
            Self::RequestParameters => "requestParameters",
            Self::ResponseElements => "responseElements",
            Self::Resources => "resources",
            Self::Other => "",
        }
    }
}

/// Who made the call, as [`Filter::matching`] reads it.
fn principal<'a>(identity: Option<&'a RawIdentity<'_>>) -> PrincipalKey<'a> {
    PrincipalKey {
        kind: identity
            .and_then(|i| i.kind.as_deref())
            .unwrap_or("Unknown"),
        account: identity.and_then(|i| i.account_id.as_deref()),
        delivery: identity
            .and_then(|i| i.session_context.as_ref())
            .and_then(|s| s.ec2_role_delivery.as_deref()),
    }
}

/// Reads `userIdentity` from its JSON text.
fn read_identity(text: Option<&RawValue>) -> Result<Option<RawIdentity<'_>>, serde_json::Error> {
    text.map(|text| serde_json::from_str(text.get()))
        .transpose()
}

/// Reads one record; `None` when no selector keeps it.
///
/// As soon as `eventSource`, `eventName` and `userIdentity` have been read (CloudTrail writes
/// them first, before the bulk of the record: `requestParameters`, `responseElements`,
/// `tlsDetails`...), the selectors decide, and the rest of a record none keeps is skipped
/// unread, as the fields the reader never reads are. `userIdentity` is kept as JSON text and
/// read only when a selector needs the principal (see [`Filter::may_keep`]).
struct RecordSeed<'f> {
    filter: &'f Filter,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Option<RawRecord<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Option<RawRecord<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut r = RawRecord::default();
        let mut seen = 0u16;
        let mut identity_seen = false;
        while let Some(field) = map.next_key::<RecordField>()? {
            if field == RecordField::Other {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // A repeated field is an error, as serde's derived readers make it.
            let bit = 1 << field as u16;
            if seen & bit != 0 {
                return Err(de::Error::duplicate_field(field.key()));
            }
            seen |= bit;
            let text = |map: &mut A| -> Result<_, A::Error> {
                Ok(map.next_value::<Option<Text<'de>>>()?.map(|t| t.0))
            };
            match field {
                RecordField::EventTime => r.event_time = text(&mut map)?,
                RecordField::EventId => r.event_id = text(&mut map)?,
                RecordField::EventSource => r.event_source = text(&mut map)?,
                RecordField::EventName => r.event_name = text(&mut map)?,
                RecordField::AwsRegion => r.aws_region = text(&mut map)?,
                RecordField::RecipientAccountId => r.recipient_account_id = text(&mut map)?,
                RecordField::ErrorCode => r.error_code = text(&mut map)?,
                RecordField::UserIdentity => {
                    r.user_identity = map.next_value()?;
                    identity_seen = true;
                }
                RecordField::RequestParameters => r.request_parameters = map.next_value()?,
                RecordField::ResponseElements => r.response_elements = map.next_value()?,
                RecordField::Resources => r.resources = map.next_value()?,
                RecordField::Other => {}
            }
            if !r.identity_read
                && identity_seen
                && let (Some(source), Some(name)) = (&r.event_source, &r.event_name)
            {
                let mut keep = self.filter.may_keep(source, name, r.user_identity);
                // An unreadable `userIdentity` is left for `reduce` to report.
                if keep && let Ok(identity) = read_identity(r.user_identity) {
                    let principal = principal(identity.as_ref());
                    keep = self
                        .filter
                        .matching(source, name, principal)
                        .next()
                        .is_some();
                    (r.identity, r.identity_read) = (identity, true);
                }
                if !keep {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    return Ok(None);
                }
            }
        }
        Ok(Some(r))
    }
}

/// A string value, borrowed from the input where it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIdentity<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    session_context: Option<RawSession<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSession<'a> {
    #[serde(borrow, default)]
    session_issuer: Option<RawIssuer<'a>>,
    #[serde(borrow, default)]
    ec2_role_delivery: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawIssuer<'a> {
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawResource<'a> {
    #[serde(rename = "ARN", borrow, default)]
    arn: Option<Cow<'a, str>>,
}

/// The event a record becomes, if a selector keeps it.
fn reduce(
    record: &RawRecord<'_>,
    filter: &Filter,
    account: Option<&AccountId>,
) -> Result<Option<Event>, LogFileError> {
    let (Some(source), Some(name)) = (&record.event_source, &record.event_name) else {
        return Err(LogFileError(
            "a record without `eventSource` or `eventName`".into(),
        ));
    };
    let read;
    let identity = if record.identity_read {
        record.identity.as_ref()
    } else {
        read = read_identity(record.user_identity)
            .map_err(|e| LogFileError(format!("`userIdentity`: {e}")))?;
        read.as_ref()
    };
    let session = identity.and_then(|i| i.session_context.as_ref());
    let principal = principal(identity);
    let (kind, principal_account, delivery) =
        (principal.kind, principal.account, principal.delivery);
    let mut selected = filter.matching(source, name, principal).peekable();
    if selected.peek().is_none() {
        return Ok(None);
    }
    let missing =
        |field: &str| LogFileError(format!("`{source}` `{name}` record without `{field}`"));
    let time = record
        .event_time
        .as_deref()
        .ok_or_else(|| missing("eventTime"))?;
    let id = record
        .event_id
        .as_deref()
        .ok_or_else(|| missing("eventID"))?;
    let region = record
        .aws_region
        .as_deref()
        .ok_or_else(|| missing("awsRegion"))?;
    let recipient = match record.recipient_account_id.as_deref() {
        Some(text) => AccountId::new(text).map_err(|e| LogFileError(e.to_string()))?,
        None => account
            .cloned()
            .ok_or_else(|| missing("recipientAccountId"))?,
    };
    let parse =
        |raw: Option<&RawValue>, what: &str| -> Result<Option<serde_json::Value>, LogFileError> {
            raw.map(|r| {
                serde_json::from_str(r.get())
                    .map_err(|e| LogFileError(format!("`{what}` is not JSON: {e}")))
            })
            .transpose()
        };
    let request = parse(record.request_parameters, "requestParameters")?;
    let response = parse(record.response_elements, "responseElements")?;
    let mut parameters = BTreeMap::new();
    for selector in selected {
        catalog::extract(
            selector.parameters,
            request.as_ref(),
            response.as_ref(),
            &mut parameters,
        );
    }
    for values in parameters.values_mut() {
        values.dedup();
    }
    let mut resources: Vec<String> = record
        .resources
        .iter()
        .flatten()
        .filter_map(|r| r.arn.as_deref().map(str::to_owned))
        .collect();
    resources.sort();
    resources.dedup();
    let owned = |s: Option<&Cow<'_, str>>| s.map(ToString::to_string);
    Ok(Some(Event {
        account: recipient,
        time: time.to_owned(),
        id: id.to_owned(),
        region: region.to_owned(),
        source: source.to_string(),
        name: name.to_string(),
        principal: Principal {
            kind: kind.to_owned(),
            arn: owned(identity.and_then(|i| i.arn.as_ref())),
            account: principal_account.map(str::to_owned),
            issuer_arn: owned(
                session
                    .and_then(|s| s.session_issuer.as_ref())
                    .and_then(|i| i.arn.as_ref()),
            ),
            invoked_by: owned(identity.and_then(|i| i.invoked_by.as_ref())),
            ec2_role_delivery: delivery.map(str::to_owned),
        },
        error_code: owned(record.error_code.as_ref()),
        parameters,
        resources,
    }))
}

/// Sorts events as the snapshot lists them (account, time, ID) and drops repeats of one
/// event (CloudTrail may deliver a record twice).
pub fn sort_events(events: &mut Vec<Event>) {
    events.sort_by(|a, b| {
        (&a.account, &a.time, &a.id)
            .cmp(&(&b.account, &b.time, &b.id))
            .then_with(|| a.cmp(b))
    });
    events.dedup_by(|b, a| (&a.account, &a.time, &a.id) == (&b.account, &b.time, &b.id));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member_filter() -> Filter {
        Filter::new(["111111111111".to_owned(), "222222222222".to_owned()])
    }

    const FILE: &str = r#"{"Records": [
        {"eventVersion": "1.09", "eventTime": "2026-01-10T10:00:00Z", "eventID": "e1",
         "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "awsRegion": "eu-west-1",
         "sourceIPAddress": "10.0.0.1", "userAgent": "aws-cli",
         "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/ci/s",
            "accountId": "111111111111", "principalId": "AROAEXAMPLE:s",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111111111111:role/ci"},
              "attributes": {"mfaAuthenticated": "false"}}},
         "requestParameters": {"instancesSet": {"items": [{"imageId": "ami-1"}]},
            "metadataOptions": {"httpTokens": "optional"}},
         "responseElements": {"instancesSet": {"items": [{"instanceId": "i-1"}]}},
         "recipientAccountId": "111111111111", "eventType": "AwsApiCall"},
        {"eventTime": "2026-01-10T10:01:00Z", "eventID": "e2", "eventSource": "ec2.amazonaws.com",
         "eventName": "DescribeInstances", "awsRegion": "eu-west-1",
         "userIdentity": {"type": "IAMUser", "accountId": "111111111111"},
         "requestParameters": null, "responseElements": null, "recipientAccountId": "111111111111"},
        {"eventTime": "2026-01-10T10:02:00Z", "eventID": "e3", "eventSource": "kms.amazonaws.com",
         "eventName": "Decrypt", "awsRegion": "eu-west-1",
         "userIdentity": {"type": "AWSAccount", "accountId": "999999999999", "principalId": "AIDA"},
         "requestParameters": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, "responseElements": null,
         "resources": [{"accountId": "111111111111", "type": "AWS::KMS::Key",
                        "ARN": "arn:aws:kms:eu-west-1:111111111111:key/k"}],
         "recipientAccountId": "111111111111"},
        {"eventTime": "2026-01-10T10:03:00Z", "eventID": "e4", "eventSource": "kms.amazonaws.com",
         "eventName": "Decrypt", "awsRegion": "eu-west-1",
         "userIdentity": {"type": "AssumedRole", "accountId": "222222222222"},
         "recipientAccountId": "111111111111"},
        {"eventTime": "2026-01-10T10:04:00Z", "eventID": "e5", "eventSource": "s3.amazonaws.com",
         "eventName": "ListBuckets", "awsRegion": "eu-west-1",
         "userIdentity": {"type": "AssumedRole", "accountId": "111111111111",
            "sessionContext": {"ec2RoleDelivery": "1.0"}},
         "recipientAccountId": "111111111111"}
    ]}"#;

    #[test]
    fn keeps_what_the_selectors_select() {
        let mut out = Vec::new();
        let stats = read_log_file(FILE.as_bytes(), &member_filter(), None, &mut out).unwrap();
        assert_eq!(
            stats,
            FileStats {
                records: 5,
                events: 3
            }
        );
        let ids: Vec<&str> = out.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["e1", "e3", "e5"]);
        let run = &out[0];
        assert_eq!(run.parameters["imageId"], ["ami-1"]);
        assert_eq!(run.parameters["metadataOptions.httpTokens"], ["optional"]);
        assert_eq!(run.parameters["instanceId"], ["i-1"]);
        assert_eq!(
            run.principal.issuer_arn.as_deref(),
            Some("arn:aws:iam::111111111111:role/ci")
        );
        assert_eq!(
            out[1].resources,
            ["arn:aws:kms:eu-west-1:111111111111:key/k"]
        );
        assert_eq!(out[1].principal.account.as_deref(), Some("999999999999"));
        assert_eq!(out[2].principal.ec2_role_delivery.as_deref(), Some("1.0"));
    }

    /// Fields in any order (the selection keys after the bulk), escapes in the values read.
    #[test]
    fn records_in_any_key_order_and_with_escapes_read_the_same() {
        let text = r#"{"Records": [
            {"requestParameters": {"userName": "a\"b", "path": "/"}, "responseElements": null,
             "eventTime": "2026-01-01T00:00:00Z", "eventID": "x1", "awsRegion": "us-east-1",
             "recipientAccountId": "111111111111",
             "eventSource": "iam.amazonaws.com", "eventName": "Create\u0055ser",
             "userIdentity": {"type": "IAMUser", "accountId": "111111111111",
                              "arn": "arn:aws:iam::111111111111:user/a\/b"}},
            {"eventSource": "iam.amazonaws.com", "eventName": "ListUsers",
             "userIdentity": {"type": "IAMUser", "accountId": "111111111111"},
             "eventTime": "2026-01-01T00:00:01Z", "requestParameters": {"not": "kept"}}
        ]}"#;
        let mut out = Vec::new();
        let stats = read_log_file(text.as_bytes(), &member_filter(), None, &mut out).unwrap();
        assert_eq!((stats.records, stats.events), (2, 1));
        assert_eq!(out[0].name, "CreateUser");
        assert_eq!(
            out[0].principal.arn.as_deref(),
            Some("arn:aws:iam::111111111111:user/a/b")
        );
    }

    /// `userIdentity` read only when needed: an `ec2RoleDelivery` spelled with an escape is
    /// still found, and a record whose identity comes last is still judged by it.
    #[test]
    fn the_identity_is_read_whenever_a_selector_needs_it() {
        let text = r#"{"Records": [
            {"userIdentity": {"type": "AssumedRole", "accountId": "111111111111",
                              "sessionContext": {"ec2RoleDeliver\u0079": "1.0"}},
             "eventTime": "2026-01-01T00:00:00Z", "eventID": "x1", "awsRegion": "us-east-1",
             "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
             "recipientAccountId": "111111111111"},
            {"eventTime": "2026-01-01T00:00:01Z", "eventID": "x2", "awsRegion": "us-east-1",
             "eventSource": "kms.amazonaws.com", "eventName": "Decrypt",
             "recipientAccountId": "111111111111",
             "userIdentity": {"type": "AWSAccount", "accountId": "999999999999"}},
            {"userIdentity": {"type": "AssumedRole", "accountId": "111111111111",
                              "sessionContext": {"ec2RoleDelivery": "2.0"}},
             "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
             "eventTime": "2026-01-01T00:00:02Z"}
        ]}"#;
        let mut out = Vec::new();
        let stats = read_log_file(text.as_bytes(), &member_filter(), None, &mut out).unwrap();
        assert_eq!((stats.records, stats.events), (3, 2));
        assert_eq!(out[0].principal.ec2_role_delivery.as_deref(), Some("1.0"));
        assert_eq!(out[1].principal.account.as_deref(), Some("999999999999"));
    }

    #[test]
    fn bad_files_fail_whole() {
        let mut out = Vec::new();
        for (text, message) in [
            ("[]", "not a CloudTrail log file"),
            ("{}", "no `Records` list"),
            ("{\"Records\": [", "not a CloudTrail log file"),
            (
                r#"{"Records": [{"eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "awsRegion": "us-east-1", "eventTime": "t"}]}"#,
                "record 1: `iam.amazonaws.com` `CreateUser` record without `eventID`",
            ),
            (
                r#"{"Records": [{"eventName": "CreateUser"}]}"#,
                "record 1: a record without `eventSource` or `eventName`",
            ),
        ] {
            let err = read_log_file(text.as_bytes(), &member_filter(), None, &mut out)
                .unwrap_err()
                .0;
            assert!(err.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn the_key_account_stands_in_for_a_missing_recipient() {
        let text = r#"{"Records": [{"eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
            "awsRegion": "us-east-1", "eventTime": "2026-01-01T00:00:00Z", "eventID": "x",
            "userIdentity": {"type": "Root"}}]}"#;
        let mut out = Vec::new();
        let account = AccountId::new("222222222222").unwrap();
        read_log_file(text.as_bytes(), &member_filter(), Some(&account), &mut out).unwrap();
        assert_eq!(out[0].account, account);
        assert!(read_log_file(text.as_bytes(), &member_filter(), None, &mut out).is_err());
    }
}
