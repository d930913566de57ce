//! OpenSearch Serverless data access policies: a JSON list of rules, each with `Rules`
//! (`ResourceType`, `Resource`, `Permission`) and `Principal` (IAM ARNs, `saml/...` and
//! `iamidentitycenter/...` principals).
//!
//! Every permission of a data access policy is an `aoss:` data-plane permission, so every rule
//! is within the scope of the `aoss:*` RCP. Access policies carry no conditions: a principal is
//! exactly what it says.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{OrgView, ParseError, Principal, Reach, aws_principal};

/// A parsed data access policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Every resource the rules name (`collection/analytics`, `index/analytics/*`), sorted.
    pub resources: BTreeSet<String>,
    /// Every permission the rules grant, sorted.
    pub permissions: BTreeSet<String>,
    /// Every principal, as written, with its classification.
    pub principals: Vec<(String, AossPrincipal)>,
}

/// One principal of a data access policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AossPrincipal {
    /// An IAM principal (or `*`).
    Iam(Principal),
    /// A SAML user or group, or an IAM Identity Center user or group: no account to allowlist.
    NonAccount,
}

fn err<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, ParseError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => err(format!("`{what}` entries must be strings")),
            })
            .collect(),
        _ => err(format!("`{what}` must be a string or a list of strings")),
    }
}

/// Parses a data access policy from its JSON text.
pub fn parse(text: &str) -> Result<AccessPolicy, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ParseError(format!(
            "invalid JSON at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    let rules = match &value {
        Value::Array(items) => items.iter().collect::<Vec<_>>(),
        single @ Value::Object(_) => vec![single],
        _ => return err("data access policy must be a list of rules"),
    };
    let mut policy = AccessPolicy::default();
    for (i, rule) in rules.into_iter().enumerate() {
        let Value::Object(rule) = rule else {
            return err(format!("rule {} must be an object", i + 1));
        };
        let Some(principals) = rule.get("Principal") else {
            return err(format!("rule {} has no `Principal`", i + 1));
        };
        for p in strings(principals, "Principal")? {
            let class = if p.starts_with("saml/") || p.starts_with("iamidentitycenter/") {
                AossPrincipal::NonAccount
            } else {
                AossPrincipal::Iam(
                    aws_principal(&p)
                        .map_err(|e| ParseError(format!("rule {}: {}", i + 1, e.0)))?,
                )
            };
            policy.principals.push((p, class));
        }
        let Some(Value::Array(entries)) = rule.get("Rules") else {
            return err(format!("rule {} has no `Rules` list", i + 1));
        };
        for entry in entries {
            let Value::Object(entry) = entry else {
                return err(format!("rule {}: `Rules` entries must be objects", i + 1));
            };
            if let Some(r) = entry.get("Resource") {
                policy.resources.extend(strings(r, "Resource")?);
            }
            if let Some(p) = entry.get("Permission") {
                policy.permissions.extend(strings(p, "Permission")?);
            }
        }
    }
    Ok(policy)
}

/// Who outside the organization a data access policy grants.
pub fn reach(policy: &AccessPolicy, org: &OrgView<'_>) -> Reach {
    let mut out = Reach::default();
    for (text, class) in &policy.principals {
        match class {
            AossPrincipal::NonAccount => {
                out.non_account_principals.insert(text.clone());
            }
            AossPrincipal::Iam(Principal::Anyone) => out
                .wildcards
                .push("principal `*` grants every principal".to_owned()),
            AossPrincipal::Iam(Principal::Account { id, partition }) => {
                if let Some(partition) = partition.as_deref().filter(|p| *p != org.partition) {
                    out.other_partition_principals
                        .insert(format!("{id} ({partition})"));
                } else if !(org.is_member)(id) {
                    out.third_parties
                        .entry(id.clone())
                        .or_default()
                        .extend(policy.permissions.iter().cloned());
                }
            }
            AossPrincipal::Iam(Principal::CloudFrontOai(name)) => {
                out.non_account_principals.insert(name.clone());
            }
            AossPrincipal::Iam(_) => {}
        }
    }
    out
}
