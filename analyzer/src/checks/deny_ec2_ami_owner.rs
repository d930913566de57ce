//! `deny_ec2_ami_owner`: deny launching EC2 instances from images of owners not in use today.

use std::collections::{BTreeMap, BTreeSet};

use headroom_schemas::inventory::ec2::ImageLookup;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Header, Outcome, ScpReport, Sorted, compliance_percentage, exemption_tag, live_instances,
    one_or_many, request_tag_exemption, sid, sorted_rows, statement,
};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::{Counts, Statement};

declare_check! {
    /// Denies launching EC2 instances from images whose owner is not on the allowlist. The
    /// allowlist is built from the image owners the accounts use today.
    ///
    /// ## What it denies
    /// `ec2:RunInstances` on images (`arn:<partition>:ec2:*::image/*`) when `ec2:Owner` is not
    /// one of the allowed owners (owner account IDs, plus the aliases `amazon` and
    /// `aws-marketplace` where images have them, plus `allowed_owners` from the
    /// configuration), unless the request carries one of `exemption_tag_keys` set to `true`.
    /// With no owner in use and none configured, every launch is denied.
    ///
    /// ## Violations
    /// A live instance (any state but `terminated`) whose image owner cannot be determined:
    /// reason `unknown_image_owner`, with `owner_unknown_reason` one of `deregistered`,
    /// `not_visible` (the image is private to another account or no longer shared),
    /// `no_image_id`, `no_owner_id` or `not_looked_up`.
    ///
    /// ## Exemptions
    /// Such an instance tagged with one of `exemption_tag_keys` (none by default) set to
    /// `true` in any case.
    ///
    /// ## Compliant
    /// Every instance whose image owner is known; its owner ID and alias join the account's
    /// allowlist.
    pub DenyEc2AmiOwner {
        id: "deny_ec2_ami_owner",
        kind: Scp,
        aliases: [],
        service: "EC2",
        reads: ["ec2"],
        reasons: ["unknown_image_owner"],
        empty_allowlist: "every `ec2:RunInstances` is denied: no image owner is allowed (launches carrying a configured exemption tag excepted)",
    }
}

/// Options under `checks.deny_ec2_ami_owner`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Image owners (account IDs, `amazon`, `aws-marketplace`) allowed everywhere in addition
    /// to the owners in use.
    #[serde(default)]
    pub allowed_owners: Vec<String>,
    /// Tag keys (case-sensitive) that exempt an instance or a launch request when their value
    /// is `true` (any case).
    #[serde(default)]
    pub exemption_tag_keys: Vec<String>,
}

/// The per-account summary.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    /// The account name.
    pub account_name: String,
    /// The account ID (absent in exclude mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The check ID.
    pub check: &'static str,
    /// Instances judged: violations + exemptions + compliant.
    pub total_instances: usize,
    /// Violating instances.
    pub violations: usize,
    /// Exempt instances.
    pub exemptions: usize,
    /// Compliant instances.
    pub compliant: usize,
    /// `(compliant + exemptions) / total * 100`; 100 when there are no instances.
    pub compliance_percentage: f64,
    /// The distinct owner account IDs of compliant instances' images, sorted.
    pub unique_ami_owners: Vec<String>,
    /// Instances whose image owner is unknown, by `owner_unknown_reason`.
    pub unknown_ami_owners: BTreeMap<String, usize>,
    /// The account's allowlist: owner IDs and aliases in use, sorted.
    pub allowed_ami_owners: Vec<String>,
}

/// One instance.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Record {
    /// The instance ID.
    pub instance_id: String,
    /// The region.
    pub region: String,
    /// The image ID, if AWS sent one.
    pub ami_id: Option<String>,
    /// The image owner's account ID, if known.
    pub ami_owner: Option<String>,
    /// The image owner alias (`amazon`, `aws-marketplace`), if any.
    pub ami_owner_alias: Option<String>,
    /// The image name, if known.
    pub ami_name: Option<String>,
    /// Why the owner is unknown, if it is.
    pub owner_unknown_reason: Option<&'static str>,
    /// Violations only: `unknown_image_owner`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Exemptions only: the exempting tag key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_tag: Option<String>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

struct Owner<'a> {
    id: Option<&'a str>,
    alias: Option<&'a str>,
    name: Option<&'a str>,
    unknown: Option<&'static str>,
}

fn owner<'a>(image_id: Option<&str>, images: &'a BTreeMap<String, ImageLookup>) -> Owner<'a> {
    let unknown = |reason| Owner {
        id: None,
        alias: None,
        name: None,
        unknown: Some(reason),
    };
    let Some(image_id) = image_id else {
        return unknown("no_image_id");
    };
    match images.get(image_id) {
        None => unknown("not_looked_up"),
        Some(ImageLookup::Deregistered) => unknown("deregistered"),
        Some(ImageLookup::NotVisible) => unknown("not_visible"),
        Some(ImageLookup::Found {
            owner_id,
            image_owner_alias,
            name,
            ..
        }) => Owner {
            id: owner_id.as_deref(),
            alias: image_owner_alias.as_deref(),
            name: name.as_deref(),
            unknown: (owner_id.is_none() && image_owner_alias.is_none()).then_some("no_owner_id"),
        },
    }
}

fn summary(
    header: Header,
    counts: Counts,
    rows: &[(Outcome, Record)],
) -> (Summary, BTreeSet<String>) {
    let mut unique = BTreeSet::new();
    let mut allowed = BTreeSet::new();
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    for (outcome, record) in rows {
        if let Some(reason) = record.owner_unknown_reason {
            *unknown.entry(reason.to_owned()).or_default() += 1;
        }
        if *outcome == Outcome::Compliant {
            unique.extend(record.ami_owner.clone());
            allowed.extend(record.ami_owner.clone());
            allowed.extend(record.ami_owner_alias.clone());
        }
    }
    let summary = Summary {
        account_name: header.account_name,
        account_id: header.account_id,
        check: header.check,
        total_instances: counts.violations + counts.exemptions + counts.compliant,
        violations: counts.violations,
        exemptions: counts.exemptions,
        compliant: counts.compliant,
        compliance_percentage: compliance_percentage(counts),
        unique_ami_owners: unique.into_iter().collect(),
        unknown_ami_owners: unknown,
        allowed_ami_owners: allowed.iter().cloned().collect(),
    };
    (summary, allowed)
}

impl Check for DenyEc2AmiOwner {
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
                let owner = owner(instance.image_id.as_deref(), &ec2.images);
                let outcome = if owner.unknown.is_some() {
                    match exemption_tag(&instance.tags, &options.exemption_tag_keys) {
                        Some(tag) => Outcome::Exemption(tag),
                        None => Outcome::Violation("unknown_image_owner"),
                    }
                } else {
                    Outcome::Compliant
                };
                let record = Record {
                    instance_id: instance.instance_id.clone(),
                    region: region.to_owned(),
                    ami_id: instance.image_id.clone(),
                    ami_owner: owner.id.map(str::to_owned),
                    ami_owner_alias: owner.alias.map(str::to_owned),
                    ami_name: owner.name.map(str::to_owned),
                    owner_unknown_reason: owner.unknown,
                    reason: outcome.reason(),
                    exemption_tag: outcome.exemption_tag(),
                };
                rows.push((region, instance.instance_id.as_str(), outcome, record));
            }
        }
        let rows = sorted_rows(rows);
        let sorted_preview = Sorted::new(rows.iter().map(|(o, r)| (o.clone(), r)));
        let counts = sorted_preview.counts();
        let reasons = sorted_preview.reasons.clone();
        let (summary, allowlist) = summary(account.header(Self::META.id), counts, &rows);
        Evaluation {
            report: Sorted::new(rows).into_scp_report(summary, gaps),
            counts,
            reasons,
            allowlist,
        }
    }

    fn configured_allowlist(
        &self,
        options: &Options,
        _ctx: &PolicyContext<'_>,
    ) -> BTreeSet<String> {
        options.allowed_owners.iter().cloned().collect()
    }

    fn statements(
        &self,
        options: &Options,
        ctx: &PolicyContext<'_>,
        allowlist: &BTreeSet<String>,
    ) -> Vec<Statement> {
        let mut condition = serde_json::Map::new();
        if !allowlist.is_empty() {
            condition.insert(
                "StringNotEquals".into(),
                serde_json::json!({ "ec2:Owner": one_or_many(allowlist) }),
            );
        }
        if let Some((op, value)) =
            request_tag_exemption("aws:RequestTag", &options.exemption_tag_keys)
        {
            condition.insert(op, value);
        }
        let mut s = statement(serde_json::json!({
            "Sid": sid(Self::META.id),
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": format!("arn:{}:ec2:*::image/*", ctx.partition),
        }));
        if !condition.is_empty() {
            s.insert("Condition".into(), condition.into());
        }
        vec![s]
    }
}
