//! `deny_ecr_third_party_access`: deny ECR access from outside the organization, except
//! allowlisted third-party accounts.

use std::collections::BTreeSet;

use super::rcp::{self, RcpOptions, RegionalResource, rcp_report};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

/// The actions the RCP denies, and so the actions a policy statement must grant to matter.
pub const ACTIONS: [&str; 1] = ["ecr:*"];

declare_check! {
    /// Denies every ECR action on the organization's repositories to principals outside the organization, except allowlisted third-party accounts.
    ///
    /// ## What it denies
    /// `ecr:*` on every repository, for principals whose `aws:PrincipalOrgID` is not the
    /// organization's and whose `aws:PrincipalAccount` is not allowlisted, unless the caller
    /// is an AWS service (`aws:PrincipalIsAWSService`) or the repository is tagged
    /// `dp:exclude:identity=true`.
    ///
    /// ## Violations
    /// A repository whose policy lets anyone in: principal `*`, or `NotPrincipal` with `Allow`, not
    /// narrowed by the statement's conditions to the organization, to named accounts or to AWS
    /// services (reason `wildcard_principal`); a principal without an account the RCP could
    /// allowlist, a `CanonicalUser` or a CloudFront origin access identity (reason
    /// `non_account_principal`); a policy that cannot be parsed (reason `unparseable_policy`).
    /// How principals and conditions are read is described under "How the RCP checks read
    /// resource policies" in CHECKS.md. `Federated` principals and principals of another
    /// partition are listed (`federated_principals`, `other_partition_principals`) but are not
    /// violations: the first can only federate, the second cannot reach the repository.
    ///
    /// ## Exemptions
    /// Such a repository, or a repository third parties can reach, tagged `dp:exclude:identity` = `true`.
    ///
    /// ## Compliant
    /// Repositories without a policy, or reachable only from the organization, by AWS
    /// services, or by named third-party accounts (which join the allowlist).
    pub DenyEcrThirdPartyAccess {
        id: "deny_ecr_third_party_access",
        kind: Rcp,
        aliases: [],
        service: "ECR",
        reads: ["ecr"],
        reasons: ["wildcard_principal", "non_account_principal", "unparseable_policy"],
        empty_allowlist: "every ECR action on the repositories by a principal outside the organization is denied (no third-party account is allowed)",
    }
}

rcp_report! {
    record: Record {
        /// The repository name.
        repository_name: String,
        /// The repository ARN.
        repository_arn: String,
        /// The region.
        region: String,
    },
    summary: Summary,
    report: Report,
    total: total_repositories_analyzed,
    reached: repositories_third_parties_can_access,
    wildcards: repositories_with_wildcards,
    by_resource: repositories_by_third_party_account,
    legacy_actions: actions_by_account,
}

impl Check for DenyEcrThirdPartyAccess {
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
        let agg = rcp::assess_regional(
            account
                .regional(|r| &r.ecr)
                .flat_map(|(region, ecr)| ecr.repositories.iter().map(move |r| (region, r))),
            &ACTIONS,
            &account.org,
            |region, r| RegionalResource {
                region,
                arn: &r.repository_arn,
                policy: r.policy_text.as_deref(),
                tags: &r.tags,
            },
            |view, r, access| {
                Record::new(
                    r.repository_name.clone(),
                    r.repository_arn.clone(),
                    view.region.to_owned(),
                    access,
                )
            },
        );
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
            true,
            ctx,
            allowlist,
        )]
    }
}
