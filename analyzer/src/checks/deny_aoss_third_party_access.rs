//! `deny_aoss_third_party_access`: deny OpenSearch Serverless access from outside the
//! organization, except allowlisted third-party accounts.

use std::collections::BTreeSet;

use super::rcp::{self, Aggregate, RcpOptions, rcp_report};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;
use crate::policy_document::aoss;

/// The actions the RCP denies: every OpenSearch Serverless action.
pub const ACTIONS: [&str; 1] = ["aoss:*"];

declare_check! {
    /// Denies every OpenSearch Serverless action on the organization's collections to
    /// principals outside the organization, except allowlisted third-party accounts.
    ///
    /// ## What it denies
    /// `aoss:*` for principals whose `aws:PrincipalOrgID` is not the organization's and whose
    /// `aws:PrincipalAccount` is not allowlisted, unless the caller is an AWS service
    /// (`aws:PrincipalIsAWSService`). There is no tag exemption: data access policies carry
    /// no tags.
    ///
    /// ## Violations
    /// A data access policy (the unit this check judges) granting `*` (reason
    /// `wildcard_principal`); granting SAML or IAM Identity Center users or groups
    /// (`saml/...`, `iamidentitycenter/...`), which have no account the RCP could allowlist
    /// (reason `non_account_principal`); or that cannot be parsed (reason
    /// `unparseable_policy`). IAM principals of another partition are listed in
    /// `other_partition_principals`: they cannot reach the collection.
    ///
    /// ## Exemptions
    /// None.
    ///
    /// ## Compliant
    /// Policies granting only IAM principals of the organization or of named third-party
    /// accounts (which join the allowlist).
    pub DenyAossThirdPartyAccess {
        id: "deny_aoss_third_party_access",
        kind: Rcp,
        aliases: [],
        service: "OpenSearch Serverless",
        reads: ["aoss"],
        reasons: ["wildcard_principal", "non_account_principal", "unparseable_policy"],
        empty_allowlist: "every OpenSearch Serverless action by a principal outside the organization is denied (no third-party account is allowed)",
    }
}

rcp_report! {
    record: Record {
        /// The data access policy name.
        policy_name: String,
        /// The region.
        region: String,
        /// The collections and indexes the policy's rules name, sorted (empty when the policy
        /// cannot be parsed).
        resources: Vec<String>,
        /// The permissions the rules grant, sorted.
        allowed_actions: Vec<String>,
    },
    summary: Summary,
    report: Report,
    total: total_policies_analyzed,
    reached: policies_third_parties_can_access,
    wildcards: policies_with_wildcards,
    by_resource: policies_by_third_party_account,
}

impl Check for DenyAossThirdPartyAccess {
    type Options = RcpOptions;
    type Report = Report;

    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn evaluate(
        &self,
        account: &AccountScope<'_>,
        _options: &RcpOptions,
        gaps: &[String],
    ) -> Evaluation<Report> {
        let mut policies: Vec<_> = account
            .regional(|r| &r.aoss)
            .flat_map(|(region, inv)| inv.access_policies.iter().map(move |p| (region, p)))
            .collect();
        policies.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
        let items = policies
            .into_iter()
            .map(|(region, policy)| {
                let parsed = aoss::parse(&policy.policy);
                let (resources, actions) = parsed.as_ref().map_or_else(
                    |_| (Vec::new(), Vec::new()),
                    |p| {
                        (
                            p.resources.iter().cloned().collect(),
                            p.permissions.iter().cloned().collect(),
                        )
                    },
                );
                let analysis = parsed.map(|p| aoss::reach(&p, &account.org));
                let name = format!("{region}/{}", policy.name);
                rcp::assess(Some(analysis), None).item(name, |access| {
                    Record::new(
                        policy.name.clone(),
                        region.to_owned(),
                        resources,
                        actions,
                        access,
                    )
                })
            })
            .collect();
        let agg = Aggregate::new(items);
        agg.evaluation(Report::build(account.header(Self::META.id), &agg, gaps))
    }

    fn configured_allowlist(
        &self,
        options: &RcpOptions,
        _ctx: &PolicyContext<'_>,
    ) -> BTreeSet<String> {
        options.allowlist()
    }

    fn statements(
        &self,
        _options: &RcpOptions,
        ctx: &PolicyContext<'_>,
        allowlist: &BTreeSet<String>,
    ) -> Vec<Statement> {
        vec![rcp::third_party_statement(
            Self::META.id,
            &ACTIONS,
            false,
            ctx,
            allowlist,
        )]
    }
}
