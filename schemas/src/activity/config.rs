//! The `activity` key of the configuration: where `collect --activity-days N` reads the
//! organization's CloudTrail.

use serde::{Deserialize, Serialize};

/// `activity` in the configuration. Nothing is read unless `days` (or `--activity-days`) is
/// set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityConfig {
    /// Days of activity to read, ending with the day `collect` runs (1 to 365); the flag
    /// `--activity-days` overrides it.
    #[serde(default)]
    pub days: Option<u32>,
    /// `s3` (default): read the trail's log files. `athena`: query an Athena table over them.
    #[serde(default)]
    pub source: SourceKind,
    /// The organization trail's bucket (required for `s3`).
    #[serde(default)]
    pub bucket: Option<String>,
    /// What comes before `AWSLogs/` in the keys (the trail's S3 key prefix), if anything.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// `organization` (default): keys `AWSLogs/<org id>/<account>/CloudTrail/...`, as
    /// organization trails write them; `account`: `AWSLogs/<account>/CloudTrail/...`.
    #[serde(default)]
    pub layout: Layout,
    /// The role to read the trail with, usually in the log-archive account (default: the
    /// identity `collect` runs as, or its security analysis session).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The region of the bucket or of the Athena workgroup (default: `collect`'s region).
    #[serde(default)]
    pub region: Option<String>,
    /// The Athena table (required for `athena`).
    #[serde(default)]
    pub athena: Option<AthenaConfig>,
}

/// Where activity is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The trail's log files in S3, read and filtered by `collect`.
    #[default]
    S3,
    /// An Athena table over the trail: one query, filtered by Athena.
    Athena,
}

/// The key layout of the trail's bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `AWSLogs/<org id>/<account>/CloudTrail/<region>/YYYY/MM/DD/`.
    #[default]
    Organization,
    /// `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`.
    Account,
}

/// `activity.athena`: the CloudTrail table and where Athena runs the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AthenaConfig {
    /// The workgroup (default `primary`).
    #[serde(default = "default_workgroup")]
    pub workgroup: String,
    /// The Glue database holding the table.
    pub database: String,
    /// The CloudTrail table (created with AWS's documented DDL for CloudTrail logs).
    pub table: String,
    /// Where Athena writes results (`s3://bucket/prefix/`); omit when the workgroup sets one.
    #[serde(default)]
    pub output_location: Option<String>,
    /// A partition column holding the day as `YYYY/MM/DD` (the `timestamp` column of AWS's
    /// partition-projection table): bounds the data Athena scans, and so the cost.
    #[serde(default)]
    pub date_partition: Option<String>,
}

fn default_workgroup() -> String {
    "primary".to_owned()
}

/// The most days `collect` reads.
pub const MAX_DAYS: u32 = 365;

impl ActivityConfig {
    /// Why this configuration cannot be used for a run reading `days` days, if it cannot.
    pub fn problem(&self, days: u32) -> Option<String> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Some(format!(
                "activity days must be 1 to {MAX_DAYS}, found {days}"
            ));
        }
        match self.source {
            SourceKind::S3 if self.bucket.as_deref().is_none_or(str::is_empty) => Some(
                "activity.bucket is required to read activity from S3 (the organization trail's bucket)"
                    .into(),
            ),
            SourceKind::Athena if self.athena.is_none() => Some(
                "activity.athena (database, table) is required to read activity through Athena"
                    .into(),
            ),
            _ => self
                .athena
                .as_ref()
                .and_then(|a| {
                    [("database", &a.database), ("table", &a.table)]
                        .into_iter()
                        .find(|(_, v)| !is_identifier(v))
                })
                .map(|(key, value)| {
                    format!(
                        "activity.athena.{key} must be letters, digits and `_`, found `{value}`"
                    )
                })
                .or_else(|| {
                    self.athena
                        .as_ref()
                        .and_then(|a| a.date_partition.as_ref())
                        .filter(|c| !is_identifier(c))
                        .map(|c| {
                            format!(
                                "activity.athena.date_partition must be letters, digits and `_`, found `{c}`"
                            )
                        })
                }),
        }
    }
}

/// Whether `name` can be written into SQL as an identifier without quoting trouble.
fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ActivityConfig {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn problems_are_named() {
        let s3 = parse("bucket: trail\n");
        assert_eq!(s3.problem(30), None);
        assert!(s3.problem(0).unwrap().contains("1 to 365"));
        assert!(parse("{}").problem(1).unwrap().contains("activity.bucket"));
        assert!(
            parse("source: athena\n")
                .problem(1)
                .unwrap()
                .contains("activity.athena")
        );
        let bad = parse("source: athena\nathena: {database: 'x; drop', table: t}\n");
        assert!(bad.problem(1).unwrap().contains("activity.athena.database"));
        let good = parse(
            "source: athena\nathena: {database: trail_db, table: cloudtrail_logs, date_partition: timestamp}\n",
        );
        assert_eq!(good.problem(7), None);
        assert_eq!(good.athena.unwrap().workgroup, "primary");
    }
}
