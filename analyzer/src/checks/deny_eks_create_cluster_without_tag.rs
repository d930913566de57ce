//! `deny_eks_create_cluster_without_tag`: deny EKS clusters created outside the paved road.

use headroom_schemas::Tags;
use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Outcome, ScpReport, Sorted, exemption_tag, request_tag_exemption, sid, sorted_rows,
    standard_summary, statement,
};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

declare_check! {
    /// Denies creating EKS clusters without the paved-road tag, so clusters come from the
    /// platform team's module.
    ///
    /// ## What it denies
    /// `eks:CreateCluster` unless the request tag `paved_road_tag_key` (default `PavedRoad`)
    /// equals `paved_road_tag_value` (default `true`, compared case-sensitively), or the
    /// request carries one of `exemption_tag_keys` set to `true`.
    ///
    /// ## Violations
    /// A cluster without the paved-road tag, or with another value (`True` is not `true`):
    /// reason `missing_paved_road_tag`.
    ///
    /// ## Exemptions
    /// Such a cluster tagged with one of `exemption_tag_keys` (none by default) set to `true`
    /// in any case.
    ///
    /// ## Compliant
    /// Clusters carrying the paved-road tag with the exact value.
    pub DenyEksCreateClusterWithoutTag {
        id: "deny_eks_create_cluster_without_tag",
        kind: Scp,
        aliases: [],
        service: "EKS",
        reads: ["eks"],
        reasons: ["missing_paved_road_tag"],
    }
}

/// Options under `checks.deny_eks_create_cluster_without_tag`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The tag key that marks a paved-road cluster (case-sensitive).
    #[serde(default = "default_key")]
    pub paved_road_tag_key: String,
    /// The value that tag must have (case-sensitive).
    #[serde(default = "default_value")]
    pub paved_road_tag_value: String,
    /// Tag keys (case-sensitive) that exempt a cluster or a request when their value is
    /// `true` (any case).
    #[serde(default)]
    pub exemption_tag_keys: Vec<String>,
}

fn default_key() -> String {
    "PavedRoad".to_owned()
}

fn default_value() -> String {
    "true".to_owned()
}

impl Default for Options {
    fn default() -> Self {
        Self {
            paved_road_tag_key: default_key(),
            paved_road_tag_value: default_value(),
            exemption_tag_keys: Vec::new(),
        }
    }
}

standard_summary!(
    /// The per-account summary.
    Summary,
    total_clusters
);

/// One cluster.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Record {
    /// The cluster name.
    pub cluster_name: String,
    /// The cluster ARN.
    pub cluster_arn: String,
    /// The region.
    pub region: String,
    /// The cluster's tags.
    pub tags: Tags,
    /// Whether the paved-road tag has the required value.
    pub has_paved_road_tag: bool,
    /// Violations only: `missing_paved_road_tag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Exemptions only: the exempting tag key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_tag: Option<String>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

impl Check for DenyEksCreateClusterWithoutTag {
    type Options = Options;
    type Report = Report;

    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn evaluate(
        &self,
        account: &AccountScope<'_>,
        options: &Options,
        gaps: &[String],
    ) -> Evaluation<Report> {
        let mut rows = Vec::new();
        for (region, eks) in account.regional(|r| &r.eks) {
            for cluster in &eks.clusters {
                let paved = cluster.tags.get(&options.paved_road_tag_key)
                    == Some(&options.paved_road_tag_value);
                let outcome = if paved {
                    Outcome::Compliant
                } else {
                    match exemption_tag(&cluster.tags, &options.exemption_tag_keys) {
                        Some(tag) => Outcome::Exemption(tag),
                        None => Outcome::Violation("missing_paved_road_tag"),
                    }
                };
                let record = Record {
                    cluster_name: cluster.name.clone(),
                    cluster_arn: cluster.arn.clone(),
                    region: region.to_owned(),
                    tags: cluster.tags.clone(),
                    has_paved_road_tag: paved,
                    reason: outcome.reason(),
                    exemption_tag: outcome.exemption_tag(),
                };
                rows.push((region, cluster.name.as_str(), outcome, record));
            }
        }
        Sorted::new(sorted_rows(rows)).into_evaluation(
            |counts| Summary::new(account.header(Self::META.id), counts),
            gaps,
        )
    }

    fn statements(
        &self,
        options: &Options,
        _ctx: &PolicyContext<'_>,
        _allowlist: &BTreeSet<String>,
    ) -> Vec<Statement> {
        let mut not_equals = serde_json::Map::new();
        not_equals.insert(
            format!("aws:RequestTag/{}", options.paved_road_tag_key),
            options.paved_road_tag_value.clone().into(),
        );
        let mut condition = serde_json::Map::new();
        condition.insert("StringNotEquals".into(), not_equals.into());
        if let Some((op, value)) =
            request_tag_exemption("aws:RequestTag", &options.exemption_tag_keys)
        {
            condition.insert(op, value);
        }
        vec![statement(serde_json::json!({
            "Sid": sid(Self::META.id),
            "Effect": "Deny",
            "Action": "eks:CreateCluster",
            "Resource": "*",
            "Condition": condition,
        }))]
    }
}
