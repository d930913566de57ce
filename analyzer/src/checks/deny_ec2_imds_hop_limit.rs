//! `deny_ec2_imds_hop_limit`: deny EC2 instances whose metadata response can travel more
//! than one network hop.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Outcome, ScpReport, Sorted, exemption_tag, live_instances, request_tag_exemption, sid,
    sorted_rows, standard_summary, statement,
};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

declare_check! {
    /// Denies launching EC2 instances with an IMDS PUT response hop limit above 1, which lets
    /// containers and forwarded traffic reach instance credentials.
    ///
    /// ## What it denies
    /// `ec2:RunInstances` on instances when `ec2:MetadataHttpPutResponseHopLimit` is greater
    /// than 1, unless the request carries one of `exemption_tag_keys` set to `true`.
    ///
    /// ## Violations
    /// A live instance (any state but `terminated`) whose metadata endpoint is enabled and
    /// whose hop limit is above 1 (a missing hop limit is 1): reason `hop_limit_above_1`.
    ///
    /// ## Exemptions
    /// Such an instance tagged with one of `exemption_tag_keys` (none by default) set to
    /// `true` in any case.
    ///
    /// ## Compliant
    /// Instances with hop limit 1, and every instance whose metadata endpoint is disabled,
    /// whatever its hop limit.
    pub DenyEc2ImdsHopLimit {
        id: "deny_ec2_imds_hop_limit",
        kind: Scp,
        aliases: [],
        service: "EC2",
        reads: ["ec2"],
        reasons: ["hop_limit_above_1"],
    }
}

/// Options under `checks.deny_ec2_imds_hop_limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Tag keys (case-sensitive) that exempt an instance or a launch request when their value
    /// is `true` (any case).
    #[serde(default)]
    pub exemption_tag_keys: Vec<String>,
}

standard_summary!(
    /// The per-account summary.
    Summary,
    total_instances
);

/// One instance.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Record {
    /// The instance ID.
    pub instance_id: String,
    /// The region.
    pub region: String,
    /// The PUT response hop limit (1 when AWS sent none).
    pub hop_limit: i32,
    /// Whether the metadata endpoint is enabled.
    pub imds_enabled: bool,
    /// Violations only: `hop_limit_above_1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Exemptions only: the exempting tag key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_tag: Option<String>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

impl Check for DenyEc2ImdsHopLimit {
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
        for (region, ec2) in account.regional(|r| &r.ec2) {
            for instance in live_instances(ec2) {
                let metadata = instance.metadata_options.clone().unwrap_or_default();
                let hop_limit = metadata.http_put_response_hop_limit.unwrap_or(1);
                let imds_enabled =
                    metadata.http_endpoint.as_deref().unwrap_or("enabled") == "enabled";
                let outcome = if imds_enabled && hop_limit > 1 {
                    match exemption_tag(&instance.tags, &options.exemption_tag_keys) {
                        Some(tag) => Outcome::Exemption(tag),
                        None => Outcome::Violation("hop_limit_above_1"),
                    }
                } else {
                    Outcome::Compliant
                };
                let record = Record {
                    instance_id: instance.instance_id.clone(),
                    region: region.to_owned(),
                    hop_limit,
                    imds_enabled,
                    reason: outcome.reason(),
                    exemption_tag: outcome.exemption_tag(),
                };
                rows.push((region, instance.instance_id.as_str(), outcome, record));
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
        ctx: &PolicyContext<'_>,
        _allowlist: &BTreeSet<String>,
    ) -> Vec<Statement> {
        let mut condition = serde_json::Map::new();
        condition.insert(
            "NumericGreaterThan".into(),
            serde_json::json!({ "ec2:MetadataHttpPutResponseHopLimit": "1" }),
        );
        if let Some((op, value)) =
            request_tag_exemption("aws:RequestTag", &options.exemption_tag_keys)
        {
            condition.insert(op, value);
        }
        vec![statement(serde_json::json!({
            "Sid": sid(Self::META.id),
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": format!("arn:{}:ec2:*:*:instance/*", ctx.partition),
            "Condition": condition,
        }))]
    }
}
