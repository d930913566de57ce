//! `deny_s3_third_party_access`: deny S3 access from outside the organization, except
//! allowlisted third-party accounts.

use std::collections::BTreeSet;

use super::rcp::{self, Aggregate, RcpOptions, rcp_report};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

/// The actions the RCP denies, and so the actions a policy statement must grant to matter.
pub const ACTIONS: [&str; 1] = ["s3:*"];

declare_check! {
    /// Denies every S3 action on the organization's buckets to principals outside the organization, except allowlisted third-party accounts.
    ///
    /// ## What it denies
    /// `s3:*` on every bucket, for principals whose `aws:PrincipalOrgID` is not the
    /// organization's and whose `aws:PrincipalAccount` is not allowlisted, unless the caller
    /// is an AWS service (`aws:PrincipalIsAWSService`) or the bucket is tagged
    /// `dp:exclude:identity=true`.
    ///
    /// ## Violations
    /// A bucket whose policy lets anyone in: principal `*`, or `NotPrincipal` with `Allow`, not
    /// narrowed by the statement's conditions to the organization, to named accounts or to AWS
    /// services (reason `wildcard_principal`); a principal without an account the RCP could
    /// allowlist, a `CanonicalUser` or a CloudFront origin access identity (reason
    /// `non_account_principal`); a policy that cannot be parsed (reason `unparseable_policy`).
    /// How principals and conditions are read is described under "How the RCP checks read
    /// resource policies" in CHECKS.md. `Federated` principals and principals of another
    /// partition are listed (`federated_principals`, `other_partition_principals`) but are not
    /// violations: the first can only federate, the second cannot reach the bucket.
    ///
    /// ## Exemptions
    /// Such a bucket, or a bucket third parties can reach, tagged `dp:exclude:identity` = `true`.
    ///
    /// ## Compliant
    /// Buckets without a policy, or reachable only from the organization, by AWS
    /// services, or by named third-party accounts (which join the allowlist).
    pub DenyS3ThirdPartyAccess {
        id: "deny_s3_third_party_access",
        kind: Rcp,
        aliases: [],
        service: "S3",
        reads: ["s3"],
        reasons: ["wildcard_principal", "non_account_principal", "unparseable_policy"],
        empty_allowlist: "every S3 action on the buckets by a principal outside the organization is denied (no third-party account is allowed)",
    }
}

rcp_report! {
    record: Record {
        /// The bucket name.
        bucket_name: String,
        /// The bucket ARN.
        bucket_arn: String,
    },
    summary: Summary,
    report: Report,
    total: total_buckets_analyzed,
    reached: buckets_third_parties_can_access,
    wildcards: buckets_with_wildcards,
    by_resource: buckets_by_third_party_account,
}

impl Check for DenyS3ThirdPartyAccess {
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
        let mut buckets: Vec<_> = account
            .global
            .s3
            .data()
            .map(|s3| s3.buckets.iter().collect())
            .unwrap_or_default();
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        let mut assessor = rcp::IamAssessor::new(&ACTIONS, account.org);
        let items = buckets
            .into_iter()
            .map(|bucket| {
                let arn = format!("arn:{}:s3:::{}", account.partition, bucket.name);
                assessor
                    .assess(bucket.policy.as_deref(), Some(&bucket.tags))
                    .item(arn.clone(), |access| {
                        Record::new(bucket.name.clone(), arn, access)
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
