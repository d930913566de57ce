//! Table-driven tests of the policy-document model: every principal shape, every narrowing
//! rule of SPEC §6 "How conditions narrow", action wildcards and malformed documents.

use headroom_analyzer::policy_document::{self, OrgView, Reach, aoss};

const ORG: &str = "o-aaaa11111111";
const MEMBERS: [&str; 2] = ["111111111111", "222222222222"];

fn is_member(id: &str) -> bool {
    MEMBERS.contains(&id)
}

/// A compact, order-independent summary of a reach: `none`, `wildcard`, `3p=A,B`,
/// `nonacct=X`, joined by spaces; `error` when the document does not parse.
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
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(" ")
    }
}

fn analyze(policy: &str, scope: &[&str]) -> String {
    let org = OrgView {
        org_id: ORG,
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
        ("aws-cn partition", allow(r#"{"AWS": "arn:aws-cn:iam::121212121212:root"}"#, assume, ""), STS, "3p=121212121212"),
        ("aws-us-gov partition", allow(r#"{"AWS": "arn:aws-us-gov:iam::343434343434:role/x"}"#, assume, ""), STS, "3p=343434343434"),
        ("org member is not a third party", allow(r#"{"AWS": "arn:aws:iam::222222222222:root"}"#, assume, ""), STS, "none"),
        ("list mixing member and third parties", allow(r#"{"AWS": ["arn:aws:iam::121212121212:root", "343434343434", "111111111111"]}"#, get, ""), S3, "3p=121212121212,343434343434"),
        ("principal as a plain ARN string", allow(r#""arn:aws:iam::121212121212:root""#, assume, ""), STS, "3p=121212121212"),
        ("principal as a list of maps", allow(r#"[{"AWS": "121212121212"}, {"Service": "ec2.amazonaws.com"}]"#, assume, ""), STS, "3p=121212121212"),
        ("service principal", allow(r#"{"Service": "ec2.amazonaws.com"}"#, assume, ""), STS, "none"),
        ("service principal list", allow(r#"{"Service": ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]}"#, assume, ""), STS, "none"),
        ("service star is not a wildcard", allow(r#"{"Service": "*"}"#, assume, ""), STS, "none"),
        ("federated SAML with AssumeRoleWithSAML is out of scope", allow(r#"{"Federated": "arn:aws:iam::222222222222:saml-provider/Okta"}"#, r#""sts:AssumeRoleWithSAML""#, ""), STS, "none"),
        ("federated with AssumeRole", allow(r#"{"Federated": "cognito-identity.amazonaws.com"}"#, assume, ""), STS, "nonacct=cognito-identity.amazonaws.com"),
        ("federated on a bucket", allow(r#"{"Federated": "accounts.google.com"}"#, get, ""), S3, "nonacct=accounts.google.com"),
        ("canonical user", allow(r#"{"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}"#, get, ""), S3, "nonacct=79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"),
        ("deleted principal unique id", allow(r#"{"AWS": "AROAEXAMPLEEXAMPLE123"}"#, assume, ""), STS, "none"),
        // NotPrincipal.
        ("NotPrincipal with Allow is a wildcard", r#"{"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "s3:GetObject"}]}"#.to_owned(), S3, "wildcard"),
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
        ("IfExists never narrows", allow(r#""*""#, assume, r#"{"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaa11111111"}}"#), STS, "wildcard"),
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
