//! `deny_ec2_imds_v1`: deny EC2 instances that still accept IMDSv1.

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
    /// Denies launching EC2 instances that accept IMDSv1, and denies every action to
    /// credentials delivered through IMDSv1.
    ///
    /// ## What it denies
    /// Two statements: every action (`*`) when `ec2:RoleDelivery` is below `2.0` (instance-role
    /// credentials fetched through IMDSv1) unless the calling principal carries an exemption
    /// tag set to `true`; and `ec2:RunInstances` unless `ec2:MetadataHttpTokens` is `required`
    /// or the request carries an exemption tag set to `true`.
    ///
    /// ## Violations
    /// A live instance (any state but `terminated`) whose metadata endpoint is enabled and
    /// whose `http_tokens` is `optional` (missing values default to `enabled` and `optional`,
    /// as AWS does): reason `imds_v1_allowed`.
    ///
    /// ## Exemptions
    /// Such an instance tagged with one of `exemption_tag_keys` (default `ExemptFromIMDSv2`)
    /// whose value is `true` in any case. The tag key is case-sensitive.
    ///
    /// ## Compliant
    /// Instances that require IMDSv2, and instances whose metadata endpoint is disabled.
    pub DenyEc2ImdsV1 {
        id: "deny_ec2_imds_v1",
        kind: Scp,
        aliases: ["deny_imds_v1_ec2"],
        service: "EC2",
        reads: ["ec2"],
        reasons: ["imds_v1_allowed"],
    }
}

/// Options under `checks.deny_ec2_imds_v1`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Tag keys (case-sensitive) that exempt an instance, a launch request or a principal
    /// when their value is `true` (any case).
    #[serde(default = "default_exemption_tag_keys")]
    pub exemption_tag_keys: Vec<String>,
}

fn default_exemption_tag_keys() -> Vec<String> {
    vec!["ExemptFromIMDSv2".to_owned()]
}

impl Default for Options {
    fn default() -> Self {
        Self {
            exemption_tag_keys: default_exemption_tag_keys(),
        }
    }
}

standard_summary!(
    /// The per-account summary.
    Summary,
    total_instances
);

/// One instance.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Record {
    /// The region.
    pub region: String,
    /// The instance ID.
    pub instance_id: String,
    /// Whether the instance accepts IMDSv1.
    pub imdsv1_allowed: bool,
    /// Whether an exemption tag set to `true` is present.
    pub exemption_tag_present: bool,
    /// Violations only: `imds_v1_allowed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Exemptions only: the exempting tag key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_tag: Option<String>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

impl Check for DenyEc2ImdsV1 {
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
                let tokens = metadata.http_tokens.as_deref().unwrap_or("optional");
                let endpoint = metadata.http_endpoint.as_deref().unwrap_or("enabled");
                let allowed = endpoint == "enabled" && tokens == "optional";
                let tag = exemption_tag(&instance.tags, &options.exemption_tag_keys);
                let outcome = match (allowed, &tag) {
                    (true, Some(tag)) => Outcome::Exemption(tag.clone()),
                    (true, None) => Outcome::Violation("imds_v1_allowed"),
                    (false, _) => Outcome::Compliant,
                };
                let record = Record {
                    region: region.to_owned(),
                    instance_id: instance.instance_id.clone(),
                    imdsv1_allowed: allowed,
                    exemption_tag_present: tag.is_some(),
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
        let prefix = sid(Self::META.id);
        let mut credentials = serde_json::Map::new();
        credentials.insert(
            "NumericLessThan".into(),
            serde_json::json!({ "ec2:RoleDelivery": "2.0" }),
        );
        if let Some((op, value)) =
            request_tag_exemption("aws:PrincipalTag", &options.exemption_tag_keys)
        {
            credentials.insert(op, value);
        }
        let mut launch = serde_json::Map::new();
        launch.insert(
            "StringNotEquals".into(),
            serde_json::json!({ "ec2:MetadataHttpTokens": "required" }),
        );
        if let Some((op, value)) =
            request_tag_exemption("aws:RequestTag", &options.exemption_tag_keys)
        {
            launch.insert(op, value);
        }
        vec![
            statement(serde_json::json!({
                "Sid": format!("{prefix}RoleCredentials"),
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": credentials,
            })),
            statement(serde_json::json!({
                "Sid": format!("{prefix}Launch"),
                "Effect": "Deny",
                "Action": "ec2:RunInstances",
                "Resource": format!("arn:{}:ec2:*:*:instance/*", ctx.partition),
                "Condition": launch,
            })),
        ]
    }
}
