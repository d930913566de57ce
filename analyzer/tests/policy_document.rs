//! Table-driven tests of the policy-document model: every principal shape, every narrowing
//! rule of SPEC §6 "How conditions narrow", action wildcards and malformed documents.

use headroom_analyzer::policy_document::{self, OrgView, Reach, aoss};

const ORG: &str = "o-aaaa11111111";
const MEMBERS: [&str; 2] = ["111111111111", "222222222222"];

fn is_member(id: &str) -> bool {
    MEMBERS.contains(&id)
}

/// A compact, order-independent summary of a reach: `none`, `wildcard`, `3p=A,B`,
/// `nonacct=X`, `fed=F` (informational federated principals), `xpart=P` (principals of another
/// partition), joined by spaces; `error` when the document does not parse.
fn summarize(reach: Result<Reach, policy_document::ParseError>) -> String {
    let Ok(reach) = reach else {
        return "error".to_owned();
    };
    let mut parts = Vec::new();
    if !reach.wildcards.is_empty() {
        parts.push("wildcard".to_owned());
    }
    if !reach.third_parties.is_empty() {
        parts.push(format!(
            "3p={}",
            reach
                .third_parties
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if !reach.non_account_principals.is_empty() {
        parts.push(format!(
            "nonacct={}",
            reach
                .non_account_principals
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    for (label, set) in [
        ("fed", &reach.federated_principals),
        ("xpart", &reach.other_partition_principals),
    ] {
        if !set.is_empty() {
            parts.push(format!(
                "{label}={}",
                set.iter().cloned().collect::<Vec<_>>().join(",")
            ));
        }
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(" ")
    }
}

fn analyze(policy: &str, scope: &[&str]) -> String {
    let org = OrgView {
        org_id: ORG,
        partition: "aws",
        is_member: &is_member,
    };
    summarize(policy_document::parse(policy).map(|doc| policy_document::reach(&doc, scope, &org)))
}

/// One Allow statement granting `action` to `principal` under `condition`.
fn allow(principal: &str, action: &str, condition: &str) -> String {
    let condition = if condition.is_empty() {
        String::new()
    } else {
        format!(r#", "Condition": {condition}"#)
    };
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {principal}, "Action": {action}, "Resource": "*"{condition}}}]}}"#
    )
}

const STS: &[&str] = &["sts:AssumeRole"];
const S3: &[&str] = &["s3:*"];
const KMS: &[&str] = &["kms:*"];

#[test]
fn policy_model_table() {
    let assume = r#""sts:AssumeRole""#;
    let get = r#""s3:GetObject""#;
    let cases: Vec<(&str, String, &[&str], &str)> = vec![
        // Principal shapes.
        ("principal star string", allow(r#""*""#, assume, ""), STS, "wildcard"),
        ("principal AWS star", allow(r#"{"AWS": "*"}"#, assume, ""), STS, "wildcard"),
        ("principal AWS star in a list", allow(r#"{"AWS": ["*"]}"#, assume, ""), STS, "wildcard"),
        ("bare third-party account id", allow(r#"{"AWS": "121212121212"}"#, assume, ""), STS, "3p=121212121212"),
        ("third-party root arn", allow(r#"{"AWS": "arn:aws:iam::121212121212:root"}"#, assume, ""), STS, "3p=121212121212"),
        ("third-party role arn", allow(r#"{"AWS": "arn:aws:iam::121212121212:role/deployer"}"#, assume, ""), STS, "3p=121212121212"),
        ("third-party user arn", allow(r#"{"AWS": "arn:aws:iam::121212121212:user/ci"}"#, assume, ""), STS, "3p=121212121212"),
        ("third-party assumed-role arn", allow(r#"{"AWS": "arn:aws:sts::121212121212:assumed-role/r/s"}"#, assume, ""), STS, "3p=121212121212"),
        // A principal of another partition cannot reach a resource in `aws`: recorded, never
        // allowlisted.
        ("aws-cn partition", allow(r#"{"AWS": "arn:aws-cn:iam::121212121212:root"}"#, assume, ""), STS, "xpart=121212121212 (aws-cn)"),
        ("aws-us-gov partition", allow(r#"{"AWS": "arn:aws-us-gov:iam::343434343434:role/x"}"#, assume, ""), STS, "xpart=343434343434 (aws-us-gov)"),
        ("same partition beside another", allow(r#"{"AWS": ["arn:aws-cn:iam::121212121212:root", "arn:aws:iam::121212121212:root"]}"#, assume, ""), STS, "3p=121212121212 xpart=121212121212 (aws-cn)"),
        ("org member is not a third party", allow(r#"{"AWS": "arn:aws:iam::222222222222:root"}"#, assume, ""), STS, "none"),
        ("list mixing member and third parties", allow(r#"{"AWS": ["arn:aws:iam::121212121212:root", "343434343434", "111111111111"]}"#, get, ""), S3, "3p=121212121212,343434343434"),
        ("principal as a plain ARN string", allow(r#""arn:aws:iam::121212121212:root""#, assume, ""), STS, "3p=121212121212"),
        ("principal as a list of maps", allow(r#"[{"AWS": "121212121212"}, {"Service": "ec2.amazonaws.com"}]"#, assume, ""), STS, "3p=121212121212"),
        ("service principal", allow(r#"{"Service": "ec2.amazonaws.com"}"#, assume, ""), STS, "none"),
        ("service principal list", allow(r#"{"Service": ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]}"#, assume, ""), STS, "none"),
        ("service star is not a wildcard", allow(r#"{"Service": "*"}"#, assume, ""), STS, "none"),
        // Federated identities can only call AssumeRoleWithSAML/AssumeRoleWithWebIdentity, which no
        // RCP denies: informational, whatever the statement's actions.
        ("federated SAML with AssumeRoleWithSAML is out of scope", allow(r#"{"Federated": "arn:aws:iam::222222222222:saml-provider/Okta"}"#, r#""sts:AssumeRoleWithSAML""#, ""), STS, "fed=arn:aws:iam::222222222222:saml-provider/Okta"),
        ("federated with AssumeRole", allow(r#"{"Federated": "cognito-identity.amazonaws.com"}"#, assume, ""), STS, "fed=cognito-identity.amazonaws.com"),
        ("federated with sts:*", allow(r#"{"Federated": "accounts.google.com"}"#, r#""sts:*""#, ""), STS, "fed=accounts.google.com"),
        ("federated with *", allow(r#"{"Federated": "accounts.google.com"}"#, r#""*""#, ""), STS, "fed=accounts.google.com"),
        ("federated on a bucket", allow(r#"{"Federated": "accounts.google.com"}"#, get, ""), S3, "fed=accounts.google.com"),
        // CloudFront origin access identities have no account; other statements still count.
        ("cloudfront origin access identity", r#"{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2EXAMPLE1EXAM"}, "Action": "s3:GetObject"}, {"Effect": "Allow", "Principal": {"AWS": "121212121212"}, "Action": "s3:ListBucket"}]}"#.to_owned(), S3, "3p=121212121212 nonacct=arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2EXAMPLE1EXAM"),
        ("canonical user", allow(r#"{"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}"#, get, ""), S3, "nonacct=79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"),
        ("deleted principal unique id", allow(r#"{"AWS": "AROAEXAMPLEEXAMPLE123"}"#, assume, ""), STS, "none"),
        // NotPrincipal.
        ("NotPrincipal with Allow is a wildcard", r#"{"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "s3:GetObject"}]}"#.to_owned(), S3, "wildcard"),
        ("NotPrincipal with Allow narrowed to the org", r#"{"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "s3:GetObject", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-aaaa11111111"}}}]}"#.to_owned(), S3, "none"),
        ("NotPrincipal with Allow narrowed to an account", r#"{"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "s3:GetObject", "Condition": {"StringEquals": {"aws:PrincipalAccount": "121212121212"}}}]}"#.to_owned(), S3, "3p=121212121212"),
        ("NotPrincipal with Allow and an IfExists org id", r#"{"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "s3:GetObject", "Condition": {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaa11111111"}}}]}"#.to_owned(), S3, "wildcard"),
        ("NotPrincipal with Deny grants nothing", r#"{"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "s3:*"}]}"#.to_owned(), S3, "none"),
        // Narrowing conditions.
        ("star + our PrincipalOrgID", allow(r#""*""#, get, r#"{"StringEquals": {"aws:PrincipalOrgID": "o-aaaa11111111"}}"#), S3, "none"),
        ("star + another org", allow(r#""*""#, get, r#"{"StringEquals": {"aws:PrincipalOrgID": "o-bbbb22222222"}}"#), S3, "wildcard"),
        ("org id list naming a second org", allow(r#""*""#, get, r#"{"StringEquals": {"aws:PrincipalOrgID": ["o-aaaa11111111", "o-bbbb22222222"]}}"#), S3, "wildcard"),
        ("org id values are case-sensitive", allow(r#""*""#, get, r#"{"StringEquals": {"aws:PrincipalOrgID": "O-AAAA11111111"}}"#), S3, "wildcard"),
        ("condition key names are not case-sensitive", allow(r#""*""#, get, r#"{"StringEquals": {"AWS:principalorgid": "o-aaaa11111111"}}"#), S3, "none"),
        ("star + PrincipalOrgPaths under our org", allow(r#""*""#, get, r#"{"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-aaaa11111111/r-aaaa/ou-aaaa-11111111/*"}}"#), S3, "none"),
        ("org path with a wildcard org id", allow(r#""*""#, get, r#"{"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-*/r-aaaa/*"}}"#), S3, "wildcard"),
        ("star + PrincipalAccount list", allow(r#"{"AWS": "*"}"#, get, r#"{"StringEquals": {"aws:PrincipalAccount": ["121212121212", "222222222222"]}}"#), S3, "3p=121212121212"),
        ("star + SourceAccount", allow(r#""*""#, r#""sqs:SendMessage""#, r#"{"StringEquals": {"aws:SourceAccount": "343434343434"}}"#), &["sqs:*"], "3p=343434343434"),
        ("star + kms:CallerAccount (AWS-managed key pattern)", allow(r#"{"AWS": "*"}"#, r#"["kms:Encrypt", "kms:Decrypt"]"#, r#"{"StringEquals": {"kms:CallerAccount": "222222222222", "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}"#), KMS, "none"),
        ("star + PrincipalArn of a third-party role", allow(r#""*""#, get, r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::565656565656:role/reader"}}"#), S3, "3p=565656565656"),
        ("star + SourceArn of a third-party topic", allow(r#""*""#, r#""sqs:SendMessage""#, r#"{"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:121212121212:*"}}"#), &["sqs:*"], "3p=121212121212"),
        ("wildcard where the account sits does not narrow", allow(r#""*""#, get, r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/reader"}}"#), S3, "wildcard"),
        ("wildcard account id does not narrow", allow(r#""*""#, get, r#"{"StringLike": {"aws:PrincipalAccount": "12121212*"}}"#), S3, "wildcard"),
        ("IfExists on a key that can be absent", allow(r#""*""#, assume, r#"{"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaa11111111"}}"#), STS, "wildcard"),
        ("IfExists on SourceAccount", allow(r#""*""#, r#""sqs:SendMessage""#, r#"{"StringEqualsIfExists": {"aws:SourceAccount": "343434343434"}}"#), &["sqs:*"], "wildcard"),
        // aws:PrincipalAccount is in every request context, anonymous ones included.
        ("IfExists on PrincipalAccount narrows", allow(r#""*""#, get, r#"{"StringEqualsIfExists": {"aws:PrincipalAccount": "121212121212"}}"#), S3, "3p=121212121212"),
        ("StringLikeIfExists on PrincipalAccount narrows", allow(r#""*""#, get, r#"{"StringLikeIfExists": {"aws:PrincipalAccount": ["121212121212", "222222222222"]}}"#), S3, "3p=121212121212"),
        // kms:CallerAccount is in every KMS request, and in no other service's.
        ("IfExists on CallerAccount narrows a key", allow(r#"{"AWS": "*"}"#, r#""kms:Decrypt""#, r#"{"StringEqualsIfExists": {"kms:CallerAccount": "565656565656"}}"#), KMS, "3p=565656565656"),
        ("CallerAccount on a bucket names nobody", allow(r#""*""#, get, r#"{"StringEquals": {"kms:CallerAccount": "565656565656"}}"#), S3, "wildcard"),
        ("CallerAccount on a queue names nobody", allow(r#"{"AWS": "121212121212"}"#, r#""sqs:SendMessage""#, r#"{"StringEquals": {"kms:CallerAccount": "565656565656"}}"#), &["sqs:*"], "3p=121212121212"),
        // Service-only grants.
        ("Bool PrincipalIsAWSService true admits services only", allow(r#""*""#, r#""s3:PutObject""#, r#"{"Bool": {"aws:PrincipalIsAWSService": "true"}}"#), S3, "none"),
        ("Bool PrincipalIsAWSService as a JSON boolean", allow(r#""*""#, r#""s3:PutObject""#, r#"{"Bool": {"aws:PrincipalIsAWSService": true}}"#), S3, "none"),
        ("BoolIfExists PrincipalIsAWSService does not narrow", allow(r#""*""#, r#""s3:PutObject""#, r#"{"BoolIfExists": {"aws:PrincipalIsAWSService": "true"}}"#), S3, "wildcard"),
        ("Bool PrincipalIsAWSService false does not narrow", allow(r#""*""#, r#""s3:PutObject""#, r#"{"Bool": {"aws:PrincipalIsAWSService": "false"}}"#), S3, "wildcard"),
        // ARN keys: StringLike wildcards cross colons; ArnLike wildcards stay in their field.
        ("StringLike PrincipalArn with a wildcard partition", allow(r#""*""#, assume, r#"{"StringLike": {"aws:PrincipalArn": "arn:*:iam::444455556666:role/deployer"}}"#), STS, "wildcard"),
        ("StringLike PrincipalArn with a wildcard service", allow(r#""*""#, get, r#"{"StringLike": {"aws:PrincipalArn": "arn:aws:*::123456789012:*"}}"#), S3, "wildcard"),
        ("ForAnyValue:StringLike PrincipalArn with a wildcard region", allow(r#""*""#, get, r#"{"ForAnyValue:StringLike": {"aws:PrincipalArn": "arn:aws:iam:*:555555555555:*"}}"#), S3, "wildcard"),
        ("StringLike PrincipalArn wildcard after the account narrows", allow(r#""*""#, get, r#"{"StringLike": {"aws:PrincipalArn": "arn:aws:iam::555555555555:role/*"}}"#), S3, "3p=555555555555"),
        ("ArnLike PrincipalArn with a wildcard partition narrows", allow(r#""*""#, assume, r#"{"ArnLike": {"aws:PrincipalArn": "arn:*:iam::444455556666:role/deployer"}}"#), STS, "3p=444455556666"),
        ("StringEquals PrincipalArn narrows", allow(r#""*""#, get, r#"{"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::555555555555:role/reader"}}"#), S3, "3p=555555555555"),
        ("policy variable before the account", allow(r#""*""#, get, r#"{"ArnLike": {"aws:PrincipalArn": "arn:${aws:PrincipalTag/p}:iam::555555555555:role/reader"}}"#), S3, "wildcard"),
        ("PrincipalArn in another partition", allow(r#""*""#, get, r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws-cn:iam::555555555555:role/reader"}}"#), S3, "xpart=arn:aws-cn:iam::555555555555:role/reader"),
        // aws:PrincipalArn of a role session is the role's ARN, never the session's.
        ("assumed-role session in PrincipalArn matches nobody", allow(r#""*""#, get, r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:sts::555555555555:assumed-role/reader/s"}}"#), S3, "none"),
        ("ForAllValues never narrows", allow(r#""*""#, get, r#"{"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": "o-aaaa11111111/*"}}"#), S3, "wildcard"),
        ("negated operators never narrow", allow(r#""*""#, get, r#"{"StringNotEquals": {"aws:PrincipalOrgID": "o-bbbb22222222"}}"#), S3, "wildcard"),
        ("unknown condition key on star", allow(r#""*""#, get, r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#), S3, "wildcard"),
        ("narrowing keys intersect: org and a third party", allow(r#""*""#, get, r#"{"StringEquals": {"aws:PrincipalOrgID": "o-aaaa11111111", "aws:PrincipalAccount": "121212121212"}}"#), S3, "none"),
        ("narrowing keys intersect: two account sets", allow(r#""*""#, get, r#"{"StringEquals": {"aws:PrincipalAccount": ["121212121212", "343434343434"]}, "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::343434343434:role/*"}}"#), S3, "3p=343434343434"),
        ("explicit third party outside our org condition", allow(r#"{"AWS": "121212121212"}"#, get, r#"{"StringEquals": {"aws:PrincipalOrgID": "o-aaaa11111111"}}"#), S3, "none"),
        ("non-narrowing conditions leave explicit principals", allow(r#"{"AWS": "arn:aws:iam::121212121212:role/deployer"}"#, assume, r#"{"StringEquals": {"sts:ExternalId": "x"}, "Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}"#), STS, "3p=121212121212"),
        // Effects and statement shapes.
        ("deny statements are ignored", r#"{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"}]}"#.to_owned(), S3, "none"),
        ("Statement as an object", r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "121212121212"}, "Action": "s3:GetObject"}}"#.to_owned(), S3, "3p=121212121212"),
        ("statement without a principal grants nothing", r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#.to_owned(), S3, "none"),
        // Actions.
        ("sts:* reaches AssumeRole", allow(r#""*""#, r#""sts:*""#, ""), STS, "wildcard"),
        ("sts:Assume* reaches AssumeRole", allow(r#""*""#, r#""sts:Assume*""#, ""), STS, "wildcard"),
        ("action star reaches AssumeRole", allow(r#""*""#, r#""*""#, ""), STS, "wildcard"),
        ("AssumeRoleWithSAML alone is out of scope", allow(r#""*""#, r#""sts:AssumeRoleWithSAML""#, ""), STS, "none"),
        ("actions are case-insensitive", allow(r#"{"AWS": "121212121212"}"#, r#""STS:assumerole""#, ""), STS, "3p=121212121212"),
        ("another service's actions are out of scope", allow(r#""*""#, r#""sqs:SendMessage""#, ""), S3, "none"),
        ("NotAction that leaves AssumeRole", r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "sts:TagSession"}]}"#.to_owned(), STS, "wildcard"),
        ("NotAction covering the scope", r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": ["s3:*"]}]}"#.to_owned(), S3, "none"),
        // Malformed documents.
        ("malformed JSON", r#"{"Statement": [{"Effect": "Allow""#.to_owned(), S3, "error"),
        ("not an object", r#"["Allow"]"#.to_owned(), S3, "error"),
        ("missing Effect", r#"{"Statement": [{"Principal": "*", "Action": "s3:*"}]}"#.to_owned(), S3, "error"),
        ("lower-case effect", r#"{"Statement": [{"Effect": "allow", "Principal": "*", "Action": "s3:*"}]}"#.to_owned(), S3, "error"),
        ("unknown principal type", allow(r#"{"Group": "admins"}"#, get, ""), S3, "error"),
        ("unrecognized AWS principal", allow(r#"{"AWS": "someone"}"#, get, ""), S3, "error"),
        ("missing Action", r#"{"Statement": [{"Effect": "Allow", "Principal": "*"}]}"#.to_owned(), S3, "error"),
        ("missing Statement", r#"{"Version": "2012-10-17"}"#.to_owned(), S3, "error"),
    ];
    assert!(cases.len() >= 40, "the table needs at least 40 documents");
    let mut failures = Vec::new();
    for (name, policy, scope, expected) in &cases {
        let got = analyze(policy, scope);
        if got != *expected {
            failures.push(format!("{name}: expected `{expected}`, got `{got}`"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn parse_errors_name_the_problem() {
    let err = |text: &str| policy_document::parse(text).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"Statement": [{"Effect": "Allow""#),
        "invalid JSON at line 1 column 33: EOF while parsing an object"
    );
    assert_eq!(
        err(r#"{"Statement": [{"Effect": "allow", "Principal": "*", "Action": "s3:*"}]}"#),
        "statement 1: `Effect` must be `Allow` or `Deny`, found `allow`"
    );
    assert_eq!(
        err(
            r#"{"Statement": [{"Effect": "Allow", "Principal": {"Group": "x"}, "Action": "s3:*"}]}"#
        ),
        "statement 1: unknown principal type `Group` (expected `AWS`, `Service`, `Federated` or `CanonicalUser`)"
    );
    assert_eq!(
        err(r#"{"Statement": "x"}"#),
        "`Statement` must be an object or a list, found a string"
    );
}

#[test]
fn wildcard_reasons_say_why() {
    let org = OrgView {
        org_id: ORG,
        partition: "aws",
        is_member: &is_member,
    };
    let doc = policy_document::parse(&allow(
        r#""*""#,
        r#""sts:AssumeRole""#,
        r#"{"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaa11111111"}}"#,
    ))
    .unwrap();
    let reach = policy_document::reach(&doc, STS, &org);
    assert_eq!(
        reach.wildcards,
        vec![
            "statement 1: principal `*` not narrowed by `StringEqualsIfExists aws:PrincipalOrgID`"
        ]
    );
}

#[test]
fn aoss_access_policies() {
    let org = OrgView {
        org_id: ORG,
        partition: "aws",
        is_member: &is_member,
    };
    let run = |text: &str| summarize(aoss::parse(text).map(|p| aoss::reach(&p, &org)));
    let rule = |principals: &str| {
        format!(
            r#"[{{"Rules": [{{"ResourceType": "index", "Resource": ["index/x/*"], "Permission": ["aoss:ReadDocument"]}}], "Principal": {principals}}}]"#
        )
    };
    assert_eq!(
        run(&rule(r#"["arn:aws:iam::222222222222:role/a"]"#)),
        "none"
    );
    assert_eq!(
        run(&rule(r#"["arn:aws:iam::565656565656:role/p"]"#)),
        "3p=565656565656"
    );
    assert_eq!(
        run(&rule(r#"["saml/222222222222/idp/user/alice"]"#)),
        "nonacct=saml/222222222222/idp/user/alice"
    );
    assert_eq!(run(&rule(r#"["*"]"#)), "wildcard");
    assert_eq!(run(&rule(r#"["bogus"]"#)), "error");
    assert_eq!(run("{"), "error");
}

/// The real matching rules of the operators the model reads ARNs with, written from the IAM
/// User Guide independently of the model: the oracle of the property test below.
mod oracle {
    /// `StringLike`: case-sensitive; `*` matches any run of characters (colons included), `?`
    /// exactly one.
    pub fn string_like(pattern: &str, text: &str) -> bool {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        // matches[j]: p[..i] matches t[..j].
        let mut matches = vec![false; t.len() + 1];
        matches[0] = true;
        for &pc in &p {
            let mut next = vec![false; t.len() + 1];
            if pc == '*' {
                let mut seen = false;
                for j in 0..=t.len() {
                    seen |= matches[j];
                    next[j] = seen;
                }
            } else {
                for j in 1..=t.len() {
                    next[j] = matches[j - 1] && (pc == '?' || pc == t[j - 1]);
                }
            }
            matches = next;
        }
        matches[t.len()]
    }

    /// `ArnLike`/`ArnEquals`: "each of the six colon-delimited components of the ARN is checked
    /// separately" (the sixth runs to the end, colons and all), each with `StringLike`'s
    /// wildcards.
    pub fn arn_like(pattern: &str, text: &str) -> bool {
        let p: Vec<&str> = pattern.splitn(6, ':').collect();
        let t: Vec<&str> = text.splitn(6, ':').collect();
        p.len() == 6 && t.len() == 6 && p.iter().zip(&t).all(|(p, t)| string_like(p, t))
    }

    /// Whether `operator` matches `text` against `pattern`.
    pub fn matches(operator: &str, pattern: &str, text: &str) -> bool {
        match operator.trim_start_matches("ForAnyValue:") {
            "StringEquals" => pattern == text,
            "StringLike" => string_like(pattern, text),
            "ArnEquals" | "ArnLike" => arn_like(pattern, text),
            other => unreachable!("no oracle for `{other}`"),
        }
    }

    /// The account of `text` if it is an ARN a real caller could carry in `key`:
    /// `aws:PrincipalArn` (an IAM user, role or root, or an STS federated user; IAM paths are
    /// any ASCII from `!` to `~`, colons and slashes included) or `aws:SourceArn` (any
    /// resource ARN), in a real partition.
    pub fn legal_account<'t>(key: &str, text: &'t str) -> Option<(&'t str, &'t str)> {
        let f: Vec<&str> = text.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = f[..] else {
            return None;
        };
        let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| (b'!'..=b'~').contains(&b));
        let word = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let ok = arn == "arn"
            && ["aws", "aws-cn", "aws-us-gov"].contains(&partition)
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && printable(resource)
            && if key == "aws:PrincipalArn" {
                region.is_empty()
                    && ((service == "iam"
                        && (resource == "root"
                            || resource.starts_with("user/")
                            || resource.starts_with("role/")))
                        || (service == "sts" && resource.starts_with("federated-user/")))
            } else {
                !service.is_empty() && word(service) && word(region)
            };
        ok.then_some((partition, account))
    }
}

mod narrowing_is_sound {
    use super::*;
    use proptest::prelude::*;

    fn pick(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        proptest::sample::select(options)
    }

    /// Patterns shaped like the ones people write, with wildcards and policy variables in
    /// every position, and some with fields missing.
    fn pattern() -> impl Strategy<Value = String> {
        let field = (
            pick(&[
                "aws",
                "aws-cn",
                "*",
                "a?s",
                "aws*",
                "*s",
                "${aws:PrincipalTag/p}",
            ]),
            pick(&["iam", "sts", "*", "i?m", "*am", "s3", "sns"]),
            pick(&["", "*", "?", "us-east-1", "us-*"]),
            pick(&[
                "444455556666",
                "44445555666?",
                "4444555566*",
                "*",
                "*444455556666",
                "555555555555",
            ]),
            pick(&[
                "role/deployer",
                "*",
                "user/*",
                "root",
                "role/a:b/*",
                "assumed-role/r/s",
                "*:iam::444455556666:role/x",
                "federated-user/bob",
                "topic:x",
            ]),
        );
        (field, 0..6usize).prop_map(|((p, s, r, a, res), drop)| {
            let full = format!("arn:{p}:{s}:{r}:{a}:{res}");
            match drop {
                // Leading fields replaced by one wildcard: `*:444455556666:role/x`.
                1 => format!("*:{a}:{res}"),
                2 => format!("arn:*:{a}:{res}"),
                _ => full,
            }
        })
    }

    /// What a wildcard of the pattern may stand for: pieces of ARNs of another account.
    const FILLS: &[&str] = &[
        "",
        "aws",
        ":",
        "::",
        "iam",
        "x",
        "/",
        "777766665555",
        "aws:iam::777766665555:user/z/",
        ":iam::777766665555:user/z/",
        "iam::777766665555:role/",
        "777766665555:role/",
        ":777766665555:",
        "aws:iam::777766665555:role/p/:",
        "aws:sns:us-east-1:777766665555:t:",
        "us-east-1:777766665555:t:",
        "sns:us-east-1:777766665555:",
    ];
    const SINGLE: &[char] = &[':', '/', 'a', 's', 'w', '1', '6', '7'];

    /// Replaces each `*` and `?` of `pattern` by choices drawn from `seed`.
    fn instantiate(pattern: &str, seed: &[usize]) -> String {
        let mut out = String::new();
        let mut k = 0;
        let mut next = || {
            k += 1;
            seed[k % seed.len()]
        };
        for c in pattern.chars() {
            match c {
                '*' => {
                    for _ in 0..(next() % 3) {
                        out.push_str(FILLS[next() % FILLS.len()]);
                    }
                }
                '?' => out.push(SINGLE[next() % SINGLE.len()]),
                c => out.push(c),
            }
        }
        out
    }

    fn no_members(_: &str) -> bool {
        false
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Whenever the model narrows a `*` principal to accounts, no legal ARN of another
        /// account (in the resource's partition, with arbitrary IAM paths) matches the pattern
        /// under the operator's real matching rules.
        #[test]
        fn narrowed_accounts_cover_every_matching_arn(
            pattern in pattern(),
            operator in pick(&["StringEquals", "StringLike", "ForAnyValue:StringLike", "ArnEquals", "ArnLike", "ForAnyValue:ArnLike"]),
            key in pick(&["aws:PrincipalArn", "aws:SourceArn"]),
            seeds in proptest::collection::vec(proptest::collection::vec(0usize..1000, 8), 48),
        ) {
            let org = OrgView { org_id: ORG, partition: "aws", is_member: &no_members };
            let policy = allow(
                r#""*""#,
                r#""s3:GetObject""#,
                &serde_json::json!({ operator: { key: pattern } }).to_string(),
            );
            let doc = policy_document::parse(&policy).unwrap();
            let reach = policy_document::reach(&doc, S3, &org);
            if !reach.wildcards.is_empty() {
                // Not narrowed: nothing to prove.
                return Ok(());
            }
            let mut candidates: Vec<String> = seeds.iter().map(|s| instantiate(&pattern, s)).collect();
            candidates.push(pattern.clone());
            for candidate in candidates {
                if !oracle::matches(operator, &pattern, &candidate) {
                    continue;
                }
                let Some((partition, account)) = oracle::legal_account(key, &candidate) else {
                    continue;
                };
                if partition != "aws" {
                    continue;
                }
                prop_assert!(
                    reach.third_parties.contains_key(account),
                    "{operator} {key} `{pattern}` was narrowed to {:?}, but `{candidate}` of account {account} matches it",
                    reach.third_parties.keys().collect::<Vec<_>>()
                );
            }
        }
    }

    /// The oracle itself, on the issue's examples.
    #[test]
    fn oracle_agrees_with_the_user_guide() {
        let attack = "arn:aws:iam::777766665555:user/z/:iam::444455556666:role/deployer";
        assert!(oracle::string_like(
            "arn:*:iam::444455556666:role/deployer",
            attack
        ));
        assert!(!oracle::arn_like(
            "arn:*:iam::444455556666:role/deployer",
            attack
        ));
        assert_eq!(
            oracle::legal_account("aws:PrincipalArn", attack),
            Some(("aws", "777766665555"))
        );
        assert!(oracle::arn_like(
            "arn:aws:iam::444455556666:role/*",
            "arn:aws:iam::444455556666:role/a:b/c"
        ));
        assert!(!oracle::string_like("a?c", "ac"));
        assert!(oracle::string_like("a*", "a:b:c"));
    }
}
