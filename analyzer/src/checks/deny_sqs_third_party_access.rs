//! `deny_sqs_third_party_access`: deny SQS access from outside the organization, except
//! allowlisted third-party accounts.

use std::collections::BTreeSet;

use super::rcp::{self, RcpOptions, RegionalResource, rcp_report};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

/// The actions the RCP denies, and so the actions a policy statement must grant to matter.
pub const ACTIONS: [&str; 1] = ["sqs:*"];

declare_check! {
    /// Denies every SQS action on the organization's queues to principals outside the organization, except allowlisted third-party accounts.
    ///
    /// ## What it denies
    /// `sqs:*` on every queue, for principals whose `aws:PrincipalOrgID` is not the
    /// organization's and whose `aws:PrincipalAccount` is not allowlisted, unless the caller
    /// is an AWS service (`aws:PrincipalIsAWSService`) or the queue is tagged
    /// `dp:exclude:identity=true`.
    ///
    /// ## Violations
    /// A queue whose policy lets anyone in: principal `*`, or `NotPrincipal` with `Allow`, not
    /// narrowed by the statement's conditions to the organization, to named accounts or to AWS
    /// services (reason `wildcard_principal`); a principal without an account the RCP could
    /// allowlist, a `CanonicalUser` or a CloudFront origin access identity (reason
    /// `non_account_principal`); a policy that cannot be parsed (reason `unparseable_policy`).
    /// How principals and conditions are read is described under "How the RCP checks read
    /// resource policies" in CHECKS.md. `Federated` principals and principals of another
    /// partition are listed (`federated_principals`, `other_partition_principals`) but are not
    /// violations: the first can only federate, the second cannot reach the queue.
    ///
    /// ## Exemptions
    /// Such a queue, or a queue third parties can reach, tagged `dp:exclude:identity` = `true`.
    ///
    /// ## Compliant
    /// Queues without a policy, or reachable only from the organization, by AWS
    /// services, or by named third-party accounts (which join the allowlist).
    pub DenySqsThirdPartyAccess {
        id: "deny_sqs_third_party_access",
        kind: Rcp,
        aliases: [],
        service: "SQS",
        reads: ["sqs"],
        reasons: ["wildcard_principal", "non_account_principal", "unparseable_policy"],
        empty_allowlist: "every SQS action on the queues by a principal outside the organization is denied (no third-party account is allowed)",
    }
}

rcp_report! {
    record: Record {
        /// The queue URL.
        queue_url: String,
        /// The queue ARN.
        queue_arn: String,
        /// The region.
        region: String,
    },
    summary: Summary,
    report: Report,
    total: total_queues_analyzed,
    reached: queues_third_parties_can_access,
    wildcards: queues_with_wildcards,
    by_resource: queues_by_third_party_account,
}

impl Check for DenySqsThirdPartyAccess {
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
                .regional(|r| &r.sqs)
                .flat_map(|(region, sqs)| sqs.queues.iter().map(move |q| (region, q))),
            &ACTIONS,
            &account.org,
            |region, q| RegionalResource {
                region,
                arn: &q.queue_arn,
                policy: q.policy.as_deref(),
                tags: &q.tags,
            },
            |view, q, access| {
                Record::new(
                    q.queue_url.clone(),
                    q.queue_arn.clone(),
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
