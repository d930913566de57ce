//! Which CloudTrail events matter: the one list, shared by `collect` (which keeps only these)
//! and `analyze` (whose test holds it equal to the actions the checks' Deny statements name).
//!
//! Each [`Selector`] maps one action pattern of a Deny statement to the events that exercise
//! it, and says which request values to keep for the statement's conditions. A check's Deny
//! statements naming an action no selector maps, or a selector mapping an action no statement
//! names, fails `analyzer/tests/activity.rs`.
//!
//! Three kinds of selection:
//! - **calls**: the events of named API calls (`ec2:RunInstances` and so on), whoever made them;
//! - **from outside the organization**: every event of a service (or of a named call) made by a
//!   principal whose account is not in the organization. This is what the RCPs can deny: they
//!   exempt principals of the organization (`aws:PrincipalOrgID`) and AWS services
//!   (`aws:PrincipalIsAWSService`), so events of members and of services are never kept;
//! - **IMDSv1 credentials**: every event made with EC2 instance-role credentials delivered
//!   through IMDSv1 (`userIdentity.sessionContext.ec2RoleDelivery` below `2.0`), what
//!   `deny_ec2_imds_v1`'s `ec2:RoleDelivery` statement denies whatever the action.
//!
//! CloudTrail logs management events by default; data events (S3 object calls, Lambda
//! invocations, SQS messages, ...) only when the trail is configured for them.

use std::collections::BTreeMap;

use serde_json::Value;

/// Which principals' events a selector keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principals {
    /// Every principal.
    Any,
    /// Principals whose account is not in the organization (or who have no account, such as
    /// anonymous callers), AWS service principals excepted.
    OutsideOrganization,
    /// Sessions of EC2 instance-role credentials delivered through IMDSv1
    /// (`ec2RoleDelivery` below `2.0`).
    Ec2RoleDeliveryBelow2,
}

/// Where a parameter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `requestParameters`.
    Request,
    /// `responseElements`.
    Response,
}

/// How one kept parameter is read from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// The values at `path` (object keys; a list on the way is walked item by item), as text
    /// (`true`, `2`, `optional`), under `name`.
    Path {
        /// The parameter's name in [`crate::activity::Event::parameters`].
        name: &'static str,
        /// Request or response.
        part: Part,
        /// The keys leading to the value.
        path: &'static [&'static str],
    },
    /// One value per item of the list at `list`: the item's `field` as text, or [`ABSENT`]
    /// where the item does not set it, under `name` (so that an item relying on a default is
    /// not lost among items that set the field).
    PerItem {
        /// The parameter's name.
        name: &'static str,
        /// Request or response.
        part: Part,
        /// The keys leading to the list (its `items` included).
        list: &'static [&'static str],
        /// The field of each item.
        field: &'static str,
    },
    /// `true` under `name` when something is at `path`.
    Present {
        /// The parameter's name.
        name: &'static str,
        /// Request or response.
        part: Part,
        /// The keys leading to the value.
        path: &'static [&'static str],
    },
    /// EC2 tag specifications (`tagSpecificationSet.items[]` with `resourceType` and
    /// `tags: [{key, value}]`): each tag as `tag:<resourceType>/<key>`.
    Ec2TagSpecifications,
    /// A map of tags at `path` (`{"key": "value"}`): each tag as `tag/<key>`.
    TagMap {
        /// The keys leading to the map.
        path: &'static [&'static str],
    },
    /// A list of tags at `path` (`[{"key": k, "value": v}]`): each tag as `tag/<key>`.
    TagList {
        /// The keys leading to the list.
        path: &'static [&'static str],
    },
}

/// What [`Param::PerItem`] records for an item that does not set the field.
pub const ABSENT: &str = "<absent>";

/// One action pattern of the checks' Deny statements and the events that exercise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selector {
    /// The action pattern as the Deny statements write it (`ec2:RunInstances`, `kms:*`, `*`);
    /// also the selector's name in [`crate::activity::Activity::selectors`].
    pub action: &'static str,
    /// The `eventSource` (`ec2.amazonaws.com`); `None` for every source.
    pub source: Option<&'static str>,
    /// The `eventName`s (an API version suffix such as Lambda's `20211031` ignored); empty for
    /// every event of the source.
    pub names: &'static [&'static str],
    /// Whose events.
    pub principals: Principals,
    /// The request and response values kept.
    pub parameters: &'static [Param],
}

const RUN_INSTANCES: &[Param] = &[
    Param::Path {
        name: "imageId",
        part: Part::Request,
        path: &["instancesSet", "items", "imageId"],
    },
    Param::Present {
        name: "launchTemplate",
        part: Part::Request,
        path: &["launchTemplate"],
    },
    Param::Path {
        name: "metadataOptions.httpTokens",
        part: Part::Request,
        path: &["metadataOptions", "httpTokens"],
    },
    Param::Path {
        name: "metadataOptions.httpPutResponseHopLimit",
        part: Part::Request,
        path: &["metadataOptions", "httpPutResponseHopLimit"],
    },
    Param::Path {
        name: "metadataOptions.httpEndpoint",
        part: Part::Request,
        path: &["metadataOptions", "httpEndpoint"],
    },
    Param::PerItem {
        name: "networkInterface.associatePublicIpAddress",
        part: Part::Request,
        list: &["networkInterfaceSet", "items"],
        field: "associatePublicIpAddress",
    },
    Param::Ec2TagSpecifications,
    Param::Path {
        name: "instanceId",
        part: Part::Response,
        path: &["instancesSet", "items", "instanceId"],
    },
];

const RDS_CREATE: &[Param] = &[
    Param::Path {
        name: "storageEncrypted",
        part: Part::Request,
        path: &["storageEncrypted"],
    },
    Param::Path {
        name: "engine",
        part: Part::Request,
        path: &["engine"],
    },
    Param::Path {
        name: "dBInstanceIdentifier",
        part: Part::Request,
        path: &["dBInstanceIdentifier"],
    },
    Param::Path {
        name: "dBClusterIdentifier",
        part: Part::Request,
        path: &["dBClusterIdentifier"],
    },
    Param::Path {
        name: "source",
        part: Part::Request,
        path: &["source"],
    },
];

const FUNCTION_URL: &[Param] = &[
    Param::Path {
        name: "functionName",
        part: Part::Request,
        path: &["functionName"],
    },
    Param::Path {
        name: "qualifier",
        part: Part::Request,
        path: &["qualifier"],
    },
    Param::Path {
        name: "authType",
        part: Part::Request,
        path: &["authType"],
    },
    Param::Path {
        name: "functionUrlAuthType",
        part: Part::Request,
        path: &["functionUrlAuthType"],
    },
];

/// The names of the resource a call to a service of the RCPs addresses, as each service's
/// requests name it (the ARNs of `resources` are kept besides).
const RESOURCE_NAMES: &[Param] = &[
    Param::Path {
        name: "bucketName",
        part: Part::Request,
        path: &["bucketName"],
    },
    Param::Path {
        name: "keyId",
        part: Part::Request,
        path: &["keyId"],
    },
    Param::Path {
        name: "secretId",
        part: Part::Request,
        path: &["secretId"],
    },
    Param::Path {
        name: "queueUrl",
        part: Part::Request,
        path: &["queueUrl"],
    },
    Param::Path {
        name: "repositoryName",
        part: Part::Request,
        path: &["repositoryName"],
    },
    Param::Path {
        name: "registryId",
        part: Part::Request,
        path: &["registryId"],
    },
    Param::Path {
        name: "roleArn",
        part: Part::Request,
        path: &["roleArn"],
    },
];

/// Every selector, sorted by action pattern. The one list of relevant events.
pub const SELECTORS: &[Selector] = &[
    Selector {
        action: "*",
        source: None,
        names: &[],
        principals: Principals::Ec2RoleDeliveryBelow2,
        parameters: &[],
    },
    Selector {
        action: "aoss:*",
        source: Some("aoss.amazonaws.com"),
        names: &[],
        principals: Principals::OutsideOrganization,
        parameters: RESOURCE_NAMES,
    },
    Selector {
        action: "ec2:RunInstances",
        source: Some("ec2.amazonaws.com"),
        names: &["RunInstances"],
        principals: Principals::Any,
        parameters: RUN_INSTANCES,
    },
    Selector {
        action: "ecr:*",
        source: Some("ecr.amazonaws.com"),
        names: &[],
        principals: Principals::OutsideOrganization,
        parameters: RESOURCE_NAMES,
    },
    Selector {
        action: "eks:CreateCluster",
        source: Some("eks.amazonaws.com"),
        names: &["CreateCluster"],
        principals: Principals::Any,
        parameters: &[
            Param::Path {
                name: "name",
                part: Part::Request,
                path: &["name"],
            },
            Param::TagMap { path: &["tags"] },
        ],
    },
    Selector {
        action: "iam:CreateSAMLProvider",
        source: Some("iam.amazonaws.com"),
        names: &["CreateSAMLProvider"],
        principals: Principals::Any,
        parameters: &[
            Param::Path {
                name: "name",
                part: Part::Request,
                path: &["name"],
            },
            Param::Path {
                name: "sAMLProviderArn",
                part: Part::Response,
                path: &["sAMLProviderArn"],
            },
        ],
    },
    Selector {
        action: "iam:CreateUser",
        source: Some("iam.amazonaws.com"),
        names: &["CreateUser"],
        principals: Principals::Any,
        parameters: &[
            Param::Path {
                name: "userName",
                part: Part::Request,
                path: &["userName"],
            },
            Param::Path {
                name: "path",
                part: Part::Request,
                path: &["path"],
            },
            Param::Path {
                name: "userArn",
                part: Part::Response,
                path: &["user", "arn"],
            },
            Param::TagList { path: &["tags"] },
        ],
    },
    Selector {
        action: "kms:*",
        source: Some("kms.amazonaws.com"),
        names: &[],
        principals: Principals::OutsideOrganization,
        parameters: RESOURCE_NAMES,
    },
    Selector {
        action: "lambda:AddPermission",
        source: Some("lambda.amazonaws.com"),
        names: &["AddPermission"],
        principals: Principals::Any,
        parameters: FUNCTION_URL,
    },
    Selector {
        action: "lambda:CreateFunctionUrlConfig",
        source: Some("lambda.amazonaws.com"),
        names: &["CreateFunctionUrlConfig"],
        principals: Principals::Any,
        parameters: FUNCTION_URL,
    },
    Selector {
        action: "lambda:UpdateFunctionUrlConfig",
        source: Some("lambda.amazonaws.com"),
        names: &["UpdateFunctionUrlConfig"],
        principals: Principals::Any,
        parameters: FUNCTION_URL,
    },
    Selector {
        action: "rds:CreateBlueGreenDeployment",
        source: Some("rds.amazonaws.com"),
        names: &["CreateBlueGreenDeployment"],
        principals: Principals::Any,
        parameters: RDS_CREATE,
    },
    Selector {
        action: "rds:CreateDBCluster",
        source: Some("rds.amazonaws.com"),
        names: &["CreateDBCluster"],
        principals: Principals::Any,
        parameters: RDS_CREATE,
    },
    Selector {
        action: "rds:CreateDBInstance",
        source: Some("rds.amazonaws.com"),
        names: &["CreateDBInstance"],
        principals: Principals::Any,
        parameters: RDS_CREATE,
    },
    Selector {
        action: "rds:RestoreDBClusterFromS3",
        source: Some("rds.amazonaws.com"),
        names: &["RestoreDBClusterFromS3"],
        principals: Principals::Any,
        parameters: RDS_CREATE,
    },
    Selector {
        action: "s3:*",
        source: Some("s3.amazonaws.com"),
        names: &[],
        principals: Principals::OutsideOrganization,
        parameters: RESOURCE_NAMES,
    },
    Selector {
        action: "secretsmanager:*",
        source: Some("secretsmanager.amazonaws.com"),
        names: &[],
        principals: Principals::OutsideOrganization,
        parameters: RESOURCE_NAMES,
    },
    Selector {
        action: "sqs:*",
        source: Some("sqs.amazonaws.com"),
        names: &[],
        principals: Principals::OutsideOrganization,
        parameters: RESOURCE_NAMES,
    },
    Selector {
        action: "sts:AssumeRole",
        source: Some("sts.amazonaws.com"),
        names: &["AssumeRole"],
        principals: Principals::OutsideOrganization,
        parameters: RESOURCE_NAMES,
    },
];

/// Every selector's action pattern, sorted: what [`crate::activity::Activity::selectors`]
/// holds when every selector was collected.
pub fn all_actions() -> Vec<String> {
    SELECTORS.iter().map(|s| s.action.to_owned()).collect()
}

/// `eventName` without the API version suffix some services add (Lambda's
/// `CreateFunctionUrlConfig20211031`, `AddPermission20150331v2`).
pub fn base_event_name(name: &str) -> &str {
    let bytes = name.as_bytes();
    // A trailing `v<digits>` after the date, then eight digits.
    let mut end = bytes.len();
    if let Some(v) = name.rfind('v')
        && v + 1 < bytes.len()
        && bytes[v + 1..].iter().all(u8::is_ascii_digit)
    {
        end = v;
    }
    if end >= 9 && bytes[end - 8..end].iter().all(u8::is_ascii_digit) {
        let base = &name[..end - 8];
        if base.bytes().last().is_some_and(|b| b.is_ascii_alphabetic()) {
            return base;
        }
    }
    name
}

/// The IAM action an event is a call of: the service prefix of its `eventSource`
/// (`ec2.amazonaws.com` -> `ec2`) and its event name without version suffix. For the services
/// the checks govern this is the action IAM authorizes, except where one call authorizes
/// under another name (S3's `ListBuckets` is `s3:ListAllMyBuckets`), which matters only inside
/// a service-wide pattern such as `s3:*`.
pub fn action_of(source: &str, name: &str) -> String {
    let prefix = source.strip_suffix(".amazonaws.com").unwrap_or(source);
    format!("{prefix}:{}", base_event_name(name))
}

/// Whether `selector` keeps an event of `source` and `name` (the principal aside).
pub fn matches_call(selector: &Selector, source: &str, name: &str) -> bool {
    if selector.source.is_some_and(|s| s != source) {
        return false;
    }
    selector.names.is_empty() || selector.names.contains(&base_event_name(name))
}

/// Whether a principal of account `account` (of type `kind`, with `ec2_role_delivery`) is one
/// whose events `principals` keeps; `is_member` tells accounts of the organization.
pub fn matches_principal(
    principals: Principals,
    kind: &str,
    account: Option<&str>,
    ec2_role_delivery: Option<&str>,
    is_member: &dyn Fn(&str) -> bool,
) -> bool {
    match principals {
        Principals::Any => true,
        Principals::OutsideOrganization => kind != "AWSService" && !account.is_some_and(is_member),
        Principals::Ec2RoleDeliveryBelow2 => ec2_role_delivery.is_some_and(|v| {
            // An unreadable value is kept: better judged than lost.
            v.trim().parse::<f64>().map_or(true, |n| n < 2.0)
        }),
    }
}

/// Adds the parameters `params` reads from `request` and `response` to `out`.
pub fn extract(
    params: &[Param],
    request: Option<&Value>,
    response: Option<&Value>,
    out: &mut BTreeMap<String, Vec<String>>,
) {
    for param in params {
        let part = |p: Part| match p {
            Part::Request => request,
            Part::Response => response,
        };
        match *param {
            Param::Path {
                name,
                part: p,
                path,
            } => {
                let mut values = Vec::new();
                if let Some(v) = part(p) {
                    walk(v, path, &mut |leaf| {
                        if let Some(text) = text(leaf) {
                            values.push(text);
                        }
                    });
                }
                push(out, name, values);
            }
            Param::PerItem {
                name,
                part: p,
                list,
                field,
            } => {
                let mut values = Vec::new();
                if let Some(v) = part(p) {
                    walk(v, list, &mut |item| {
                        let each = |item: &Value| {
                            item.get(field)
                                .and_then(text)
                                .unwrap_or_else(|| ABSENT.to_owned())
                        };
                        match item {
                            Value::Array(items) => values.extend(items.iter().map(each)),
                            other => values.push(each(other)),
                        }
                    });
                }
                push(out, name, values);
            }
            Param::Present {
                name,
                part: p,
                path,
            } => {
                let mut present = false;
                if let Some(v) = part(p) {
                    walk(v, path, &mut |leaf| present |= !leaf.is_null());
                }
                if present {
                    push(out, name, vec!["true".to_owned()]);
                }
            }
            Param::Ec2TagSpecifications => {
                if let Some(v) = request {
                    ec2_tag_specifications(v, out);
                }
            }
            Param::TagMap { path } => {
                if let Some(v) = request {
                    walk(v, path, &mut |map| {
                        if let Value::Object(map) = map {
                            for (key, value) in map {
                                if let Some(value) = text(value) {
                                    push(out, &format!("tag/{key}"), vec![value]);
                                }
                            }
                        }
                    });
                }
            }
            Param::TagList { path } => {
                if let Some(v) = request {
                    walk(v, path, &mut |list| {
                        tag_list(list, &mut |key, value| {
                            push(out, &format!("tag/{key}"), vec![value]);
                        });
                    });
                }
            }
        }
    }
}

/// EC2's `tagSpecificationSet.items[]`: each tag as `tag:<resourceType>/<key>`.
fn ec2_tag_specifications(request: &Value, out: &mut BTreeMap<String, Vec<String>>) {
    let mut tags = BTreeMap::<String, Vec<String>>::new();
    walk(request, &["tagSpecificationSet", "items"], &mut |specs| {
        let specs = match specs {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for spec in specs {
            let kind = spec
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or("*");
            if let Some(list) = spec.get("tags") {
                tag_list(list, &mut |key, value| {
                    tags.entry(format!("tag:{kind}/{key}"))
                        .or_default()
                        .push(value);
                });
            }
        }
    });
    for (name, values) in tags {
        push(out, &name, values);
    }
}

/// Calls `f` with every `{key, value}` of a tag list (`key`/`value` in any case, as EC2 and
/// IAM spell them).
fn tag_list(list: &Value, f: &mut dyn FnMut(String, String)) {
    let items: Vec<&Value> = match list {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => match map.get("items") {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    for tag in items {
        let field = |a: &str, b: &str| tag.get(a).or_else(|| tag.get(b)).and_then(text);
        if let (Some(key), Some(value)) = (field("key", "Key"), field("value", "Value")) {
            f(key, value);
        }
    }
}

fn push(out: &mut BTreeMap<String, Vec<String>>, name: &str, values: Vec<String>) {
    if !values.is_empty() {
        out.entry(name.to_owned()).or_default().extend(values);
    }
}

/// Calls `f` with every value at `path` under `value`, walking lists item by item.
fn walk(value: &Value, path: &[&str], f: &mut dyn FnMut(&Value)) {
    match (value, path.split_first()) {
        (Value::Array(items), _) if !path.is_empty() => {
            for item in items {
                walk(item, path, f);
            }
        }
        (_, None) => f(value),
        (Value::Object(map), Some((key, rest))) => {
            if let Some(next) = map.get(*key) {
                walk(next, rest, f);
            }
        }
        _ => {}
    }
}

/// A scalar as text; `None` for null, lists and objects.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_are_sorted_and_distinct() {
        let actions: Vec<&str> = SELECTORS.iter().map(|s| s.action).collect();
        let mut sorted = actions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(actions, sorted);
    }

    #[test]
    fn version_suffixes_are_ignored() {
        assert_eq!(
            base_event_name("CreateFunctionUrlConfig20211031"),
            "CreateFunctionUrlConfig"
        );
        assert_eq!(base_event_name("AddPermission20150331v2"), "AddPermission");
        assert_eq!(base_event_name("RunInstances"), "RunInstances");
        assert_eq!(base_event_name("CreateDBInstance"), "CreateDBInstance");
        assert_eq!(base_event_name("Get2020"), "Get2020");
        assert_eq!(
            action_of("lambda.amazonaws.com", "UpdateFunctionUrlConfig20211031"),
            "lambda:UpdateFunctionUrlConfig"
        );
    }

    #[test]
    fn run_instances_parameters() {
        let request = json!({
            "instancesSet": {"items": [{"imageId": "ami-0abc", "minCount": 1, "maxCount": 1}]},
            "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 2},
            "networkInterfaceSet": {"items": [
                {"deviceIndex": 0, "associatePublicIpAddress": true},
                {"deviceIndex": 1}
            ]},
            "tagSpecificationSet": {"items": [
                {"resourceType": "instance", "tags": [{"key": "Owner", "value": "team-a"}]},
                {"resourceType": "volume", "tags": [{"key": "Owner", "value": "team-b"}]}
            ]}
        });
        let response =
            json!({"instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}});
        let mut out = BTreeMap::new();
        extract(RUN_INSTANCES, Some(&request), Some(&response), &mut out);
        let get = |k: &str| out.get(k).cloned().unwrap_or_default();
        assert_eq!(get("imageId"), ["ami-0abc"]);
        assert_eq!(get("metadataOptions.httpTokens"), ["optional"]);
        assert_eq!(get("metadataOptions.httpPutResponseHopLimit"), ["2"]);
        assert!(!out.contains_key("metadataOptions.httpEndpoint"));
        assert!(!out.contains_key("launchTemplate"));
        assert_eq!(
            get("networkInterface.associatePublicIpAddress"),
            ["true", ABSENT]
        );
        assert_eq!(get("tag:instance/Owner"), ["team-a"]);
        assert_eq!(get("tag:volume/Owner"), ["team-b"]);
        assert_eq!(get("instanceId"), ["i-1", "i-2"]);
    }

    #[test]
    fn principals() {
        let member = |a: &str| a == "111111111111";
        let m = |p, kind, account, delivery| matches_principal(p, kind, account, delivery, &member);
        assert!(m(
            Principals::OutsideOrganization,
            "AWSAccount",
            Some("999999999999"),
            None
        ));
        assert!(!m(
            Principals::OutsideOrganization,
            "AWSAccount",
            Some("111111111111"),
            None
        ));
        assert!(!m(
            Principals::OutsideOrganization,
            "AWSService",
            None,
            None
        ));
        assert!(m(
            Principals::OutsideOrganization,
            "AWSAccount",
            Some("ANONYMOUS_PRINCIPAL"),
            None
        ));
        assert!(m(Principals::OutsideOrganization, "Unknown", None, None));
        assert!(m(
            Principals::Ec2RoleDeliveryBelow2,
            "AssumedRole",
            None,
            Some("1.0")
        ));
        assert!(!m(
            Principals::Ec2RoleDeliveryBelow2,
            "AssumedRole",
            None,
            Some("2.0")
        ));
        assert!(!m(
            Principals::Ec2RoleDeliveryBelow2,
            "AssumedRole",
            None,
            None
        ));
    }
}
