//! End to end against moto server: seed an organization through the AWS SDK, run the
//! `collect` binary against it, and check the snapshot.
//!
//! The test starts moto itself: `moto[server]==5.2.5` is installed with pip into a venv
//! under the target directory on first use (python3 with venv and pip is the only
//! prerequisite), started on a free 127.0.0.1 port through `test_environment/moto/
//! headroom_moto.py`, and stopped when the test ends.
//!
//! What moto 5.2.5 cannot model, and where it is covered instead:
//! - Lambda `ListFunctionUrlConfigs` (404) and OpenSearch Serverless access policies (500) are
//!   registered by the wrapper `headroom_moto.py`, which implements them as the API reference
//!   describes.
//! - moto never denies and never throttles: access denied, throttling, retries running out,
//!   empty pages with tokens and unknown account states are covered by `tests/mocks.rs`.
//! - moto returns trust policies as raw JSON where AWS URL-encodes them; decoding is covered
//!   by `tests/mocks.rs` (and is the identity on moto's raw JSON).
//! - moto's `DescribeRegions` returns regions of every partition (AWS returns those of the
//!   caller's), so the run over every default region also collects moto's `cn-*` and
//!   `us-gov-*` regions; moto reports its opt-in regions `not-opted-in`, which are skipped.
//!   Where AWS offers each service comes from moto's copy of the public SSM parameters.
//! - moto answers Organizations reads from a member account from an empty backend; the
//!   wrapper lets a registered delegated administrator read the organization (as AWS's
//!   delegation policy does), so delegated administrator mode runs end to end.
//! - IAM Identity Center (SSO) sign-in cannot run here: moto 5.2.5 has no `sso` portal API
//!   (`GetRoleCredentials`). `--profile` is tested with a credentials profile, the same path
//!   an SSO profile takes once `aws sso login` has cached its token.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::print_stderr,
    reason = "test code: seeding is long, failures panic, the wall time is printed"
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use headroom_schemas::inventory::ec2::ImageLookup;
use headroom_schemas::inventory::{AccountInventory, NotCollectedReason, RegionalInventory};
use headroom_schemas::org::AccountState;
use headroom_schemas::policies::TargetType;
use headroom_schemas::{AccountId, Snapshot};
use moto_common::{Moto, create_account, create_headroom_role, member_config, sdk_config};

mod moto_common;

const MANAGEMENT: &str = "123456789012";
const THIRD_PARTY: &str = "999999999999";
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const SECRET_VALUE: &str = "this-value-must-never-be-collected";

// ---------------------------------------------------------------------------------------
// Seeding through the AWS SDK
// ---------------------------------------------------------------------------------------

fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

/// What the seeded organization looks like, for the assertions.
#[derive(Debug, Default)]
struct Seeded {
    org_id: String,
    root_id: String,
    ous: BTreeMap<&'static str, String>,
    accounts: BTreeMap<&'static str, String>,
    scp_id: String,
    rcp_id: String,
    /// Per account and region: the image IDs the instances were launched from.
    images: BTreeMap<(String, &'static str), Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// A violation for every check, in both regions.
    Violating,
    /// Compliant for every check, in both regions.
    Compliant,
    /// Tagged out of the checks that have exemptions.
    Exempt,
    /// Nothing but the Headroom role.
    Empty,
}

fn policy(statements: &serde_json::Value) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn trust(principal: &str) -> String {
    policy(&serde_json::json!([{
        "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"
    }]))
}

async fn seed(url: &str) -> Seeded {
    use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
    let mgmt = sdk_config(
        url,
        Credentials::new("testing", "testing", None, None, "test"),
    )
    .await;
    let org = aws_sdk_organizations::Client::new(&mgmt);
    let mut seeded = Seeded::default();
    let created = org
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    seeded.org_id = created.organization().unwrap().id().unwrap().to_owned();
    let roots = org.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_owned();
    seeded.root_id.clone_from(&root);
    for t in [
        PolicyType::ServiceControlPolicy,
        PolicyType::ResourceControlPolicy,
    ] {
        org.enable_policy_type()
            .root_id(&root)
            .policy_type(t)
            .send()
            .await
            .unwrap();
    }
    let mut ou = async |name: &'static str, parent: &str| {
        let out = org
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap();
        let id = out.organizational_unit().unwrap().id().unwrap().to_owned();
        seeded.ous.insert(name, id.clone());
        id
    };
    let workloads = ou("Workloads", &root).await;
    let prod = ou("Prod", &workloads).await;
    let critical = ou("Critical", &prod).await;
    let security_ou = ou("Security", &root).await;

    let mut accounts = BTreeMap::new();
    for (name, parent) in [
        ("security-tooling", Some(&security_ou)),
        ("prod-app", Some(&prod)),
        ("critical-db", Some(&critical)),
        ("dev-sandbox", None),
        ("closed-legacy", Some(&workloads)),
        ("skipped-lab", Some(&workloads)),
    ] {
        let id = create_account(&org, name).await;
        if let Some(parent) = parent {
            org.move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(parent)
                .send()
                .await
                .unwrap();
        }
        accounts.insert(name, id);
    }
    org.tag_resource()
        .resource_id(&accounts["prod-app"])
        .tags(
            aws_sdk_organizations::types::Tag::builder()
                .key("Environment")
                .value("prod")
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_organizations::types::Tag::builder()
                .key("Owner")
                .value("team-app")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    org.close_account()
        .account_id(&accounts["closed-legacy"])
        .send()
        .await
        .unwrap();

    let scp = org
        .create_policy()
        .name("DenyLeaveOrganization")
        .description("no leaving")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(policy(&serde_json::json!([{
            "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"
        }])))
        .send()
        .await
        .unwrap();
    seeded.scp_id = scp
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    org.attach_policy()
        .policy_id(&seeded.scp_id)
        .target_id(&workloads)
        .send()
        .await
        .unwrap();
    let rcp = org
        .create_policy()
        .name("EnforceTls")
        .description("tls only")
        .r#type(PolicyType::ResourceControlPolicy)
        .content(policy(&serde_json::json!([{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }])))
        .send()
        .await
        .unwrap();
    seeded.rcp_id = rcp
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    org.attach_policy()
        .policy_id(&seeded.rcp_id)
        .target_id(&prod)
        .send()
        .await
        .unwrap();

    let security = accounts["security-tooling"].clone();
    let org_id = seeded.org_id.clone();
    for (name, profile) in [
        ("security-tooling", Profile::Empty),
        ("prod-app", Profile::Violating),
        ("critical-db", Profile::Compliant),
        ("dev-sandbox", Profile::Exempt),
    ] {
        let id = accounts[name].clone();
        let config = member_config(url, &mgmt, &id).await;
        seed_account(&config, &id, &security, &org_id, profile, &mut seeded).await;
    }
    // The security account may read the organization as a delegated administrator (see
    // `headroom_moto.py` for what moto lacks there).
    org.enable_aws_service_access()
        .service_principal("ssm.amazonaws.com")
        .send()
        .await
        .unwrap();
    org.register_delegated_administrator()
        .account_id(&security)
        .service_principal("ssm.amazonaws.com")
        .send()
        .await
        .unwrap();
    seeded.accounts = accounts;
    seeded
}

async fn seed_account(
    config: &SdkConfig,
    id: &str,
    security: &str,
    org_id: &str,
    profile: Profile,
    seeded: &mut Seeded,
) {
    create_headroom_role(config, security).await;
    let iam = aws_sdk_iam::Client::new(config);
    if profile == Profile::Empty {
        return;
    }
    let third = format!("arn:aws:iam::{THIRD_PARTY}:root");
    let own = format!("arn:aws:iam::{id}:root");
    let org_only = serde_json::json!({"StringEquals": {"aws:PrincipalOrgID": org_id}});

    // IAM (global)
    if profile != Profile::Exempt {
        iam.create_role()
            .role_name("lambda-exec")
            .assume_role_policy_document(policy(&serde_json::json!([{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"
            }])))
            .send()
            .await
            .unwrap();
    }
    match profile {
        Profile::Violating => {
            iam.create_user()
                .user_name("deploy-bot")
                .path("/service/")
                .send()
                .await
                .unwrap();
            iam.create_saml_provider()
                .name("CustomIdP")
                .saml_metadata_document("<EntityDescriptor>custom</EntityDescriptor>".repeat(30))
                .send()
                .await
                .unwrap();
            iam.create_role()
                .role_name("partner-access")
                .assume_role_policy_document(trust(&third))
                .tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key("Team")
                        .value("partners")
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        Profile::Compliant => {
            iam.create_saml_provider()
                .name("AWSSSO_0123456789abcdef_DO_NOT_DELETE")
                .saml_metadata_document("<EntityDescriptor>sso</EntityDescriptor>".repeat(30))
                .send()
                .await
                .unwrap();
            iam.create_role()
                .role_name("internal-access")
                .assume_role_policy_document(trust(&own))
                .send()
                .await
                .unwrap();
        }
        _ => {}
    }

    // S3 (global; one bucket in each region)
    for region in REGIONS {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&in_region(config, region))
                .force_path_style(true)
                .build(),
        );
        let bucket = format!("{id}-{region}-data");
        let mut create = s3.create_bucket().bucket(&bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create.send().await.unwrap();
        let statement = match profile {
            Profile::Violating => serde_json::json!([{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*")
            }]),
            _ => serde_json::json!([{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*"), "Condition": org_only
            }]),
        };
        s3.put_bucket_policy()
            .bucket(&bucket)
            .policy(policy(&statement))
            .send()
            .await
            .unwrap();
        if profile == Profile::Exempt {
            s3.put_bucket_tagging()
                .bucket(&bucket)
                .tagging(
                    aws_sdk_s3::types::Tagging::builder()
                        .tag_set(
                            aws_sdk_s3::types::Tag::builder()
                                .key("dp:exclude:identity")
                                .value("true")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
    }

    for region in REGIONS {
        let rc = in_region(config, region);
        seed_ec2(&rc, id, region, profile, seeded).await;
        if profile == Profile::Exempt {
            continue;
        }
        let violating = profile == Profile::Violating;
        let allowed = if violating {
            third.as_str()
        } else {
            own.as_str()
        };

        let eks = aws_sdk_eks::Client::new(&rc);
        let mut cluster = eks
            .create_cluster()
            .name(format!("cluster-{region}"))
            .role_arn(format!("arn:aws:iam::{id}:role/eks"))
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .subnet_ids("subnet-12345678")
                    .build(),
            );
        if !violating {
            cluster = cluster.tags("PavedRoad", "true");
        }
        cluster.send().await.unwrap();

        let lambda = aws_sdk_lambda::Client::new(&rc);
        let name = format!("api-{region}");
        lambda
            .create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Python312)
            .role(format!("arn:aws:iam::{id}:role/lambda-exec"))
            .handler("index.handler")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    // An empty zip archive: its end-of-central-directory record.
                    .zip_file(aws_smithy_types::Blob::new(
                        [b"PK\x05\x06".as_slice(), &[0u8; 18]].concat(),
                    ))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        lambda
            .create_function_url_config()
            .function_name(&name)
            .auth_type(if violating {
                aws_sdk_lambda::types::FunctionUrlAuthType::None
            } else {
                aws_sdk_lambda::types::FunctionUrlAuthType::AwsIam
            })
            .send()
            .await
            .unwrap();

        let rds = aws_sdk_rds::Client::new(&rc);
        rds.create_db_instance()
            .db_instance_identifier(format!("db-{region}"))
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("admin")
            .master_user_password("not-a-real-password")
            .storage_encrypted(!violating)
            .send()
            .await
            .unwrap();
        rds.create_db_cluster()
            .db_cluster_identifier(format!("cluster-{region}"))
            .engine("aurora-postgresql")
            .master_username("admin")
            .master_user_password("not-a-real-password")
            .storage_encrypted(!violating)
            .send()
            .await
            .unwrap();

        let ecr = aws_sdk_ecr::Client::new(&rc);
        let repo = format!("images-{region}");
        ecr.create_repository()
            .repository_name(&repo)
            .send()
            .await
            .unwrap();
        ecr.set_repository_policy()
            .repository_name(&repo)
            .policy_text(policy(&serde_json::json!([{
                "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": allowed},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
            }])))
            .send()
            .await
            .unwrap();

        let kms = aws_sdk_kms::Client::new(&rc);
        kms.create_key()
            .policy(policy(&serde_json::json!([
                {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": own}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "use", "Effect": "Allow", "Principal": {"AWS": allowed}, "Action": "kms:Decrypt", "Resource": "*"}
            ])))
            .tags(aws_sdk_kms::types::Tag::builder().tag_key("Team").tag_value("data").build().unwrap())
            .send()
            .await
            .unwrap();

        let secrets = aws_sdk_secretsmanager::Client::new(&rc);
        let secret = secrets
            .create_secret()
            .name(format!("token-{region}"))
            .secret_string(SECRET_VALUE)
            .tags(
                aws_sdk_secretsmanager::types::Tag::builder()
                    .key("Team")
                    .value("app")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        if violating {
            secrets
                .put_resource_policy()
                .secret_id(secret.arn().unwrap())
                .resource_policy(policy(&serde_json::json!([{
                    "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"
                }])))
                .send()
                .await
                .unwrap();
        }

        let sqs = aws_sdk_sqs::Client::new(&rc);
        let mut queue = sqs
            .create_queue()
            .queue_name(format!("jobs-{region}"))
            .tags("Team", "app");
        if violating {
            queue = queue.attributes(
                aws_sdk_sqs::types::QueueAttributeName::Policy,
                policy(&serde_json::json!([{
                    "Effect": "Allow", "Principal": {"AWS": third}, "Action": "sqs:SendMessage", "Resource": "*"
                }])),
            );
        }
        queue.send().await.unwrap();

        let aoss = aws_sdk_opensearchserverless::Client::new(&rc);
        aoss.create_access_policy()
            .name(format!("search-{region}"))
            .r#type(aws_sdk_opensearchserverless::types::AccessPolicyType::Data)
            .policy(
                serde_json::json!([{
                    "Rules": [{"ResourceType": "collection", "Resource": ["collection/logs"], "Permission": ["aoss:*"]}],
                    "Principal": [allowed]
                }])
                .to_string(),
            )
            .send()
            .await
            .unwrap();
    }
}

async fn seed_ec2(
    config: &SdkConfig,
    id: &str,
    region: &'static str,
    profile: Profile,
    seeded: &mut Seeded,
) {
    use aws_sdk_ec2::types::{
        HttpTokensState, InstanceMetadataOptionsRequest, InstanceType, ResourceType, Tag,
        TagSpecification,
    };
    let ec2 = aws_sdk_ec2::Client::new(config);
    let amazon = ec2.describe_images().owners("amazon").send().await.unwrap();
    let mut amazon_ids: Vec<&str> = amazon
        .images()
        .iter()
        .filter_map(|i| i.image_id())
        .collect();
    amazon_ids.sort_unstable();
    let amazon_image = amazon_ids[0].to_owned();
    // Instances in the default subnet get a public IP unless the launch says otherwise.
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut subnet_ids: Vec<&str> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id())
        .collect();
    subnet_ids.sort_unstable();
    let subnet = subnet_ids[0].to_owned();
    let public = profile == Profile::Violating;
    let run = async |image: &str, tokens: HttpTokensState, hops: i32, tags: &[(&str, &str)]| {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        let spec = (!tags.is_empty()).then(|| vec![spec.build()]);
        let out = ec2
            .run_instances()
            .image_id(image)
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .metadata_options(
                InstanceMetadataOptionsRequest::builder()
                    .http_tokens(tokens)
                    .http_put_response_hop_limit(hops)
                    .build(),
            )
            .set_tag_specifications(spec)
            .network_interfaces(
                aws_sdk_ec2::types::InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&subnet)
                    .associate_public_ip_address(public)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.instances()[0].instance_id().unwrap().to_owned()
    };
    let mut images = vec![amazon_image.clone()];
    match profile {
        Profile::Violating => {
            let builder = run(
                &amazon_image,
                HttpTokensState::Optional,
                2,
                &[("Name", "web")],
            )
            .await;
            if region == "eu-west-1" {
                // An image owned by the account, and one deregistered after launch.
                let own = ec2
                    .create_image()
                    .instance_id(&builder)
                    .name("own")
                    .send()
                    .await
                    .unwrap();
                let own = own.image_id().unwrap().to_owned();
                run(&own, HttpTokensState::Optional, 1, &[]).await;
                let gone = ec2
                    .create_image()
                    .instance_id(&builder)
                    .name("gone")
                    .send()
                    .await
                    .unwrap();
                let gone = gone.image_id().unwrap().to_owned();
                run(&gone, HttpTokensState::Optional, 1, &[]).await;
                ec2.deregister_image().image_id(&gone).send().await.unwrap();
                images.extend([own, gone]);
            }
        }
        Profile::Compliant => {
            run(
                &amazon_image,
                HttpTokensState::Required,
                1,
                &[("Name", "db-proxy")],
            )
            .await;
        }
        Profile::Exempt => {
            run(
                &amazon_image,
                HttpTokensState::Optional,
                1,
                &[("ExemptFromIMDSv2", "true")],
            )
            .await;
        }
        Profile::Empty => {}
    }
    seeded.images.insert((id.to_owned(), region), images);
}

// ---------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------

struct Run {
    snapshot: Snapshot,
    json: Vec<u8>,
    stderr: String,
    seconds: f64,
}

/// How one run of `collect` differs from the default: the config's `regions` line (`None`
/// for every region enabled in each account) and extra config lines, and the environment.
#[derive(Debug, Clone, Copy)]
struct Variant<'a> {
    regions: Option<&'a str>,
    config: &'a str,
    /// Environment variables set (`Some`) or removed (`None`).
    env: &'a [(&'a str, Option<&'a str>)],
}

const CONFIGURED: Variant<'static> = Variant {
    regions: Some("[us-east-1, eu-west-1]"),
    config: "",
    env: &[],
};

fn run_collect(
    moto: &Moto,
    dir: &Path,
    seeded: &Seeded,
    name: &str,
    extra: &[&str],
    exit_code: i32,
) -> Run {
    run_variant(moto, dir, seeded, name, extra, exit_code, CONFIGURED)
}

fn run_variant(
    moto: &Moto,
    dir: &Path,
    seeded: &Seeded,
    name: &str,
    extra: &[&str],
    exit_code: i32,
    variant: Variant<'_>,
) -> Run {
    let config = dir.join(format!("{name}.yaml"));
    let regions = variant
        .regions
        .map(|r| format!("regions: {r}\n"))
        .unwrap_or_default();
    fs::write(
        &config,
        format!(
            "management_account_id: '{MANAGEMENT}'\nsecurity_analysis_account_id: '{}'\nskip_account_ids: ['{}']\nuse_account_name_from_tags: false\n{regions}{}",
            seeded.accounts["security-tooling"],
            seeded.accounts["skipped-lab"],
            variant.config,
        ),
    )
    .unwrap();
    fs::copy(&config, dir.join("headroom.yaml")).unwrap();
    let out = dir.join(name);
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_collect"));
    command
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&out)
        .args(extra)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(variant.env.iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    for (key, value) in variant.env {
        if value.is_none() {
            command.env_remove(key);
        }
    }
    let output = command.output().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(exit_code),
        "collect exit code:\n{stderr}"
    );
    assert!(output.stdout.is_empty(), "collect writes nothing on stdout");
    let bytes = fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], &[0x28, 0xB5, 0x2F, 0xFD], "zstd-compressed");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "snapshot mode");
    }
    let snapshot = headroom_schemas::read(&bytes).unwrap();
    let mut stable = snapshot.clone();
    stable.meta.collected_at = String::new();
    Run {
        json: headroom_schemas::to_json(&stable),
        snapshot,
        stderr,
        seconds,
    }
}

fn collected<'a>(
    snapshot: &'a Snapshot,
    id: &str,
) -> (
    &'a headroom_schemas::inventory::GlobalInventory,
    &'a BTreeMap<String, RegionalInventory>,
) {
    match &snapshot.accounts[id] {
        AccountInventory::Collected {
            global,
            regions,
            role_arn,
            ..
        } => {
            assert_eq!(role_arn, &format!("arn:aws:iam::{id}:role/Headroom"));
            (global, regions)
        }
        other => panic!("account {id} not collected: {other:?}"),
    }
}

#[test]
fn collect_snapshots_a_seeded_moto_organization() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seeded = runtime.block_on(seed(&moto.url));
    let dir = tempfile::tempdir().unwrap();

    let first = run_collect(
        &moto,
        dir.path(),
        &seeded,
        "one.snapshot.json.zst",
        &["--concurrency", "1"],
        0,
    );
    let second = run_collect(
        &moto,
        dir.path(),
        &seeded,
        "default.snapshot.json.zst",
        &[],
        0,
    );
    eprintln!(
        "collect wall time on the seeded org: {:.2}s at --concurrency 1, {:.2}s at the default",
        first.seconds, second.seconds
    );
    assert!(
        first.json == second.json,
        "re-collecting the same org must give the same snapshot apart from collected_at"
    );
    let summary = second.stderr.lines().last().unwrap();
    assert!(
        summary.starts_with("collected 4 of 7 accounts with 0 gap(s)"),
        "{}",
        second.stderr
    );

    // Kept for inspection after a run.
    fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-last-snapshot.json"),
        &first.json,
    )
    .unwrap();
    let snap = &first.snapshot;
    let text = String::from_utf8(first.json.clone()).unwrap();
    assert!(
        !text.contains(SECRET_VALUE),
        "secret values are never collected"
    );
    assert!(!text.contains("not-a-real-password"));
    check_meta_and_org(snap, &seeded);
    check_inventories(snap, &seeded);
    check_analysis(snap, &seeded, &dir.path().join("headroom.yaml"));

    check_profile_json_and_delegated_admin(&moto, dir.path(), &seeded, &second);
    let everywhere = run_variant(
        &moto,
        dir.path(),
        &seeded,
        "all-regions.snapshot.json.zst",
        &[],
        0,
        EVERY_REGION,
    );
    eprintln!(
        "collect wall time over every default region: {:.2}s",
        everywhere.seconds
    );
    check_every_region(&everywhere, &seeded);

    // A permission gap, end to end: the wrapper denies `aoss:GetAccessPolicy` on one policy.
    let sandbox = seeded.accounts["dev-sandbox"].clone();
    runtime.block_on(add_denied_policy(&moto.url, &sandbox));
    let partial = run_collect(
        &moto,
        dir.path(),
        &seeded,
        "partial.snapshot.json.zst",
        &[],
        1,
    );
    check_gap(&partial, &sandbox);
    let accepted = run_collect(
        &moto,
        dir.path(),
        &seeded,
        "accepted.snapshot.json.zst",
        &["--allow-partial"],
        0,
    );
    assert!(
        accepted.json == partial.json,
        "--allow-partial changes the exit code only"
    );
    check_gap_placement(&accepted.snapshot, &seeded);

    // A real failure still fails a run over every default region. `-q` prints the error only.
    let failed = run_variant(
        &moto,
        dir.path(),
        &seeded,
        "all-regions-denied.snapshot.json.zst",
        &["-q"],
        1,
        EVERY_REGION,
    );
    assert_eq!(failed.stderr.lines().count(), 1, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .starts_with("error: collection incomplete: 1 gap(s) in 1 account(s)"),
        "{}",
        failed.stderr
    );
}

/// No `regions` in the config: every region each account has enabled.
const EVERY_REGION: Variant<'static> = Variant {
    regions: None,
    config: "",
    env: &[],
};

/// Every default region: a service AWS does not offer in some of them is `not_offered`, the
/// opt-in regions moto reports not enabled are skipped; neither is a gap, so the run exits 0.
fn check_every_region(run: &Run, seeded: &Seeded) {
    use headroom_schemas::AvailabilitySource;
    use headroom_schemas::status::Collected;
    let snap = &run.snapshot;
    let summary = run.stderr.lines().last().unwrap();
    assert!(
        summary.starts_with("collected 4 of 7 accounts with 0 gap(s), ")
            && summary.contains(" service-region(s) not offered by AWS, ")
            && summary.contains(" opt-in region(s) not enabled: "),
        "{}",
        run.stderr
    );
    let availability = snap.meta.service_availability.as_ref().unwrap();
    assert_eq!(
        availability.source,
        AvailabilitySource::Ssm,
        "read from SSM"
    );
    assert!(!availability.services["aoss"].contains("af-south-1"));
    assert!(availability.services["ec2"].contains("af-south-1"));
    assert!(snap.meta.regions.is_empty());
    let (_, regions) = collected(snap, &seeded.accounts["prod-app"]);
    assert!(regions.len() > REGIONS.len(), "{:?}", regions.keys());
    assert_eq!(regions["af-south-1"].aoss, Collected::NotOffered);
    assert!(regions["af-south-1"].ec2.is_complete());
    assert!(regions["us-east-1"].aoss.is_complete());
    let not_enabled = snap.accounts[seeded.accounts["prod-app"].as_str()].regions_not_enabled();
    assert!(
        not_enabled.iter().any(|r| r == "ap-east-1"),
        "{not_enabled:?}"
    );
    assert!(!regions.contains_key("ap-east-1"));
    for (id, inventory) in &snap.accounts {
        assert!(inventory.gaps().is_empty(), "{id}: {:?}", inventory.gaps());
    }
    // analyze shows the known absences, and they block nothing.
    let overview =
        headroom_analyzer::overview::render(snap, &headroom_analyzer::Settings::default());
    assert!(
        overview.contains("aoss not offered in af-south-1: 4 accounts"),
        "{overview}"
    );
    assert!(overview.contains("Opt-in regions not enabled (skipped, not gaps)"));
    assert!(overview.contains("collection gaps: 0"));
}

/// `--profile` (credentials and region from a named profile, none in the environment),
/// `--log-format json` and delegated administrator mode give the same snapshot.
fn check_profile_json_and_delegated_admin(
    moto: &Moto,
    dir: &Path,
    seeded: &Seeded,
    reference: &Run,
) {
    let aws_config = dir.join("aws-config");
    let aws_credentials = dir.join("aws-credentials");
    fs::write(
        &aws_config,
        "[profile headroom-audit]\nregion = us-east-1\n",
    )
    .unwrap();
    fs::write(
        &aws_credentials,
        "[headroom-audit]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let config_path = aws_config.to_str().unwrap();
    let credentials_path = aws_credentials.to_str().unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", None),
        ("AWS_SECRET_ACCESS_KEY", None),
        ("AWS_REGION", None),
        ("AWS_CONFIG_FILE", Some(config_path)),
        ("AWS_SHARED_CREDENTIALS_FILE", Some(credentials_path)),
    ];
    let profiled = run_variant(
        moto,
        dir,
        seeded,
        "profile.snapshot.json.zst",
        &["--profile", "headroom-audit", "--log-format", "json"],
        0,
        Variant {
            env: &env,
            ..CONFIGURED
        },
    );
    assert!(profiled.json == reference.json, "--profile: same snapshot");
    let events: Vec<serde_json::Value> = profiled
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e["time"].is_string() && e["level"].is_string())
    );
    let done: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "account_done")
        .collect();
    assert_eq!(done.len(), 4);
    assert!(
        done.iter()
            .any(|e| e["name"] == "prod-app" && e["outcome"] == "complete")
    );
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary", "{summary}");
    assert_eq!(
        (summary["collected"].as_u64(), summary["gaps"].as_u64()),
        (Some(4), Some(0))
    );

    let security = &seeded.accounts["security-tooling"];
    let delegated = run_collect(
        moto,
        dir,
        seeded,
        "delegated.snapshot.json.zst",
        &["--delegated-admin-account-id", security],
        0,
    );
    assert!(
        delegated.stderr.contains(&format!(
            "reading the organization as `arn:aws:iam::{security}:role/OrgAndAccountInfoReader`"
        )),
        "{}",
        delegated.stderr
    );
    assert!(
        delegated.json == reference.json,
        "delegated admin: same snapshot"
    );
}

async fn add_denied_policy(url: &str, account: &str) {
    let mgmt = sdk_config(
        url,
        Credentials::new("testing", "testing", None, None, "test"),
    )
    .await;
    let config = member_config(url, &mgmt, account).await;
    aws_sdk_opensearchserverless::Client::new(&config)
        .create_access_policy()
        .name("headroom-denied-audit")
        .r#type(aws_sdk_opensearchserverless::types::AccessPolicyType::Data)
        .policy(r#"[{"Rules":[],"Principal":["arn:aws:iam::999999999999:root"]}]"#)
        .send()
        .await
        .unwrap();
}

fn check_gap(run: &Run, sandbox: &str) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines.last().unwrap().starts_with(
            "error: collection incomplete: 1 gap(s) in 1 account(s), listed above and recorded in the snapshot"
        ),
        "{}",
        run.stderr
    );
    let gap = format!(
        "warning: not collected: aoss:GetAccessPolicy failed with AccessDeniedException in 1 account x 1 region; e.g. {sandbox} (dev-sandbox), us-east-1: User is not authorized"
    );
    assert!(lines.iter().any(|l| l.starts_with(&gap)), "{}", run.stderr);
    let AccountInventory::Collected { regions, .. } = &run.snapshot.accounts[sandbox] else {
        panic!("dev-sandbox must still be collected");
    };
    let error = regions["us-east-1"].aoss.error().unwrap();
    assert_eq!(error.operation, "aoss:GetAccessPolicy");
    assert_eq!(error.code.as_deref(), Some("AccessDeniedException"));
    // Everything else is still there: one gap never loses the rest.
    let gaps: Vec<_> = run
        .snapshot
        .accounts
        .values()
        .flat_map(AccountInventory::gaps)
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(regions["us-east-1"].ec2.is_complete() && regions["eu-west-1"].aoss.is_complete());
}

/// The account with the gap is never covered by the check that needs the missing data.
fn check_gap_placement(snap: &Snapshot, seeded: &Seeded) {
    let config = headroom_schemas::config::Config::default();
    let settings = headroom_analyzer::Settings::from_config(&config);
    let outputs = headroom_analyzer::analyze(snap, &settings).unwrap();
    let summary: serde_json::Value = serde_json::from_slice(
        &outputs.files
            [&headroom_analyzer::OutputFile::new(headroom_analyzer::Area::Out, "summary.json")],
    )
    .unwrap();
    let entry = summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_id"] == "deny_aoss_third_party_access")
        .unwrap();
    let sandbox = seeded.accounts["dev-sandbox"].as_str();
    let covered: Vec<&str> = entry["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["covered_accounts"].as_array().unwrap())
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(!covered.contains(&sandbox), "{entry:#}");
    assert!(
        covered.contains(&seeded.accounts["critical-db"].as_str()),
        "{entry:#}"
    );
}

fn check_meta_and_org(snap: &Snapshot, seeded: &Seeded) {
    let meta = &snap.meta;
    assert_eq!(meta.partition, "aws");
    assert_eq!(meta.caller_identity.account.as_str(), MANAGEMENT);
    assert_eq!(meta.regions, REGIONS);
    assert_eq!(
        meta.service_availability.as_ref().unwrap().source,
        headroom_schemas::AvailabilitySource::Ssm
    );
    assert!(meta.config_digest.starts_with("sha256:") && meta.config_digest.len() == 71);

    let org = &snap.organization;
    assert_eq!(org.id, seeded.org_id);
    assert_eq!(org.management_account_id.as_str(), MANAGEMENT);
    assert_eq!(org.feature_set, "ALL");
    assert_eq!(org.roots.len(), 1);
    assert_eq!(org.roots[0].id, seeded.root_id);
    let types: Vec<_> = org.roots[0]
        .policy_types
        .iter()
        .map(|t| (t.policy_type.as_str(), t.status.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("RESOURCE_CONTROL_POLICY", "ENABLED"),
            ("SERVICE_CONTROL_POLICY", "ENABLED")
        ]
    );

    // The OU tree, three deep.
    let parent = |name: &str| {
        org.organizational_units[&seeded.ous[name]]
            .parent_id
            .clone()
    };
    assert_eq!(org.organizational_units.len(), 4);
    assert_eq!(parent("Workloads"), seeded.root_id);
    assert_eq!(parent("Prod"), seeded.ous["Workloads"]);
    assert_eq!(parent("Critical"), seeded.ous["Prod"]);
    assert_eq!(parent("Security"), seeded.root_id);
    assert_eq!(
        org.ou_path(&seeded.ous["Critical"]),
        ["Workloads", "Prod", "Critical"]
    );

    // Every account, every state, with its parent and tags.
    assert_eq!(org.accounts.len(), 7);
    let account = |name: &str| &org.accounts[seeded.accounts[name].as_str()];
    assert_eq!(account("prod-app").parent_id, seeded.ous["Prod"]);
    assert_eq!(account("critical-db").parent_id, seeded.ous["Critical"]);
    assert_eq!(account("dev-sandbox").parent_id, seeded.root_id);
    assert_eq!(account("prod-app").name, "prod-app");
    assert_eq!(account("prod-app").email, "prod-app@example.com");
    assert_eq!(
        account("prod-app").tags,
        headroom_schemas::Tags::from([
            ("Environment".into(), "prod".into()),
            ("Owner".into(), "team-app".into())
        ])
    );
    assert_eq!(account("closed-legacy").state, AccountState::Suspended);
    assert_eq!(org.accounts[MANAGEMENT].state, AccountState::Active);
    assert!(
        account("prod-app")
            .joined_timestamp
            .as_deref()
            .unwrap()
            .ends_with('Z')
    );

    // Existing policies with their documents and targets.
    let scp = &snap.policies.scps[&seeded.scp_id];
    assert_eq!(scp.name, "DenyLeaveOrganization");
    assert!(!scp.aws_managed);
    assert!(scp.content.contains("organizations:LeaveOrganization"));
    assert_eq!(scp.targets.len(), 1);
    assert_eq!(scp.targets[0].target_id, seeded.ous["Workloads"]);
    assert_eq!(scp.targets[0].target_type, TargetType::OrganizationalUnit);
    assert!(
        snap.policies
            .scps
            .values()
            .any(|p| p.aws_managed && p.name == "FullAWSAccess")
    );
    let rcp = &snap.policies.rcps[&seeded.rcp_id];
    assert_eq!(rcp.targets[0].target_id, seeded.ous["Prod"]);
    assert!(
        snap.policies
            .rcps
            .values()
            .any(|p| p.aws_managed && p.name == "RCPFullAWSAccess")
    );

    // One entry per account, each with its reason.
    assert_eq!(snap.accounts.len(), 7);
    let entry = |name: &str| &snap.accounts[seeded.accounts[name].as_str()];
    assert_eq!(
        snap.accounts[MANAGEMENT],
        AccountInventory::NotCollected {
            reason: NotCollectedReason::ManagementAccount
        }
    );
    assert_eq!(
        *entry("skipped-lab"),
        AccountInventory::NotCollected {
            reason: NotCollectedReason::Skipped
        }
    );
    assert_eq!(
        *entry("closed-legacy"),
        AccountInventory::NotCollected {
            reason: NotCollectedReason::Inactive
        }
    );
    for (id, inventory) in &snap.accounts {
        assert!(
            inventory.gaps().is_empty(),
            "account {id} has gaps: {:?}",
            inventory.gaps()
        );
    }
}

fn check_inventories(snap: &Snapshot, seeded: &Seeded) {
    let id = |name: &str| AccountId::new(seeded.accounts[name].clone()).unwrap();

    // The security account: only its Headroom role (and the role Organizations creates in
    // every account it creates).
    let (global, regions) = collected(snap, id("security-tooling").as_str());
    let iam = global.iam.data().unwrap();
    assert_eq!(
        iam.roles
            .iter()
            .map(|r| r.role_name.as_str())
            .collect::<Vec<_>>(),
        ["Headroom", "OrganizationAccountAccessRole"]
    );
    assert_eq!(
        regions.keys().map(String::as_str).collect::<Vec<_>>(),
        REGIONS
    );
    assert!(
        regions
            .values()
            .all(|r| r.ec2.data().unwrap().instances.is_empty())
    );

    // prod-app: a violation of every check, in both regions.
    let prod = id("prod-app");
    let (global, regions) = collected(snap, prod.as_str());
    let iam = global.iam.data().unwrap();
    assert_eq!(iam.users.len(), 1);
    assert_eq!(iam.users[0].path, "/service/");
    assert_eq!(iam.saml_providers.len(), 1);
    assert!(
        iam.saml_providers[0]
            .arn
            .ends_with(":saml-provider/CustomIdP")
    );
    let partner = iam
        .roles
        .iter()
        .find(|r| r.role_name == "partner-access")
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(partner.assume_role_policy_document.as_deref().unwrap()).unwrap();
    assert_eq!(
        doc["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{THIRD_PARTY}:root")
    );
    assert_eq!(partner.tags["Team"], "partners");
    let buckets = &global.s3.data().unwrap().buckets;
    assert_eq!(buckets.len(), 2);
    assert!(
        buckets
            .iter()
            .all(|b| b.policy.as_deref().unwrap().contains("\"Principal\":\"*\""))
    );
    for region in REGIONS {
        let r = &regions[region];
        let ec2 = r.ec2.data().unwrap();
        let optional = ec2
            .instances
            .iter()
            .filter(|i| {
                i.metadata_options.as_ref().unwrap().http_tokens.as_deref() == Some("optional")
            })
            .count();
        assert_eq!(
            optional,
            ec2.instances.len(),
            "{region}: every instance allows IMDSv1"
        );
        let web = ec2
            .instances
            .iter()
            .find(|i| i.tags.get("Name").is_some_and(|n| n == "web"))
            .unwrap();
        assert_eq!(
            web.metadata_options
                .as_ref()
                .unwrap()
                .http_put_response_hop_limit,
            Some(2)
        );
        let images = &seeded.images[&(prod.as_str().to_owned(), region)];
        assert!(
            matches!(&ec2.images[&images[0]], ImageLookup::Found { image_owner_alias: Some(a), .. } if a == "amazon"),
            "{region}: {:?}",
            ec2.images
        );
        if region == "eu-west-1" {
            assert_eq!(ec2.instances.len(), 3);
            assert!(
                matches!(&ec2.images[&images[1]], ImageLookup::Found { owner_id: Some(o), .. } if *o == prod.as_str()),
                "{:?}",
                ec2.images
            );
            // moto answers a deregistered image with an empty result (AWS may instead send
            // `InvalidAMIID.NotFound`, recorded as `deregistered`: see tests/mocks.rs).
            assert_eq!(ec2.images[&images[2]], ImageLookup::NotVisible);
        }
        let clusters = &r.eks.data().unwrap().clusters;
        assert_eq!(clusters.len(), 1);
        assert!(!clusters[0].tags.contains_key("PavedRoad"));
        let functions = &r.lambda.data().unwrap().functions;
        assert_eq!(functions.len(), 1);
        assert_eq!(functions[0].url_configs.len(), 1);
        assert_eq!(functions[0].url_configs[0].auth_type, "NONE");
        let rds = r.rds.data().unwrap();
        assert_eq!(rds.db_instances[0].storage_encrypted, Some(false));
        assert_eq!(rds.db_clusters[0].storage_encrypted, Some(false));
        let repo = &r.ecr.data().unwrap().repositories[0];
        assert!(repo.policy_text.as_deref().unwrap().contains(THIRD_PARTY));
        let key = &r.kms.data().unwrap().keys[0];
        assert_eq!(key.key_manager, "CUSTOMER");
        assert!(key.policy.as_deref().unwrap().contains(THIRD_PARTY));
        assert_eq!(key.tags["Team"], "data");
        let secret = &r.secretsmanager.data().unwrap().secrets[0];
        assert!(
            secret
                .resource_policy
                .as_deref()
                .unwrap()
                .contains("secretsmanager:GetSecretValue")
        );
        assert_eq!(secret.tags["Team"], "app");
        let queue = &r.sqs.data().unwrap().queues[0];
        assert!(queue.queue_url.contains(prod.as_str()));
        assert!(
            queue
                .queue_arn
                .ends_with(&format!(":{}:jobs-{region}", prod.as_str()))
        );
        assert!(queue.policy.as_deref().unwrap().contains(THIRD_PARTY));
        assert_eq!(queue.tags["Team"], "app");
        let aoss = &r.aoss.data().unwrap().access_policies[0];
        assert_eq!(aoss.name, format!("search-{region}"));
        let policy: serde_json::Value = serde_json::from_str(&aoss.policy).unwrap();
        assert_eq!(
            policy[0]["Principal"][0],
            format!("arn:aws:iam::{THIRD_PARTY}:root")
        );
    }

    // critical-db: compliant everywhere.
    let (global, regions) = collected(snap, id("critical-db").as_str());
    let iam = global.iam.data().unwrap();
    assert!(iam.users.is_empty());
    assert!(iam.saml_providers[0].arn.contains(":saml-provider/AWSSSO_"));
    assert!(
        global.s3.data().unwrap().buckets.iter().all(|b| b
            .policy
            .as_deref()
            .unwrap()
            .contains("aws:PrincipalOrgID"))
    );
    for region in REGIONS {
        let r = &regions[region];
        let ec2 = r.ec2.data().unwrap();
        assert_eq!(ec2.instances.len(), 1);
        let options = ec2.instances[0].metadata_options.as_ref().unwrap();
        assert_eq!(
            (
                options.http_tokens.as_deref(),
                options.http_put_response_hop_limit
            ),
            (Some("required"), Some(1))
        );
        assert_eq!(r.eks.data().unwrap().clusters[0].tags["PavedRoad"], "true");
        assert_eq!(
            r.lambda.data().unwrap().functions[0].url_configs[0].auth_type,
            "AWS_IAM"
        );
        assert_eq!(
            r.rds.data().unwrap().db_instances[0].storage_encrypted,
            Some(true)
        );
        assert_eq!(
            r.secretsmanager.data().unwrap().secrets[0].resource_policy,
            None
        );
        assert_eq!(r.sqs.data().unwrap().queues[0].policy, None);
    }

    // dev-sandbox: exemption tags are collected as they are.
    let (global, regions) = collected(snap, id("dev-sandbox").as_str());
    assert!(
        global
            .s3
            .data()
            .unwrap()
            .buckets
            .iter()
            .all(|b| b.tags["dp:exclude:identity"] == "true")
    );
    for region in REGIONS {
        let instance = &regions[region].ec2.data().unwrap().instances[0];
        assert_eq!(instance.tags["ExemptFromIMDSv2"], "true");
    }
}

// ---------------------------------------------------------------------------------------
// Then analyze: the verdicts the seed intends, per check and account, and the placements
// ---------------------------------------------------------------------------------------

/// The accounts the seed makes violate each check (by name); every other collected account
/// is clean. RCP checks whose only finding in `prod-app` is the known third party
/// `999999999999` are clean there and carry it in their allowlist.
const INTENDED: [(&str, &str, &[&str]); 16] = [
    ("scps", "deny_ec2_ami_owner", &["prod-app"]),
    ("scps", "deny_ec2_imds_hop_limit", &["prod-app"]),
    ("scps", "deny_ec2_imds_v1", &["prod-app"]),
    ("scps", "deny_ec2_public_ip", &["prod-app"]),
    ("scps", "deny_eks_create_cluster_without_tag", &["prod-app"]),
    ("scps", "deny_iam_saml_provider_not_aws_sso", &["prod-app"]),
    ("scps", "deny_iam_user_creation", &[]),
    ("scps", "deny_lambda_auth_type_none", &["prod-app"]),
    ("scps", "deny_rds_unencrypted", &["prod-app"]),
    ("rcps", "deny_aoss_third_party_access", &[]),
    ("rcps", "deny_ecr_third_party_access", &[]),
    ("rcps", "deny_kms_third_party_access", &[]),
    ("rcps", "deny_s3_third_party_access", &["prod-app"]),
    (
        "rcps",
        "deny_secrets_manager_third_party_access",
        &["prod-app"],
    ),
    ("rcps", "deny_sqs_third_party_access", &[]),
    ("rcps", "deny_sts_third_party_assumerole", &[]),
];

const COLLECTED: [&str; 4] = ["critical-db", "dev-sandbox", "prod-app", "security-tooling"];

fn check_analysis(snap: &Snapshot, seeded: &Seeded, config: &Path) {
    use headroom_analyzer::{Area, OutputFile};
    let config = headroom_schemas::config::Config::load(config).unwrap();
    let settings = headroom_analyzer::Settings::from_config(&config);
    let outputs = headroom_analyzer::analyze(snap, &settings).unwrap();
    let json = |area: Area, path: String| -> serde_json::Value {
        let file = OutputFile::new(area, path.clone());
        let bytes = outputs
            .files
            .get(&file)
            .unwrap_or_else(|| panic!("analyze wrote no {path}"));
        serde_json::from_slice(bytes).unwrap()
    };
    let summary = json(Area::Out, "summary.json".into());
    for (kind, check, violating) in INTENDED {
        for name in COLLECTED {
            let id = &seeded.accounts[name];
            let report = json(Area::Results, format!("{kind}/{check}/{name}_{id}.json"));
            let violations = report["summary"]["violations"].as_u64().unwrap();
            assert_eq!(
                violations > 0,
                violating.contains(&name),
                "{check} in {name}: {violations} violation(s)\n{report:#}"
            );
            assert_eq!(report["summary"]["account_id"], id.as_str());
        }

        // Placement covers exactly the clean collected accounts, never a violating one.
        let entry = summary["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check_id"] == check)
            .unwrap_or_else(|| panic!("summary.json has no {check}"));
        let mut covered: Vec<&str> = entry["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["covered_accounts"].as_array().unwrap())
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        covered.sort_unstable();
        let mut clean: Vec<&str> = COLLECTED
            .iter()
            .filter(|n| !violating.contains(n))
            .map(|n| seeded.accounts[*n].as_str())
            .collect();
        clean.sort_unstable();
        assert_eq!(covered, clean, "{check}: covered accounts\n{entry:#}");
    }

    // Exemptions and allowlists the seed intends.
    let report = |kind: &str, check: &str, name: &str| {
        let id = &seeded.accounts[name];
        json(Area::Results, format!("{kind}/{check}/{name}_{id}.json"))
    };
    let imds = report("scps", "deny_ec2_imds_v1", "dev-sandbox");
    assert_eq!(imds["summary"]["exemptions"], 2, "{imds:#}");
    let users = report("scps", "deny_iam_user_creation", "prod-app");
    assert!(
        users["summary"]["users"][0]
            .as_str()
            .unwrap()
            .ends_with(":user/service/deploy-bot"),
        "{users:#}"
    );
    for check in [
        "deny_aoss_third_party_access",
        "deny_ecr_third_party_access",
        "deny_kms_third_party_access",
        "deny_sqs_third_party_access",
        "deny_sts_third_party_assumerole",
    ] {
        let r = report("rcps", check, "prod-app");
        assert_eq!(
            r["summary"]["unique_third_party_accounts"],
            serde_json::json!([THIRD_PARTY]),
            "{check}\n{r:#}"
        );
        let entry = summary["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check_id"] == check)
            .unwrap();
        let prod = seeded.accounts["prod-app"].as_str();
        let covering = entry["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["covered_accounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["id"] == prod)
            })
            .unwrap();
        assert!(
            covering["allowlist"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == THIRD_PARTY),
            "{check}: the RCP covering prod-app allowlists the third party\n{covering:#}"
        );
    }
    for name in ["critical-db", "dev-sandbox", "security-tooling"] {
        let r = report("rcps", "deny_kms_third_party_access", name);
        assert_eq!(
            r["summary"]["third_party_account_count"], 0,
            "{name}\n{r:#}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Activity: the organization trail's log files in moto's S3, and moto's Athena
// ---------------------------------------------------------------------------------------
//
// What moto cannot model here: it never denies (an unreadable day is a corrupt log file
// instead of a refused `GetObject`; refusals are recorded the same way, through the same
// code), and its Athena runs no SQL: it answers `GetQueryResults` with rows registered
// through `/moto-api/static/athena/query-results`, in one page. The query's text is pinned
// by the snapshot test in `src/activity/athena.rs`.

const TRAIL_BUCKET: &str = "org-trail-logs";
const READER_ROLE: &str = "HeadroomActivityReader";
/// An account outside the organization that no seeded policy names.
const STRANGER: &str = "888888888888";

/// The calls seeded into the trail, and where.
struct Trail {
    /// The log-archive account (holds the bucket and the reader role).
    archive: String,
    /// The days of a three-day window ending today.
    days: Vec<String>,
    /// (account, event name, principal account) of every event a selector keeps.
    kept: Vec<(String, String, Option<String>)>,
    /// Records in the day's readable files, per (account, region).
    records: BTreeMap<(String, String), u64>,
    /// Every record of the window, for the Athena rows.
    window_records: Vec<serde_json::Value>,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The calls of one account and region on one day: background noise the catalog drops, and
/// per account the calls a planned guardrail would deny.
fn trail_calls(
    seeded: &Seeded,
    name: &str,
    region: &str,
    day: &str,
) -> Vec<headroom_schemas::activity::synthetic::Call> {
    use headroom_schemas::activity::synthetic::{Call, Identity, Launch};
    let id = seeded.accounts[name].as_str();
    let role = |role: &str| Identity::Role {
        account: id.to_owned(),
        role: role.to_owned(),
        session: "ci".to_owned(),
    };
    let at = |hhmm: &str| format!("{day}T{hhmm}:00Z");
    let mut calls = vec![
        Call::new(
            &at("01:00"),
            id,
            region,
            "ec2.amazonaws.com",
            "DescribeInstances",
            role("app-runtime"),
        ),
        Call::new(
            &at("01:05"),
            id,
            region,
            "s3.amazonaws.com",
            "ListBuckets",
            role("app-runtime"),
        ),
        Call::new(
            &at("01:10"),
            id,
            region,
            "kms.amazonaws.com",
            "Decrypt",
            Identity::Service {
                service: "cloudtrail.amazonaws.com".into(),
            },
        ),
    ];
    // A role session from another member account: inside the organization, never kept.
    let mut inside = Call::new(
        &at("01:15"),
        id,
        region,
        "sts.amazonaws.com",
        "AssumeRole",
        Identity::OtherAccount {
            account: seeded.accounts["security-tooling"].clone(),
        },
    );
    inside.resources = vec![(
        format!("arn:aws:iam::{id}:role/Headroom"),
        "AWS::IAM::Role".into(),
    )];
    calls.push(inside);
    match (name, region) {
        // `deny_iam_user_creation` is clean in every account's inventory: this user was
        // created (and deleted) within the window.
        ("critical-db", "us-east-1") => {
            let mut create = Call::new(
                &at("10:00"),
                id,
                "us-east-1",
                "iam.amazonaws.com",
                "CreateUser",
                role("platform-ci"),
            );
            create.request = serde_json::json!({"userName": "temp-bot", "path": "/"});
            create.response = serde_json::json!({"user": {"userName": "temp-bot", "path": "/", "arn": format!("arn:aws:iam::{id}:user/temp-bot")}});
            calls.push(create);
            // An account outside the organization that no resource policy names (so no
            // allowlist holds it) assumed a role: `deny_sts_third_party_assumerole` would deny it.
            let mut assume = Call::new(
                &at("11:00"),
                id,
                "us-east-1",
                "sts.amazonaws.com",
                "AssumeRole",
                Identity::OtherAccount {
                    account: STRANGER.into(),
                },
            );
            assume.resources = vec![(
                format!("arn:aws:iam::{id}:role/partner-audit"),
                "AWS::IAM::Role".into(),
            )];
            calls.push(assume);
        }
        ("dev-sandbox", "eu-west-1") => {
            let (request, response) = Launch {
                image_id: Some("ami-0123456789abcdef0".into()),
                http_tokens: Some("optional".into()),
                instance_id: "i-0aaaaaaaaaaaaaaa1".into(),
                ..Launch::default()
            }
            .parts(id);
            let mut launch = Call::new(
                &at("12:00"),
                id,
                "eu-west-1",
                "ec2.amazonaws.com",
                "RunInstances",
                role("platform-ci"),
            );
            launch.request = request;
            launch.response = response;
            calls.push(launch);
        }
        _ => {}
    }
    calls
}

/// Creates the trail's bucket and the reader role in the log-archive account and writes the
/// organization trail's log files: one per account and region on the middle day of the
/// window, a corrupt one for dev-sandbox in eu-west-1 that day, and one before the window
/// that must never be read.
async fn seed_trail(url: &str, seeded: &Seeded) -> Trail {
    use headroom_schemas::activity::synthetic::{Call, Identity, log_file, log_key};
    use rand::SeedableRng as _;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    let today = headroom_schemas::activity::day_of(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap(),
    );
    let days = headroom_schemas::activity::days_ending(&today, 3);
    let before = headroom_schemas::activity::days_ending(&today, 10)[0].clone();
    let archive = seeded.accounts["security-tooling"].clone();
    let mgmt = sdk_config(
        url,
        Credentials::new("testing", "testing", None, None, "test"),
    )
    .await;
    let config = member_config(url, &mgmt, &archive).await;

    // The reader role, with the least-privilege policy of `test_environment/`.
    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_role()
        .role_name(READER_ROLE)
        .assume_role_policy_document(trust(&format!("arn:aws:iam::{archive}:root")))
        .send()
        .await
        .unwrap();
    let policy = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../test_environment/policies/activity_reader_s3.json"),
    )
    .unwrap()
    .replace("${partition}", "aws")
    .replace("${trail_bucket}", TRAIL_BUCKET)
    .replace("${trail_key_prefix}", "")
    .replace(
        "${trail_kms_key_arn}",
        &format!("arn:aws:kms:us-east-1:{archive}:key/00000000-0000-4000-8000-000000000016"),
    );
    iam.put_role_policy()
        .role_name(READER_ROLE)
        .policy_name("HeadroomReadTrail")
        .policy_document(policy)
        .send()
        .await
        .unwrap();

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(TRAIL_BUCKET)
        .send()
        .await
        .unwrap();
    let put = async |key: String, body: Vec<u8>| {
        s3.put_object()
            .bucket(TRAIL_BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    };
    let mut trail = Trail {
        archive: archive.clone(),
        days: days.clone(),
        kept: Vec::new(),
        records: BTreeMap::new(),
        window_records: Vec::new(),
    };
    let day = &days[1];
    for name in COLLECTED {
        let id = seeded.accounts[name].clone();
        for region in REGIONS {
            let records: Vec<serde_json::Value> = trail_calls(seeded, name, region, day)
                .iter()
                .map(|c| c.record(&mut rng))
                .collect();
            for r in &records {
                let kept = match r["eventName"].as_str().unwrap() {
                    "CreateUser" | "RunInstances" => true,
                    "AssumeRole" => r["userIdentity"]["accountId"] == STRANGER,
                    _ => false,
                };
                if kept {
                    trail.kept.push((
                        id.clone(),
                        r["eventName"].as_str().unwrap().to_owned(),
                        r["userIdentity"]["accountId"].as_str().map(str::to_owned),
                    ));
                }
            }
            trail
                .records
                .insert((id.clone(), region.to_owned()), records.len() as u64);
            trail.window_records.extend(records.iter().cloned());
            let key = log_key(
                "",
                Some(&seeded.org_id),
                &id,
                region,
                day,
                "1205",
                "a1b2c3d4e5f60718",
            );
            put(key, gzip(&log_file(&records))).await;
        }
    }
    // An unreadable file: the whole day of that account and region is a gap.
    let sandbox = &seeded.accounts["dev-sandbox"];
    let key = log_key(
        "",
        Some(&seeded.org_id),
        sandbox,
        "eu-west-1",
        day,
        "2355",
        "ffffffffffffffff",
    );
    put(key, b"{\"Records\": [ this is not gzip".to_vec()).await;
    // Before the window: never listed, never read.
    let critical = &seeded.accounts["critical-db"];
    let mut old = Call::new(
        &format!("{before}T09:00:00Z"),
        critical,
        "us-east-1",
        "iam.amazonaws.com",
        "CreateUser",
        Identity::User {
            account: critical.clone(),
            name: "old-admin".into(),
        },
    );
    old.request = serde_json::json!({"userName": "old-bot", "path": "/"});
    let key = log_key(
        "",
        Some(&seeded.org_id),
        critical,
        "us-east-1",
        &before,
        "0905",
        "0000000000000000",
    );
    put(key, gzip(&log_file(&[old.record(&mut rng)]))).await;
    trail.kept.sort();
    // CreateUser and the stranger's AssumeRole in critical-db, the IMDSv1 launch in
    // dev-sandbox.
    assert_eq!(trail.kept.len(), 3, "{:?}", trail.kept);
    trail
}

/// Runs `analyze` (the library behind the binary, in process) on `snapshot` with `config`,
/// writing everything under `out`; asserts it succeeded and returns the output directory.
fn analyze_into_dir(snapshot: &Path, config: &Path, out: &Path) -> std::path::PathBuf {
    let args = <headroom_analyzer::cli::Args as clap::Parser>::parse_from([
        "analyze".as_ref(),
        snapshot.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    if let Err(failure) = headroom_analyzer::cli::run(&args) {
        panic!("analyze failed: {:#}", failure.error());
    }
    assert!(
        out.join("summary.json").is_file(),
        "analyze wrote no summary.json"
    );
    out.to_owned()
}

fn kept_events(snapshot: &Snapshot) -> Vec<(String, String, Option<String>)> {
    let mut kept: Vec<_> = snapshot
        .activity
        .as_ref()
        .unwrap()
        .events
        .iter()
        .map(|e| {
            (
                e.account.to_string(),
                e.name.clone(),
                e.principal.account.clone(),
            )
        })
        .collect();
    kept.sort();
    kept
}

/// Registers rows with moto's Athena for the next query of `account` (moto runs no SQL).
fn register_athena_rows(moto: &Moto, account: &str, records: &[serde_json::Value]) {
    use headroom_collector::activity::athena::COLUMNS;
    use std::io::{Read as _, Write as _};
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => serde_json::json!({}),
        serde_json::Value::String(s) => serde_json::json!({ "VarCharValue": s }),
        other => serde_json::json!({ "VarCharValue": other.to_string() }),
    };
    let header = serde_json::json!({ "Data": COLUMNS.iter().map(|c| serde_json::json!({ "VarCharValue": c })).collect::<Vec<_>>() });
    let mut rows = vec![header];
    for r in records {
        let identity = &r["userIdentity"];
        let arns: Vec<&str> = r["resources"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["ARN"].as_str()).collect())
            .unwrap_or_default();
        let cells = [
            &r["eventTime"],
            &r["eventID"],
            &r["recipientAccountId"],
            &r["awsRegion"],
            &r["eventSource"],
            &r["eventName"],
            &r["errorCode"],
            &identity["type"],
            &identity["arn"],
            &identity["accountId"],
            &identity["invokedBy"],
            &identity["sessionContext"]["sessionIssuer"]["arn"],
            &identity["sessionContext"]["ec2RoleDelivery"],
            &r["requestParameters"],
            &r["responseElements"],
            &if arns.is_empty() {
                serde_json::Value::Null
            } else {
                arns.join(" ").into()
            },
        ]
        .map(text);
        rows.push(serde_json::json!({ "Data": cells }));
    }
    let body = serde_json::json!({
        "account_id": account,
        "region": "us-east-1",
        "results": [{
            "rows": rows,
            "column_info": COLUMNS.iter().map(|c| serde_json::json!({"Name": c, "Label": c, "Type": "varchar"})).collect::<Vec<_>>(),
        }],
    })
    .to_string();
    let address = moto.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /moto-api/static/athena/query-results HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "moto refused the Athena rows: {response}"
    );
}

#[test]
fn collect_reads_the_organization_trail() {
    use headroom_schemas::activity::{AccountReads, Coverage, Read, Source};
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seeded = runtime.block_on(seed(&moto.url));
    let trail = runtime.block_on(seed_trail(&moto.url, &seeded));
    let dir = tempfile::tempdir().unwrap();
    let role = format!("arn:aws:iam::{}:role/{READER_ROLE}", trail.archive);

    // S3: one day of one account and region is unreadable, so the run fails without
    // --allow-partial, and records the gap.
    let s3_config = format!("activity:\n  bucket: {TRAIL_BUCKET}\n  role_arn: '{role}'\n");
    let variant = Variant {
        regions: CONFIGURED.regions,
        config: &s3_config,
        env: &[],
    };
    let failed = run_variant(
        &moto,
        dir.path(),
        &seeded,
        "activity.snapshot.json.zst",
        &["--activity-days", "3"],
        1,
        variant,
    );
    let day = &trail.days[1];
    let sandbox = seeded.accounts["dev-sandbox"].as_str();
    assert!(
        failed.stderr.contains(&format!(
            "not read: activity of `{sandbox}` in eu-west-1 on {day}: s3:GetObject failed"
        )),
        "{}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("error: activity incomplete: 1 part(s) of the window could not be read"),
        "{}",
        failed.stderr
    );
    let run = run_variant(
        &moto,
        dir.path(),
        &seeded,
        "activity.snapshot.json.zst",
        &["--activity-days", "3", "--allow-partial"],
        0,
        variant,
    );
    assert!(
        run.json == failed.json,
        "--allow-partial changes the exit code only"
    );
    let snap = &run.snapshot;
    let activity = snap.activity.as_ref().unwrap();
    assert_eq!(
        (&activity.window.first_day, &activity.window.last_day),
        (&trail.days[0], &trail.days[2])
    );
    assert!(
        activity.selectors.contains(&"iam:CreateUser".to_owned()),
        "{:?}",
        activity.selectors
    );
    // Exactly the relevant events of the window; the corrupt file's day keeps what the
    // readable file held (those calls happened), the file before the window is never read.
    assert_eq!(kept_events(snap), trail.kept);
    assert!(!activity.events.iter().any(|e| e.time < trail.days[0]));
    let Source::S3 {
        bucket,
        key_prefix,
        organization_id,
        accounts,
    } = &activity.source
    else {
        panic!("an S3 source: {:?}", activity.source);
    };
    assert_eq!((bucket.as_str(), key_prefix.as_str()), (TRAIL_BUCKET, ""));
    assert_eq!(organization_id.as_deref(), Some(seeded.org_id.as_str()));
    // Every account but the management account and the skipped one was read; the closed
    // account has no logs.
    let mut read: Vec<&str> = accounts.keys().map(AccountId::as_str).collect();
    read.sort_unstable();
    let mut expected: Vec<&str> = COLLECTED
        .iter()
        .chain(&["closed-legacy"])
        .map(|n| seeded.accounts[*n].as_str())
        .collect();
    expected.sort_unstable();
    assert_eq!(read, expected);
    for name in COLLECTED {
        let id = &seeded.accounts[name];
        let AccountReads::Listed { regions } = &accounts[&AccountId::new(id).unwrap()] else {
            panic!("{name} listed: {accounts:?}");
        };
        assert_eq!(
            regions.keys().map(String::as_str).collect::<Vec<_>>(),
            ["eu-west-1", "us-east-1"],
            "{name}"
        );
        for (region, days) in regions {
            assert_eq!(
                days.keys().collect::<Vec<_>>(),
                trail.days.iter().collect::<Vec<_>>(),
                "{name} {region}"
            );
            for (d, status) in days {
                if name == "dev-sandbox" && region == "eu-west-1" && d == day {
                    let error = status.error().unwrap();
                    assert_eq!(error.operation, "s3:GetObject");
                    assert!(error.message.contains(": not a gzip file"), "{error:?}");
                    continue;
                }
                let records = if d == day {
                    trail.records[&(id.clone(), region.clone())]
                } else {
                    0
                };
                let objects = u64::from(d == day);
                match status {
                    Read::Complete {
                        objects: o,
                        records: r,
                        ..
                    } => assert_eq!((*o, *r), (Some(objects), records), "{name} {region} {d}"),
                    Read::Failed { error } => panic!("{name} {region} {d}: {error:?}"),
                }
            }
        }
    }
    let sandbox_id = AccountId::new(sandbox).unwrap();
    match activity.coverage(&sandbox_id) {
        Coverage::Gaps(gaps) => {
            assert_eq!(gaps.len(), 1, "{gaps:?}");
            assert_eq!(
                (gaps[0].region, gaps[0].day),
                (Some("eu-west-1"), Some(day.as_str()))
            );
        }
        Coverage::Complete => panic!("the unreadable day is a gap"),
    }
    assert_eq!(
        activity.coverage(&AccountId::new(&seeded.accounts["critical-db"]).unwrap()),
        Coverage::Complete
    );

    // analyze reads the snapshot and writes its reports.
    let out = analyze_into_dir(
        &dir.path().join("activity.snapshot.json.zst"),
        &dir.path().join("headroom.yaml"),
        &dir.path().join("activity-out"),
    );
    assert!(out.join("results").is_dir());
    // The recent CreateUser in critical-db would have been denied by the planned guardrail:
    // critical-db now blocks it with `denied_recent_activity`, and no planned attachment
    // covers it any more (carve-out exempts it by condition where the guardrail stays above).
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let critical = seeded.accounts["critical-db"].as_str();
    let check = |id: &str| -> &serde_json::Value {
        summary["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check_id"] == id)
            .unwrap_or_else(|| panic!("{id} is not in summary.json"))
    };
    let covered = |check: &serde_json::Value| -> Vec<String> {
        check["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["covered_accounts"].as_array().unwrap())
            .filter_map(|a| a["id"].as_str().map(str::to_owned))
            .collect()
    };
    let users = check("deny_iam_user_creation");
    let blocker = users["blocking_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == critical)
        .unwrap_or_else(|| panic!("critical-db does not block: {users:#}"));
    assert!(
        blocker["violations"]["denied_recent_activity"].as_u64() >= Some(1),
        "{blocker:#}"
    );
    let users_covered = covered(users);
    assert!(!users_covered.is_empty(), "{users:#}");
    assert!(!users_covered.iter().any(|a| a == critical), "{users:#}");
    // The outsider's AssumeRole names a role the inventory does not hold, so whether the
    // role's exclusion tag would have let it through cannot be decided: the replay reports it
    // as undecidable (never as allowed), and an undecidable event does not block.
    let sts = check("deny_sts_third_party_assumerole");
    assert_eq!(sts["activity"]["undecidable"]["count"], 1, "{sts:#}");
    assert_eq!(
        sts["activity"]["undecidable"]["principals"],
        serde_json::json!(["account 888888888888"]),
        "{sts:#}"
    );
    assert!(covered(sts).iter().any(|a| a == critical), "{sts:#}");

    // Athena: the same calls as query rows (moto returns the rows registered for the next
    // query); the reader keeps the same events the S3 path kept from readable files.
    register_athena_rows(&moto, &trail.archive, &trail.window_records);
    let athena_config = format!(
        "activity:\n  source: athena\n  role_arn: '{role}'\n  athena:\n    database: trail_db\n    table: org_cloudtrail\n    output_location: s3://{TRAIL_BUCKET}-athena/results/\n"
    );
    let variant = Variant {
        regions: CONFIGURED.regions,
        config: &athena_config,
        env: &[],
    };
    let run = run_variant(
        &moto,
        dir.path(),
        &seeded,
        "athena.snapshot.json.zst",
        &["--activity-days", "3"],
        0,
        variant,
    );
    let activity = run.snapshot.activity.as_ref().unwrap();
    let Source::Athena {
        workgroup,
        database,
        table,
        query,
    } = &activity.source
    else {
        panic!("an Athena source: {:?}", activity.source);
    };
    assert_eq!(
        (workgroup.as_str(), database.as_str(), table.as_str()),
        ("primary", "trail_db", "org_cloudtrail")
    );
    assert_eq!(
        query,
        &Read::Complete {
            objects: None,
            records: trail.window_records.len() as u64,
            events: trail.kept.len() as u64
        }
    );
    assert_eq!(kept_events(&run.snapshot), trail.kept);

    // A query Athena refuses (no such workgroup) is a gap of the whole window.
    let bad_config = format!("{athena_config}    workgroup: no-such-workgroup\n");
    let variant = Variant {
        regions: CONFIGURED.regions,
        config: &bad_config,
        env: &[],
    };
    let run = run_variant(
        &moto,
        dir.path(),
        &seeded,
        "athena-failed.snapshot.json.zst",
        &["--activity-days", "3"],
        1,
        variant,
    );
    let activity = run.snapshot.activity.as_ref().unwrap();
    let Source::Athena { query, .. } = &activity.source else {
        panic!()
    };
    assert_eq!(
        query.error().unwrap().operation,
        "athena:StartQueryExecution"
    );
    assert!(activity.events.is_empty());
    assert!(
        run.stderr
            .contains("not read: activity query: athena:StartQueryExecution failed"),
        "{}",
        run.stderr
    );

    // A configuration that names no source: one line, exit 2, before any AWS call.
    let config = dir.path().join("no-bucket.yaml");
    fs::write(
        &config,
        format!("management_account_id: '{MANAGEMENT}'\nactivity:\n  days: 3\n"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_collect"))
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(dir.path().join("never.snapshot.json.zst"))
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("activity.bucket is required"), "{stderr}");
    assert!(!dir.path().join("never.snapshot.json.zst").exists());
}
