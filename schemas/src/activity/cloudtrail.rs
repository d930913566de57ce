//! Reading CloudTrail log files: the records of one file, filtered by the [`super::catalog`]
//! selectors and reduced to [`Event`]s, in one pass.
//!
//! A CloudTrail log file is one JSON object, `{"Records": [...]}`, each record an event
//! (`eventVersion`, `userIdentity`, `eventTime`, `eventSource`, `eventName`, `awsRegion`,
//! `sourceIPAddress`, `requestParameters`, `responseElements`, `errorCode`,
//! `recipientAccountId`, ...). Records are parsed one at a time, into borrowed strings where
//! the text has no escapes, with `requestParameters` and `responseElements` kept as raw JSON
//! until a selector keeps the record: most records are dropped without building anything.
//! The collector's S3 path and its Athena path (which rebuilds records from query rows) both
//! read through [`read_log_file`], so both keep exactly the same events.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::catalog::{self, SELECTORS, Selector};
use super::{Event, Principal};
use crate::AccountId;

/// Which records to keep: the selectors, and the organization's accounts (for the selectors
/// that keep principals outside it).
#[derive(Debug, Clone)]
pub struct Filter {
    selectors: Vec<&'static Selector>,
    members: BTreeSet<String>,
}

impl Filter {
    /// Every selector of the catalog, for an organization of `members`.
    pub fn new(members: impl IntoIterator<Item = String>) -> Self {
        Self {
            selectors: SELECTORS.iter().collect(),
            members: members.into_iter().collect(),
        }
    }

    /// The action patterns of the selectors in use, sorted.
    pub fn actions(&self) -> Vec<String> {
        let mut out: Vec<String> = self.selectors.iter().map(|s| s.action.to_owned()).collect();
        out.sort();
        out
    }

    /// The selectors that keep a record of this call by this principal.
    fn matching(
        &self,
        source: &str,
        name: &str,
        kind: &str,
        account: Option<&str>,
        delivery: Option<&str>,
    ) -> impl Iterator<Item = &'static Selector> + '_ {
        let is_member = |a: &str| self.members.contains(a);
        let mut out = Vec::new();
        for selector in &self.selectors {
            if catalog::matches_call(selector, source, name)
                && catalog::matches_principal(
                    selector.principals,
                    kind,
                    account,
                    delivery,
                    &is_member,
                )
            {
                out.push(*selector);
            }
        }
        out.into_iter()
    }
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
        while let Some(record) = seq.next_element::<RawRecord<'de>>()? {
            self.stats.records += 1;
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
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord<'a> {
    #[serde(borrow, default)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "eventID", borrow, default)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_identity: Option<RawIdentity<'a>>,
    #[serde(borrow, default)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response_elements: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resources: Option<Vec<RawResource<'a>>>,
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
    let identity = record.user_identity.as_ref();
    let kind = identity
        .and_then(|i| i.kind.as_deref())
        .unwrap_or("Unknown");
    let principal_account = identity.and_then(|i| i.account_id.as_deref());
    let session = identity.and_then(|i| i.session_context.as_ref());
    let delivery = session.and_then(|s| s.ec2_role_delivery.as_deref());
    let mut selected = filter
        .matching(source, name, kind, principal_account, delivery)
        .peekable();
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
