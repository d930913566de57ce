//! The policy-document model shared by every RCP check: parse any legal IAM resource policy
//! and derive, per Allow statement, who outside the organization can reach the resource.
//!
//! Parsing ([`parse`]) accepts every shape IAM accepts: `Statement` as an object or a list,
//! `Principal`/`NotPrincipal` as `"*"`, a string, a list or a map of `AWS`/`Service`/
//! `Federated`/`CanonicalUser` (each a string or a list), `Action`/`NotAction` as a string or a
//! list, and `Condition` values as strings, numbers, booleans or lists of them.
//!
//! Reachability ([`reach`]) follows SPEC §6 "How conditions narrow": a `*` principal is narrowed
//! only by `StringEquals`/`StringLike`/`ArnEquals`/`ArnLike` (or their `ForAnyValue:` forms)
//! on `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:PrincipalAccount`,
//! `aws:SourceAccount`, `kms:CallerAccount`, `aws:PrincipalArn` or `aws:SourceArn`, with
//! literal org or account IDs. `...IfExists`, `ForAllValues:` and negated operators never
//! narrow; several narrowing keys intersect. When in doubt, nothing is narrowed.

pub mod action;
pub mod aoss;
mod json;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use headroom_schemas::ids::is_account_id;
use serde_json::Value;

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
    Account(String),
    /// A unique principal ID (`AROA...`): what IAM shows after the named principal was
    /// deleted. Nobody can use it any more.
    DeletedPrincipal(String),
    /// An AWS service principal (`ec2.amazonaws.com`): never a third party.
    Service(String),
    /// A `Federated` principal (SAML or OIDC provider): has no account to allowlist.
    Federated(String),
    /// A `CanonicalUser` (S3): has no account to allowlist.
    CanonicalUser(String),
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
        return Ok(Principal::Account(value.to_owned()));
    }
    if value.starts_with("arn:") {
        return match arn_account(value) {
            Some(account) if is_account_id(account) => Ok(Principal::Account(account.to_owned())),
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
    /// Whether an account ID belongs to the organization (any state).
    pub is_member: &'a (dyn Fn(&str) -> bool + Sync),
}

impl fmt::Debug for OrgView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgView")
            .field("org_id", &self.org_id)
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
    /// `Federated` and `CanonicalUser` principals granted access.
    pub non_account_principals: BTreeSet<String>,
}

impl Reach {
    /// Whether anyone outside the organization can reach the resource.
    pub fn is_empty(&self) -> bool {
        self.third_parties.is_empty()
            && self.wildcards.is_empty()
            && self.non_account_principals.is_empty()
    }
}

/// Who a statement's conditions let through, intersected over every narrowing entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Not narrowed.
    Anyone,
    /// Principals of our organization only.
    Org,
    /// Principals of exactly these accounts.
    Accounts(BTreeSet<String>),
}

impl Scope {
    fn intersect(self, other: Scope, org: &OrgView<'_>) -> Scope {
        match (self, other) {
            (Scope::Anyone, x) | (x, Scope::Anyone) => x,
            (Scope::Org, Scope::Org) => Scope::Org,
            (Scope::Org, Scope::Accounts(a)) | (Scope::Accounts(a), Scope::Org) => {
                Scope::Accounts(a.into_iter().filter(|id| (org.is_member)(id)).collect())
            }
            (Scope::Accounts(a), Scope::Accounts(b)) => {
                Scope::Accounts(a.intersection(&b).cloned().collect())
            }
        }
    }

    fn admits(&self, account: &str, org: &OrgView<'_>) -> bool {
        match self {
            Scope::Anyone => true,
            Scope::Org => (org.is_member)(account),
            Scope::Accounts(set) => set.contains(account),
        }
    }
}

/// Whether `operator` can narrow: `StringEquals`, `StringLike`, `ArnEquals`, `ArnLike`, plain
/// or with `ForAnyValue:`. `...IfExists`, `ForAllValues:` and negations never narrow.
pub fn is_narrowing_operator(operator: &str) -> bool {
    let base = operator.strip_prefix("ForAnyValue:").unwrap_or(operator);
    matches!(
        base,
        "StringEquals" | "StringLike" | "ArnEquals" | "ArnLike"
    )
}

fn has_wildcard(value: &str) -> bool {
    value.contains(['*', '?'])
}

/// The condition keys that can narrow a `*` principal, in lower case.
const NARROWING_KEYS: [&str; 7] = [
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:sourceaccount",
    "kms:calleraccount",
    "aws:principalarn",
    "aws:sourcearn",
];

/// What one condition entry says about the caller, if it narrows.
fn condition_scope(condition: &Condition, org: &OrgView<'_>) -> Option<Scope> {
    if !is_narrowing_operator(&condition.operator) || condition.values.is_empty() {
        return None;
    }
    // Condition key names are case-insensitive.
    let key = NARROWING_KEYS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(&condition.key))?;
    match *key {
        "aws:principalorgid" => condition
            .values
            .iter()
            .all(|v| v == org.org_id)
            .then_some(Scope::Org),
        "aws:principalorgpaths" => condition
            .values
            .iter()
            .all(|v| v.split('/').next() == Some(org.org_id) && v.contains('/'))
            .then_some(Scope::Org),
        "aws:principalaccount" | "aws:sourceaccount" | "kms:calleraccount" => condition
            .values
            .iter()
            .all(|v| is_account_id(v))
            .then(|| Scope::Accounts(condition.values.iter().cloned().collect())),
        "aws:principalarn" | "aws:sourcearn" => {
            let accounts: Option<BTreeSet<String>> = condition
                .values
                .iter()
                .map(|v| {
                    arn_account(v)
                        .filter(|a| is_account_id(a) && !has_wildcard(a))
                        .map(str::to_owned)
                })
                .collect();
            accounts.map(Scope::Accounts)
        }
        _ => None,
    }
}

/// The statement's narrowing.
fn statement_scope(statement: &PolicyStatement, org: &OrgView<'_>) -> Scope {
    let mut scope = Scope::Anyone;
    for condition in &statement.conditions {
        if let Some(s) = condition_scope(condition, org) {
            scope = scope.intersect(s, org);
        }
    }
    scope
}

/// The condition entries that did not narrow a `*` (for the wildcard text).
fn ignored_conditions(statement: &PolicyStatement, org: &OrgView<'_>) -> Vec<String> {
    statement
        .conditions
        .iter()
        .filter(|c| condition_scope(c, org).is_none())
        .map(|c| format!("{} {}", c.operator, c.key))
        .collect()
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
    let mut out = Reach::default();
    for (index, statement) in document.statements.iter().enumerate() {
        if statement.effect != Effect::Allow || !actions_overlap(&statement.actions, scope) {
            continue;
        }
        let Some(principal) = &statement.principal else {
            continue;
        };
        let actions = action_labels(&statement.actions, scope);
        let cond_scope = statement_scope(statement, org);
        match principal {
            PrincipalSpec::Not(_) => out.wildcards.push(format!(
                "{}: `NotPrincipal` with `Allow` grants everyone not listed",
                statement_label(index, statement)
            )),
            PrincipalSpec::Is(principals) => {
                for p in principals {
                    match p {
                        Principal::Anyone => match &cond_scope {
                            Scope::Anyone => out.wildcards.push(wildcard_text(
                                &statement_label(index, statement),
                                &ignored_conditions(statement, org),
                            )),
                            Scope::Org => {}
                            Scope::Accounts(set) => {
                                for account in set {
                                    grant(&mut out, account, &actions, org);
                                }
                            }
                        },
                        Principal::Account(account) => {
                            if cond_scope.admits(account, org) {
                                grant(&mut out, account, &actions, org);
                            }
                        }
                        Principal::Federated(name) | Principal::CanonicalUser(name) => {
                            out.non_account_principals.insert(name.clone());
                        }
                        Principal::Service(_) | Principal::DeletedPrincipal(_) => {}
                    }
                }
            }
        }
    }
    out
}

fn wildcard_text(label: &str, ignored: &[String]) -> String {
    if ignored.is_empty() {
        format!("{label}: principal `*` with no condition")
    } else {
        format!(
            "{label}: principal `*` not narrowed by {}",
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
            Principal::Account(a) => write!(f, "account {a}"),
            Principal::DeletedPrincipal(a) => write!(f, "deleted principal {a}"),
            Principal::Service(s) => write!(f, "service {s}"),
            Principal::Federated(s) => write!(f, "federated {s}"),
            Principal::CanonicalUser(s) => write!(f, "canonical user {s}"),
        }
    }
}
