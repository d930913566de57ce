//! `deny_iam_user_creation`: deny creating IAM users beyond those that exist today (or
//! outside allowed paths).

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::common::{Outcome, ScpReport, Sorted, one_or_many, sid, statement};
use super::{AccountScope, Check, CheckMeta, Evaluation, PolicyContext, declare_check};
use crate::model::Statement;

declare_check! {
    /// Denies creating IAM users, so people and workloads use roles and federation.
    ///
    /// ## What it denies
    /// `iam:CreateUser` on every user ARN except the allowlist (`NotResource`). By default the
    /// allowlist is the ARNs of the users that exist beneath the target; with
    /// `allowed_user_paths` it is the path patterns `arn:<partition>:iam::*:user<path>*`
    /// instead. An empty allowlist denies every `iam:CreateUser` (never an empty
    /// `NotResource`).
    ///
    /// ## Violations
    /// Only with `allowed_user_paths`: a user whose path is not under one of them, reason
    /// `user_outside_allowed_paths` (it already breaks the rule).
    ///
    /// ## Exemptions
    /// None: IAM users carry no tags in the snapshot.
    ///
    /// ## Compliant
    /// By default every existing user (each is allowlisted). With `allowed_user_paths`, users
    /// under an allowed path.
    pub DenyIamUserCreation {
        id: "deny_iam_user_creation",
        kind: Scp,
        aliases: [],
        service: "IAM",
        reads: ["iam"],
        reasons: ["user_outside_allowed_paths"],
        empty_allowlist: "every `iam:CreateUser` is denied (no user ARN or path is allowed)",
    }
}

/// Options under `checks.deny_iam_user_creation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// IAM paths (each starting and ending with `/`, such as `/automation/`) under which
    /// users may exist and be created. When set, the allowlist is these paths rather than
    /// today's users, and users elsewhere are violations.
    #[serde(default, deserialize_with = "paths")]
    pub allowed_user_paths: Option<Vec<String>>,
}

fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let paths = Option::<Vec<String>>::deserialize(d)?;
    for p in paths.iter().flatten() {
        if !p.starts_with('/') || !p.ends_with('/') || p.contains(['*', '?']) {
            return Err(serde::de::Error::custom(format!(
                "allowed_user_paths: `{p}` is not an IAM path (it must start and end with `/`, without wildcards)"
            )));
        }
    }
    Ok(paths)
}

/// The per-account summary.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    /// The account name.
    pub account_name: String,
    /// The account ID (absent in exclude mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The check ID.
    pub check: &'static str,
    /// Every IAM user of the account.
    pub total_users: usize,
    /// Their ARNs, sorted.
    pub users: Vec<String>,
    /// The configured `allowed_user_paths`, or null when every existing user is allowed.
    pub allowed_user_paths: Option<Vec<String>>,
    /// Users outside the allowed paths.
    pub violations: usize,
    /// Always 0.
    pub exemptions: usize,
    /// Allowed users.
    pub compliant: usize,
}

/// One IAM user.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Record {
    /// The user name.
    pub user_name: String,
    /// The user ARN.
    pub user_arn: String,
    /// The user's path.
    pub path: String,
    /// Violations only: `user_outside_allowed_paths`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The per-account report.
pub type Report = ScpReport<Summary, Record>;

impl Check for DenyIamUserCreation {
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
        let mut users: Vec<_> = account
            .global
            .iam
            .data()
            .map(|iam| iam.users.iter().collect())
            .unwrap_or_default();
        users.sort_by(|a, b| a.arn.cmp(&b.arn));
        let mut allowlist = BTreeSet::new();
        let rows: Vec<(Outcome, Record)> = users
            .iter()
            .map(|u| {
                let outcome = match &options.allowed_user_paths {
                    None => {
                        allowlist.insert(u.arn.clone());
                        Outcome::Compliant
                    }
                    Some(paths) if paths.iter().any(|p| u.path.starts_with(p.as_str())) => {
                        Outcome::Compliant
                    }
                    Some(_) => Outcome::Violation("user_outside_allowed_paths"),
                };
                let record = Record {
                    user_name: u.user_name.clone(),
                    user_arn: u.arn.clone(),
                    path: u.path.clone(),
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
            total_users: users.len(),
            users: users.iter().map(|u| u.arn.clone()).collect(),
            allowed_user_paths: options.allowed_user_paths.clone(),
            violations: counts.violations,
            exemptions: 0,
            compliant: counts.compliant,
        };
        Evaluation {
            report: sorted.into_scp_report(summary, gaps),
            counts,
            reasons,
            allowlist,
        }
    }

    fn configured_allowlist(&self, options: &Options, ctx: &PolicyContext<'_>) -> BTreeSet<String> {
        options
            .allowed_user_paths
            .iter()
            .flatten()
            .map(|p| format!("arn:{}:iam::*:user{p}*", ctx.partition))
            .collect()
    }

    fn statements(
        &self,
        _options: &Options,
        _ctx: &PolicyContext<'_>,
        allowlist: &BTreeSet<String>,
    ) -> Vec<Statement> {
        let mut s = statement(serde_json::json!({
            "Sid": sid(Self::META.id),
            "Effect": "Deny",
            "Action": "iam:CreateUser",
        }));
        if allowlist.is_empty() {
            s.insert("Resource".into(), "*".into());
        } else {
            s.insert("NotResource".into(), one_or_many(allowlist));
        }
        vec![s]
    }
}
