//! `deny_rds_unencrypted`: deny RDS databases without storage encryption.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Outcome, ScpReport, Sorted, sid, sorted_rows, standard_summary, statement};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

declare_check! {
    /// Denies creating RDS (and DocumentDB, Neptune) databases without storage encryption.
    ///
    /// ## What it denies
    /// `rds:CreateDBInstance`, `rds:CreateDBCluster`, `rds:RestoreDBClusterFromS3` and
    /// `rds:CreateBlueGreenDeployment` when `rds:StorageEncrypted` is `false`.
    ///
    /// ## Violations
    /// A DB instance or DB cluster whose storage is not encrypted (missing means not
    /// encrypted): reason `storage_unencrypted`. Aurora member instances appear both as
    /// instances and through their cluster, as AWS lists them.
    ///
    /// ## Exemptions
    /// None: databases carry no tags in the snapshot.
    ///
    /// ## Compliant
    /// Encrypted instances and clusters.
    pub DenyRdsUnencrypted {
        id: "deny_rds_unencrypted",
        kind: Scp,
        aliases: [],
        service: "RDS",
        reads: ["rds"],
        reasons: ["storage_unencrypted"],
    }
}

/// Options under `checks.deny_rds_unencrypted` (none besides `enabled`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {}

standard_summary!(
    /// The per-account summary.
    Summary,
    total_databases
);

/// One DB instance or cluster.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Record {
    /// `DBInstanceIdentifier` or `DBClusterIdentifier`.
    pub db_identifier: String,
    /// `instance` or `cluster`.
    pub db_type: &'static str,
    /// The region.
    pub region: String,
    /// The engine (`unknown` when AWS sent none).
    pub engine: String,
    /// Whether storage is encrypted.
    pub encrypted: bool,
    /// The instance or cluster ARN.
    pub db_arn: String,
    /// Violations only: `storage_unencrypted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

fn row(
    region: &str,
    db_type: &'static str,
    identifier: &str,
    arn: &str,
    engine: Option<&String>,
    encrypted: Option<bool>,
) -> (String, String, Outcome, Record) {
    let encrypted = encrypted.unwrap_or(false);
    let outcome = if encrypted {
        Outcome::Compliant
    } else {
        Outcome::Violation("storage_unencrypted")
    };
    let record = Record {
        db_identifier: identifier.to_owned(),
        db_type,
        region: region.to_owned(),
        engine: engine.cloned().unwrap_or_else(|| "unknown".to_owned()),
        encrypted,
        db_arn: arn.to_owned(),
        reason: outcome.reason(),
    };
    // Instances before clusters within a region, as the reference lists them.
    let order = if db_type == "instance" { "0" } else { "1" };
    (
        region.to_owned(),
        format!("{order}{identifier}"),
        outcome,
        record,
    )
}

impl Check for DenyRdsUnencrypted {
    type Options = Options;
    type Report = Report;

    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn evaluate(
        &self,
        account: &AccountScope<'_>,
        _options: &Options,
        gaps: &[String],
    ) -> Evaluation<Report> {
        let mut rows = Vec::new();
        for (region, rds) in account.regional(|r| &r.rds) {
            for db in &rds.db_instances {
                rows.push(row(
                    region,
                    "instance",
                    &db.db_instance_identifier,
                    &db.db_instance_arn,
                    db.engine.as_ref(),
                    db.storage_encrypted,
                ));
            }
            for db in &rds.db_clusters {
                rows.push(row(
                    region,
                    "cluster",
                    &db.db_cluster_identifier,
                    &db.db_cluster_arn,
                    db.engine.as_ref(),
                    db.storage_encrypted,
                ));
            }
        }
        Sorted::new(sorted_rows(rows)).into_evaluation(
            |counts| Summary::new(account.header(Self::META.id), counts),
            gaps,
        )
    }

    fn statements(
        &self,
        _options: &Options,
        _ctx: &PolicyContext<'_>,
        _allowlist: &BTreeSet<String>,
    ) -> Vec<Statement> {
        vec![statement(serde_json::json!({
            "Sid": sid(Self::META.id),
            "Effect": "Deny",
            "Action": [
                "rds:CreateDBInstance",
                "rds:CreateDBCluster",
                "rds:RestoreDBClusterFromS3",
                "rds:CreateBlueGreenDeployment"
            ],
            "Resource": "*",
            "Condition": { "Bool": { "rds:StorageEncrypted": "false" } },
        }))]
    }
}
