//! `deny_kms_third_party_access`: deny KMS access from outside the organization, except
//! allowlisted third-party accounts.

use std::collections::BTreeSet;

use super::rcp::{self, RcpOptions, RegionalResource, rcp_report};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

/// The actions the RCP denies, and so the actions a policy statement must grant to matter.
pub const ACTIONS: [&str; 1] = ["kms:*"];

declare_check! {
    /// Denies every KMS action on the organization's customer-managed keys to principals outside the organization, except allowlisted third-party accounts.
    ///
    /// AWS-managed keys (key manager `AWS`) are out of scope: their policies (`*` narrowed by
    /// `kms:CallerAccount` and `kms:ViaService`) are AWS's, so they are neither analyzed nor
    /// counted.
    ///
    /// ## What it denies
    /// `kms:*` on every key, for principals whose `aws:PrincipalOrgID` is not the
    /// organization's and whose `aws:PrincipalAccount` is not allowlisted, unless the caller
    /// is an AWS service (`aws:PrincipalIsAWSService`) or the key is tagged
    /// `dp:exclude:identity=true`.
    ///
    /// ## Violations
    /// A key whose policy lets anyone in: principal `*`, or `NotPrincipal` with `Allow`, not
    /// narrowed by the statement's conditions to the organization, to named accounts or to AWS
    /// services (reason `wildcard_principal`); a principal without an account the RCP could
    /// allowlist, a `CanonicalUser` or a CloudFront origin access identity (reason
    /// `non_account_principal`); a policy that cannot be parsed (reason `unparseable_policy`).
    /// How principals and conditions are read is described under "How the RCP checks read
    /// resource policies" in CHECKS.md. `Federated` principals and principals of another
    /// partition are listed (`federated_principals`, `other_partition_principals`) but are not
    /// violations: the first can only federate, the second cannot reach the key.
    ///
    /// ## Exemptions
    /// Such a key, or a key third parties can reach, tagged `dp:exclude:identity` = `true`.
    ///
    /// ## Compliant
    /// Keys without a policy, or reachable only from the organization, by AWS
    /// services, or by named third-party accounts (which join the allowlist).
    pub DenyKmsThirdPartyAccess {
        id: "deny_kms_third_party_access",
        kind: Rcp,
        aliases: [],
        service: "KMS",
        reads: ["kms"],
        reasons: ["wildcard_principal", "non_account_principal", "unparseable_policy"],
        empty_allowlist: "every KMS action on the keys by a principal outside the organization is denied (no third-party account is allowed)",
    }
}

rcp_report! {
    record: Record {
        /// The key ID.
        key_id: String,
        /// The key ARN.
        key_arn: String,
        /// The region.
        region: String,
    },
    summary: Summary,
    report: Report,
    total: total_keys_analyzed,
    reached: keys_third_parties_can_access,
    wildcards: keys_with_wildcards,
    by_resource: keys_by_third_party_account,
    legacy_actions: actions_by_account,
}

impl Check for DenyKmsThirdPartyAccess {
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
        // AWS-managed keys are out of RCP scope: never findings.
        let agg = rcp::assess_regional(
            account
                .regional(|r| &r.kms)
                .flat_map(|(region, kms)| kms.keys.iter().map(move |k| (region, k)))
                .filter(|(_, key)| key.key_manager != "AWS"),
            &ACTIONS,
            &account.org,
            |region, k| RegionalResource {
                region,
                arn: &k.key_arn,
                policy: k.policy.as_deref(),
                tags: &k.tags,
            },
            |view, k, access| {
                Record::new(
                    k.key_id.clone(),
                    k.key_arn.clone(),
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
