//! The request context of an event: what IAM authorized (an action on one or more resources)
//! and the value of each condition key, as far as the event and the inventories tell.
//!
//! IAM authorizes some calls on several resources: `ec2:RunInstances` on the instance, the
//! image, the network interfaces, the volume, the subnet and the security groups, each with
//! its own condition keys (`ec2:MetadataHttpTokens` exists on the instance only, `ec2:Owner` on
//! the image only), and a Deny applies if it applies to any of them. Each becomes an
//! [`Authorization`]; a key that exists on another resource type is absent here, which is why
//! a Deny on such a key must name its resource type (as the checks' statements do).
//!
//! What an event cannot tell is unknown, with the reason, never guessed:
//! - values a request did not set and AWS fills in from elsewhere: `ec2:MetadataHttpTokens`
//!   and the hop limit (the AMI's `ImdsSupport` and the account's IMDS defaults decide),
//!   `ec2:AssociatePublicIpAddress` (the subnet's auto-assign setting), `rds:StorageEncrypted`
//!   of an Aurora instance (its cluster's), anything a launch template provides;
//! - `ec2:Owner` of an image the inventory did not look up (no instance used it when `collect`
//!   ran), not visible, or deregistered;
//! - `aws:PrincipalTag/...` except for EC2 instance-role sessions (which carry no session
//!   tags, so their tags are the role's, from the inventory); `aws:ResourceTag/...` of a
//!   resource missing from the inventory;
//! - the organization of a principal outside it: another organization's or none, which
//!   decides `StringNotEquals` on our ID but nothing that compares to another ID;
//! - every key not modelled here.

use std::borrow::Cow;

use headroom_schemas::activity::Event;
use headroom_schemas::activity::catalog::{ABSENT, action_of};
use headroom_schemas::ids::is_account_id;

use super::condition::KeyValue;
use super::facts::{Facts, ImageOwner};
use super::policy::ResourceArn;

/// What an event's evaluation needs besides the event.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The AWS partition.
    pub partition: &'a str,
    /// The organization ID.
    pub org_id: &'a str,
    /// Whether an account is in the organization (any state).
    pub is_member: &'a (dyn Fn(&str) -> bool + Sync),
    /// The inventories' facts.
    pub facts: &'a Facts,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("partition", &self.partition)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

/// The kind of resource an authorization is on, for the keys that exist on one kind only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An EC2 instance being launched.
    Instance,
    /// The image launched from (`None`: not named in the request).
    Image(Option<String>),
    /// The `n`th network interface of a launch (`None`: the request names none).
    NetworkInterface(Option<usize>),
    /// Another resource a launch uses or creates (volume, subnet, security group).
    LaunchOther(&'static str),
    /// The resource of any other call.
    Other,
}

/// One (action, resource) pair IAM authorizes for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The resource.
    pub resource: ResourceArn,
    /// Its kind.
    pub kind: Kind,
}

/// An event with everything needed to answer condition keys about it.
#[derive(Debug, Clone)]
pub struct Request<'e> {
    /// The event.
    pub event: &'e Event,
    /// The IAM action (`ec2:RunInstances`).
    pub action: String,
    /// The authorizations.
    pub authorizations: Vec<Authorization>,
    ctx: Context<'e>,
}

fn param<'e>(event: &'e Event, name: &str) -> Option<&'e [String]> {
    event.parameters.get(name).map(Vec::as_slice)
}

fn first<'e>(event: &'e Event, name: &str) -> Option<&'e str> {
    param(event, name)
        .and_then(<[String]>::first)
        .map(String::as_str)
}

impl<'e> Request<'e> {
    /// The request of `event`.
    pub fn new(event: &'e Event, ctx: Context<'e>) -> Self {
        Self::with_action(event, ctx, action_of(&event.source, &event.name))
    }

    /// The request of `event`, whose IAM action (`action_of` its source and name) is known.
    pub fn with_action(event: &'e Event, ctx: Context<'e>, action: String) -> Self {
        let authorizations = authorizations(event, &action, ctx.partition);
        Self {
            event,
            action,
            authorizations,
            ctx,
        }
    }

    /// Whether the call was made by an AWS service or a service-linked role, neither of which
    /// SCPs restrict ("SCPs don't affect service-linked roles", AWS Organizations User Guide).
    pub fn exempt_from_scps(&self) -> bool {
        exempt_from_scps(self.event)
    }

    /// The principal's account, if the event names a 12-digit one.
    pub fn principal_account(&self) -> Option<&'e str> {
        principal_account(self.event)
    }

    /// The value of condition key `key` (as written; `lower`, the same in lowercase: names
    /// compare case-insensitively) for `authorization`.
    pub fn key(&self, authorization: &Authorization, key: &str, lower: &str) -> KeyValue {
        if lower.starts_with("aws:principaltag/") {
            return self.principal_tag(&key["aws:PrincipalTag/".len()..]);
        }
        if lower.starts_with("aws:resourcetag/") {
            return self.resource_tag(authorization, &key["aws:ResourceTag/".len()..]);
        }
        if lower.starts_with("aws:requesttag/") {
            return self.request_tag(authorization, &key["aws:RequestTag/".len()..]);
        }
        let event = self.event;
        let p = &event.principal;
        match lower {
            "aws:principalaccount" => match self.principal_account() {
                Some(a) => present(a),
                None => unknown("the event names no account for the principal"),
            },
            "aws:principalorgid" => match p.account.as_deref() {
                _ if p.kind == "AWSService" => unknown("an AWS service principal"),
                Some(a) if is_account_id(a) && (self.ctx.is_member)(a) => present(self.ctx.org_id),
                Some(_) => KeyValue::NoneOf {
                    excluded: vec![self.ctx.org_id.to_owned()],
                    may_be_absent: true,
                },
                None => unknown("the event names no account for the principal"),
            },
            "aws:principalisawsservice" => {
                if p.kind == "AWSService" {
                    present("true")
                } else if p.account.as_deref() == Some("ANONYMOUS_PRINCIPAL") {
                    // "present in the request context for all signed API requests".
                    KeyValue::Absent
                } else {
                    present("false")
                }
            }
            "aws:resourceaccount" => self.resource_account(authorization),
            "ec2:roledelivery" => match &p.ec2_role_delivery {
                Some(v) => present(v),
                None => KeyValue::Absent,
            },
            "ec2:metadatahttptokens" => {
                self.launch_setting(authorization, "metadataOptions.httpTokens")
            }
            "ec2:metadatahttpputresponsehoplimit" => {
                self.launch_setting(authorization, "metadataOptions.httpPutResponseHopLimit")
            }
            "ec2:metadatahttpendpoint" => {
                self.launch_setting(authorization, "metadataOptions.httpEndpoint")
            }
            "ec2:associatepublicipaddress" => self.public_ip(authorization),
            "ec2:owner" => self.image_owner(authorization),
            "lambda:functionurlauthtype" => {
                let name = if self.action == "lambda:AddPermission" {
                    "functionUrlAuthType"
                } else {
                    "authType"
                };
                match param(event, name) {
                    Some(values) => KeyValue::Present(values.to_vec()),
                    None => KeyValue::Absent,
                }
            }
            "rds:storageencrypted" => match param(event, "storageEncrypted") {
                Some(values) => KeyValue::Present(values.to_vec()),
                None if self.action == "rds:CreateDBInstance"
                    && param(event, "dBClusterIdentifier").is_some() =>
                {
                    unknown("an Aurora instance takes its encryption from its cluster")
                }
                None => unknown(
                    "the request does not set storageEncrypted (the value IAM evaluates then depends on defaults the event does not show)",
                ),
            },
            _ => KeyValue::Unknown(Cow::Owned(format!(
                "`{key}` is not modelled by the activity replay"
            ))),
        }
    }

    fn principal_tag(&self, tag: &str) -> KeyValue {
        let p = &self.event.principal;
        if p.ec2_role_delivery.is_none() {
            return unknown(
                "principal tags are known only for EC2 instance-role sessions (others may carry session tags the event does not show)",
            );
        }
        let Some(role) = p.issuer_arn.as_deref() else {
            return unknown("the session names no role");
        };
        match self.ctx.facts.tags(role) {
            Some(tags) => tag_value(tags, tag),
            None => unknown("the role is not in the snapshot's IAM inventory"),
        }
    }

    fn resource_tag(&self, authorization: &Authorization, tag: &str) -> KeyValue {
        let facts = self.ctx.facts;
        let mut keys: Vec<String> = Vec::new();
        if let ResourceArn::Known(arn) = &authorization.resource {
            keys.push(arn.clone());
        }
        let event = self.event;
        if let Some(url) = first(event, "queueUrl") {
            keys.push(url.to_owned());
        }
        if let Some(secret) = first(event, "secretId") {
            keys.push(secret.to_owned());
            keys.push(format!(
                "secret-name:{}:{}:{secret}",
                event.region, event.account
            ));
        }
        match keys.iter().find_map(|k| facts.tags(k)) {
            Some(tags) => tag_value(tags, tag),
            None => unknown(
                "the resource is not in the snapshot's inventory (deleted since, or not collected)",
            ),
        }
    }

    fn request_tag(&self, authorization: &Authorization, tag: &str) -> KeyValue {
        let event = self.event;
        let template = param(event, "launchTemplate").is_some();
        let lookup = |name: &str| -> KeyValue {
            match param(event, name) {
                Some(values) => KeyValue::Present(values.to_vec()),
                None if template => unknown("the launch template may tag the resource"),
                None => {
                    // A tag key in another case: IAM's matching of the tag key's case is not
                    // modelled.
                    let lower = name.to_ascii_lowercase();
                    if event
                        .parameters
                        .keys()
                        .any(|k| k.to_ascii_lowercase() == lower)
                    {
                        unknown("the request has this tag key in another case")
                    } else {
                        KeyValue::Absent
                    }
                }
            }
        };
        let any_tags = event.parameters.keys().any(|k| k.starts_with("tag"));
        match &authorization.kind {
            Kind::Instance => lookup(&format!("tag:instance/{tag}")),
            Kind::NetworkInterface(_) => lookup(&format!("tag:network-interface/{tag}")),
            Kind::LaunchOther("volume") => lookup(&format!("tag:volume/{tag}")),
            Kind::Image(_) | Kind::LaunchOther(_) => {
                if any_tags || template {
                    unknown(
                        "whether a launch's tags are in the context of its image, subnet or security group is not documented",
                    )
                } else {
                    KeyValue::Absent
                }
            }
            Kind::Other => lookup(&format!("tag/{tag}")),
        }
    }

    fn resource_account(&self, authorization: &Authorization) -> KeyValue {
        if let ResourceArn::Known(arn) = &authorization.resource
            && let Some(account) = arn.split(':').nth(4)
            && is_account_id(account)
        {
            return present(account);
        }
        match authorization.kind {
            Kind::Image(_) => unknown("the image's owner account"),
            _ => present(self.event.account.as_str()),
        }
    }

    /// A metadata option of a launch, on the instance; absent on the launch's other resources.
    fn launch_setting(&self, authorization: &Authorization, name: &str) -> KeyValue {
        if authorization.kind != Kind::Instance {
            return KeyValue::Absent;
        }
        match param(self.event, name) {
            Some(values) => KeyValue::Present(values.to_vec()),
            None if param(self.event, "launchTemplate").is_some() => {
                unknown("the launch template may set it")
            }
            None => unknown(
                "the request does not set it (the value IAM evaluates then comes from the AMI's ImdsSupport and the account's IMDS defaults, which the snapshot does not hold)",
            ),
        }
    }

    fn public_ip(&self, authorization: &Authorization) -> KeyValue {
        let Kind::NetworkInterface(index) = authorization.kind else {
            return KeyValue::Absent;
        };
        let set = index.and_then(|i| {
            param(self.event, "networkInterface.associatePublicIpAddress")
                .and_then(|values| values.get(i))
        });
        match set.map(String::as_str) {
            Some(value) if value != ABSENT => present(value),
            _ if param(self.event, "launchTemplate").is_some() => {
                unknown("the launch template may set it")
            }
            _ => unknown(
                "the request does not set it for this network interface (the subnet's auto-assign setting decides)",
            ),
        }
    }

    fn image_owner(&self, authorization: &Authorization) -> KeyValue {
        let Kind::Image(image) = &authorization.kind else {
            return KeyValue::Absent;
        };
        let Some(image) = image else {
            return unknown("the request names no image (a launch template gives it)");
        };
        let event = self.event;
        match self
            .ctx
            .facts
            .image_owner(&event.account, &event.region, image)
        {
            Some(ImageOwner::Found { owner_id, alias }) => match (owner_id, alias) {
                (Some(id), Some(alias)) => KeyValue::OneOf(vec![alias.clone(), id.clone()]),
                (Some(one), None) | (None, Some(one)) => present(one),
                (None, None) => unknown("the image's owner was not reported"),
            },
            Some(ImageOwner::Unknown(why)) => unknown(why),
            None => unknown(
                "the image was not looked up (no instance of the account used it when collect ran)",
            ),
        }
    }
}

/// Whether `event` was made by an AWS service or a service-linked role, neither of which
/// SCPs restrict ("SCPs don't affect service-linked roles", AWS Organizations User Guide).
pub fn exempt_from_scps(event: &Event) -> bool {
    let p = &event.principal;
    // A service-linked role is `arn:<partition>:iam::<account>:role/aws-service-role/...`;
    // its sessions name it as their issuer.
    let service_linked = |arn: &String| {
        arn.splitn(6, ':')
            .nth(5)
            .is_some_and(|resource| resource.starts_with("role/aws-service-role/"))
    };
    p.kind == "AWSService"
        || [&p.arn, &p.issuer_arn]
            .into_iter()
            .flatten()
            .any(service_linked)
}

/// The principal's account of `event`, if it names a 12-digit one.
pub fn principal_account(event: &Event) -> Option<&str> {
    event
        .principal
        .account
        .as_deref()
        .filter(|a| is_account_id(a))
}

fn present(value: &str) -> KeyValue {
    KeyValue::Present(vec![value.to_owned()])
}

fn unknown(why: &'static str) -> KeyValue {
    KeyValue::Unknown(Cow::Borrowed(why))
}

/// A tag's value: present, absent, or unknown when only a tag in another case exists.
fn tag_value(tags: &headroom_schemas::Tags, key: &str) -> KeyValue {
    if let Some(value) = tags.get(key) {
        return present(value);
    }
    if tags.keys().any(|k| k.eq_ignore_ascii_case(key)) {
        return unknown("the resource has this tag key in another case");
    }
    KeyValue::Absent
}

/// A resource whose ARN is known up to a prefix (its ID was created by the call, or the event
/// does not name it).
fn partial(prefix: String, why: &'static str) -> ResourceArn {
    ResourceArn::Partial { prefix, why }
}

fn authorizations(event: &Event, action: &str, partition: &str) -> Vec<Authorization> {
    let (region, account) = (event.region.as_str(), event.account.as_str());
    let known = |arn: String, kind: Kind| Authorization {
        resource: ResourceArn::Known(arn),
        kind,
    };
    let other = |resource: ResourceArn| Authorization {
        resource,
        kind: Kind::Other,
    };
    match action {
        "ec2:RunInstances" => launch_authorizations(event, partition),
        "eks:CreateCluster" => {
            let prefix = format!("arn:{partition}:eks:{region}:{account}:cluster/");
            vec![match first(event, "name") {
                Some(name) => known(format!("{prefix}{name}"), Kind::Other),
                None => other(partial(prefix, "the cluster's name is not in the event")),
            }]
        }
        "iam:CreateUser" => {
            let prefix = format!("arn:{partition}:iam::{account}:user");
            let arn = first(event, "userArn").map(str::to_owned).or_else(|| {
                first(event, "userName")
                    .map(|name| format!("{prefix}{}{name}", first(event, "path").unwrap_or("/")))
            });
            vec![match arn {
                Some(arn) => known(arn, Kind::Other),
                None => other(partial(
                    format!("{prefix}/"),
                    "the user's name is not in the event",
                )),
            }]
        }
        "iam:CreateSAMLProvider" => {
            let prefix = format!("arn:{partition}:iam::{account}:saml-provider/");
            vec![match first(event, "sAMLProviderArn")
                .map(str::to_owned)
                .or_else(|| first(event, "name").map(|n| format!("{prefix}{n}")))
            {
                Some(arn) => known(arn, Kind::Other),
                None => other(partial(prefix, "the provider's name is not in the event")),
            }]
        }
        "lambda:CreateFunctionUrlConfig"
        | "lambda:UpdateFunctionUrlConfig"
        | "lambda:AddPermission" => {
            let prefix = format!("arn:{partition}:lambda:{region}:{account}:function:");
            vec![match first(event, "functionName") {
                Some(name) if name.starts_with("arn:") => known(name.to_owned(), Kind::Other),
                Some(name) => known(format!("{prefix}{name}"), Kind::Other),
                None => other(partial(prefix, "the function is not in the event")),
            }]
        }
        "rds:CreateDBInstance" | "rds:CreateDBCluster" | "rds:RestoreDBClusterFromS3" => {
            let (kind, name) = if action == "rds:CreateDBInstance" {
                ("db", "dBInstanceIdentifier")
            } else {
                ("cluster", "dBClusterIdentifier")
            };
            let prefix = format!("arn:{partition}:rds:{region}:{account}:{kind}:");
            vec![match first(event, name) {
                Some(id) => known(format!("{prefix}{id}"), Kind::Other),
                None => other(partial(prefix, "the identifier is not in the event")),
            }]
        }
        _ => {
            let arns: Vec<String> = event
                .resources
                .iter()
                .cloned()
                .chain(first(event, "roleArn").map(str::to_owned))
                .chain(named_resource(event, partition))
                .collect();
            if arns.is_empty() {
                let service = action.split(':').next().unwrap_or_default();
                vec![other(partial(
                    format!("arn:{partition}:{service}:"),
                    "the event does not name the resource",
                ))]
            } else {
                let mut arns = arns;
                arns.sort();
                arns.dedup();
                arns.into_iter().map(|a| known(a, Kind::Other)).collect()
            }
        }
    }
}

/// What `ec2:RunInstances` is authorized on: the instances, the image, the network interfaces,
/// the volume, the subnet and the security groups.
fn launch_authorizations(event: &Event, partition: &str) -> Vec<Authorization> {
    let (region, account) = (event.region.as_str(), event.account.as_str());
    let known = |arn: String, kind: Kind| Authorization {
        resource: ResourceArn::Known(arn),
        kind,
    };
    let ec2 = format!("arn:{partition}:ec2:{region}:{account}:");
    let mut out = Vec::new();
    match param(event, "instanceId") {
        Some(ids) => out.extend(
            ids.iter()
                .map(|id| known(format!("{ec2}instance/{id}"), Kind::Instance)),
        ),
        None => out.push(Authorization {
            resource: partial(format!("{ec2}instance/"), "no instance was launched"),
            kind: Kind::Instance,
        }),
    }
    let image_arn = format!("arn:{partition}:ec2:{region}::image/");
    match param(event, "imageId") {
        Some(ids) => out.extend(
            ids.iter()
                .map(|id| known(format!("{image_arn}{id}"), Kind::Image(Some(id.clone())))),
        ),
        None => out.push(Authorization {
            resource: partial(image_arn, "the request names no image"),
            kind: Kind::Image(None),
        }),
    }
    let nics = param(event, "networkInterface.associatePublicIpAddress").map_or(0, <[String]>::len);
    let nic_prefix = format!("{ec2}network-interface/");
    if nics == 0 {
        out.push(Authorization {
            resource: partial(nic_prefix.clone(), "the interface is created by the call"),
            kind: Kind::NetworkInterface(None),
        });
    }
    for i in 0..nics {
        out.push(Authorization {
            resource: partial(nic_prefix.clone(), "the interface is created by the call"),
            kind: Kind::NetworkInterface(Some(i)),
        });
    }
    for kind in ["volume", "subnet", "security-group"] {
        out.push(Authorization {
            resource: partial(format!("{ec2}{kind}/"), "the event does not name it"),
            kind: Kind::LaunchOther(kind),
        });
    }
    out
}

/// The ARN of the resource a call of a service of the RCPs names in its request, where the
/// request names it fully.
fn named_resource(event: &Event, partition: &str) -> Option<String> {
    let (region, account) = (event.region.as_str(), event.account.as_str());
    if let Some(bucket) = first(event, "bucketName") {
        return Some(format!("arn:{partition}:s3:::{bucket}"));
    }
    if let Some(key) = first(event, "keyId") {
        if key.starts_with("arn:") {
            return Some(key.to_owned());
        }
        if !key.starts_with("alias/") {
            return Some(format!("arn:{partition}:kms:{region}:{account}:key/{key}"));
        }
    }
    if let Some(secret) = first(event, "secretId")
        && secret.starts_with("arn:")
    {
        return Some(secret.to_owned());
    }
    if let Some(url) = first(event, "queueUrl") {
        // https://sqs.<region>.amazonaws.com/<account>/<name>
        let mut parts = url.rsplit('/');
        if let (Some(name), Some(owner)) = (parts.next(), parts.next())
            && is_account_id(owner)
        {
            return Some(format!("arn:{partition}:sqs:{region}:{owner}:{name}"));
        }
    }
    if let Some(repository) = first(event, "repositoryName") {
        let registry = first(event, "registryId").unwrap_or(account);
        return Some(format!(
            "arn:{partition}:ecr:{region}:{registry}:repository/{repository}"
        ));
    }
    None
}
