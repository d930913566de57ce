//! `deny_ec2_public_ip`: deny EC2 instances with a public IPv4 address.

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
    /// Denies launching EC2 instances that get a public IPv4 address.
    ///
    /// ## What it denies
    /// `ec2:RunInstances` on network interfaces when `ec2:AssociatePublicIpAddress` is `true`
    /// (the key is evaluated on the network-interface resource, not the instance), unless the
    /// request carries one of `exemption_tag_keys` set to `true`.
    ///
    /// ## Violations
    /// A live instance (any state but `terminated`) with a public IPv4 address: reason
    /// `public_ip_assigned`. IPv6 addresses are not considered.
    ///
    /// ## Exemptions
    /// Such an instance tagged with one of `exemption_tag_keys` (none by default) set to
    /// `true` in any case.
    ///
    /// ## Compliant
    /// Instances without a public IPv4 address.
    pub DenyEc2PublicIp {
        id: "deny_ec2_public_ip",
        kind: Scp,
        aliases: [],
        service: "EC2",
        reads: ["ec2"],
        reasons: ["public_ip_assigned"],
    }
}

/// Options under `checks.deny_ec2_public_ip`.
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
    /// The public IPv4 address, if any.
    pub public_ip_address: Option<String>,
    /// Whether the instance has a public IPv4 address.
    pub has_public_ip: bool,
    /// The instance ARN.
    pub instance_arn: String,
    /// Violations only: `public_ip_assigned`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Exemptions only: the exempting tag key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_tag: Option<String>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

impl Check for DenyEc2PublicIp {
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
                let has_public_ip = instance.public_ip_address.is_some();
                let outcome = if has_public_ip {
                    match exemption_tag(&instance.tags, &options.exemption_tag_keys) {
                        Some(tag) => Outcome::Exemption(tag),
                        None => Outcome::Violation("public_ip_assigned"),
                    }
                } else {
                    Outcome::Compliant
                };
                let record = Record {
                    instance_id: instance.instance_id.clone(),
                    region: region.to_owned(),
                    public_ip_address: instance.public_ip_address.clone(),
                    has_public_ip,
                    // `arn:<partition>:ec2:<region>:<account>:instance/<id>`; `concat`, not
                    // `format!`, which costs more than the rest of the record.
                    instance_arn: [
                        "arn:",
                        account.partition,
                        ":ec2:",
                        region,
                        ":",
                        account.account.id.as_str(),
                        ":instance/",
                        &instance.instance_id,
                    ]
                    .concat(),
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
            "Bool".into(),
            serde_json::json!({ "ec2:AssociatePublicIpAddress": "true" }),
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
            "Resource": format!("arn:{}:ec2:*:*:network-interface/*", ctx.partition),
            "Condition": condition,
        }))]
    }
}
