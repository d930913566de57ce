//! Pieces shared by the checks: report headers, the SCP report shape, outcomes, exemption
//! tags, statement building and schema helpers for the generated documentation.

use headroom_schemas::Tags;
use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{Counts, Statement};

/// The first three keys of every report summary (`account_id` absent in exclude mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The account name.
    pub account_name: String,
    /// The account ID, `None` in exclude mode.
    pub account_id: Option<String>,
    /// The check ID.
    pub check: &'static str,
}

/// Where one resource lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Attaching the guardrail would break it, or it already breaks the rule.
    Violation(&'static str),
    /// Tagged out of the guardrail with this tag key.
    Exemption(String),
    /// Satisfies the rule.
    Compliant,
}

impl Outcome {
    /// The reason code of a violation.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Outcome::Violation(r) => Some(r),
            _ => None,
        }
    }

    /// The exempting tag key of an exemption.
    pub fn exemption_tag(&self) -> Option<String> {
        match self {
            Outcome::Exemption(t) => Some(t.clone()),
            _ => None,
        }
    }
}

/// The document every SCP check writes per account (the reference's shape plus the gaps).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScpReport<S, R> {
    /// Counts and check-specific aggregates.
    pub summary: S,
    /// Resources that violate, each with a `reason`.
    pub violations: Vec<R>,
    /// Resources tagged out, each with its `exemption_tag`.
    pub exemptions: Vec<R>,
    /// Resources that comply (the reference's key name, whatever the resource type).
    pub compliant_instances: Vec<R>,
    /// Collection failures of the services this check reads, one line each (empty when the
    /// account was fully collected). A non-empty list makes the account incomplete.
    pub collection_gaps: Vec<String>,
}

/// Resources sorted into the three outcomes, with counts and reasons.
#[derive(Debug, Clone)]
pub struct Sorted<R> {
    /// Violating resources.
    pub violations: Vec<R>,
    /// Exempt resources.
    pub exemptions: Vec<R>,
    /// Compliant resources.
    pub compliant: Vec<R>,
    /// Violations by reason code.
    pub reasons: BTreeMap<String, usize>,
}

impl<R> Sorted<R> {
    /// Sorts `(outcome, record)` pairs, keeping their order within each outcome.
    pub fn new(items: impl IntoIterator<Item = (Outcome, R)>) -> Self {
        let mut sorted = Sorted {
            violations: Vec::new(),
            exemptions: Vec::new(),
            compliant: Vec::new(),
            reasons: BTreeMap::new(),
        };
        for (outcome, record) in items {
            match outcome {
                Outcome::Violation(reason) => {
                    *sorted.reasons.entry(reason.to_owned()).or_default() += 1;
                    sorted.violations.push(record);
                }
                Outcome::Exemption(_) => sorted.exemptions.push(record),
                Outcome::Compliant => sorted.compliant.push(record),
            }
        }
        sorted
    }

    /// The counts.
    pub fn counts(&self) -> Counts {
        Counts {
            violations: self.violations.len(),
            exemptions: self.exemptions.len(),
            compliant: self.compliant.len(),
        }
    }

    /// The evaluation of an SCP check without an allowlist: counts and reasons from these
    /// records, the report with the summary `summary` builds from the counts.
    pub fn into_evaluation<S>(
        self,
        summary: impl FnOnce(Counts) -> S,
        gaps: &[String],
    ) -> super::Evaluation<ScpReport<S, R>> {
        let counts = self.counts();
        let reasons = self.reasons.clone();
        super::Evaluation {
            report: self.into_scp_report(summary(counts), gaps),
            counts,
            reasons,
            allowlist: BTreeSet::new(),
        }
    }

    /// The SCP report with this summary.
    pub fn into_scp_report<S>(self, summary: S, gaps: &[String]) -> ScpReport<S, R> {
        ScpReport {
            summary,
            violations: self.violations,
            exemptions: self.exemptions,
            compliant_instances: self.compliant,
            collection_gaps: gaps.to_vec(),
        }
    }
}

/// `(compliant + exempt) / total * 100`, and 100 when there is nothing to judge.
#[expect(
    clippy::cast_precision_loss,
    reason = "resource counts are far below 2^52"
)]
pub fn compliance_percentage(counts: Counts) -> f64 {
    let total = counts.violations + counts.exemptions + counts.compliant;
    if total == 0 {
        100.0
    } else {
        (counts.compliant + counts.exemptions) as f64 / total as f64 * 100.0
    }
}

/// The first of `keys` that `tags` holds with a value of `true` in any case.
pub fn exemption_tag(tags: &Tags, keys: &[String]) -> Option<String> {
    keys.iter()
        .find(|k| tags.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true")))
        .cloned()
}

/// The RCP exemption: the resource tag `dp:exclude:identity` equal to `true` (exactly: the
/// RCP compares case-sensitively).
pub const RCP_EXEMPTION_TAG: &str = "dp:exclude:identity";

/// Whether a resource carries the RCP exemption tag.
pub fn has_rcp_exemption(tags: &Tags) -> bool {
    tags.get(RCP_EXEMPTION_TAG).is_some_and(|v| v == "true")
}

/// `DenyEc2ImdsV1` from `deny_ec2_imds_v1`: the Sid prefix of every statement of a check.
pub fn sid(check_id: &str) -> String {
    check_id
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A statement from a JSON object literal.
pub fn statement(value: serde_json::Value) -> Statement {
    match value {
        serde_json::Value::Object(map) => map,
        _ => Statement::new(),
    }
}

/// A string or, for several values, a list: the shorter IAM form.
pub fn one_or_many(values: &BTreeSet<String>) -> serde_json::Value {
    if values.len() == 1 {
        values
            .iter()
            .next()
            .map_or(serde_json::Value::Null, |v| v.clone().into())
    } else {
        values.iter().cloned().collect::<Vec<_>>().into()
    }
}

/// The condition object `StringNotEqualsIgnoreCase: {aws:RequestTag/<key>: "true", ...}` that
/// exempts requests carrying any of the exemption tags; `None` without keys.
pub fn request_tag_exemption(prefix: &str, keys: &[String]) -> Option<(String, serde_json::Value)> {
    if keys.is_empty() {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = keys
        .iter()
        .map(|k| (format!("{prefix}/{k}"), serde_json::Value::from("true")))
        .collect();
    Some(("StringNotEqualsIgnoreCase".to_owned(), map.into()))
}

/// The top-level properties of an options schema, in name order.
pub fn schema_properties(schema: &schemars::Schema) -> Vec<(String, serde_json::Value)> {
    schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| {
            // Sorted: map order depends on `serde_json`'s `preserve_order` feature.
            let mut props: Vec<_> = p.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            props.sort_by(|a, b| a.0.cmp(&b.0));
            props
        })
        .unwrap_or_default()
}

/// A short type name for a property schema.
pub fn schema_type(prop: &serde_json::Value) -> String {
    match prop.get("type") {
        Some(serde_json::Value::String(t)) if t == "array" => {
            let item = prop
                .get("items")
                .map_or_else(|| "any".to_owned(), schema_type);
            format!("list of {item}")
        }
        Some(serde_json::Value::String(t)) => t.clone(),
        Some(serde_json::Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    }
}

/// Declares an SCP summary with the standard counts, its total named `$total`.
macro_rules! standard_summary {
    ($(#[doc = $doc:literal])* $name:ident, $total:ident) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
        pub struct $name {
            /// The account name.
            pub account_name: String,
            /// The account ID (absent in exclude mode).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub account_id: Option<String>,
            /// The check ID.
            pub check: &'static str,
            /// Resources judged: violations + exemptions + compliant.
            pub $total: usize,
            /// Violating resources.
            pub violations: usize,
            /// Exempt resources.
            pub exemptions: usize,
            /// Compliant resources.
            pub compliant: usize,
            /// `(compliant + exemptions) / total * 100`; 100 when there are no resources.
            pub compliance_percentage: f64,
        }

        impl $name {
            /// The summary of `counts`.
            pub fn new(header: $crate::checks::common::Header, counts: $crate::model::Counts) -> Self {
                Self {
                    account_name: header.account_name,
                    account_id: header.account_id,
                    check: header.check,
                    $total: counts.violations + counts.exemptions + counts.compliant,
                    violations: counts.violations,
                    exemptions: counts.exemptions,
                    compliant: counts.compliant,
                    compliance_percentage: $crate::checks::common::compliance_percentage(counts),
                }
            }
        }
    };
}
pub(crate) use standard_summary;

/// The exemption-tag option every tag-aware SCP check takes.
pub fn default_no_tags() -> Vec<String> {
    Vec::new()
}

/// Instances that exist: every state but `terminated` (reference §8).
pub fn live_instances(
    ec2: &headroom_schemas::inventory::ec2::Ec2Inventory,
) -> impl Iterator<Item = &headroom_schemas::inventory::ec2::Instance> {
    ec2.instances.iter().filter(|i| i.state != "terminated")
}

/// Sorts `(region, id, outcome, record)` rows by region then ID, so that report order never
/// depends on the order of the snapshot's lists. (The keys may borrow from the snapshot.)
pub fn sorted_rows<A: Ord, B: Ord, R>(mut rows: Vec<(A, B, Outcome, R)>) -> Vec<(Outcome, R)> {
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows.into_iter().map(|(_, _, o, r)| (o, r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_follow_the_check_id() {
        assert_eq!(sid("deny_ec2_imds_v1"), "DenyEc2ImdsV1");
        assert_eq!(
            sid("deny_sts_third_party_assumerole"),
            "DenyStsThirdPartyAssumerole"
        );
    }

    #[test]
    fn percentages() {
        let c = |v, e, c| Counts {
            violations: v,
            exemptions: e,
            compliant: c,
        };
        assert!((compliance_percentage(c(0, 0, 0)) - 100.0).abs() < f64::EPSILON);
        assert_eq!(
            compliance_percentage(c(2, 0, 1)).to_string(),
            "33.33333333333333"
        );
        assert_eq!(
            compliance_percentage(c(1, 1, 1)).to_string(),
            "66.66666666666666"
        );
    }

    #[test]
    fn exemption_values_ignore_case_but_keys_do_not() {
        let tags = Tags::from([("ExemptFromIMDSv2".to_owned(), "True".to_owned())]);
        assert_eq!(
            exemption_tag(&tags, &["ExemptFromIMDSv2".to_owned()]),
            Some("ExemptFromIMDSv2".to_owned())
        );
        assert_eq!(exemption_tag(&tags, &["exemptfromimdsv2".to_owned()]), None);
    }
}
