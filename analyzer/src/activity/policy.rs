//! The Deny statements of a rendered SCP or RCP document, ready to evaluate requests against.
//!
//! Only what a Deny statement can say is kept: `Sid`, `Action`/`NotAction`, `Resource`/
//! `NotResource`, `Principal` (RCPs; only `"*"` is understood, anything else is undecidable)
//! and every condition. Allow statements never deny and are skipped (an SCP or RCP `Allow`
//! only bounds what other policies grant, which the replay does not model: it asks whether
//! the planned Deny statements would have denied a call that happened).

use serde_json::Value;

use super::condition::{self, KeyValue, Operator, Truth};
use crate::policy_document::action::{glob_intersects, glob_match_with};

/// A document that is not a policy this module understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot evaluate policy document: {0}")]
pub struct DocumentError(pub String);

/// One Deny statement.
#[derive(Debug, Clone, PartialEq)]
pub struct DenyStatement {
    /// The `Sid`, if any.
    pub sid: Option<String>,
    /// `Action` (true) or `NotAction` (false), with its patterns.
    pub action: (bool, Vec<String>),
    /// `Resource` (true) or `NotResource` (false), with its patterns; `None` when the
    /// statement names neither (IAM refuses that; treated as undecidable).
    pub resource: Option<(bool, Vec<String>)>,
    /// The patterns of `resource` without wildcards, for lookup: an allowlist of a thousand
    /// ARNs is one search, not a thousand matches.
    pub exact_resources: std::collections::BTreeSet<String>,
    /// The patterns of `resource` with wildcards.
    pub wildcard_resources: Vec<String>,
    /// `Principal` (`None` when absent, as in SCPs); `Some(true)` for `"*"`, `Some(false)` for
    /// anything else (undecidable here).
    pub principal_anyone: Option<bool>,
    /// Every condition: (operator, key, lowercase key, values).
    pub conditions: Vec<Condition>,
}

/// One condition entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The key as written.
    pub key: String,
    /// The key in lowercase (key names are case-insensitive).
    pub key_lower: String,
    /// The values, as text.
    pub values: Vec<String>,
    /// The values, compiled for lookup.
    pub compiled: condition::Compiled,
    /// Whether a value holds a policy variable (`${...}`).
    pub variable: bool,
}

/// The Deny statements of a document (`{"Version": ..., "Statement": [...]}`).
pub fn deny_statements(document: &Value) -> Result<Vec<DenyStatement>, DocumentError> {
    let statements = match document.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return Err(DocumentError("no `Statement` list".into())),
    };
    let mut out = Vec::new();
    for (i, statement) in statements.into_iter().enumerate() {
        let at = |m: &str| DocumentError(format!("statement {}: {m}", i + 1));
        let Value::Object(s) = statement else {
            return Err(at("not an object"));
        };
        match s.get("Effect").and_then(Value::as_str) {
            Some("Deny") => {}
            Some("Allow") => continue,
            _ => return Err(at("`Effect` is neither `Allow` nor `Deny`")),
        }
        let action = match (s.get("Action"), s.get("NotAction")) {
            (Some(a), None) => (true, strings(a).ok_or_else(|| at("bad `Action`"))?),
            (None, Some(a)) => (false, strings(a).ok_or_else(|| at("bad `NotAction`"))?),
            _ => return Err(at("needs exactly one of `Action` and `NotAction`")),
        };
        let resource = match (s.get("Resource"), s.get("NotResource")) {
            (Some(r), None) => Some((true, strings(r).ok_or_else(|| at("bad `Resource`"))?)),
            (None, Some(r)) => Some((false, strings(r).ok_or_else(|| at("bad `NotResource`"))?)),
            (None, None) => None,
            (Some(_), Some(_)) => return Err(at("has both `Resource` and `NotResource`")),
        };
        let principal_anyone = match (s.get("Principal"), s.get("NotPrincipal")) {
            (None, None) => None,
            (Some(Value::String(p)), None) if p == "*" => Some(true),
            (Some(Value::Object(m)), None)
                if m.len() == 1 && m.get("AWS").and_then(Value::as_str) == Some("*") =>
            {
                Some(true)
            }
            _ => Some(false),
        };
        let mut conditions = Vec::new();
        if let Some(block) = s.get("Condition") {
            let Value::Object(block) = block else {
                return Err(at("`Condition` is not an object"));
            };
            // Sorted: what is reported first never depends on the document's key order.
            let mut operators: Vec<(&String, &Value)> = block.iter().collect();
            operators.sort_by(|a, b| a.0.cmp(b.0));
            for (operator, entries) in operators {
                let Value::Object(entries) = entries else {
                    return Err(at(&format!("`{operator}` is not an object")));
                };
                let mut keys: Vec<(&String, &Value)> = entries.iter().collect();
                keys.sort_by(|a, b| a.0.cmp(b.0));
                for (key, values) in keys {
                    let values = scalars(values)
                        .ok_or_else(|| at(&format!("bad values for `{operator}` `{key}`")))?;
                    let operator = Operator::parse(operator);
                    conditions.push(Condition {
                        compiled: condition::Compiled::new(&operator, &values),
                        variable: values.iter().any(|v| v.contains("${")),
                        operator,
                        key: key.clone(),
                        key_lower: key.to_ascii_lowercase(),
                        values,
                    });
                }
            }
        }
        let (wildcard_resources, exact_resources): (Vec<String>, _) = resource
            .iter()
            .flat_map(|(_, patterns)| patterns)
            .cloned()
            .partition(|p| p.contains(['*', '?']));
        out.push(DenyStatement {
            sid: s.get("Sid").and_then(Value::as_str).map(str::to_owned),
            action,
            resource,
            exact_resources: exact_resources.into_iter().collect(),
            wildcard_resources,
            principal_anyone,
            conditions,
        });
    }
    Ok(out)
}

fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// Condition values as text: a string, number or boolean, or a list of them.
fn scalars(value: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|v| vec![v]),
    }
}

/// The resource a request is authorized on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceArn {
    /// This ARN.
    Known(String),
    /// An ARN starting with `prefix`, the rest unknown (an ID the call created, a name the
    /// event does not give): why.
    Partial {
        /// What the ARN starts with.
        prefix: String,
        /// Why the rest is unknown.
        why: &'static str,
    },
    /// Not known at all: why.
    Unknown(&'static str),
}

/// Whether the pattern `p` matches the resource: a known ARN, or every / no ARN of a known
/// prefix whose rest is an ID (no `:` or `/`).
///
/// IAM matches a `Resource` pattern segment by segment (the six colon-separated parts, `*`
/// and `?` within one); plain text matching, where `*` may cross a colon, can differ on
/// unusual ARNs. Where the two readings disagree the answer is unknown, so a Deny is never
/// dropped on a matching subtlety.
fn pattern_covers(p: &str, resource: &ResourceArn) -> Truth {
    if p == "*" {
        return Truth::True;
    }
    match resource {
        ResourceArn::Known(arn) => {
            // Matching segment by segment implies matching as text (the segments' matches,
            // joined by their colons, are one): only a text match can be read two ways.
            if !glob_match_with(p, arn, false) {
                return Truth::False;
            }
            match by_segment(p, arn) {
                Some(false) => Truth::Unknown(format!(
                    "whether `{p}` matches `{arn}` depends on how IAM matches wildcards across colons"
                )),
                _ => Truth::True,
            }
        }
        ResourceArn::Partial { prefix, why } => {
            let unknown =
                || Truth::Unknown(format!("the resource: {why} (an ARN starting `{prefix}`)"));
            let (Some(pattern), Some(known)) = (segments(p), segments(prefix)) else {
                return unknown();
            };
            // The first five segments are fully known; the prefix's resource segment is a
            // known start (`network-interface/`) and an unknown ID.
            for (p, k) in pattern.iter().zip(&known).take(5) {
                if !glob_match_with(p, k, false) {
                    return Truth::False;
                }
            }
            let (p, k) = (pattern[5], known[5]);
            if p.strip_suffix('*')
                .is_some_and(|head| glob_match_with(head, k, false))
            {
                return Truth::True;
            }
            // What `p` matches starts with its text before the first wildcard, what `k*`
            // matches starts with `k`: one must start the other for any ARN to match both.
            let literal = &p.as_bytes()[..p.find(['*', '?']).unwrap_or(p.len())];
            let common = literal.len().min(k.len());
            if literal[..common] != k.as_bytes()[..common] {
                return Truth::False;
            }
            if !glob_intersects(p, &format!("{k}*")) {
                return Truth::False;
            }
            unknown()
        }
        ResourceArn::Unknown(why) => Truth::Unknown(format!("the resource: {why}")),
    }
}

/// The six colon-separated segments of an ARN (the last keeps its colons).
fn segments(arn: &str) -> Option<[&str; 6]> {
    let mut parts = arn.splitn(6, ':');
    let mut out = [""; 6];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    Some(out)
}

/// Segment-by-segment matching, when both are six-segment ARNs (without collecting the
/// segments: this runs for every event and wildcard pattern).
fn by_segment(p: &str, arn: &str) -> Option<bool> {
    if p.matches(':').take(5).count() < 5 || arn.matches(':').take(5).count() < 5 {
        return None;
    }
    Some(
        p.splitn(6, ':')
            .zip(arn.splitn(6, ':'))
            .all(|(p, a)| glob_match_with(p, a, false)),
    )
}

impl DenyStatement {
    /// Whether the statement's `Action`/`NotAction` covers `action` (IAM action matching is
    /// case-insensitive).
    pub fn covers_action(&self, action: &str) -> bool {
        let (positive, patterns) = &self.action;
        let hit = patterns.iter().any(|p| glob_match_with(p, action, true));
        hit == *positive
    }

    /// Whether the statement's `Resource`/`NotResource` covers `resource` (ARNs match
    /// case-sensitively, with `*` and `?` crossing no component boundary only where IAM
    /// says: IAM matches resource ARNs as text, so do we).
    pub fn covers_resource(&self, resource: &ResourceArn) -> Truth {
        let Some((positive, patterns)) = &self.resource else {
            return Truth::Unknown("the statement has neither `Resource` nor `NotResource`".into());
        };
        // Any pattern covering it: `Resource` applies, `NotResource` does not. A pattern
        // without wildcards covers a known ARN exactly when it equals it.
        let covered = if *positive { Truth::True } else { Truth::False };
        let patterns = match resource {
            ResourceArn::Known(arn) => {
                if self.exact_resources.contains(arn) {
                    return covered;
                }
                &self.wildcard_resources
            }
            ResourceArn::Partial { .. } | ResourceArn::Unknown(_) => patterns,
        };
        let mut unknown = None;
        for p in patterns {
            match pattern_covers(p, resource) {
                Truth::True => return covered,
                Truth::False => {}
                Truth::Unknown(why) => unknown = Some(why),
            }
        }
        match unknown {
            Some(why) => Truth::Unknown(why),
            None if *positive => Truth::False,
            None => Truth::True,
        }
    }

    /// Whether the statement applies to a request of `action` on `resource` whose context
    /// holds `key(name as written, name in lowercase)`: action, resource, principal and every
    /// condition.
    pub fn applies(
        &self,
        action: &str,
        resource: &ResourceArn,
        key: &mut dyn FnMut(&str, &str) -> KeyValue,
    ) -> Truth {
        if !self.covers_action(action) {
            return Truth::False;
        }
        self.applies_to(resource, key)
    }

    /// [`Self::applies`], for a request whose action the statement covers.
    pub fn applies_to(
        &self,
        resource: &ResourceArn,
        key: &mut dyn FnMut(&str, &str) -> KeyValue,
    ) -> Truth {
        let principal = match self.principal_anyone {
            None | Some(true) => Truth::True,
            Some(false) => Truth::Unknown(
                "the statement names principals other than `*`, which the replay does not model"
                    .into(),
            ),
        };
        let mut truth = principal.and(|| self.covers_resource(resource));
        for c in &self.conditions {
            if truth == Truth::False {
                break;
            }
            truth = truth.and(|| {
                condition::evaluate_compiled(
                    &c.operator,
                    &c.key,
                    &c.values,
                    &c.compiled,
                    c.variable,
                    &key(&c.key, &c.key_lower),
                )
            });
        }
        truth
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_deny_statements_are_kept() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "D", "Effect": "Deny", "Action": ["ec2:RunInstances"], "Resource": "*",
             "Condition": {"StringNotEquals": {"ec2:Owner": ["amazon", "111111111111"]},
                           "Bool": {"x:Flag": true}}}
        ]});
        let statements = deny_statements(&doc).unwrap();
        assert_eq!(statements.len(), 1);
        let s = &statements[0];
        assert_eq!(s.sid.as_deref(), Some("D"));
        assert_eq!(s.conditions.len(), 2);
        assert_eq!(s.conditions[0].key, "x:Flag");
        assert_eq!(s.conditions[0].values, ["true"]);
        assert_eq!(s.conditions[1].key_lower, "ec2:owner");
    }

    /// "`NotResource` is an advanced policy element that explicitly matches every resource
    /// except those specified." (IAM User Guide)
    #[test]
    fn not_resource_matches_every_other_resource() {
        let doc = json!({"Statement": {"Effect": "Deny", "Action": "iam:CreateUser",
            "NotResource": ["arn:aws:iam::*:user/automation/*"]}});
        let s = &deny_statements(&doc).unwrap()[0];
        let known = |a: &str| ResourceArn::Known(a.to_owned());
        assert_eq!(
            s.covers_resource(&known("arn:aws:iam::111111111111:user/automation/bot")),
            Truth::False
        );
        assert_eq!(
            s.covers_resource(&known("arn:aws:iam::111111111111:user/alice")),
            Truth::True
        );
        assert!(matches!(
            s.covers_resource(&ResourceArn::Unknown("no name")),
            Truth::Unknown(_)
        ));
        // Every user under /automation/ is exempt; a user elsewhere is not.
        let partial = |prefix: &str| ResourceArn::Partial {
            prefix: prefix.to_owned(),
            why: "w",
        };
        assert_eq!(
            s.covers_resource(&partial("arn:aws:iam::111111111111:user/automation/")),
            Truth::False
        );
        assert!(matches!(
            s.covers_resource(&partial("arn:aws:iam::111111111111:user/")),
            Truth::Unknown(_)
        ));
    }

    #[test]
    fn a_partly_known_arn_is_decided_where_the_pattern_allows() {
        let doc = json!({"Statement": {"Effect": "Deny", "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:*:instance/*"}});
        let s = &deny_statements(&doc).unwrap()[0];
        let partial = |prefix: &str| ResourceArn::Partial {
            prefix: prefix.to_owned(),
            why: "w",
        };
        assert_eq!(
            s.covers_resource(&partial("arn:aws:ec2:eu-west-1:111111111111:instance/")),
            Truth::True
        );
        assert_eq!(
            s.covers_resource(&partial("arn:aws:ec2:eu-west-1::image/")),
            Truth::False
        );
        assert_eq!(
            s.covers_resource(&partial(
                "arn:aws:ec2:eu-west-1:111111111111:network-interface/"
            )),
            Truth::False
        );
    }

    /// Action matching is case-insensitive and `NotAction` matches every other action.
    #[test]
    fn actions() {
        let doc = json!({"Statement": [
            {"Effect": "Deny", "Action": "EC2:runinstances", "Resource": "*"},
            {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}
        ]});
        let s = deny_statements(&doc).unwrap();
        assert!(s[0].covers_action("ec2:RunInstances"));
        assert!(!s[1].covers_action("iam:CreateUser"));
        assert!(s[1].covers_action("s3:GetObject"));
    }

    #[test]
    fn principals_other_than_anyone_are_undecidable() {
        let doc = json!({"Statement": [
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*", "Resource": "*"}
        ]});
        let s = deny_statements(&doc).unwrap();
        let mut none = |_: &str, _: &str| KeyValue::Absent;
        let any = ResourceArn::Unknown("x");
        assert_eq!(s[0].applies("s3:GetObject", &any, &mut none), Truth::True);
        assert!(matches!(
            s[1].applies("s3:GetObject", &any, &mut none),
            Truth::Unknown(_)
        ));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for doc in [
            json!({}),
            json!({"Statement": [1]}),
            json!({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Deny", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": []}]}),
        ] {
            assert!(deny_statements(&doc).is_err(), "{doc}");
        }
    }
}
