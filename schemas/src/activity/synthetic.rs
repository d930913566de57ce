//! Synthetic CloudTrail log files for tests and benchmarks (feature `synthetic`).
//!
//! Records follow the CloudTrail log-file format as AWS documents it ("CloudTrail record
//! contents", "CloudTrail userIdentity element"): `eventVersion`, `userIdentity` (with
//! `sessionContext` for role sessions, `ec2RoleDelivery` for instance credentials),
//! `eventTime`, `eventSource`, `eventName`, `awsRegion`, `sourceIPAddress`, `userAgent`,
//! `requestParameters`, `responseElements`, `errorCode`/`errorMessage`, `requestID`,
//! `eventID`, `readOnly`, `eventType`, `managementEvent`, `recipientAccountId`,
//! `eventCategory`, `tlsDetails`, and `resources` where the service lists them. EC2's request
//! and response shapes use its `items` lists (`instancesSet.items[]`). Files are
//! `{"Records": [...]}` under the organization-trail key layout
//! `AWSLogs/<org id>/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`
//! (the caller compresses). Everything is deterministic in the seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Who made a call, as `userIdentity` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A role session of `account` (`AssumedRole`).
    Role {
        /// The role's account.
        account: String,
        /// The role name.
        role: String,
        /// The session name.
        session: String,
    },
    /// A session of an EC2 instance role, with credentials delivered through IMDS
    /// version `delivery` (`1.0` or `2.0`).
    InstanceRole {
        /// The role's account.
        account: String,
        /// The role name.
        role: String,
        /// The instance (the session name).
        instance_id: String,
        /// `ec2RoleDelivery`.
        delivery: String,
    },
    /// An IAM user.
    User {
        /// The user's account.
        account: String,
        /// The user name.
        name: String,
    },
    /// A principal of another account, as the resource owner's trail shows it (`AWSAccount`,
    /// no ARN).
    OtherAccount {
        /// The caller's account.
        account: String,
    },
    /// An AWS service (`AWSService`).
    Service {
        /// The service principal (`cloudtrail.amazonaws.com`).
        service: String,
    },
}

impl Identity {
    /// The `userIdentity` element.
    pub fn to_json(&self, rng: &mut impl Rng) -> Value {
        let key = access_key(rng, "ASIA");
        match self {
            Identity::Role {
                account,
                role,
                session,
            }
            | Identity::InstanceRole {
                account,
                role,
                instance_id: session,
                ..
            } => {
                let role_id = unique_id(rng, "AROA");
                let mut context = json!({
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": format!("arn:aws:iam::{account}:role/{role}"),
                        "accountId": account,
                        "userName": role,
                    },
                    "webIdFederationData": {},
                    "attributes": {
                        "creationDate": "2026-01-01T00:00:00Z",
                        "mfaAuthenticated": "false",
                    },
                });
                if let Identity::InstanceRole { delivery, .. } = self {
                    context["ec2RoleDelivery"] = Value::String(delivery.clone());
                }
                json!({
                    "type": "AssumedRole",
                    "principalId": format!("{role_id}:{session}"),
                    "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                    "accountId": account,
                    "accessKeyId": key,
                    "sessionContext": context,
                })
            }
            Identity::User { account, name } => json!({
                "type": "IAMUser",
                "principalId": unique_id(rng, "AIDA"),
                "arn": format!("arn:aws:iam::{account}:user/{name}"),
                "accountId": account,
                "accessKeyId": access_key(rng, "AKIA"),
                "userName": name,
            }),
            Identity::OtherAccount { account } => json!({
                "type": "AWSAccount",
                "principalId": unique_id(rng, "AROA"),
                "accountId": account,
            }),
            Identity::Service { service } => json!({
                "type": "AWSService",
                "invokedBy": service,
            }),
        }
    }
}

/// One API call to turn into a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `eventTime` (RFC 3339, UTC).
    pub time: String,
    /// `recipientAccountId`.
    pub account: String,
    /// `awsRegion`.
    pub region: String,
    /// `eventSource`.
    pub source: String,
    /// `eventName`.
    pub name: String,
    /// Who called.
    pub identity: Identity,
    /// `requestParameters` (`null` when none).
    pub request: Value,
    /// `responseElements` (`null` when none or on error).
    pub response: Value,
    /// `errorCode` and `errorMessage`, for a failed call.
    pub error: Option<(String, String)>,
    /// `resources`: (ARN, type) pairs, the account taken from the ARN.
    pub resources: Vec<(String, String)>,
    /// `readOnly`.
    pub read_only: bool,
}

impl Call {
    /// A call with no parameters, by `identity`, to `source` `name`.
    pub fn new(
        time: &str,
        account: &str,
        region: &str,
        source: &str,
        name: &str,
        identity: Identity,
    ) -> Self {
        Self {
            time: time.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
            source: source.to_owned(),
            name: name.to_owned(),
            identity,
            request: Value::Null,
            response: Value::Null,
            error: None,
            resources: Vec::new(),
            read_only: false,
        }
    }

    /// The CloudTrail record.
    pub fn record(&self, rng: &mut impl Rng) -> Value {
        let host = format!(
            "{}.{}.amazonaws.com",
            self.source.trim_end_matches(".amazonaws.com"),
            self.region
        );
        let mut record = json!({
            "eventVersion": "1.09",
            "userIdentity": self.identity.to_json(rng),
            "eventTime": self.time,
            "eventSource": self.source,
            "eventName": self.name,
            "awsRegion": self.region,
            "sourceIPAddress": match &self.identity {
                Identity::Service { service } => service.clone(),
                _ => format!("203.0.113.{}", rng.random_range(1..255u32)),
            },
            "userAgent": "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#x",
            "requestParameters": self.request,
            "responseElements": if self.error.is_some() { Value::Null } else { self.response.clone() },
            "requestID": uuid(rng),
            "eventID": uuid(rng),
            "readOnly": self.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": self.account,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": host,
            },
        });
        if let Some((code, message)) = &self.error {
            record["errorCode"] = Value::String(code.clone());
            record["errorMessage"] = Value::String(message.clone());
        }
        if !self.resources.is_empty() {
            record["resources"] = self
                .resources
                .iter()
                .map(|(arn, kind)| {
                    json!({
                        "accountId": arn.split(':').nth(4).unwrap_or_default(),
                        "type": kind,
                        "ARN": arn,
                    })
                })
                .collect();
        }
        record
    }
}

/// The request of `ec2:RunInstances`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Launch {
    /// The image; `None` when a launch template gives it.
    pub image_id: Option<String>,
    /// A launch template ID, when the request names one.
    pub launch_template: Option<String>,
    /// `metadataOptions.httpTokens`, if set.
    pub http_tokens: Option<String>,
    /// `metadataOptions.httpPutResponseHopLimit`, if set.
    pub hop_limit: Option<u32>,
    /// `networkInterfaceSet.items[0].associatePublicIpAddress`, if the request sets a network
    /// interface (`Some(None)`: an interface that leaves it unset).
    pub public_ip: Option<Option<bool>>,
    /// Tags of the instance (`tagSpecificationSet`).
    pub tags: Vec<(String, String)>,
    /// The instance launched (the response's `instanceId`).
    pub instance_id: String,
}

impl Launch {
    /// The call's `requestParameters` and `responseElements`.
    pub fn parts(&self, account: &str) -> (Value, Value) {
        let mut request = json!({
            "instanceType": "t3.micro",
            "blockDeviceMapping": {},
            "monitoring": {"enabled": false},
            "disableApiTermination": false,
            "disableApiStop": false,
            "clientToken": format!("terraform-{}", self.instance_id),
        });
        let mut item = json!({"minCount": 1, "maxCount": 1});
        if let Some(image) = &self.image_id {
            item["imageId"] = Value::String(image.clone());
        }
        request["instancesSet"] = json!({"items": [item]});
        if let Some(template) = &self.launch_template {
            request["launchTemplate"] =
                json!({"launchTemplateId": template, "version": "$Default"});
        }
        let mut metadata = serde_json::Map::new();
        if let Some(tokens) = &self.http_tokens {
            metadata.insert("httpTokens".into(), Value::String(tokens.clone()));
        }
        if let Some(limit) = self.hop_limit {
            metadata.insert("httpPutResponseHopLimit".into(), limit.into());
        }
        if !metadata.is_empty() {
            request["metadataOptions"] = Value::Object(metadata);
        }
        if let Some(public) = self.public_ip {
            let mut nic = json!({"deviceIndex": 0, "subnetId": "subnet-0a1b2c3d"});
            if let Some(public) = public {
                nic["associatePublicIpAddress"] = public.into();
            }
            request["networkInterfaceSet"] = json!({"items": [nic]});
        }
        if !self.tags.is_empty() {
            let tags: Vec<Value> = self
                .tags
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect();
            request["tagSpecificationSet"] =
                json!({"items": [{"resourceType": "instance", "tags": tags}]});
        }
        let response = json!({
            "requestId": "c3a4c1b2-0000-4000-8000-000000000000",
            "reservationId": format!("r-{}", &self.instance_id[2..]),
            "ownerId": account,
            "groupSet": {},
            "instancesSet": {"items": [{
                "instanceId": self.instance_id,
                "imageId": self.image_id.clone().unwrap_or_else(|| "ami-0fromtemplate".to_owned()),
                "instanceState": {"code": 0, "name": "pending"},
                "privateDnsName": "ip-10-0-0-10.ec2.internal",
                "amiLaunchIndex": 0,
                "instanceType": "t3.micro",
                "metadataOptions": {
                    "state": "pending",
                    "httpTokens": self.http_tokens.clone().unwrap_or_else(|| "required".to_owned()),
                    "httpPutResponseHopLimit": self.hop_limit.unwrap_or(2),
                    "httpEndpoint": "enabled",
                },
            }]},
        });
        (request, response)
    }
}

/// A CloudTrail log file's text holding `records`.
pub fn log_file(records: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    // Serializing `Value`s cannot fail.
    let _ = serde_json::to_writer(&mut out, &json!({ "Records": records }));
    out
}

/// The key of a log file under the organization-trail layout (`org_id` `None`: the account
/// layout), for `day` (`YYYY-MM-DD`) at `hhmm`.
pub fn log_key(
    key_prefix: &str,
    org_id: Option<&str>,
    account: &str,
    region: &str,
    day: &str,
    hhmm: &str,
    unique: &str,
) -> String {
    let org = org_id.map(|o| format!("{o}/")).unwrap_or_default();
    let compact: String = day.chars().filter(|c| *c != '-').collect();
    format!(
        "{key_prefix}AWSLogs/{org}{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{compact}T{hhmm}Z_{unique}.json.gz",
        day.replace('-', "/")
    )
}

/// A random hex string of `n` characters.
pub fn hex(rng: &mut impl Rng, n: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    (0..n)
        .map(|_| char::from(DIGITS[rng.random_range(0..16usize)]))
        .collect()
}

/// A UUID-shaped random ID (`eventID`, `requestID`).
pub fn uuid(rng: &mut impl Rng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 4),
        hex(rng, 4),
        hex(rng, 12)
    )
}

fn access_key(rng: &mut impl Rng, prefix: &str) -> String {
    format!("{prefix}{}", hex(rng, 16).to_uppercase())
}

fn unique_id(rng: &mut impl Rng, prefix: &str) -> String {
    format!("{prefix}{}", hex(rng, 17).to_uppercase())
}

/// The shape of a synthetic organization's trail for [`bulk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bulk {
    /// The organization ID in the keys.
    pub organization_id: String,
    /// Member accounts (log owners and callers).
    pub members: Vec<String>,
    /// Accounts outside the organization that call in.
    pub outsiders: Vec<String>,
    /// Regions.
    pub regions: Vec<String>,
    /// Days (`YYYY-MM-DD`).
    pub days: Vec<String>,
    /// Records per log file.
    pub records_per_file: usize,
    /// Of every 1,000 records, how many a selector keeps.
    pub relevant_per_mille: u32,
}

/// Generates log files for `spec` until `budget` bytes of JSON have been produced, calling
/// `emit(key, json)` for each file; returns (files, records). Most records are the
/// background noise of an organization (describes, lists, in-organization role sessions and
/// key use); `relevant_per_mille` of them are calls a selector keeps (launches, user creation,
/// calls from outside the organization, IMDSv1 credentials).
pub fn bulk(
    spec: &Bulk,
    seed: u64,
    budget: u64,
    emit: &mut dyn FnMut(String, Vec<u8>),
) -> (u64, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut bytes, mut files, mut records) = (0u64, 0u64, 0u64);
    let mut n = 0u64;
    while bytes < budget {
        let account = &spec.members[rng.random_range(0..spec.members.len())];
        let region = &spec.regions[rng.random_range(0..spec.regions.len())];
        let day = &spec.days[rng.random_range(0..spec.days.len())];
        let hour = rng.random_range(0..24u32);
        let minute = rng.random_range(0..60u32) / 5 * 5;
        let mut batch = Vec::with_capacity(spec.records_per_file);
        for _ in 0..spec.records_per_file {
            n += 1;
            let time = format!(
                "{day}T{hour:02}:{minute:02}:{:02}Z",
                rng.random_range(0..60u32)
            );
            let relevant = rng.random_range(0..1000u32) < spec.relevant_per_mille;
            let call = if relevant {
                relevant_call(&mut rng, spec, account, region, &time, n)
            } else {
                noise_call(&mut rng, spec, account, region, &time, n)
            };
            batch.push(call.record(&mut rng));
        }
        let json = log_file(&batch);
        bytes += json.len() as u64;
        records += batch.len() as u64;
        files += 1;
        let key = log_key(
            "",
            Some(&spec.organization_id),
            account,
            region,
            day,
            &format!("{hour:02}{minute:02}"),
            &hex(&mut rng, 16),
        );
        emit(key, json);
    }
    (files, records)
}

fn member_role(rng: &mut impl Rng, account: &str) -> Identity {
    const ROLES: [&str; 4] = [
        "platform-ci",
        "AWSReservedSSO_Admin_0123456789abcdef",
        "app-runtime",
        "data-pipeline",
    ];
    Identity::Role {
        account: account.to_owned(),
        role: ROLES[rng.random_range(0..ROLES.len())].to_owned(),
        session: format!("session-{}", hex(rng, 8)),
    }
}

#[expect(clippy::too_many_lines, reason = "one arm per kind of background call")]
fn noise_call(
    rng: &mut ChaCha8Rng,
    spec: &Bulk,
    account: &str,
    region: &str,
    time: &str,
    n: u64,
) -> Call {
    let who = member_role(rng, account);
    let mut call = match rng.random_range(0..8u32) {
        0 => {
            let mut c = Call::new(
                time,
                account,
                region,
                "ec2.amazonaws.com",
                "DescribeInstances",
                who,
            );
            c.request = json!({"instancesSet": {}, "filterSet": {"items": [{"name": "tag:Environment", "valueSet": {"items": [{"value": "production"}]}}]}});
            c
        }
        1 => {
            let mut c = Call::new(time, account, region, "kms.amazonaws.com", "Decrypt", who);
            let key = format!("arn:aws:kms:{region}:{account}:key/{}", uuid(rng));
            c.request = json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{region}:{account}:function:f{n}")}});
            c.resources = vec![(key, "AWS::KMS::Key".to_owned())];
            c
        }
        2 => {
            let other = &spec.members[rng.random_range(0..spec.members.len())];
            let mut c = Call::new(
                time,
                account,
                region,
                "sts.amazonaws.com",
                "AssumeRole",
                who,
            );
            let role = format!("arn:aws:iam::{account}:role/deployer");
            c.request = json!({"roleArn": role, "roleSessionName": format!("from-{other}"), "durationSeconds": 3600});
            c.response = json!({"credentials": {"accessKeyId": access_key(rng, "ASIA"), "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": "Jan 1, 2026, 1:00:00 AM"}, "assumedRoleUser": {"assumedRoleId": format!("AROA{}:s", hex(rng, 17).to_uppercase()), "arn": format!("arn:aws:sts::{account}:assumed-role/deployer/s")}});
            c.identity = Identity::Role {
                account: other.clone(),
                role: "pipeline".into(),
                session: "s".into(),
            };
            c.resources = vec![(role, "AWS::IAM::Role".to_owned())];
            c
        }
        3 => {
            let mut c = Call::new(
                time,
                account,
                region,
                "s3.amazonaws.com",
                "GetBucketAcl",
                who,
            );
            c.request = json!({"bucketName": format!("logs-{account}"), "Host": format!("logs-{account}.s3.{region}.amazonaws.com"), "acl": ""});
            c.read_only = true;
            c
        }
        4 => {
            let mut c = Call::new(
                time,
                account,
                region,
                "lambda.amazonaws.com",
                "GetFunction20150331v2",
                who,
            );
            c.request =
                json!({"functionName": format!("arn:aws:lambda:{region}:{account}:function:f{n}")});
            c.read_only = true;
            c
        }
        5 => Call::new(
            time,
            account,
            region,
            "cloudtrail.amazonaws.com",
            "LookupEvents",
            Identity::Service {
                service: "config.amazonaws.com".into(),
            },
        ),
        6 => {
            let mut c = Call::new(
                time,
                account,
                region,
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                who,
            );
            c.request = json!({"secretId": format!("arn:aws:secretsmanager:{region}:{account}:secret:db-{n}-AbCdEf")});
            c
        }
        _ => {
            let mut c = Call::new(
                time,
                account,
                region,
                "ec2.amazonaws.com",
                "DescribeSecurityGroups",
                who,
            );
            c.request = json!({"securityGroupSet": {}, "securityGroupIdSet": {"items": [{"groupId": format!("sg-{}", hex(rng, 17))}]}, "filterSet": {}});
            c.read_only = true;
            c
        }
    };
    if rng.random_range(0..50u32) == 0 {
        call.error = Some((
            "AccessDenied".into(),
            "User is not authorized to perform this operation".into(),
        ));
    }
    call
}

#[expect(clippy::too_many_lines, reason = "one arm per kind of relevant call")]
fn relevant_call(
    rng: &mut ChaCha8Rng,
    spec: &Bulk,
    account: &str,
    region: &str,
    time: &str,
    n: u64,
) -> Call {
    let outsider = if spec.outsiders.is_empty() {
        "999999999999".to_owned()
    } else {
        spec.outsiders[rng.random_range(0..spec.outsiders.len())].clone()
    };
    match rng.random_range(0..6u32) {
        0 => {
            let launch = Launch {
                image_id: Some(format!("ami-{}", hex(rng, 17))),
                launch_template: None,
                http_tokens: Some(
                    if rng.random_bool(0.5) {
                        "required"
                    } else {
                        "optional"
                    }
                    .into(),
                ),
                hop_limit: Some(rng.random_range(1..3u32)),
                public_ip: Some(Some(rng.random_bool(0.2))),
                tags: vec![("Name".into(), format!("web-{n}"))],
                instance_id: format!("i-{}", hex(rng, 17)),
            };
            let (request, response) = launch.parts(account);
            let mut c = Call::new(
                time,
                account,
                region,
                "ec2.amazonaws.com",
                "RunInstances",
                member_role(rng, account),
            );
            c.request = request;
            c.response = response;
            c
        }
        1 => {
            let mut c = Call::new(
                time,
                account,
                "us-east-1",
                "iam.amazonaws.com",
                "CreateUser",
                member_role(rng, account),
            );
            let name = format!("svc-{n}");
            c.request = json!({"userName": name, "path": "/"});
            c.response = json!({"user": {"path": "/", "userName": name, "userId": unique_id(rng, "AIDA"), "arn": format!("arn:aws:iam::{account}:user/{name}"), "createDate": "Jan 1, 2026, 12:00:00 AM"}});
            c
        }
        2 => {
            let mut c = Call::new(
                time,
                account,
                region,
                "sts.amazonaws.com",
                "AssumeRole",
                Identity::OtherAccount { account: outsider },
            );
            let role = format!("arn:aws:iam::{account}:role/partner-access");
            c.request = json!({"roleArn": role, "roleSessionName": "partner", "externalId": "p-1"});
            c.resources = vec![(role, "AWS::IAM::Role".to_owned())];
            c
        }
        3 => {
            let mut c = Call::new(
                time,
                account,
                region,
                "kms.amazonaws.com",
                "Decrypt",
                Identity::OtherAccount { account: outsider },
            );
            c.request = json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"});
            c.resources = vec![(
                format!("arn:aws:kms:{region}:{account}:key/{}", uuid(rng)),
                "AWS::KMS::Key".to_owned(),
            )];
            c
        }
        4 => {
            let mut c = Call::new(
                time,
                account,
                region,
                "ec2.amazonaws.com",
                "DescribeInstances",
                Identity::InstanceRole {
                    account: account.to_owned(),
                    role: "legacy-app".into(),
                    instance_id: format!("i-{}", hex(rng, 17)),
                    delivery: "1.0".into(),
                },
            );
            c.read_only = true;
            c
        }
        _ => {
            let mut c = Call::new(
                time,
                account,
                region,
                "rds.amazonaws.com",
                "CreateDBInstance",
                member_role(rng, account),
            );
            c.request = json!({"dBInstanceIdentifier": format!("db-{n}"), "dBInstanceClass": "db.t3.micro", "engine": "postgres", "storageEncrypted": rng.random_bool(0.7)});
            c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_organization_trail_layout() {
        assert_eq!(
            log_key(
                "",
                Some("o-aaaa1111bb"),
                "111111111111",
                "eu-west-1",
                "2026-01-31",
                "0955",
                "a1b2"
            ),
            "AWSLogs/o-aaaa1111bb/111111111111/CloudTrail/eu-west-1/2026/01/31/111111111111_CloudTrail_eu-west-1_20260131T0955Z_a1b2.json.gz"
        );
        assert_eq!(
            log_key(
                "trail/",
                None,
                "111111111111",
                "us-east-1",
                "2026-02-01",
                "0000",
                "x"
            ),
            "trail/AWSLogs/111111111111/CloudTrail/us-east-1/2026/02/01/111111111111_CloudTrail_us-east-1_20260201T0000Z_x.json.gz"
        );
    }

    #[test]
    fn bulk_files_read_back_and_some_records_are_kept() {
        let spec = Bulk {
            organization_id: "o-aaaa1111bb".into(),
            members: vec!["111111111111".into(), "222222222222".into()],
            outsiders: vec!["999999999999".into()],
            regions: vec!["eu-west-1".into()],
            days: vec!["2026-01-01".into()],
            records_per_file: 200,
            relevant_per_mille: 100,
        };
        let filter = super::super::cloudtrail::Filter::new(spec.members.clone());
        let mut kept = Vec::new();
        let mut total = 0;
        let (files, records) = bulk(&spec, 7, 200_000, &mut |key, json| {
            assert!(key.starts_with("AWSLogs/o-aaaa1111bb/"), "{key}");
            total += super::super::cloudtrail::read_log_file(&json, &filter, None, &mut kept)
                .unwrap()
                .records;
        });
        assert!(files > 0);
        assert_eq!(records, total);
        assert!(
            !kept.is_empty() && (kept.len() as u64) < records / 2,
            "{}",
            kept.len()
        );
    }
}
