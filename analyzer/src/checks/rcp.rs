//! The part every RCP check shares: classify one resource policy, aggregate an account's
//! resources, the report shape, and the third-party Deny statement.
//!
//! A resource is a violation when anyone can reach it (`wildcard_principal`), a principal
//! without an account can (`non_account_principal`: a `CanonicalUser` or a CloudFront origin
//! access identity), or its policy cannot be parsed (`unparseable_policy`). `Federated`
//! principals and principals of another partition are listed for information only: the RCP
//! neither concerns nor needs to allowlist them. A resource tagged `dp:exclude:identity=true` that anyone outside
//! the organization can reach is an exemption: the RCP does not apply to it, so its third
//! parties need no allowlisting. Anything else is compliant; its third parties become the
//! account's allowlist.

use headroom_schemas::Tags;
use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use super::common::{Outcome, RCP_EXEMPTION_TAG, has_rcp_exemption, one_or_many, sid, statement};
use super::{Evaluation, PolicyContext};
use crate::model::{Counts, Statement};
use crate::policy_document::{self, OrgView, ParseError, Reach};

/// The reason code of a resource anyone can reach.
pub const WILDCARD: &str = "wildcard_principal";
/// The reason code of a resource a `Federated` or `CanonicalUser` principal can reach.
pub const NON_ACCOUNT: &str = "non_account_principal";
/// The reason code of a resource whose policy cannot be parsed.
pub const UNPARSEABLE: &str = "unparseable_policy";
/// Every reason an RCP check can report.
pub const REASONS: [&str; 3] = [WILDCARD, NON_ACCOUNT, UNPARSEABLE];

/// Who outside the organization can reach one resource, as every RCP record reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Access {
    /// Accounts outside the organization the policy grants, sorted.
    pub third_party_account_ids: Vec<String>,
    /// Whether anyone can reach the resource (`*` not narrowed to the organization or to
    /// named accounts, or `NotPrincipal` with `Allow`).
    pub has_wildcard_principal: bool,
    /// Whether a principal without an account (`CanonicalUser`, CloudFront origin access
    /// identity) is granted.
    pub has_non_account_principals: bool,
    /// Those principals, sorted.
    pub non_account_principals: Vec<String>,
    /// Informational: `Federated` principals the policy trusts, sorted.
    pub federated_principals: Vec<String>,
    /// Informational: principals of another partition, sorted.
    pub other_partition_principals: Vec<String>,
    /// The in-scope actions granted to each third-party account, sorted.
    pub actions_by_account: BTreeMap<String, Vec<String>>,
    /// Violations only: `wildcard_principal`, `non_account_principal` or `unparseable_policy`.
    pub reason: Option<&'static str>,
    /// Violations and exemptions: why (the wildcard statements, the principals, the parse
    /// error).
    pub detail: Option<String>,
    /// Exemptions only: the tag that exempts the resource (`dp:exclude:identity`).
    pub exemption_tag: Option<String>,
}

/// One resource, classified.
#[derive(Debug, Clone)]
pub struct Item<R> {
    /// Where it lands.
    pub outcome: Outcome,
    /// Its report record.
    pub record: R,
    /// Its ARN (or name), for `<resources>_by_third_party_account`.
    pub resource: String,
    /// Its third parties and their actions.
    pub third_parties: BTreeMap<String, BTreeSet<String>>,
    /// Informational: the `Federated` principals and the principals of another partition its
    /// policy names.
    pub informational: Informational,
}

/// What a policy names that the RCP neither concerns nor allowlists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Informational {
    /// `Federated` principals.
    pub federated: BTreeSet<String>,
    /// Principals of another partition.
    pub other_partition: BTreeSet<String>,
}

/// Classifies one resource from its policy analysis. `policy` is `None` when the resource has
/// no policy; `tags` is `None` for resources that cannot carry tags.
pub fn assess(policy: Option<Result<Reach, ParseError>>, tags: Option<&Tags>) -> Assessed {
    let (violation, detail, reach) = match policy {
        None => (None, None, Reach::default()),
        Some(Err(e)) => (Some(UNPARSEABLE), Some(e.0), Reach::default()),
        Some(Ok(reach)) => {
            if !reach.wildcards.is_empty() {
                (Some(WILDCARD), Some(reach.wildcards.join("; ")), reach)
            } else if !reach.non_account_principals.is_empty() {
                let detail = format!(
                    "granted to principals without an account: {}",
                    reach
                        .non_account_principals
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                (Some(NON_ACCOUNT), Some(detail), reach)
            } else {
                (None, None, reach)
            }
        }
    };
    let exempt = tags.is_some_and(has_rcp_exemption)
        && (violation.is_some() || !reach.third_parties.is_empty());
    let outcome = match (exempt, violation) {
        (true, _) => Outcome::Exemption(RCP_EXEMPTION_TAG.to_owned()),
        (false, Some(reason)) => Outcome::Violation(reason),
        (false, None) => Outcome::Compliant,
    };
    let access = Access {
        third_party_account_ids: reach.third_parties.keys().cloned().collect(),
        has_wildcard_principal: !reach.wildcards.is_empty(),
        has_non_account_principals: !reach.non_account_principals.is_empty(),
        non_account_principals: reach.non_account_principals.iter().cloned().collect(),
        federated_principals: reach.federated_principals.iter().cloned().collect(),
        other_partition_principals: reach.other_partition_principals.iter().cloned().collect(),
        actions_by_account: reach
            .third_parties
            .iter()
            .map(|(a, actions)| (a.clone(), actions.iter().cloned().collect()))
            .collect(),
        reason: outcome.reason(),
        detail: match &outcome {
            Outcome::Compliant => None,
            Outcome::Exemption(_) => Some(detail.unwrap_or_else(|| {
                "reachable by third parties; the RCP does not apply to tagged resources".to_owned()
            })),
            Outcome::Violation(_) => detail,
        },
        exemption_tag: outcome.exemption_tag(),
    };
    Assessed {
        outcome,
        access,
        third_parties: reach.third_parties,
        informational: Informational {
            federated: reach.federated_principals,
            other_partition: reach.other_partition_principals,
        },
    }
}

/// One resource's classification.
#[derive(Debug, Clone)]
pub struct Assessed {
    /// Where it lands.
    pub outcome: Outcome,
    /// Its report fields.
    pub access: Access,
    /// Its third parties and their actions.
    pub third_parties: BTreeMap<String, BTreeSet<String>>,
    /// What its policy names for information only.
    pub informational: Informational,
}

impl Assessed {
    /// The aggregate's item for this resource, with its report record.
    pub fn item<R>(self, resource: String, record: impl FnOnce(Access) -> R) -> Item<R> {
        Item {
            outcome: self.outcome,
            record: record(self.access),
            resource,
            third_parties: self.third_parties,
            informational: self.informational,
        }
    }
}

/// Classifies the resources of one check in one account by their IAM resource policies,
/// analysing each distinct policy text once: resources often carry the same policy word for
/// word (service trust policies, default key policies), and parsing is the dear part.
/// Measured with `cargo xtask bench --compare` at 10,000 accounts (median of 5 round-robin
/// rounds, every core, one run): parsing every resource's policy made the whole `analyze`
/// 16.2% slower (3.58 s to 4.16 s).
#[derive(Debug)]
pub struct IamAssessor<'t, 'o> {
    scope: &'o [&'o str],
    org: OrgView<'o>,
    analyses: BTreeMap<&'t str, Result<Reach, ParseError>>,
}

impl<'t, 'o> IamAssessor<'t, 'o> {
    /// An assessor for the actions in `scope` (those the check's RCP denies).
    pub fn new(scope: &'o [&'o str], org: OrgView<'o>) -> Self {
        Self {
            scope,
            org,
            analyses: BTreeMap::new(),
        }
    }

    /// Classifies one resource with an IAM resource policy (`None` without a policy).
    pub fn assess(&mut self, policy: Option<&'t str>, tags: Option<&Tags>) -> Assessed {
        let analysis = policy.map(|text| {
            self.analyses
                .entry(text)
                .or_insert_with(|| {
                    policy_document::parse(text)
                        .map(|doc| policy_document::reach(&doc, self.scope, &self.org))
                })
                .clone()
        });
        assess(analysis, tags)
    }
}

/// One resource of a regional RCP check: its region, ARN, resource policy and tags.
#[derive(Debug, Clone, Copy)]
pub struct RegionalResource<'a> {
    /// The region the resource lives in.
    pub region: &'a str,
    /// The resource ARN (the sort key within a region, and the resource named in findings).
    pub arn: &'a str,
    /// The resource policy's raw text, if it has one.
    pub policy: Option<&'a str>,
    /// The resource's tags (for the `dp:exclude:identity` exemption).
    pub tags: &'a Tags,
}

/// Assesses the resources of a regional RCP check in (region, ARN) order: each distinct policy
/// text is parsed and its reach derived once, and `record` turns a resource and its access into the
/// report record.
pub fn assess_regional<'a, T: 'a, R: Clone>(
    resources: impl IntoIterator<Item = (&'a str, &'a T)>,
    scope: &[&str],
    org: &OrgView<'_>,
    view: impl Fn(&'a str, &'a T) -> RegionalResource<'a>,
    record: impl Fn(&RegionalResource<'a>, &'a T, Access) -> R,
) -> Aggregate<R> {
    let mut resources: Vec<(RegionalResource<'a>, &'a T)> = resources
        .into_iter()
        .map(|(region, resource)| (view(region, resource), resource))
        .collect();
    resources.sort_by(|a, b| (a.0.region, a.0.arn).cmp(&(b.0.region, b.0.arn)));
    let mut assessor = IamAssessor::new(scope, *org);
    let items = resources
        .into_iter()
        .map(|(view, resource)| {
            assessor
                .assess(view.policy, Some(view.tags))
                .item(view.arn.to_owned(), |access| {
                    record(&view, resource, access)
                })
        })
        .collect();
    Aggregate::new(items)
}

/// An account's resources, aggregated.
#[derive(Debug, Clone)]
pub struct Aggregate<R> {
    /// Violations, then compliant resources that third parties can reach.
    pub reached: Vec<R>,
    /// Violations.
    pub violations: Vec<R>,
    /// Exemptions.
    pub exemptions: Vec<R>,
    /// Counts (compliant counts every compliant resource, reached or not).
    pub counts: Counts,
    /// Violations by reason.
    pub reasons: BTreeMap<String, usize>,
    /// Third parties of every non-exempt resource: the account's allowlist.
    pub third_parties: BTreeSet<String>,
    /// Actions per third party, over non-exempt resources.
    pub actions_by_third_party_account: BTreeMap<String, Vec<String>>,
    /// Resources per third party, over non-exempt resources.
    pub resources_by_third_party_account: BTreeMap<String, Vec<String>>,
    /// Informational: resources per `Federated` principal, over every resource.
    pub resources_by_federated_principal: BTreeMap<String, Vec<String>>,
    /// Informational: resources per principal of another partition, over every resource.
    pub resources_by_other_partition_principal: BTreeMap<String, Vec<String>>,
}

impl<R: Clone> Aggregate<R> {
    /// Aggregates classified resources (already in report order).
    pub fn new(items: Vec<Item<R>>) -> Self {
        let mut violations = Vec::new();
        let mut exemptions = Vec::new();
        let mut reached_compliant = Vec::new();
        let mut counts = Counts::default();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut actions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut resources: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut federated: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut other_partition: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for item in items {
            for (names, into) in [
                (&item.informational.federated, &mut federated),
                (&item.informational.other_partition, &mut other_partition),
            ] {
                for name in names {
                    into.entry(name.clone())
                        .or_default()
                        .insert(item.resource.clone());
                }
            }
            let exempt = matches!(item.outcome, Outcome::Exemption(_));
            if !exempt {
                for (account, granted) in &item.third_parties {
                    actions
                        .entry(account.clone())
                        .or_default()
                        .extend(granted.iter().cloned());
                    resources
                        .entry(account.clone())
                        .or_default()
                        .insert(item.resource.clone());
                }
            }
            match item.outcome {
                Outcome::Violation(reason) => {
                    counts.violations += 1;
                    *reasons.entry(reason.to_owned()).or_default() += 1;
                    violations.push(item.record);
                }
                Outcome::Exemption(_) => {
                    counts.exemptions += 1;
                    exemptions.push(item.record);
                }
                Outcome::Compliant => {
                    counts.compliant += 1;
                    if !item.third_parties.is_empty() {
                        reached_compliant.push(item.record);
                    }
                }
            }
        }
        let mut reached = violations.clone();
        reached.extend(reached_compliant);
        Aggregate {
            reached,
            violations,
            exemptions,
            counts,
            reasons,
            third_parties: actions.keys().cloned().collect(),
            actions_by_third_party_account: actions
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
            resources_by_third_party_account: sorted_lists(resources),
            resources_by_federated_principal: sorted_lists(federated),
            resources_by_other_partition_principal: sorted_lists(other_partition),
        }
    }

    /// The evaluation around a report built from this aggregate.
    pub fn evaluation<T>(&self, report: T) -> Evaluation<T> {
        Evaluation {
            report,
            counts: self.counts,
            reasons: self.reasons.clone(),
            allowlist: self.third_parties.clone(),
        }
    }
}

fn sorted_lists(map: BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, Vec<String>> {
    map.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

/// The third-party Deny statement of an RCP check (SPEC §9; reference §13.6): deny the
/// check's actions to every principal outside the organization, except allowlisted accounts,
/// AWS services acting as themselves and (where the service has tags) resources tagged
/// `dp:exclude:identity=true`. An empty allowlist omits `aws:PrincipalAccount`, so all
/// outside access is denied.
pub fn third_party_statement(
    check_id: &str,
    actions: &[&str],
    resource_tag_exemption: bool,
    ctx: &PolicyContext<'_>,
    allowlist: &BTreeSet<String>,
) -> Statement {
    let mut not_equals = serde_json::Map::new();
    not_equals.insert("aws:PrincipalOrgID".into(), ctx.org_id.into());
    if !allowlist.is_empty() {
        not_equals.insert("aws:PrincipalAccount".into(), one_or_many(allowlist));
    }
    if resource_tag_exemption {
        not_equals.insert(
            format!("aws:ResourceTag/{RCP_EXEMPTION_TAG}"),
            "true".into(),
        );
    }
    let action: serde_json::Value = if actions.len() == 1 {
        actions[0].into()
    } else {
        actions.to_vec().into()
    };
    statement(serde_json::json!({
        "Sid": sid(check_id),
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": "*",
        "Condition": {
            "StringNotEqualsIfExists": not_equals,
            "BoolIfExists": { "aws:PrincipalIsAWSService": "false" }
        }
    }))
}

/// Declares an RCP check's record, summary and report types with the reference's key names.
macro_rules! rcp_report {
    (
        record: $record:ident { $($(#[doc = $fdoc:literal])* $field:ident : $fty:ty),* $(,)? },
        summary: $summary:ident,
        report: $report:ident,
        total: $total:ident,
        reached: $reached:ident,
        wildcards: $wild:ident,
        by_resource: $by_resource:ident,
        $(legacy_actions: $legacy:ident,)?
    ) => {
        /// One resource in this check's report.
        #[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
        pub struct $record {
            $($(#[doc = $fdoc])* pub $field: $fty,)*
            /// Accounts outside the organization the policy grants, sorted.
            pub third_party_account_ids: Vec<String>,
            /// Whether anyone can reach the resource.
            pub has_wildcard_principal: bool,
            /// Whether a principal without an account (`CanonicalUser`, CloudFront origin
            /// access identity) is granted.
            pub has_non_account_principals: bool,
            /// Those principals, sorted.
            pub non_account_principals: Vec<String>,
            /// Informational: `Federated` principals the policy trusts (they can only call
            /// `AssumeRoleWithSAML`/`AssumeRoleWithWebIdentity`, which the RCP does not deny).
            pub federated_principals: Vec<String>,
            /// Informational: principals of another partition, which cannot reach the
            /// resource and are never allowlisted.
            pub other_partition_principals: Vec<String>,
            /// The in-scope actions granted to each third-party account.
            pub actions_by_account: std::collections::BTreeMap<String, Vec<String>>,
            /// Violations only: `wildcard_principal`, `non_account_principal` or
            /// `unparseable_policy`.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub reason: Option<&'static str>,
            /// Violations and exemptions: why.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub detail: Option<String>,
            /// Exemptions only: the exempting tag.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub exemption_tag: Option<String>,
        }

        impl $record {
            /// A record from its identity fields and its access analysis.
            #[allow(clippy::too_many_arguments, reason = "one argument per identity field")]
            pub fn new($($field: $fty,)* access: $crate::checks::rcp::Access) -> Self {
                Self {
                    $($field,)*
                    third_party_account_ids: access.third_party_account_ids,
                    has_wildcard_principal: access.has_wildcard_principal,
                    has_non_account_principals: access.has_non_account_principals,
                    non_account_principals: access.non_account_principals,
                    federated_principals: access.federated_principals,
                    other_partition_principals: access.other_partition_principals,
                    actions_by_account: access.actions_by_account,
                    reason: access.reason,
                    detail: access.detail,
                    exemption_tag: access.exemption_tag,
                }
            }
        }

        /// This check's per-account summary.
        #[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
        pub struct $summary {
            /// The account name.
            pub account_name: String,
            /// The account ID (absent in exclude mode).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub account_id: Option<String>,
            /// The check ID.
            pub check: &'static str,
            /// Resources examined: violations + exemptions + compliant.
            pub $total: usize,
            /// The length of the list of the same name: violations, then compliant resources
            /// that third parties can reach.
            pub $reached: usize,
            /// The length of the list of the same name: the violations.
            pub $wild: usize,
            /// Violating resources.
            pub violations: usize,
            /// Exempt resources (tagged `dp:exclude:identity=true`).
            pub exemptions: usize,
            /// Compliant resources, reachable by third parties or not.
            pub compliant: usize,
            /// Third-party accounts of the non-exempt resources, sorted: the account's
            /// allowlist.
            pub unique_third_party_accounts: Vec<String>,
            /// How many.
            pub third_party_account_count: usize,
            /// Actions granted per third-party account, over non-exempt resources.
            pub actions_by_third_party_account: std::collections::BTreeMap<String, Vec<String>>,
            /// Resources each third-party account can reach, over non-exempt resources.
            pub $by_resource: std::collections::BTreeMap<String, Vec<String>>,
            /// Informational: the resources each `Federated` principal is trusted by. Federated
            /// principals can only call `AssumeRoleWithSAML`/`AssumeRoleWithWebIdentity`,
            /// which the RCP does not deny.
            pub resources_by_federated_principal:
                std::collections::BTreeMap<String, Vec<String>>,
            /// Informational: the resources each principal of another partition is named by.
            /// It cannot reach them and is never allowlisted.
            pub resources_by_other_partition_principal:
                std::collections::BTreeMap<String, Vec<String>>,
            $(
                /// The same map as `actions_by_third_party_account` (the reference's key for
                /// this check).
                pub $legacy: std::collections::BTreeMap<String, Vec<String>>,
            )?
        }

        /// This check's per-account report.
        #[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
        pub struct $report {
            /// Counts and aggregates.
            pub summary: $summary,
            /// Violations, then compliant resources that third parties can reach.
            pub $reached: Vec<$record>,
            /// The violations (the reference's name; wildcard, non-account and unparseable).
            pub $wild: Vec<$record>,
            /// Resources tagged out of the RCP.
            pub exemptions: Vec<$record>,
            /// Collection failures of the services this check reads (empty when complete).
            pub collection_gaps: Vec<String>,
        }

        impl $report {
            /// The report of an aggregate.
            pub fn build(
                header: $crate::checks::common::Header,
                agg: &$crate::checks::rcp::Aggregate<$record>,
                gaps: &[String],
            ) -> Self {
                let counts = agg.counts;
                Self {
                    summary: $summary {
                        account_name: header.account_name,
                        account_id: header.account_id,
                        check: header.check,
                        $total: counts.violations + counts.exemptions + counts.compliant,
                        $reached: agg.reached.len(),
                        $wild: agg.violations.len(),
                        violations: counts.violations,
                        exemptions: counts.exemptions,
                        compliant: counts.compliant,
                        unique_third_party_accounts: agg.third_parties.iter().cloned().collect(),
                        third_party_account_count: agg.third_parties.len(),
                        actions_by_third_party_account: agg.actions_by_third_party_account.clone(),
                        $by_resource: agg.resources_by_third_party_account.clone(),
                        resources_by_federated_principal: agg
                            .resources_by_federated_principal
                            .clone(),
                        resources_by_other_partition_principal: agg
                            .resources_by_other_partition_principal
                            .clone(),
                        $($legacy: agg.actions_by_third_party_account.clone(),)?
                    },
                    $reached: agg.reached.clone(),
                    $wild: agg.violations.clone(),
                    exemptions: agg.exemptions.clone(),
                    collection_gaps: gaps.to_vec(),
                }
            }
        }
    };
}
pub(crate) use rcp_report;

/// Options of every RCP check.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RcpOptions {
    /// Third-party account IDs (quoted, 12 digits) allowed everywhere this RCP is attached, in
    /// addition to the third parties found beneath the target.
    #[serde(default)]
    pub allowed_account_ids: Vec<headroom_schemas::AccountId>,
}

impl RcpOptions {
    /// The configured allowlist.
    pub fn allowlist(&self) -> BTreeSet<String> {
        self.allowed_account_ids
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}
