//! The activity replay: the catalog of relevant events equals what the checks' Deny statements
//! name; the evaluator agrees with the checks' inventory verdicts on synthetic resources
//! turned into the events that created them (property tests); a carve-out's exempted accounts
//! are never denied; the frozen 1.2 snapshot's activity replays to reviewed verdicts.
#![expect(clippy::unwrap_used, reason = "test code")]

mod checks_common;

use std::collections::{BTreeMap, BTreeSet};

use checks_common::{FIXTURE_ACCOUNT, fixture_snapshot};
use headroom_analyzer::activity::facts::Facts;
use headroom_analyzer::activity::{self, Findings, Planned};
use headroom_analyzer::checks::{self, ALL};
use headroom_analyzer::model::{AccountStatus, CheckKind};
use headroom_analyzer::policies;
use headroom_analyzer::policy_document::action::glob_match;
use headroom_schemas::activity::catalog::{SELECTORS, action_of, all_actions};
use headroom_schemas::activity::cloudtrail::{Filter, read_log_file};
use headroom_schemas::activity::synthetic::{Call, Identity, Launch, log_file};
use headroom_schemas::activity::{AccountReads, Activity, Source, Window};
use headroom_schemas::{AccountId, Snapshot};
use proptest::prelude::*;
use rand::SeedableRng;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// The one list of relevant events
// ---------------------------------------------------------------------------------------

/// Fails when a check's Deny statements name an action no selector maps to events, or a
/// selector maps an action no statement names.
#[test]
fn the_catalog_maps_exactly_the_actions_the_checks_deny() {
    let mut from_checks = BTreeSet::new();
    for check in ALL {
        let actions = activity::check_actions(*check);
        assert!(
            !actions.is_empty(),
            "{} has no Deny action",
            check.meta().id
        );
        from_checks.extend(actions);
    }
    let catalog: BTreeSet<String> = all_actions().into_iter().collect();
    let unmapped: Vec<&String> = from_checks.difference(&catalog).collect();
    let unused: Vec<&String> = catalog.difference(&from_checks).collect();
    assert!(
        unmapped.is_empty() && unused.is_empty(),
        "actions denied but not collected: {unmapped:?}; collected but denied by no check: {unused:?} (edit headroom_schemas::activity::catalog)"
    );
    // Each selector's named events are calls of the action it stands for.
    for selector in SELECTORS {
        for name in selector.names {
            let source = selector.source.unwrap();
            assert!(
                glob_match(selector.action, &action_of(source, name)),
                "{}: {source} {name}",
                selector.action
            );
        }
        if let (Some(source), true) = (selector.source, selector.names.is_empty()) {
            let prefix = source.trim_end_matches(".amazonaws.com");
            assert_eq!(selector.action, format!("{prefix}:*"));
        }
    }
}

#[test]
fn every_check_is_replayed_when_every_selector_was_collected() {
    let activity = activity_of(&[]);
    for check in ALL {
        assert!(activity::replays(&activity, *check), "{}", check.meta().id);
    }
    let mut partial = activity;
    partial.selectors.retain(|s| s != "kms:*");
    let kms = checks::find("deny_kms_third_party_access").unwrap();
    assert!(!activity::replays(&partial, kms));
}

// ---------------------------------------------------------------------------------------
// Helpers: events through the real log-file reader, one planned document, one account
// ---------------------------------------------------------------------------------------

const TIME: &str = "2026-01-10T10:00:00Z";
/// An account outside the demo organization (whose `999999999999` is a suspended member).
const OUTSIDER: &str = "898989898989";

/// An activity section of `records` (read through the CloudTrail reader, as `collect` does),
/// every selector collected, the fixture account's one day read completely.
fn activity_of(records: &[Value]) -> Activity {
    let members: Vec<String> = checks_common::demo()
        .organization
        .accounts
        .keys()
        .map(ToString::to_string)
        .collect();
    let mut events = Vec::new();
    read_log_file(&log_file(records), &Filter::new(members), None, &mut events).unwrap();
    headroom_schemas::activity::cloudtrail::sort_events(&mut events);
    let day = json!({"status": "complete", "objects": 1, "records": records.len(), "events": events.len()});
    let reads: AccountReads = serde_json::from_value(json!({
        "status": "listed",
        "regions": {"us-east-1": {"2026-01-10": day}}
    }))
    .unwrap();
    Activity {
        window: Window {
            first_day: "2026-01-10".into(),
            last_day: "2026-01-10".into(),
        },
        selectors: all_actions(),
        source: Source::S3 {
            bucket: "trail".into(),
            key_prefix: String::new(),
            organization_id: Some("o-aaaa11111111".into()),
            accounts: [(AccountId::new(FIXTURE_ACCOUNT).unwrap(), reads)].into(),
        },
        events,
    }
}

fn record(call: &Call) -> Value {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    call.record(&mut rng)
}

/// What the check concludes about the fixture account holding `fixture`'s inventory.
struct Judged {
    snapshot: Snapshot,
    status: AccountStatus,
    exemptions: usize,
    document: Value,
    kind: CheckKind,
}

/// Runs `check` on `fixture` and renders the document the plan would attach to the fixture
/// account (its allowlist from the verdict, as placement builds it), with `carve_out`
/// accounts exempted.
fn judge(check: &str, fixture: &Value, carve_out: &[String]) -> Judged {
    let (snapshot, settings) = fixture_snapshot(check, fixture);
    let results = checks::run_checks(&snapshot, &settings).unwrap();
    let run = results
        .runs
        .iter()
        .find(|r| r.check_id == check)
        .unwrap()
        .clone();
    let verdict = &run.verdicts[&AccountId::new(FIXTURE_ACCOUNT).unwrap()];
    let mut allowlist = verdict.allowlist.clone();
    allowlist.extend(run.configured_allowlist.iter().cloned());
    let statements = checks::statements(check, &snapshot, &settings, &allowlist).unwrap();
    let statements = policies::carve_out(statements, run.kind, carve_out);
    Judged {
        status: verdict.status.clone(),
        exemptions: verdict.counts.exemptions,
        document: policies::document_value(&statements),
        kind: run.kind,
        snapshot,
    }
}

/// The replay of `calls` against the judged document, for `check` in the account `account`.
fn replay(judged: &Judged, check: &str, calls: &[Call], account: &str) -> Findings {
    let activity = activity_of(&calls.iter().map(record).collect::<Vec<_>>());
    assert_eq!(
        activity.events.len(),
        calls.len(),
        "every call is a kept event"
    );
    let verdicts = activity::evaluate(
        &activity,
        &[Planned {
            target: FIXTURE_ACCOUNT,
            kind: judged.kind,
            document: &judged.document,
        }],
        &judged.snapshot.organization,
        &Facts::from_snapshot(&judged.snapshot),
        "aws",
    )
    .unwrap();
    verdicts
        .checks
        .get(check)
        .and_then(|accounts| accounts.get(&AccountId::new(account).unwrap()))
        .cloned()
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Denied,
    Undecidable,
    NotDenied,
}

fn verdict(findings: &Findings) -> Verdict {
    match (findings.denied.count, findings.undecidable.count) {
        (0, 0) => Verdict::NotDenied,
        (0, _) => Verdict::Undecidable,
        _ => Verdict::Denied,
    }
}

fn role(account: &str) -> Identity {
    Identity::Role {
        account: account.to_owned(),
        role: "terraform".into(),
        session: "tf".into(),
    }
}

fn call(name: &str, source: &str, who: Identity, request: Value, response: Value) -> Call {
    let mut c = Call::new(TIME, FIXTURE_ACCOUNT, "us-east-1", source, name, who);
    c.request = request;
    c.response = response;
    c
}

fn tags_json(tags: &[(String, String)]) -> Value {
    tags.iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

// ---------------------------------------------------------------------------------------
// EC2 launches: the instance in the inventory and the RunInstances that created it
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Instance {
    tokens: Option<&'static str>,
    endpoint: Option<&'static str>,
    hop: Option<u32>,
    public_ip: bool,
    tags: Vec<(String, String)>,
    image: ImageCase,
}

#[derive(Debug, Clone, Copy)]
enum ImageCase {
    Amazon,
    Account,
    NotVisible,
}

fn instance() -> impl Strategy<Value = Instance> {
    let tag = prop_oneof![
        Just(None),
        Just(Some(("Exempt".to_owned(), "true".to_owned()))),
        Just(Some(("Exempt".to_owned(), "TRUE".to_owned()))),
        Just(Some(("Exempt".to_owned(), "no".to_owned()))),
        Just(Some(("ExemptFromIMDSv2".to_owned(), "True".to_owned()))),
    ];
    (
        prop::option::of(prop_oneof![Just("optional"), Just("required")]),
        prop::option::of(prop_oneof![Just("enabled"), Just("disabled")]),
        prop::option::of(1u32..4),
        any::<bool>(),
        tag,
        prop_oneof![
            Just(ImageCase::Amazon),
            Just(ImageCase::Account),
            Just(ImageCase::NotVisible)
        ],
    )
        .prop_map(|(tokens, endpoint, hop, public_ip, tag, image)| Instance {
            tokens,
            endpoint,
            hop,
            public_ip,
            tags: tag
                .into_iter()
                .chain([("Name".to_owned(), "web".to_owned())])
                .collect(),
            image,
        })
}

const IMAGE: &str = "ami-0123456789abcdef0";

impl Instance {
    fn fixture(&self, options: &Value) -> Value {
        let image = match self.image {
            ImageCase::Amazon => {
                json!({"result": "found", "owner_id": "131313131313", "image_owner_alias": "amazon", "name": "al2023", "state": "available"})
            }
            ImageCase::Account => {
                json!({"result": "found", "owner_id": FIXTURE_ACCOUNT, "image_owner_alias": null, "name": "golden", "state": "available"})
            }
            ImageCase::NotVisible => json!({"result": "not_visible"}),
        };
        json!({
            "options": options,
            "regions": {"us-east-1": {"ec2": {
                "instances": [{
                    "instance_id": "i-0aaaa1111bbbb2222",
                    "image_id": IMAGE,
                    "state": "running",
                    "public_ip_address": if self.public_ip { json!("203.0.113.7") } else { Value::Null },
                    "metadata_options": {
                        "http_tokens": self.tokens,
                        "http_endpoint": self.endpoint,
                        "http_put_response_hop_limit": self.hop,
                    },
                    "tags": tags_json(&self.tags),
                }],
                "images": {IMAGE: image},
            }}}
        })
    }

    /// The launch that created it: every setting explicit, as the instance has it (AWS's
    /// defaults where the inventory has none), its tags on the instance and its interface.
    fn launch(&self) -> Call {
        let launch = Launch {
            image_id: Some(IMAGE.into()),
            launch_template: None,
            http_tokens: Some(self.tokens.unwrap_or("optional").into()),
            hop_limit: Some(self.hop.unwrap_or(1)),
            public_ip: Some(Some(self.public_ip)),
            tags: self.tags.clone(),
            instance_id: "i-0aaaa1111bbbb2222".into(),
        };
        let (mut request, response) = launch.parts(FIXTURE_ACCOUNT);
        request["metadataOptions"]["httpEndpoint"] = self.endpoint.unwrap_or("enabled").into();
        // The tags on the network interface too: a tag on the instance alone does not reach
        // the interface's authorization (see `a_tag_on_the_instance_alone_does_not_exempt_its_interface`).
        let items = request["tagSpecificationSet"]["items"][0].clone();
        let mut nic = items.clone();
        nic["resourceType"] = "network-interface".into();
        request["tagSpecificationSet"]["items"] = json!([items, nic]);
        call(
            "RunInstances",
            "ec2.amazonaws.com",
            role(FIXTURE_ACCOUNT),
            request,
            response,
        )
    }

    fn endpoint_disabled(&self) -> bool {
        self.endpoint == Some("disabled")
    }

    /// Whether the launch carries `key` set to `true` in any case (an exemption tag).
    fn tagged(&self, key: &str) -> bool {
        self.tags
            .iter()
            .any(|(k, v)| k == key && v.eq_ignore_ascii_case("true"))
    }
}

/// The inventory verdict and the replay verdict of the instance's launch, for `check`.
fn ec2_case(check: &str, options: &Value, instance: &Instance) -> (AccountStatus, usize, Verdict) {
    let judged = judge(check, &instance.fixture(options), &[]);
    let findings = replay(&judged, check, &[instance.launch()], FIXTURE_ACCOUNT);
    (judged.status, judged.exemptions, verdict(&findings))
}

fn exempt_options() -> Value {
    json!({"exemption_tag_keys": ["Exempt"]})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// `deny_ec2_imds_v1`: a violating instance's launch is denied; an exempt or compliant
    /// one's is not, except an instance whose metadata endpoint is disabled: the check calls it
    /// compliant (IMDS is off), the statement still denies launching it with `optional` tokens.
    #[test]
    fn imds_v1_agrees_with_the_inventory(instance in instance()) {
        let (status, exemptions, replayed) = ec2_case("deny_ec2_imds_v1", &json!({}), &instance);
        match status {
            AccountStatus::Violating { .. } => prop_assert_eq!(replayed, Verdict::Denied),
            AccountStatus::Clean if exemptions > 0 => prop_assert_eq!(replayed, Verdict::NotDenied),
            AccountStatus::Clean if instance.endpoint_disabled()
                && instance.tokens.unwrap_or("optional") == "optional"
                && !instance.tagged("ExemptFromIMDSv2") =>
            {
                prop_assert_eq!(replayed, Verdict::Denied);
            }
            AccountStatus::Clean => prop_assert_eq!(replayed, Verdict::NotDenied),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    /// `deny_ec2_imds_hop_limit`: the same, the disabled endpoint again being the one place
    /// where the statement is stricter than the check.
    #[test]
    fn hop_limit_agrees_with_the_inventory(instance in instance()) {
        let (status, exemptions, replayed) =
            ec2_case("deny_ec2_imds_hop_limit", &exempt_options(), &instance);
        match status {
            AccountStatus::Violating { .. } => prop_assert_eq!(replayed, Verdict::Denied),
            AccountStatus::Clean if exemptions > 0 => prop_assert_eq!(replayed, Verdict::NotDenied),
            AccountStatus::Clean if instance.endpoint_disabled()
                && instance.hop.unwrap_or(1) > 1
                && !instance.tagged("Exempt") =>
            {
                prop_assert_eq!(replayed, Verdict::Denied);
            }
            AccountStatus::Clean => prop_assert_eq!(replayed, Verdict::NotDenied),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    /// `deny_ec2_public_ip`: exactly the inventory's verdict.
    #[test]
    fn public_ip_agrees_with_the_inventory(instance in instance()) {
        let (status, exemptions, replayed) =
            ec2_case("deny_ec2_public_ip", &exempt_options(), &instance);
        match status {
            AccountStatus::Violating { .. } => prop_assert_eq!(replayed, Verdict::Denied),
            AccountStatus::Clean => {
                let _ = exemptions;
                prop_assert_eq!(replayed, Verdict::NotDenied);
            }
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    /// `deny_ec2_ami_owner`: an image whose owner is known joins the allowlist, so its launch
    /// is not denied; an instance whose image owner is unknown is a violation, and its launch
    /// is never "not denied" (denied by an empty allowlist, else undecidable: the owner is
    /// what the statement compares).
    #[test]
    fn ami_owner_agrees_with_the_inventory(instance in instance()) {
        let (status, _, replayed) = ec2_case("deny_ec2_ami_owner", &json!({}), &instance);
        match status {
            // Denied outright when nothing else joins the allowlist (an empty allowlist
            // denies every launch), undecidable otherwise.
            AccountStatus::Violating { .. } => prop_assert_ne!(replayed, Verdict::NotDenied),
            AccountStatus::Clean => prop_assert_eq!(replayed, Verdict::NotDenied),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}

#[test]
fn a_launch_from_an_image_outside_the_allowlist_is_denied() {
    // The terminated instance's image was looked up, but terminated instances do not join the
    // allowlist: launching from that image again is denied, decidably.
    let fixture = json!({"regions": {"us-east-1": {"ec2": {
        "instances": [
            {"instance_id": "i-1", "image_id": "ami-11111111111111111", "state": "running",
             "public_ip_address": null, "metadata_options": null, "tags": {}},
            {"instance_id": "i-2", "image_id": "ami-22222222222222222", "state": "terminated",
             "public_ip_address": null, "metadata_options": null, "tags": {}}
        ],
        "images": {
            "ami-11111111111111111": {"result": "found", "owner_id": "131313131313", "image_owner_alias": "amazon", "name": "a", "state": "available"},
            "ami-22222222222222222": {"result": "found", "owner_id": "565656565656", "image_owner_alias": null, "name": "community", "state": "available"}
        }
    }}}});
    let judged = judge("deny_ec2_ami_owner", &fixture, &[]);
    let launch = |image: &str| {
        let (request, response) = Launch {
            image_id: Some(image.into()),
            instance_id: "i-3".into(),
            ..Launch::default()
        }
        .parts(FIXTURE_ACCOUNT);
        call(
            "RunInstances",
            "ec2.amazonaws.com",
            role(FIXTURE_ACCOUNT),
            request,
            response,
        )
    };
    let community = replay(
        &judged,
        "deny_ec2_ami_owner",
        &[launch("ami-22222222222222222")],
        FIXTURE_ACCOUNT,
    );
    assert_eq!(verdict(&community), Verdict::Denied);
    assert_eq!(
        community.denied.statements,
        BTreeSet::from(["DenyEc2AmiOwner".to_owned()])
    );
    let amazon = replay(
        &judged,
        "deny_ec2_ami_owner",
        &[launch("ami-11111111111111111")],
        FIXTURE_ACCOUNT,
    );
    assert_eq!(verdict(&amazon), Verdict::NotDenied);
    let unknown = replay(
        &judged,
        "deny_ec2_ami_owner",
        &[launch("ami-33333333333333333")],
        FIXTURE_ACCOUNT,
    );
    assert_eq!(verdict(&unknown), Verdict::Undecidable);
    assert!(
        unknown
            .undecidable
            .reasons
            .keys()
            .any(|r| r.contains("was not looked up")),
        "{:?}",
        unknown.undecidable.reasons
    );
}

#[test]
fn a_tag_on_the_instance_alone_does_not_exempt_its_interface() {
    // `deny_ec2_public_ip` denies on the network interface: the exemption tag must be in the
    // interface's tag specification, which is what IAM evaluates there.
    let instance = Instance {
        tokens: Some("required"),
        endpoint: None,
        hop: None,
        public_ip: true,
        tags: vec![("Exempt".into(), "true".into())],
        image: ImageCase::Amazon,
    };
    let judged = judge(
        "deny_ec2_public_ip",
        &instance.fixture(&exempt_options()),
        &[],
    );
    assert!(judged.exemptions > 0);
    let mut launch = instance.launch();
    launch.request["tagSpecificationSet"]["items"] =
        json!([{"resourceType": "instance", "tags": [{"key": "Exempt", "value": "true"}]}]);
    let findings = replay(&judged, "deny_ec2_public_ip", &[launch], FIXTURE_ACCOUNT);
    assert_eq!(verdict(&findings), Verdict::Denied);
}

#[test]
fn settings_a_launch_leaves_to_defaults_are_undecidable() {
    let judged = judge(
        "deny_ec2_imds_v1",
        &Instance {
            tokens: Some("required"),
            endpoint: None,
            hop: None,
            public_ip: false,
            tags: Vec::new(),
            image: ImageCase::Amazon,
        }
        .fixture(&json!({})),
        &[],
    );
    let (request, response) = Launch {
        image_id: Some(IMAGE.into()),
        instance_id: "i-9".into(),
        ..Launch::default()
    }
    .parts(FIXTURE_ACCOUNT);
    let bare = call(
        "RunInstances",
        "ec2.amazonaws.com",
        role(FIXTURE_ACCOUNT),
        request,
        response,
    );
    let findings = replay(&judged, "deny_ec2_imds_v1", &[bare], FIXTURE_ACCOUNT);
    assert_eq!(verdict(&findings), Verdict::Undecidable);
    assert!(
        findings
            .undecidable
            .reasons
            .keys()
            .all(|r| r.contains("ec2:MetadataHttpTokens") && r.contains("ImdsSupport")),
        "{:?}",
        findings.undecidable.reasons
    );
    // A service-linked role's launch (Auto Scaling) is outside SCPs.
    let (request, response) = Launch {
        image_id: Some(IMAGE.into()),
        http_tokens: Some("optional".into()),
        instance_id: "i-8".into(),
        ..Launch::default()
    }
    .parts(FIXTURE_ACCOUNT);
    let scaling = call(
        "RunInstances",
        "ec2.amazonaws.com",
        Identity::Role {
            account: FIXTURE_ACCOUNT.into(),
            role: "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling".into(),
            session: "AutoScaling".into(),
        },
        request,
        response,
    );
    let findings = replay(&judged, "deny_ec2_imds_v1", &[scaling], FIXTURE_ACCOUNT);
    assert_eq!(verdict(&findings), Verdict::NotDenied);
}

/// `deny_ec2_imds_v1`'s first statement denies every action to IMDSv1 credentials, whatever
/// the call, unless the instance role carries the exemption tag (known from the inventory).
#[test]
fn imdsv1_credentials_are_denied_unless_the_role_is_exempt() {
    let roles = json!({"iam": {"users": [], "saml_providers": [], "roles": [
        {"role_name": "legacy", "arn": "arn:aws:iam::222222222222:role/legacy", "path": "/",
         "assume_role_policy_document": null, "tags": {}},
        {"role_name": "exempt", "arn": "arn:aws:iam::222222222222:role/exempt", "path": "/",
         "assume_role_policy_document": null, "tags": {"ExemptFromIMDSv2": "true"}}
    ]}});
    let judged = judge("deny_ec2_imds_v1", &json!({"global": roles}), &[]);
    let describe = |role: &str, delivery: &str| {
        let mut c = call(
            "DescribeInstances",
            "ec2.amazonaws.com",
            Identity::InstanceRole {
                account: FIXTURE_ACCOUNT.into(),
                role: role.into(),
                instance_id: "i-0aaaa1111bbbb2222".into(),
                delivery: delivery.into(),
            },
            Value::Null,
            Value::Null,
        );
        c.read_only = true;
        c
    };
    let legacy = replay(
        &judged,
        "deny_ec2_imds_v1",
        &[describe("legacy", "1.0")],
        FIXTURE_ACCOUNT,
    );
    assert_eq!(verdict(&legacy), Verdict::Denied);
    assert_eq!(
        legacy.denied.statements,
        BTreeSet::from(["DenyEc2ImdsV1RoleCredentials".to_owned()])
    );
    let exempt = replay(
        &judged,
        "deny_ec2_imds_v1",
        &[describe("exempt", "1.0")],
        FIXTURE_ACCOUNT,
    );
    assert_eq!(verdict(&exempt), Verdict::NotDenied);
    let gone = replay(
        &judged,
        "deny_ec2_imds_v1",
        &[describe("deleted", "1.0")],
        FIXTURE_ACCOUNT,
    );
    assert_eq!(verdict(&gone), Verdict::Undecidable);
}

// ---------------------------------------------------------------------------------------
// The other SCP checks
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// `deny_eks_create_cluster_without_tag`: the cluster's tags are its CreateCluster's.
    #[test]
    fn eks_agrees_with_the_inventory(
        paved in prop_oneof![Just(None), Just(Some("true")), Just(Some("True")), Just(Some("false"))],
        exempt in prop_oneof![Just(None), Just(Some("true")), Just(Some("nope"))],
    ) {
        let mut tags = Vec::new();
        if let Some(v) = paved { tags.push(("PavedRoad".to_owned(), v.to_owned())); }
        if let Some(v) = exempt { tags.push(("Exempt".to_owned(), v.to_owned())); }
        let fixture = json!({"options": exempt_options(), "regions": {"us-east-1": {"eks": {"clusters": [
            {"name": "c1", "arn": "arn:aws:eks:us-east-1:222222222222:cluster/c1", "tags": tags_json(&tags)}
        ]}}}});
        let judged = judge("deny_eks_create_cluster_without_tag", &fixture, &[]);
        let create = call("CreateCluster", "eks.amazonaws.com", role(FIXTURE_ACCOUNT),
            json!({"name": "c1", "roleArn": "arn:aws:iam::222222222222:role/eks", "tags": tags_json(&tags)}),
            json!({"cluster": {"name": "c1", "arn": "arn:aws:eks:us-east-1:222222222222:cluster/c1"}}));
        let replayed = verdict(&replay(&judged, "deny_eks_create_cluster_without_tag", &[create], FIXTURE_ACCOUNT));
        match judged.status {
            AccountStatus::Violating { .. } => prop_assert_eq!(replayed, Verdict::Denied),
            AccountStatus::Clean => prop_assert_eq!(replayed, Verdict::NotDenied),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    /// `deny_lambda_auth_type_none` and `deny_rds_unencrypted`.
    #[test]
    fn lambda_and_rds_agree_with_the_inventory(
        auth in prop_oneof![Just("NONE"), Just("AWS_IAM")],
        encrypted in prop::option::of(any::<bool>()),
    ) {
        let fixture = json!({"regions": {"us-east-1": {"lambda": {"functions": [{
            "function_name": "f", "function_arn": "arn:aws:lambda:us-east-1:222222222222:function:f",
            "url_configs": [{"function_url": "https://x.lambda-url.us-east-1.on.aws/",
                "function_arn": "arn:aws:lambda:us-east-1:222222222222:function:f", "auth_type": auth}]
        }]}}}});
        let judged = judge("deny_lambda_auth_type_none", &fixture, &[]);
        let create = call("CreateFunctionUrlConfig20211031", "lambda.amazonaws.com", role(FIXTURE_ACCOUNT),
            json!({"functionName": "f", "authType": auth}),
            json!({"functionUrl": "https://x.lambda-url.us-east-1.on.aws/", "authType": auth}));
        let replayed = verdict(&replay(&judged, "deny_lambda_auth_type_none", &[create], FIXTURE_ACCOUNT));
        prop_assert_eq!(matches!(judged.status, AccountStatus::Violating { .. }), replayed == Verdict::Denied);
        prop_assert_ne!(replayed, Verdict::Undecidable);

        let fixture = json!({"regions": {"us-east-1": {"rds": {"db_clusters": [], "db_instances": [{
            "db_instance_identifier": "db1", "db_instance_arn": "arn:aws:rds:us-east-1:222222222222:db:db1",
            "engine": "postgres", "storage_encrypted": encrypted, "db_cluster_identifier": null
        }]}}}});
        let judged = judge("deny_rds_unencrypted", &fixture, &[]);
        let create = call("CreateDBInstance", "rds.amazonaws.com", role(FIXTURE_ACCOUNT),
            json!({"dBInstanceIdentifier": "db1", "engine": "postgres", "storageEncrypted": encrypted.unwrap_or(false)}),
            Value::Null);
        let replayed = verdict(&replay(&judged, "deny_rds_unencrypted", &[create], FIXTURE_ACCOUNT));
        prop_assert_eq!(matches!(judged.status, AccountStatus::Violating { .. }), replayed == Verdict::Denied);
        prop_assert_ne!(replayed, Verdict::Undecidable);
    }

    /// `deny_iam_user_creation` with `allowed_user_paths`: a user outside the paths was created
    /// by a CreateUser the statement denies (`NotResource` lists the allowed paths).
    #[test]
    fn user_paths_agree_with_the_inventory(
        path in prop_oneof![Just("/"), Just("/automation/"), Just("/automation/ci/"), Just("/people/")],
    ) {
        let arn = format!("arn:aws:iam::222222222222:user{path}bot");
        let fixture = json!({"options": {"allowed_user_paths": ["/automation/"]},
            "global": {"iam": {"roles": [], "saml_providers": [], "users": [
                {"user_name": "bot", "arn": arn, "path": path, "create_date": null}]}}});
        let judged = judge("deny_iam_user_creation", &fixture, &[]);
        let create = call("CreateUser", "iam.amazonaws.com", role(FIXTURE_ACCOUNT),
            json!({"userName": "bot", "path": path}),
            json!({"user": {"userName": "bot", "path": path, "arn": arn}}));
        let replayed = verdict(&replay(&judged, "deny_iam_user_creation", &[create], FIXTURE_ACCOUNT));
        prop_assert_eq!(matches!(judged.status, AccountStatus::Violating { .. }), replayed == Verdict::Denied);
        prop_assert_ne!(replayed, Verdict::Undecidable);
    }

    /// `deny_iam_saml_provider_not_aws_sso`: every CreateSAMLProvider is denied; the compliant
    /// provider is the one IAM Identity Center creates through its service-linked role, which
    /// SCPs do not restrict.
    #[test]
    fn saml_agrees_with_the_inventory(name in prop_oneof![Just("AWSSSO_0123abcd_DO_NOT_DELETE"), Just("Okta")]) {
        let arn = format!("arn:aws:iam::222222222222:saml-provider/{name}");
        let fixture = json!({"global": {"iam": {"roles": [], "users": [], "saml_providers": [
            {"arn": arn, "create_date": null, "valid_until": null}]}}});
        let judged = judge("deny_iam_saml_provider_not_aws_sso", &fixture, &[]);
        let who = if name.starts_with("AWSSSO_") {
            Identity::Role {
                account: FIXTURE_ACCOUNT.into(),
                role: "aws-service-role/sso.amazonaws.com/AWSServiceRoleForSSO".into(),
                session: "sso".into(),
            }
        } else {
            role(FIXTURE_ACCOUNT)
        };
        let create = call("CreateSAMLProvider", "iam.amazonaws.com", who,
            json!({"name": name, "sAMLMetadataDocument": "<EntityDescriptor/>"}),
            json!({"sAMLProviderArn": arn}));
        let replayed = verdict(&replay(&judged, "deny_iam_saml_provider_not_aws_sso", &[create], FIXTURE_ACCOUNT));
        prop_assert_eq!(matches!(judged.status, AccountStatus::Violating { .. }), replayed == Verdict::Denied);
    }
}

// ---------------------------------------------------------------------------------------
// RCPs: the third party the resource policy grants, and anyone else
// ---------------------------------------------------------------------------------------

const PARTNER: &str = "121212121212";

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// `deny_sts_third_party_assumerole` and `deny_kms_third_party_access`: a partner the
    /// policy names is allowlisted, so its calls are not denied; a resource anyone can reach
    /// is a violation, and a stranger's call to it is denied; a tagged-out resource is an
    /// exemption, and nobody's call to it is denied.
    #[test]
    fn rcps_agree_with_the_inventory(
        grant in prop_oneof![Just("partner"), Just("anyone")],
        exempt in any::<bool>(),
        caller in prop_oneof![Just(PARTNER), Just(OUTSIDER)],
    ) {
        let principal = if grant == "partner" { format!("arn:aws:iam::{PARTNER}:root") } else { "*".to_owned() };
        let tags = if exempt { json!({"dp:exclude:identity": "true"}) } else { json!({}) };
        let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": principal}, "Action": ["sts:AssumeRole", "kms:*"], "Resource": "*"}]}).to_string();
        let role_arn = "arn:aws:iam::222222222222:role/partner-access";
        let key_arn = "arn:aws:kms:us-east-1:222222222222:key/00000000-0000-4000-8000-000000000001";
        let fixture = json!({
            "global": {"iam": {"users": [], "saml_providers": [], "roles": [
                {"role_name": "partner-access", "arn": role_arn, "path": "/",
                 "assume_role_policy_document": policy, "tags": tags}]}},
            "regions": {"us-east-1": {"kms": {"keys": [
                {"key_id": "00000000-0000-4000-8000-000000000001", "key_arn": key_arn,
                 "key_manager": "CUSTOMER", "policy": policy, "tags": tags}]}}}
        });
        for (check, name, source, resource, kind) in [
            ("deny_sts_third_party_assumerole", "AssumeRole", "sts.amazonaws.com", role_arn, "AWS::IAM::Role"),
            ("deny_kms_third_party_access", "Decrypt", "kms.amazonaws.com", key_arn, "AWS::KMS::Key"),
        ] {
            let judged = judge(check, &fixture, &[]);
            let mut c = call(name, source, Identity::OtherAccount { account: caller.to_owned() }, Value::Null, Value::Null);
            c.resources = vec![(resource.to_owned(), kind.to_owned())];
            let replayed = verdict(&replay(&judged, check, &[c], FIXTURE_ACCOUNT));
            // A tagged-out resource is outside the RCP; the partner the policy names is
            // allowlisted; anyone else is denied.
            let outside_rcp = judged.exemptions > 0;
            let allowlisted = matches!(judged.status, AccountStatus::Clean) && caller == PARTNER;
            let expected = if outside_rcp || allowlisted {
                Verdict::NotDenied
            } else {
                Verdict::Denied
            };
            prop_assert!(
                matches!(judged.status, AccountStatus::Clean | AccountStatus::Violating { .. }),
                "unexpected {:?}", judged.status
            );
            prop_assert_eq!(replayed, expected, "{} grant {} exempt {} caller {}", check, grant, exempt, caller);
        }
    }
}

#[test]
fn members_and_services_are_never_denied_by_an_rcp() {
    let judged = judge("deny_s3_third_party_access", &json!({}), &[]);
    let bucket = |who: Identity| {
        let mut c = call(
            "GetObject",
            "s3.amazonaws.com",
            who,
            json!({"bucketName": "data", "key": "x"}),
            Value::Null,
        );
        c.read_only = true;
        c
    };
    // A stranger is denied (no allowlist); the bucket is not in the inventory, but the
    // statement does not depend on its tags... except through the exemption tag: undecidable.
    let stranger = replay(
        &judged,
        "deny_s3_third_party_access",
        &[bucket(Identity::OtherAccount {
            account: OUTSIDER.into(),
        })],
        FIXTURE_ACCOUNT,
    );
    assert_eq!(verdict(&stranger), Verdict::Undecidable);
    assert!(
        stranger
            .undecidable
            .reasons
            .keys()
            .any(|r| r.contains("dp:exclude:identity"))
    );
    // A member of the organization and an AWS service are not kept by the reader at all.
    let activity = activity_of(&[
        record(&bucket(role("333333333333"))),
        record(&bucket(Identity::Service {
            service: "cloudtrail.amazonaws.com".into(),
        })),
    ]);
    assert!(activity.events.is_empty());
}

// ---------------------------------------------------------------------------------------
// Carve-out: exempted accounts are never denied
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Every Deny statement of a carved-out document exempts the blocking accounts by
    /// `aws:PrincipalAccount` (SCPs) or `aws:ResourceAccount` (RCPs): a violating call of an
    /// exempted account is never denied, the same call elsewhere beneath the target is.
    #[test]
    fn carve_out_exemptions_are_never_denied(exempted in prop::sample::subsequence(
        vec!["222222222222", "333333333333", "444444444444", "555555555555"], 1..4
    )) {
        let exempted: Vec<String> = exempted.into_iter().map(str::to_owned).collect();
        let org = checks_common::demo().organization;
        let root = org.roots[0].id.clone();
        let launch = |account: &str| {
            let (request, response) = Launch {
                image_id: Some(IMAGE.into()),
                http_tokens: Some("optional".into()),
                instance_id: "i-7".into(),
                ..Launch::default()
            }.parts(account);
            let mut c = call("RunInstances", "ec2.amazonaws.com", role(account), request, response);
            c.account = account.to_owned();
            c
        };
        let assume = |account: &str| {
            let mut c = call("AssumeRole", "sts.amazonaws.com", Identity::OtherAccount { account: OUTSIDER.into() }, Value::Null, Value::Null);
            c.account = account.to_owned();
            c.resources = vec![(format!("arn:aws:iam::{account}:role/x"), "AWS::IAM::Role".into())];
            c
        };
        let accounts = ["222222222222", "333333333333", "444444444444", "555555555555"];
        for (check, make) in [
            ("deny_ec2_imds_v1", &launch as &dyn Fn(&str) -> Call),
            ("deny_sts_third_party_assumerole", &assume),
        ] {
            let judged = judge(check, &json!({}), &exempted);
            let calls: Vec<Call> = accounts.iter().map(|a| make(a)).collect();
            let mut activity = activity_of(&calls.iter().map(record).collect::<Vec<_>>());
            // Every account's window read.
            if let Source::S3 { accounts: reads, .. } = &mut activity.source {
                for a in accounts {
                    reads.insert(AccountId::new(a).unwrap(), AccountReads::Listed { regions: std::collections::BTreeMap::default() });
                }
            }
            let verdicts = activity::evaluate(
                &activity,
                &[Planned { target: &root, kind: judged.kind, document: &judged.document }],
                &org,
                &Facts::from_snapshot(&judged.snapshot),
                "aws",
            ).unwrap();
            for account in accounts {
                let findings = verdicts.checks.get(check)
                    .and_then(|a| a.get(&AccountId::new(account).unwrap()))
                    .cloned()
                    .unwrap_or_default();
                let replayed = verdict(&findings);
                if exempted.iter().any(|e| e == account) {
                    prop_assert_eq!(replayed, Verdict::NotDenied, "{} {}", check, account);
                } else {
                    prop_assert_ne!(replayed, Verdict::NotDenied, "{} {}", check, account);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The frozen 1.2 snapshot's activity against every check at the root
// ---------------------------------------------------------------------------------------

#[test]
fn the_frozen_activity_replays_to_reviewed_verdicts() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/snapshots/frozen/v1.2.json"),
    )
    .unwrap();
    let snapshot = headroom_schemas::read(&bytes).unwrap();
    let settings = headroom_analyzer::Settings::default();
    let root = snapshot.organization.roots[0].id.clone();
    let mut documents = Vec::new();
    for check in ALL {
        let id = check.meta().id;
        let statements = checks::statements(id, &snapshot, &settings, &BTreeSet::new()).unwrap();
        documents.push((check.meta().kind, policies::document_value(&statements)));
    }
    let planned: Vec<Planned<'_>> = documents
        .iter()
        .map(|(kind, document)| Planned {
            target: &root,
            kind: *kind,
            document,
        })
        .collect();
    let activity = snapshot.activity.as_ref().unwrap();
    let verdicts = activity::evaluate(
        activity,
        &planned,
        &snapshot.organization,
        &Facts::from_snapshot(&snapshot),
        &snapshot.meta.partition,
    )
    .unwrap();
    // Reversing the documents changes nothing.
    let reversed: Vec<Planned<'_>> = planned.iter().rev().copied().collect();
    assert_eq!(
        activity::evaluate(
            activity,
            &reversed,
            &snapshot.organization,
            &Facts::from_snapshot(&snapshot),
            &snapshot.meta.partition,
        )
        .unwrap(),
        verdicts
    );
    insta::assert_json_snapshot!(verdicts);
    assert_each_call_counts_twice(&snapshot, &planned, &verdicts);
    let evidence = activity::external_accounts(
        &activity::calls::group(&activity.events),
        &snapshot.organization,
    );
    insta::assert_json_snapshot!("external_accounts", evidence);
}

/// Each call of the window made twice: counted twice, with the same principals, statements and
/// earliest examples (the replay groups the events of one call and replays it once).
fn assert_each_call_counts_twice(
    snapshot: &headroom_schemas::Snapshot,
    planned: &[Planned<'_>],
    verdicts: &activity::Verdicts,
) {
    let activity = snapshot.activity.as_ref().unwrap();
    let mut twice = activity.clone();
    twice.events.extend(activity.events.iter().map(|e| {
        let mut again = e.clone();
        again.id = format!("{}-again", e.id);
        again.time = "2026-12-31T23:59:59Z".into();
        again
    }));
    let doubled = activity::evaluate(
        &twice,
        planned,
        &snapshot.organization,
        &Facts::from_snapshot(snapshot),
        &snapshot.meta.partition,
    )
    .unwrap();
    assert_eq!(doubled.events, 2 * verdicts.events);
    assert_eq!(
        doubled.checks.keys().collect::<Vec<_>>(),
        verdicts.checks.keys().collect::<Vec<_>>()
    );
    let mut compared = 0;
    for (check, accounts) in &verdicts.checks {
        assert_eq!(doubled.checks[check].len(), accounts.len(), "{check}");
        for (account, findings) in accounts {
            let again = &doubled.checks[check][account];
            for (once, twice) in [
                (&findings.denied, &again.denied),
                (&findings.undecidable, &again.undecidable),
            ] {
                assert_eq!(twice.count, 2 * once.count, "{check} {account}");
                assert_eq!(twice.failed_calls, 2 * once.failed_calls);
                assert_eq!(twice.first_seen, once.first_seen);
                if once.count > 0 {
                    assert_eq!(twice.last_seen.as_deref(), Some("2026-12-31T23:59:59Z"));
                }
                assert_eq!(twice.principals, once.principals);
                assert_eq!(twice.statements, once.statements);
                let doubled_reasons: BTreeMap<String, u64> = once
                    .reasons
                    .iter()
                    .map(|(r, n)| (r.clone(), 2 * n))
                    .collect();
                assert_eq!(twice.reasons, doubled_reasons);
                assert!(
                    twice.examples.starts_with(&once.examples),
                    "{check} {account}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 0, "the fixture has findings to compare");
}
