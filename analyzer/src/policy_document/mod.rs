//! The policy-document model shared by every RCP check: parse any legal IAM resource policy
//! and derive, per Allow statement, who outside the organization can reach the resource.
//!
//! Parsing ([`parse`]) accepts every shape IAM accepts: `Statement` as an object or a list,
//! `Principal`/`NotPrincipal` as `"*"`, a string, a list or a map of `AWS`/`Service`/
//! `Federated`/`CanonicalUser` (each a string or a list), `Action`/`NotAction` as a string or a
//! list, and `Condition` values as strings, numbers, booleans or lists of them.
//!
//! Reachability ([`reach`]) follows SPEC §6 "How conditions narrow": a `*` principal (or a
//! `NotPrincipal` with `Allow`) is narrowed by conditions on the caller's organization,
//! account or ARN, or to AWS services only; the rules, each an AWS evaluation rule, are in
//! [`condition`]. When in doubt, nothing is narrowed. Besides the third parties, it records
//! what cannot be allowlisted by account (canonical users, CloudFront origin access
//! identities) and, for information only, what the RCP never concerns: `Federated` principals (they can only call `AssumeRoleWithSAML` and
//! `AssumeRoleWithWebIdentity`) and principals of another partition (they cannot reach a
//! resource of this one).

pub mod action;
pub mod aoss;
pub mod condition;
mod json;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use headroom_schemas::ids::is_account_id;
use serde_json::Value;

pub use self::condition::is_narrowing_operator;
use self::condition::{Scope, condition_scope};
use self::json::{Json, Object};

/// A policy document that could not be understood. The message names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// A parsed IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// The statements, in document order.
    pub statements: Vec<PolicyStatement>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants access.
    Allow,
    /// Denies access; never grants reach.
    Deny,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStatement {
    /// The `Sid`, if any.
    pub sid: Option<String>,
    /// The effect.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal`; `None` when the statement names neither.
    pub principal: Option<PrincipalSpec>,
    /// `Action` or `NotAction`.
    pub actions: ActionSpec,
    /// Every condition entry, sorted by operator and then key.
    pub conditions: Vec<Condition>,
}

/// The principal element of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// `Principal`: these principals.
    Is(Vec<Principal>),
    /// `NotPrincipal`: everyone except these.
    Not(Vec<Principal>),
}

/// One principal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    /// `"*"` or `{"AWS": "*"}`: anyone, anonymous callers included.
    Anyone,
    /// An AWS account, from a bare ID or any ARN in any partition (root, role, user,
    /// assumed-role, federated-user).
    Account {
        /// The 12-digit account ID.
        id: String,
        /// The ARN's partition (`aws`, `aws-cn`, ...); `None` for a bare account ID, which is
        /// in the resource's partition.
        partition: Option<String>,
    },
    /// A unique principal ID (`AROA...`): what IAM shows after the named principal was
    /// deleted. Nobody can use it any more.
    DeletedPrincipal(String),
    /// An AWS service principal (`ec2.amazonaws.com`): never a third party.
    Service(String),
    /// A `Federated` principal (SAML or OIDC provider): has no account to allowlist.
    Federated(String),
    /// A `CanonicalUser` (S3): has no account to allowlist.
    CanonicalUser(String),
    /// A CloudFront origin access identity
    /// (`arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2EXAMPLE`): has no
    /// account to allowlist.
    CloudFrontOai(String),
}

/// The action element of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    /// `Action`: these patterns.
    Action(Vec<String>),
    /// `NotAction`: every action except these patterns.
    NotAction(Vec<String>),
}

/// One condition entry: `{operator: {key: values}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator as written (`StringEquals`, `ForAnyValue:StringLike`, ...).
    pub operator: String,
    /// The condition key as written (`aws:PrincipalOrgID`).
    pub key: String,
    /// The values, as text.
    pub values: Vec<String>,
}

/// Parses a policy document from its JSON text.
pub fn parse(text: &str) -> Result<PolicyDocument, ParseError> {
    let value = Json::parse(text).map_err(|e| {
        ParseError(format!(
            "invalid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))
    })?;
    parse_json(&value)
}

/// `serde_json` appends " at line L column C"; the caller already says where.
fn strip_position(message: &str) -> &str {
    message.find(" at line ").map_or(message, |i| &message[..i])
}

/// Parses a policy document from JSON.
pub fn parse_value(value: &Value) -> Result<PolicyDocument, ParseError> {
    parse_json(&Json::from_value(value))
}

fn parse_json(value: &Json<'_>) -> Result<PolicyDocument, ParseError> {
    let Json::Object(doc) = value else {
        return err(format!(
            "policy must be a JSON object, found {}",
            kind(value)
        ));
    };
    let statements = match doc.get("Statement") {
        Some(Json::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(single @ Json::Object(_)) => vec![single],
        Some(other) => {
            return err(format!(
                "`Statement` must be an object or a list, found {}",
                kind(other)
            ));
        }
        None => return err("policy has no `Statement`"),
    };
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            parse_statement(s).map_err(|e| ParseError(format!("statement {}: {}", i + 1, e.0)))
        })
        .collect::<Result<_, _>>()?;
    Ok(PolicyDocument { statements })
}

/// A JSON object's entries in key order, one per key: findings, details and the first error
/// reported do not depend on how the document orders its keys (nor on `serde_json`'s
/// `preserve_order` feature, which feature unification turns on in workspace builds).
fn sorted<'j, 'a>(map: &'j Object<'a>) -> Vec<(&'j str, &'j Json<'a>)> {
    map.sorted()
}

fn kind(value: &Json<'_>) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

fn parse_statement(value: &Json<'_>) -> Result<PolicyStatement, ParseError> {
    let Json::Object(s) = value else {
        return err(format!("must be an object, found {}", kind(value)));
    };
    let sid = match s.get("Sid") {
        None | Some(Json::Null) => None,
        Some(Json::String(sid)) => Some(sid.to_string()),
        Some(other) => return err(format!("`Sid` must be a string, found {}", kind(other))),
    };
    let effect = match s.get("Effect") {
        Some(Json::String(e)) if e == "Allow" => Effect::Allow,
        Some(Json::String(e)) if e == "Deny" => Effect::Deny,
        Some(Json::String(e)) => {
            return err(format!("`Effect` must be `Allow` or `Deny`, found `{e}`"));
        }
        Some(other) => return err(format!("`Effect` must be a string, found {}", kind(other))),
        None => return err("has no `Effect`"),
    };
    let principal = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(_), Some(_)) => return err("has both `Principal` and `NotPrincipal`"),
        (Some(p), None) => Some(PrincipalSpec::Is(parse_principals(p)?)),
        (None, Some(p)) => Some(PrincipalSpec::Not(parse_principals(p)?)),
        (None, None) => None,
    };
    let actions = match (s.get("Action"), s.get("NotAction")) {
        (Some(_), Some(_)) => return err("has both `Action` and `NotAction`"),
        (Some(a), None) => ActionSpec::Action(string_list(a, "Action")?),
        (None, Some(a)) => ActionSpec::NotAction(string_list(a, "NotAction")?),
        (None, None) => return err("has neither `Action` nor `NotAction`"),
    };
    let conditions = match s.get("Condition") {
        None | Some(Json::Null) => Vec::new(),
        Some(c) => parse_conditions(c)?,
    };
    Ok(PolicyStatement {
        sid,
        effect,
        principal,
        actions,
        conditions,
    })
}

fn string_list(value: &Json<'_>, element: &str) -> Result<Vec<String>, ParseError> {
    match value {
        Json::String(s) => Ok(vec![s.to_string()]),
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::String(s) => Ok(s.to_string()),
                other => err(format!(
                    "`{element}` entries must be strings, found {}",
                    kind(other)
                )),
            })
            .collect(),
        other => err(format!(
            "`{element}` must be a string or a list of strings, found {}",
            kind(other)
        )),
    }
}

fn parse_principals(value: &Json<'_>) -> Result<Vec<Principal>, ParseError> {
    match value {
        Json::String(s) if s == "*" => Ok(vec![Principal::Anyone]),
        Json::String(s) => Ok(vec![aws_principal(s)?]),
        Json::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(parse_principals(item)?);
            }
            Ok(out)
        }
        Json::Object(map) => {
            let mut out = Vec::new();
            for (key, values) in sorted(map) {
                let values = string_list(values, &format!("Principal.{key}"))?;
                for v in values {
                    out.push(match key {
                        "AWS" => aws_principal(&v)?,
                        "Service" => Principal::Service(v),
                        "Federated" => Principal::Federated(v),
                        "CanonicalUser" => Principal::CanonicalUser(v),
                        other => {
                            return err(format!(
                                "unknown principal type `{other}` (expected `AWS`, `Service`, `Federated` or `CanonicalUser`)"
                            ));
                        }
                    });
                }
            }
            Ok(out)
        }
        other => err(format!(
            "`Principal` must be `*`, a string, a list or a map, found {}",
            kind(other)
        )),
    }
}

/// Classifies one `AWS` principal value.
pub fn aws_principal(value: &str) -> Result<Principal, ParseError> {
    if value == "*" {
        return Ok(Principal::Anyone);
    }
    if is_account_id(value) {
        return Ok(Principal::Account {
            id: value.to_owned(),
            partition: None,
        });
    }
    if value.starts_with("arn:") {
        if is_cloudfront_oai(value) {
            return Ok(Principal::CloudFrontOai(value.to_owned()));
        }
        return match (arn_partition(value), arn_account(value)) {
            (Some(partition), Some(account)) if is_account_id(account) => Ok(Principal::Account {
                id: account.to_owned(),
                partition: Some(partition.to_owned()),
            }),
            _ => err(format!(
                "AWS principal `{value}` is not an ARN with a 12-digit account ID"
            )),
        };
    }
    if is_unique_id(value) {
        return Ok(Principal::DeletedPrincipal(value.to_owned()));
    }
    err(format!("unrecognized AWS principal `{value}`"))
}

/// IAM unique IDs: `AIDA...`, `AROA...` and friends, upper-case letters and digits.
fn is_unique_id(value: &str) -> bool {
    value.len() >= 16
        && value.starts_with('A')
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Whether `arn` names a CloudFront origin access identity, in any partition: IAM shows them as
/// `arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity <id>`.
fn is_cloudfront_oai(arn: &str) -> bool {
    let mut fields = arn.splitn(6, ':');
    fields.next() == Some("arn")
        && fields.next().is_some()
        && fields.next() == Some("iam")
        && fields.next() == Some("")
        && fields.next() == Some("cloudfront")
        && fields
            .next()
            .is_some_and(|r| r.starts_with("user/CloudFront Origin Access Identity "))
}

/// The partition field of an ARN; `None` when the text is not shaped like an ARN.
fn arn_partition(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    let partition = parts.next()?;
    (parts.count() == 4).then_some(partition)
}

/// The account field of an ARN (`arn:partition:service:region:account:resource`), any
/// partition. `None` when the text is not shaped like an ARN.
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let _region = parts.next()?;
    let account = parts.next()?;
    parts.next()?;
    Some(account)
}

fn parse_conditions(value: &Json<'_>) -> Result<Vec<Condition>, ParseError> {
    let Json::Object(ops) = value else {
        return err(format!(
            "`Condition` must be an object, found {}",
            kind(value)
        ));
    };
    let mut out = Vec::new();
    for (operator, keys) in sorted(ops) {
        let Json::Object(keys) = keys else {
            return err(format!(
                "condition `{operator}` must map keys to values, found {}",
                kind(keys)
            ));
        };
        for (key, values) in sorted(keys) {
            let values = match values {
                Json::Array(items) => items
                    .iter()
                    .map(|v| scalar(v, operator, key))
                    .collect::<Result<Vec<_>, _>>()?,
                single => vec![scalar(single, operator, key)?],
            };
            out.push(Condition {
                operator: operator.to_owned(),
                key: key.to_owned(),
                values,
            });
        }
    }
    Ok(out)
}

fn scalar(value: &Json<'_>, operator: &str, key: &str) -> Result<String, ParseError> {
    match value {
        Json::String(s) => Ok(s.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        Json::Number(n) => Ok(n.to_string()),
        other => err(format!(
            "condition `{operator}` `{key}`: values must be strings, numbers or booleans, found {}",
            kind(other)
        )),
    }
}

/// What the reachability analysis needs to know about the organization.
#[derive(Clone, Copy)]
pub struct OrgView<'a> {
    /// The organization ID (`o-...`).
    pub org_id: &'a str,
    /// The organization's partition (`aws`, `aws-cn`, `aws-us-gov`): the resources'.
    pub partition: &'a str,
    /// Whether an account ID belongs to the organization (any state).
    pub is_member: &'a (dyn Fn(&str) -> bool + Sync),
}

impl fmt::Debug for OrgView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgView")
            .field("org_id", &self.org_id)
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

/// Who outside the organization can reach a resource through the in-scope actions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Third-party accounts and the actions (as written) each is granted.
    pub third_parties: BTreeMap<String, BTreeSet<String>>,
    /// Why the policy grants anyone: one line per wildcard grant.
    pub wildcards: Vec<String>,
    /// Principals granted access that have no account to allowlist: `CanonicalUser`s and
    /// CloudFront origin access identities.
    pub non_account_principals: BTreeSet<String>,
    /// Informational: `Federated` principals of Allow statements. They can only call
    /// `sts:AssumeRoleWithSAML` and `sts:AssumeRoleWithWebIdentity`, which no RCP check denies,
    /// so they are neither third parties nor violations.
    pub federated_principals: BTreeSet<String>,
    /// Informational: principals (accounts, or ARN condition values) of another partition than
    /// the resource's. They cannot reach the resource, so they are never allowlisted.
    pub other_partition_principals: BTreeSet<String>,
}

impl Reach {
    /// Whether anyone outside the organization can reach the resource.
    pub fn is_empty(&self) -> bool {
        self.third_parties.is_empty()
            && self.wildcards.is_empty()
            && self.non_account_principals.is_empty()
    }
}

/// The statement's narrowing: the intersection of its narrowing entries, with the principals
/// they name in another partition.
fn statement_scope(
    statement: &PolicyStatement,
    service: Option<&str>,
    org: &OrgView<'_>,
) -> (Scope, Vec<String>) {
    let mut scope = Scope::Anyone;
    let mut other_partition = Vec::new();
    for condition in &statement.conditions {
        if let Some((s, other)) = condition_scope(condition, service, org) {
            scope = scope.intersect(s, org);
            other_partition.extend(other);
        }
    }
    (scope, other_partition)
}

/// The condition entries that did not narrow a `*` (for the wildcard text).
fn ignored_conditions(
    statement: &PolicyStatement,
    service: Option<&str>,
    org: &OrgView<'_>,
) -> Vec<String> {
    statement
        .conditions
        .iter()
        .filter(|c| condition_scope(c, service, org).is_none())
        .map(|c| format!("{} {}", c.operator, c.key))
        .collect()
}

/// The service of the in-scope actions (`s3` for `s3:*`), when they share one.
fn scope_service<'s>(scope: &[&'s str]) -> Option<&'s str> {
    let mut services = scope.iter().map(|a| a.split_once(':').map(|(s, _)| s));
    let first = services.next()??;
    services
        .all(|s| s.is_some_and(|s| s.eq_ignore_ascii_case(first)))
        .then_some(first)
}

/// Whether the statement's actions include any action of `scope` (IAM wildcard rules).
pub fn actions_overlap(actions: &ActionSpec, scope: &[&str]) -> bool {
    match actions {
        ActionSpec::Action(patterns) => patterns
            .iter()
            .any(|p| scope.iter().any(|s| action::glob_intersects(p, s))),
        ActionSpec::NotAction(excluded) => scope
            .iter()
            .any(|s| !excluded.iter().any(|p| action::covers(p, s))),
    }
}

/// The statement's actions as reported per account.
fn action_labels(actions: &ActionSpec, scope: &[&str]) -> Vec<String> {
    match actions {
        ActionSpec::Action(patterns) => patterns
            .iter()
            .filter(|p| scope.iter().any(|s| action::glob_intersects(p, s)))
            .cloned()
            .collect(),
        ActionSpec::NotAction(excluded) => {
            excluded.iter().map(|p| format!("NotAction:{p}")).collect()
        }
    }
}

fn statement_label(index: usize, statement: &PolicyStatement) -> String {
    match &statement.sid {
        Some(sid) if !sid.is_empty() => format!("statement {} (`{sid}`)", index + 1),
        _ => format!("statement {}", index + 1),
    }
}

/// Derives who outside the organization can reach the resource through the actions in
/// `scope` (the actions the check's RCP denies, such as `s3:*` or `sts:AssumeRole`).
pub fn reach(document: &PolicyDocument, scope: &[&str], org: &OrgView<'_>) -> Reach {
    let service = scope_service(scope).map(str::to_ascii_lowercase);
    let service = service.as_deref();
    let mut out = Reach::default();
    for (index, statement) in document.statements.iter().enumerate() {
        if statement.effect != Effect::Allow {
            continue;
        }
        let Some(principal) = &statement.principal else {
            continue;
        };
        // Federated principals can only federate, whatever the statement's actions say.
        if let PrincipalSpec::Is(principals) = principal {
            for p in principals {
                if let Principal::Federated(name) = p {
                    out.federated_principals.insert(name.clone());
                }
            }
        }
        if !actions_overlap(&statement.actions, scope) {
            continue;
        }
        let actions = action_labels(&statement.actions, scope);
        let (cond_scope, other_partition) = statement_scope(statement, service, org);
        out.other_partition_principals.extend(other_partition);
        let label = || statement_label(index, statement);
        // Everyone, or everyone but a few (`NotPrincipal` with `Allow`), narrowed by the
        // statement's conditions alone.
        let everyone = |what: Everyone, out: &mut Reach| match &cond_scope {
            Scope::Anyone => out.wildcards.push(wildcard_text(
                &label(),
                what,
                &ignored_conditions(statement, service, org),
            )),
            Scope::Org | Scope::Services => {}
            Scope::Accounts(set) => {
                for account in set {
                    grant(out, account, &actions, org);
                }
            }
        };
        match principal {
            PrincipalSpec::Not(_) => {
                everyone(Everyone::NotPrincipal, &mut out);
            }
            PrincipalSpec::Is(principals) => {
                for p in principals {
                    match p {
                        Principal::Anyone => everyone(Everyone::Star, &mut out),
                        Principal::Account { id, partition } => {
                            if partition.as_deref().is_some_and(|p| p != org.partition) {
                                out.other_partition_principals.insert(format!(
                                    "{id} ({})",
                                    partition.as_deref().unwrap_or_default()
                                ));
                            } else if cond_scope.admits(id, org) {
                                grant(&mut out, id, &actions, org);
                            }
                        }
                        Principal::CanonicalUser(name) | Principal::CloudFrontOai(name) => {
                            if cond_scope != Scope::Services {
                                out.non_account_principals.insert(name.clone());
                            }
                        }
                        Principal::Service(_)
                        | Principal::DeletedPrincipal(_)
                        | Principal::Federated(_) => {}
                    }
                }
            }
        }
    }
    out
}

/// How a statement grants everyone.
#[derive(Debug, Clone, Copy)]
enum Everyone {
    /// Principal `*`.
    Star,
    /// `NotPrincipal` with `Allow`.
    NotPrincipal,
}

fn wildcard_text(label: &str, what: Everyone, ignored: &[String]) -> String {
    let (bare, narrowed) = match what {
        Everyone::Star => ("principal `*` with no condition", "principal `*`"),
        Everyone::NotPrincipal => (
            "`NotPrincipal` with `Allow` grants everyone not listed",
            "`NotPrincipal` with `Allow` grants everyone not listed,",
        ),
    };
    if ignored.is_empty() {
        format!("{label}: {bare}")
    } else {
        format!(
            "{label}: {narrowed} not narrowed by {}",
            ignored
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn grant(out: &mut Reach, account: &str, actions: &[String], org: &OrgView<'_>) {
    if (org.is_member)(account) {
        return;
    }
    out.third_parties
        .entry(account.to_owned())
        .or_default()
        .extend(actions.iter().cloned());
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anyone => f.write_str("*"),
            Principal::Account { id, .. } => write!(f, "account {id}"),
            Principal::DeletedPrincipal(a) => write!(f, "deleted principal {a}"),
            Principal::Service(s) => write!(f, "service {s}"),
            Principal::Federated(s) => write!(f, "federated {s}"),
            Principal::CanonicalUser(s) => write!(f, "canonical user {s}"),
            Principal::CloudFrontOai(s) => write!(f, "CloudFront origin access identity {s}"),
        }
    }
}
