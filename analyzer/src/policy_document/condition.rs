#![doc = include_str!("narrowing.md")]

use std::collections::BTreeSet;

use headroom_schemas::ids::is_account_id;

use super::{Condition, OrgView};

/// The rules above, as Markdown: `documentation/CHECKS.md` carries them.
pub const RULES: &str = include_str!("narrowing.md");

/// Who a statement's conditions let through, intersected over every narrowing entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scope {
    /// Not narrowed.
    Anyone,
    /// Principals of our organization only.
    Org,
    /// Principals of exactly these accounts (perhaps none).
    Accounts(BTreeSet<String>),
    /// AWS service principals only: never a third party, and exempt from the RCPs.
    Services,
}

impl Scope {
    /// Both scopes must hold.
    pub(super) fn intersect(self, other: Scope, org: &OrgView<'_>) -> Scope {
        match (self, other) {
            (Scope::Anyone, x) | (x, Scope::Anyone) => x,
            (Scope::Services, _) | (_, Scope::Services) => Scope::Services,
            (Scope::Org, Scope::Org) => Scope::Org,
            (Scope::Org, Scope::Accounts(a)) | (Scope::Accounts(a), Scope::Org) => {
                Scope::Accounts(a.into_iter().filter(|id| (org.is_member)(id)).collect())
            }
            (Scope::Accounts(a), Scope::Accounts(b)) => {
                Scope::Accounts(a.intersection(&b).cloned().collect())
            }
        }
    }

    /// Whether a principal of `account` gets through.
    pub(super) fn admits(&self, account: &str, org: &OrgView<'_>) -> bool {
        match self {
            Scope::Anyone => true,
            Scope::Org => (org.is_member)(account),
            Scope::Accounts(set) => set.contains(account),
            Scope::Services => false,
        }
    }
}

/// A condition operator, taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator<'a> {
    /// The operator without its set prefix and `IfExists` suffix (`StringLike`).
    base: &'a str,
    /// `ForAllValues:`.
    for_all_values: bool,
    /// `...IfExists`.
    if_exists: bool,
}

impl<'a> Operator<'a> {
    fn parse(text: &'a str) -> Self {
        let (for_all_values, rest) = match text.strip_prefix("ForAllValues:") {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix("ForAnyValue:").unwrap_or(text)),
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        Operator {
            base,
            for_all_values,
            if_exists,
        }
    }
}

/// How an operator compares an ARN value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArnMatch {
    /// `StringEquals`: the whole text, exactly.
    Exact,
    /// `StringLike`: the whole text, `*` and `?` matching any character (colons included).
    Glob,
    /// `ArnEquals`/`ArnLike`: field by field, wildcards confined to their field.
    PerField,
}

/// Whether `operator` can narrow some key: `StringEquals`, `StringLike`, `ArnEquals`, `ArnLike`
/// or `Bool`, plain or with `ForAnyValue:`, and with `IfExists` only on a key that is always
/// present (see the module doc). `ForAllValues:` and negations never narrow.
pub fn is_narrowing_operator(operator: &str) -> bool {
    let op = Operator::parse(operator);
    !op.for_all_values
        && matches!(
            op.base,
            "StringEquals" | "StringLike" | "ArnEquals" | "ArnLike" | "Bool"
        )
}

/// The condition keys that can narrow a `*` principal, in lower case.
const NARROWING_KEYS: [&str; 8] = [
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:sourceaccount",
    "kms:calleraccount",
    "aws:principalarn",
    "aws:sourcearn",
    "aws:principalisawsservice",
];

/// Whether `key` (lower case) is in the request context of every request to a resource of
/// `service`, anonymous requests included, so that `...IfExists` on it changes nothing.
fn always_present(key: &str, service: Option<&str>) -> bool {
    match key {
        "aws:principalaccount" => true,
        "kms:calleraccount" => service == Some("kms"),
        _ => false,
    }
}

/// Whether `key` (lower case) can be in the request context of a request to `service` at all.
/// Service-prefixed keys among [`NARROWING_KEYS`] exist only for their own service.
fn exists_for(key: &str, service: Option<&str>) -> bool {
    match key.split_once(':') {
        Some(("aws", _)) => true,
        Some((prefix, _)) => service == Some(prefix),
        None => false,
    }
}

/// What one condition entry says about the caller, if it narrows, with the principals it names
/// in another partition (recorded, never allowlisted).
pub(super) fn condition_scope(
    condition: &Condition,
    service: Option<&str>,
    org: &OrgView<'_>,
) -> Option<(Scope, Vec<String>)> {
    if condition.values.is_empty() {
        return None;
    }
    let op = Operator::parse(&condition.operator);
    if !is_narrowing_operator(&condition.operator) {
        return None;
    }
    // Condition key names are case-insensitive.
    let key = *NARROWING_KEYS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(&condition.key))?;
    if !exists_for(key, service) || (op.if_exists && !always_present(key, service)) {
        return None;
    }
    let values = &condition.values;
    if op.base == "Bool" {
        return (key == "aws:principalisawsservice"
            && values.iter().all(|v| v.eq_ignore_ascii_case("true")))
        .then(|| (Scope::Services, Vec::new()));
    }
    match key {
        "aws:principalorgid" => values
            .iter()
            .all(|v| v == org.org_id)
            .then(|| (Scope::Org, Vec::new())),
        "aws:principalorgpaths" => values
            .iter()
            .all(|v| {
                v.split_once('/')
                    .is_some_and(|(first, _)| first == org.org_id)
            })
            .then(|| (Scope::Org, Vec::new())),
        "aws:principalaccount" | "aws:sourceaccount" | "kms:calleraccount" => {
            values.iter().all(|v| is_account_id(v)).then(|| {
                (
                    Scope::Accounts(values.iter().cloned().collect()),
                    Vec::new(),
                )
            })
        }
        "aws:principalarn" | "aws:sourcearn" => {
            let matching = match op.base {
                "StringEquals" => ArnMatch::Exact,
                "StringLike" => ArnMatch::Glob,
                "ArnEquals" | "ArnLike" => ArnMatch::PerField,
                _ => return None,
            };
            let mut accounts = BTreeSet::new();
            let mut other_partition = Vec::new();
            for value in values {
                match arn_value(value, matching, key == "aws:principalarn", org)? {
                    ArnValue::Account(account) => {
                        accounts.insert(account.to_owned());
                    }
                    ArnValue::OtherPartition => other_partition.push(value.clone()),
                    ArnValue::Nobody => {}
                }
            }
            Some((Scope::Accounts(accounts), other_partition))
        }
        _ => None,
    }
}

/// What one ARN value of `aws:PrincipalArn`/`aws:SourceArn` admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArnValue<'v> {
    /// Principals (or sources) of this account.
    Account(&'v str),
    /// Only principals of another partition, which cannot reach the resource.
    OtherPartition,
    /// Nobody: the value can never equal the key.
    Nobody,
}

/// Reads one ARN value; `None` when it does not narrow to an account (see the module doc).
fn arn_value<'v>(
    value: &'v str,
    matching: ArnMatch,
    principal_arn: bool,
    org: &OrgView<'_>,
) -> Option<ArnValue<'v>> {
    let mut fields = value.splitn(6, ':');
    let (arn, partition, service, _region, account, resource) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    // Everything up to (and including) the colon that ends the account field.
    let head = &value[..value.len() - resource.len()];
    if head.contains("${") {
        return None;
    }
    let wild = |text: &str| text.contains(['*', '?']);
    if matching == ArnMatch::Glob && wild(head) {
        return None;
    }
    if arn != "arn" || !is_account_id(account) {
        return None;
    }
    // `StringEquals` takes `*` and `?` literally: no partition is spelled that way.
    let partition_may_vary = matching != ArnMatch::Exact && wild(partition);
    if partition != org.partition && !partition_may_vary {
        return Some(if wild(partition) {
            ArnValue::Nobody
        } else {
            ArnValue::OtherPartition
        });
    }
    if principal_arn && service == "sts" && resource.starts_with("assumed-role/") {
        return Some(ArnValue::Nobody);
    }
    Some(ArnValue::Account(account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_member(id: &str) -> bool {
        id == "111111111111"
    }

    fn scope(operator: &str, key: &str, values: &[&str], service: &str) -> Option<Scope> {
        let org = OrgView {
            org_id: "o-aaaa11111111",
            partition: "aws",
            is_member: &is_member,
        };
        let condition = Condition {
            operator: operator.to_owned(),
            key: key.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        condition_scope(&condition, Some(service), &org).map(|(s, _)| s)
    }

    /// `Some(Scope::Accounts(ids))`, the answer of a narrowing condition.
    #[expect(clippy::unnecessary_wraps, reason = "compared with `scope`'s answer")]
    fn accounts(ids: &[&str]) -> Option<Scope> {
        Some(Scope::Accounts(
            ids.iter().map(|id| (*id).to_owned()).collect(),
        ))
    }

    /// AWS: "`StringLike`: Case-sensitive matching. The values can include multi-character
    /// match wildcards (*) and single-character match wildcards (?) anywhere in the string."
    /// Anywhere includes across colons, and IAM paths may contain colons.
    #[test]
    fn string_like_wildcards_before_the_account_do_not_narrow() {
        for value in [
            "arn:*:iam::444455556666:role/deployer",
            "arn:aws:*::123456789012:*",
            "arn:aws:iam:*:555555555555:*",
            "arn:aws:iam:?:555555555555:*",
            "*:444455556666:role/x",
            "arn:aws:iam::44445555666?:role/x",
        ] {
            for op in ["StringLike", "ForAnyValue:StringLike"] {
                assert_eq!(
                    scope(op, "aws:PrincipalArn", &[value], "s3"),
                    None,
                    "{op} {value}"
                );
                assert_eq!(
                    scope(op, "aws:SourceArn", &[value], "s3"),
                    None,
                    "{op} {value}"
                );
            }
        }
        // Wildcards after the account field cannot move it.
        assert_eq!(
            scope(
                "StringLike",
                "aws:PrincipalArn",
                &["arn:aws:iam::444455556666:role/*"],
                "s3"
            ),
            accounts(&["444455556666"])
        );
    }

    /// AWS: "`ArnLike`: Case-sensitive match of the ARN. Each of the six colon-delimited
    /// components of the ARN is checked separately and each can include multi-character match
    /// wildcards (*) or single-character match wildcards (?)."
    #[test]
    fn arn_operators_compare_field_by_field() {
        for op in ["ArnLike", "ArnEquals", "ForAnyValue:ArnLike"] {
            assert_eq!(
                scope(
                    op,
                    "aws:PrincipalArn",
                    &["arn:*:iam::444455556666:role/deployer"],
                    "s3"
                ),
                accounts(&["444455556666"]),
                "{op}"
            );
            assert_eq!(
                scope(op, "aws:SourceArn", &["arn:aws:*:*:123456789012:*"], "sqs"),
                accounts(&["123456789012"]),
                "{op}"
            );
            assert_eq!(
                scope(op, "aws:PrincipalArn", &["arn:aws:iam::*:role/x"], "s3"),
                None,
                "{op}"
            );
        }
    }

    /// Policy variables are replaced by request values, which may hold colons or wildcards.
    #[test]
    fn policy_variables_before_the_account_do_not_narrow() {
        assert_eq!(
            scope(
                "ArnLike",
                "aws:PrincipalArn",
                &["arn:${aws:PrincipalTag/p}:iam::444455556666:role/x"],
                "s3"
            ),
            None
        );
        assert_eq!(
            scope(
                "StringLike",
                "aws:PrincipalArn",
                &["arn:aws:iam::444455556666:user/${aws:username}"],
                "s3"
            ),
            accounts(&["444455556666"])
        );
    }

    /// AWS (aws:PrincipalAccount): "This key is included in the request context for all
    /// requests, including anonymous requests." `...IfExists` therefore changes nothing on it;
    /// on keys that can be absent it makes the condition true for whoever lacks the key.
    #[test]
    fn if_exists_narrows_only_keys_that_are_always_present() {
        assert_eq!(
            scope(
                "StringEqualsIfExists",
                "aws:PrincipalAccount",
                &["444455556666"],
                "s3"
            ),
            accounts(&["444455556666"])
        );
        assert_eq!(
            scope(
                "StringEqualsIfExists",
                "kms:CallerAccount",
                &["444455556666"],
                "kms"
            ),
            accounts(&["444455556666"])
        );
        for key in [
            "aws:PrincipalOrgID",
            "aws:SourceAccount",
            "aws:PrincipalArn",
        ] {
            let value = if key == "aws:PrincipalArn" {
                "arn:aws:iam::444455556666:root"
            } else if key == "aws:PrincipalOrgID" {
                "o-aaaa11111111"
            } else {
                "444455556666"
            };
            assert_eq!(
                scope("StringEqualsIfExists", key, &[value], "s3"),
                None,
                "{key}"
            );
        }
        assert_eq!(
            scope(
                "ForAllValues:StringEquals",
                "aws:PrincipalAccount",
                &["444455556666"],
                "s3"
            ),
            None
        );
    }

    /// `kms:CallerAccount` is a KMS key: it is not in the request context of an S3 or SQS
    /// request, so it cannot say who the caller is there.
    #[test]
    fn service_keys_narrow_only_their_own_service() {
        assert_eq!(
            scope("StringEquals", "kms:CallerAccount", &["444455556666"], "s3"),
            None
        );
        assert_eq!(
            scope(
                "StringEqualsIfExists",
                "kms:CallerAccount",
                &["444455556666"],
                "sqs"
            ),
            None
        );
    }

    /// AWS (aws:PrincipalArn): for an IAM role "the request context returns the ARN of the
    /// role, not the ARN of the user that assumed the role"; "do not specify the assumed role
    /// session ARN as a value for this condition key".
    #[test]
    fn session_arns_never_match_principal_arn() {
        assert_eq!(
            scope(
                "ArnEquals",
                "aws:PrincipalArn",
                &["arn:aws:sts::444455556666:assumed-role/r/s"],
                "s3"
            ),
            accounts(&[])
        );
        // aws:SourceArn names resources, not sessions: left as it is.
        assert_eq!(
            scope(
                "ArnEquals",
                "aws:SourceArn",
                &["arn:aws:sts::444455556666:assumed-role/r/s"],
                "s3"
            ),
            accounts(&["444455556666"])
        );
    }

    /// A principal of another partition cannot reach a resource of ours.
    #[test]
    fn other_partitions_admit_nobody() {
        assert_eq!(
            scope(
                "ArnEquals",
                "aws:PrincipalArn",
                &[
                    "arn:aws-cn:iam::444455556666:role/x",
                    "arn:aws:iam::555555555555:role/x"
                ],
                "s3"
            ),
            accounts(&["555555555555"])
        );
        // A wildcard partition may be ours.
        assert_eq!(
            scope(
                "ArnLike",
                "aws:PrincipalArn",
                &["arn:aws*:iam::444455556666:role/x"],
                "s3"
            ),
            accounts(&["444455556666"])
        );
    }

    /// AWS (aws:PrincipalIsAWSService): true when the call is made by an AWS service principal;
    /// the key is present in every signed request, but not in anonymous ones.
    #[test]
    fn service_only_grants() {
        assert_eq!(
            scope("Bool", "aws:PrincipalIsAWSService", &["true"], "s3"),
            Some(Scope::Services)
        );
        assert_eq!(
            scope(
                "Bool",
                "aws:PrincipalIsAWSService",
                &["true", "false"],
                "s3"
            ),
            None
        );
        assert_eq!(
            scope("Bool", "aws:PrincipalIsAWSService", &["false"], "s3"),
            None
        );
        assert_eq!(
            scope("BoolIfExists", "aws:PrincipalIsAWSService", &["true"], "s3"),
            None
        );
        assert_eq!(scope("Bool", "aws:SecureTransport", &["true"], "s3"), None);
    }
}
