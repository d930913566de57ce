//! `deny_secrets_manager_third_party_access`: deny Secrets Manager access from outside the organization, except
//! allowlisted third-party accounts.

use std::collections::BTreeSet;

use super::rcp::{self, RcpOptions, RegionalResource, rcp_report};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

/// The actions the RCP denies, and so the actions a policy statement must grant to matter.
pub const ACTIONS: [&str; 1] = ["secretsmanager:*"];

declare_check! {
    /// Denies every Secrets Manager action on the organization's secrets to principals outside the organization, except allowlisted third-party accounts.
    ///
    /// ## What it denies
    /// `secretsmanager:*` on every secret, for principals whose `aws:PrincipalOrgID` is not the
    /// organization's and whose `aws:PrincipalAccount` is not allowlisted, unless the caller
    /// is an AWS service (`aws:PrincipalIsAWSService`) or the secret is tagged
    /// `dp:exclude:identity=true`.
    ///
    /// ## Violations
    /// A secret whose policy lets anyone in: principal `*`, or `NotPrincipal` with `Allow`, not
    /// narrowed by the statement's conditions to the organization, to named accounts or to AWS
    /// services (reason `wildcard_principal`); a principal without an account the RCP could
    /// allowlist, a `CanonicalUser` or a CloudFront origin access identity (reason
    /// `non_account_principal`); a policy that cannot be parsed (reason `unparseable_policy`).
    /// How principals and conditions are read is described under "How the RCP checks read
    /// resource policies" in CHECKS.md. `Federated` principals and principals of another
    /// partition are listed (`federated_principals`, `other_partition_principals`) but are not
    /// violations: the first can only federate, the second cannot reach the secret.
    ///
    /// ## Exemptions
    /// Such a secret, or a secret third parties can reach, tagged `dp:exclude:identity` = `true`.
    ///
    /// ## Compliant
    /// Secrets without a policy, or reachable only from the organization, by AWS
    /// services, or by named third-party accounts (which join the allowlist).
    pub DenySecretsManagerThirdPartyAccess {
        id: "deny_secrets_manager_third_party_access",
        kind: Rcp,
        aliases: [],
        service: "Secrets Manager",
        reads: ["secretsmanager"],
        reasons: ["wildcard_principal", "non_account_principal", "unparseable_policy"],
        empty_allowlist: "every Secrets Manager action on the secrets by a principal outside the organization is denied (no third-party account is allowed)",
    }
}

rcp_report! {
    record: Record {
        /// The secret name.
        secret_name: String,
        /// The secret ARN.
        secret_arn: String,
        /// The region.
        region: String,
    },
    summary: Summary,
    report: Report,
    total: total_secrets_analyzed,
    reached: secrets_third_parties_can_access,
    wildcards: secrets_with_wildcards,
    by_resource: secrets_by_third_party_account,
}

impl Check for DenySecretsManagerThirdPartyAccess {
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
                .regional(|r| &r.secretsmanager)
                .flat_map(|(region, sm)| sm.secrets.iter().map(move |s| (region, s))),
            &ACTIONS,
            &account.org,
            |region, s| RegionalResource {
                region,
                arn: &s.arn,
                policy: s.resource_policy.as_deref(),
                tags: &s.tags,
            },
            |view, s, access| {
                Record::new(
                    s.name.clone(),
                    s.arn.clone(),
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
