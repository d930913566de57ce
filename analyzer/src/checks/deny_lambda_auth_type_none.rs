//! `deny_lambda_auth_type_none`: deny public (unauthenticated) Lambda function URLs.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Outcome, ScpReport, Sorted, sid, sorted_rows, standard_summary, statement};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

declare_check! {
    /// Denies Lambda function URLs that anyone on the internet can call without
    /// authentication.
    ///
    /// ## What it denies
    /// `lambda:CreateFunctionUrlConfig`, `lambda:UpdateFunctionUrlConfig` and
    /// `lambda:AddPermission` when `lambda:FunctionUrlAuthType` is `NONE`.
    ///
    /// ## Violations
    /// A function with any URL (of the function or of one of its aliases) whose auth type is
    /// `NONE`: reason `function_url_auth_none`. Every URL is examined, not only the first.
    ///
    /// ## Exemptions
    /// None: functions carry no tags in the snapshot.
    ///
    /// ## Compliant
    /// Functions without a URL, and functions whose URLs all use `AWS_IAM`.
    pub DenyLambdaAuthTypeNone {
        id: "deny_lambda_auth_type_none",
        kind: Scp,
        aliases: [],
        service: "Lambda",
        reads: ["lambda"],
        reasons: ["function_url_auth_none"],
    }
}

/// Options under `checks.deny_lambda_auth_type_none` (none besides `enabled`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {}

standard_summary!(
    /// The per-account summary.
    Summary,
    total_functions
);

/// One function URL.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UrlRecord {
    /// The URL.
    pub function_url: String,
    /// The (possibly alias-qualified) function ARN it invokes.
    pub function_arn: String,
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
}

/// One function.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Record {
    /// The function name.
    pub function_name: String,
    /// The unqualified function ARN.
    pub function_arn: String,
    /// The region.
    pub region: String,
    /// Whether the function has at least one URL.
    pub has_function_url: bool,
    /// `NONE` if any URL is public, else the first URL's auth type; null without URLs.
    pub function_url_auth_type: Option<String>,
    /// Every URL of the function and its aliases.
    pub function_urls: Vec<UrlRecord>,
    /// Violations only: `function_url_auth_none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

impl Check for DenyLambdaAuthTypeNone {
    type Options = Options;
    type Report = Report;

    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn evaluate(
        &self,
        account: &AccountScope<'_>,
        _options: &Options,
        gaps: &[String],
    ) -> Evaluation<Report> {
        let mut rows = Vec::new();
        for (region, lambda) in account.regional(|r| &r.lambda) {
            for function in &lambda.functions {
                let mut urls: Vec<UrlRecord> = function
                    .url_configs
                    .iter()
                    .map(|u| UrlRecord {
                        function_url: u.function_url.clone(),
                        function_arn: u.function_arn.clone(),
                        auth_type: u.auth_type.clone(),
                    })
                    .collect();
                urls.sort_by(|a, b| {
                    (&a.function_arn, &a.function_url).cmp(&(&b.function_arn, &b.function_url))
                });
                let public = urls.iter().any(|u| u.auth_type == "NONE");
                let outcome = if public {
                    Outcome::Violation("function_url_auth_none")
                } else {
                    Outcome::Compliant
                };
                let record = Record {
                    function_name: function.function_name.clone(),
                    function_arn: function.function_arn.clone(),
                    region: region.to_owned(),
                    has_function_url: !urls.is_empty(),
                    function_url_auth_type: if public {
                        Some("NONE".to_owned())
                    } else {
                        urls.first().map(|u| u.auth_type.clone())
                    },
                    function_urls: urls,
                    reason: outcome.reason(),
                };
                rows.push((region, function.function_name.as_str(), outcome, record));
            }
        }
        Sorted::new(sorted_rows(rows)).into_evaluation(
            |counts| Summary::new(account.header(Self::META.id), counts),
            gaps,
        )
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
            "Action": [
                "lambda:CreateFunctionUrlConfig",
                "lambda:UpdateFunctionUrlConfig",
                "lambda:AddPermission"
            ],
            "Resource": "*",
            "Condition": { "StringEquals": { "lambda:FunctionUrlAuthType": "NONE" } },
        }))]
    }
}
