//! `deny_sts_third_party_assumerole`: deny third parties assuming roles, except allowlisted
//! accounts.

use std::collections::BTreeSet;

use super::rcp::{self, Aggregate, RcpOptions, rcp_report};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

/// The actions the RCP denies, and so the actions a trust statement must grant to matter.
/// `sts:AssumeRoleWithSAML` and `sts:AssumeRoleWithWebIdentity` are left out on purpose: their
/// callers are federated users without an account, which the RCP could never allowlist.
pub const ACTIONS: [&str; 1] = ["sts:AssumeRole"];

declare_check! {
    /// Denies `sts:AssumeRole` on the organization's roles to principals outside the
    /// organization, except allowlisted third-party accounts.
    ///
    /// ## What it denies
    /// `sts:AssumeRole` on every role, for principals whose `aws:PrincipalOrgID` is not the
    /// organization's and whose `aws:PrincipalAccount` is not allowlisted, unless the caller
    /// is an AWS service (`aws:PrincipalIsAWSService`) or the role is tagged
    /// `dp:exclude:identity=true`. Federated role assumption (`sts:AssumeRoleWithSAML`,
    /// `sts:AssumeRoleWithWebIdentity`) is not denied, so SAML and OIDC trusts keep working.
    ///
    /// ## Violations
    /// A role whose trust policy lets anyone assume it through `sts:AssumeRole` (statement
    /// actions are matched with IAM wildcards, so `sts:*`, `sts:Assume*` and `*` count):
    /// principal `*`, or `NotPrincipal` with `Allow`, not narrowed by the statement's
    /// conditions to the organization, to named accounts or to AWS services (reason
    /// `wildcard_principal`); a principal without an account, a `CanonicalUser` or a
    /// CloudFront origin access identity (IAM refuses them in trust policies, but the model
    /// reads every document the same way; reason `non_account_principal`); a trust policy that
    /// cannot be parsed (reason `unparseable_policy`). How principals and conditions are read is described under "How
    /// the RCP checks read resource policies" in CHECKS.md.
    ///
    /// `Federated` principals (SAML and OIDC providers) are listed in `federated_principals`,
    /// for information: whatever actions the statement names, a federated identity can only
    /// call `sts:AssumeRoleWithSAML` or `sts:AssumeRoleWithWebIdentity`, which this RCP does not
    /// deny, so they are neither violations nor third parties. Principals of another partition
    /// are listed in `other_partition_principals`: they cannot assume the role.
    ///
    /// ## Exemptions
    /// Such a role, or a role third parties can assume, tagged `dp:exclude:identity` = `true`.
    ///
    /// ## Compliant
    /// Roles assumable only from the organization, by AWS services, through federation, or by
    /// named third-party accounts (which join the allowlist).
    pub DenyStsThirdPartyAssumerole {
        id: "deny_sts_third_party_assumerole",
        kind: Rcp,
        aliases: ["third_party_assumerole"],
        service: "STS",
        reads: ["iam"],
        reasons: ["wildcard_principal", "non_account_principal", "unparseable_policy"],
        empty_allowlist: "every `sts:AssumeRole` of the roles by a principal outside the organization is denied (no third-party account is allowed)",
    }
}

rcp_report! {
    record: Record {
        /// The role name.
        role_name: String,
        /// The role ARN.
        role_arn: String,
    },
    summary: Summary,
    report: Report,
    total: total_roles_analyzed,
    reached: roles_third_parties_can_access,
    wildcards: roles_with_wildcards,
    by_resource: roles_by_third_party_account,
}

impl Check for DenyStsThirdPartyAssumerole {
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
        let mut roles: Vec<_> = account
            .global
            .iam
            .data()
            .map(|iam| iam.roles.iter().collect())
            .unwrap_or_default();
        roles.sort_by(|a, b| a.arn.cmp(&b.arn));
        let mut assessor = rcp::IamAssessor::new(&ACTIONS, account.org);
        let items = roles
            .into_iter()
            .map(|role| {
                assessor
                    .assess(
                        role.assume_role_policy_document.as_deref(),
                        Some(&role.tags),
                    )
                    .item(role.arn.clone(), |access| {
                        Record::new(role.role_name.clone(), role.arn.clone(), access)
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
            true,
            ctx,
            allowlist,
        )]
    }
}
