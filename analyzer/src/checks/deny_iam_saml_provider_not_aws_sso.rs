//! `deny_iam_saml_provider_not_aws_sso`: deny creating SAML providers; only the single IAM
//! Identity Center (AWS SSO) provider may exist.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Outcome, ScpReport, Sorted, sid, statement};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;
use crate::policy_document::action::glob_match_with;

declare_check! {
    /// Denies creating IAM SAML identity providers, so federation goes through IAM Identity
    /// Center (AWS SSO) only.
    ///
    /// ## What it denies
    /// `iam:CreateSAMLProvider` on every resource, unconditionally. IAM Identity Center creates
    /// its own provider through a service-linked role, which SCPs do not restrict.
    ///
    /// ## Violations
    /// A provider whose name (the ARN after `saml-provider/`) does not match
    /// `allowed_provider_name_pattern` (default `AWSSSO_*`, case-sensitive, `*` and `?`
    /// wildcards): reason `provider_prefix_not_awssso`. A matching provider next to any other
    /// provider: reason `multiple_saml_providers_present`. Unlike the original tool, the
    /// summary counts these violations, so such accounts block placement.
    ///
    /// ## Exemptions
    /// None: SAML providers carry no tags in the snapshot.
    ///
    /// ## Compliant
    /// No provider, or exactly one matching provider.
    pub DenyIamSamlProviderNotAwsSso {
        id: "deny_iam_saml_provider_not_aws_sso",
        kind: Scp,
        aliases: [],
        service: "IAM",
        reads: ["iam"],
        reasons: ["provider_prefix_not_awssso", "multiple_saml_providers_present"],
    }
}

/// Options under `checks.deny_iam_saml_provider_not_aws_sso`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The name pattern of the IAM Identity Center provider (case-sensitive; `*` and `?`).
    #[serde(default = "default_pattern")]
    pub allowed_provider_name_pattern: String,
}

fn default_pattern() -> String {
    "AWSSSO_*".to_owned()
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allowed_provider_name_pattern: default_pattern(),
        }
    }
}

/// The per-account summary (the reference's keys plus the three counts).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    /// The account name.
    pub account_name: String,
    /// The account ID (absent in exclude mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The check ID.
    pub check: &'static str,
    /// Every SAML provider of the account.
    pub total_saml_providers: usize,
    /// Providers matching the allowed pattern.
    pub awssso_provider_count: usize,
    /// Providers not matching it.
    pub non_awssso_provider_count: usize,
    /// The single allowed provider, when it is the only one.
    pub allowed_provider_arn: Option<String>,
    /// ARNs of the violating providers.
    pub violating_provider_arns: Vec<String>,
    /// Violating providers.
    pub violations: usize,
    /// Always 0: providers cannot be tagged out.
    pub exemptions: usize,
    /// Compliant providers.
    pub compliant: usize,
}

/// One SAML provider.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Record {
    /// The provider ARN.
    pub arn: String,
    /// The provider name.
    pub name: String,
    /// When it was created.
    pub create_date: Option<String>,
    /// When its metadata expires.
    pub valid_until: Option<String>,
    /// Violations only: the reference's key for `reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation_reason: Option<&'static str>,
    /// Violations only: `provider_prefix_not_awssso` or `multiple_saml_providers_present`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

impl Check for DenyIamSamlProviderNotAwsSso {
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
        let mut providers: Vec<_> = account
            .global
            .iam
            .data()
            .map(|iam| iam.saml_providers.iter().collect())
            .unwrap_or_default();
        providers.sort_by(|a, b| a.arn.cmp(&b.arn));
        let total = providers.len();
        let name_of = |arn: &str| arn.split_once('/').map_or(arn, |(_, n)| n).to_owned();
        let is_sso =
            |name: &str| glob_match_with(&options.allowed_provider_name_pattern, name, false);
        let sso_count = providers
            .iter()
            .filter(|p| is_sso(&name_of(&p.arn)))
            .count();
        let rows: Vec<(Outcome, Record)> = providers
            .iter()
            .map(|p| {
                let name = name_of(&p.arn);
                let outcome = if !is_sso(&name) {
                    Outcome::Violation("provider_prefix_not_awssso")
                } else if total > 1 {
                    Outcome::Violation("multiple_saml_providers_present")
                } else {
                    Outcome::Compliant
                };
                let record = Record {
                    arn: p.arn.clone(),
                    name,
                    create_date: p.create_date.clone(),
                    valid_until: p.valid_until.clone(),
                    violation_reason: outcome.reason(),
                    reason: outcome.reason(),
                };
                (outcome, record)
            })
            .collect();
        let sorted = Sorted::new(rows);
        let counts = sorted.counts();
        let reasons = sorted.reasons.clone();
        let header = account.header(Self::META.id);
        let summary = Summary {
            account_name: header.account_name,
            account_id: header.account_id,
            check: header.check,
            total_saml_providers: total,
            awssso_provider_count: sso_count,
            non_awssso_provider_count: total - sso_count,
            allowed_provider_arn: (total == 1 && sso_count == 1).then(|| providers[0].arn.clone()),
            violating_provider_arns: sorted.violations.iter().map(|r| r.arn.clone()).collect(),
            violations: counts.violations,
            exemptions: 0,
            compliant: counts.compliant,
        };
        Evaluation {
            report: sorted.into_scp_report(summary, gaps),
            counts,
            reasons,
            allowlist: BTreeSet::new(),
        }
    }

    fn statements(
        &self,
        _options: &Options,
        _ctx: &PolicyContext<'_>,
        _allowlist: &BTreeSet<String>,
    ) -> Vec<Statement> {
        vec![statement(serde_json::json!({
            "Sid": sid(Self::META.id),
            "Effect": "Deny",
            "Action": "iam:CreateSAMLProvider",
            "Resource": "*",
        }))]
    }
}
