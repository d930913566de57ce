//! A deterministic synthetic organization: the same seed and size always give the same
//! snapshot bytes. Used by benchmarks and property tests.
//!
//! The mix is meant to look like a real estate: nested OUs up to five deep, a few accounts
//! directly under the root, suspended and closed accounts, an occasional account the collector
//! could not enter or a service it could not read, about `--resources` resources per account
//! spread over services and regions, mostly compliant with a few violations, exemptions and
//! known third parties, and the existing `FullAWSAccess`/`RCPFullAWSAccess` attachments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use headroom_schemas::inventory::{
    AccountInventory, GlobalInventory, NotCollectedReason, RegionalInventory, aoss, ec2, ecr, eks,
    iam, kms, lambda, rds, s3, secretsmanager, sqs,
};
use headroom_schemas::org::{
    Account, AccountState, Organization, OrganizationalUnit, PolicyTypeSummary, Root,
};
use headroom_schemas::policies::{Policies, Policy, PolicyTarget, TargetType};
use headroom_schemas::status::{Collected, CollectionError};
use headroom_schemas::{
    AccountId, CallerIdentity, Compression, FormatTag, Meta, SNAPSHOT_FORMAT_VERSION, Snapshot,
    Tags,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Flags of `cargo xtask synth`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Member accounts (the management account comes on top).
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    /// Resources per collected account, on average.
    #[arg(long, default_value_t = 100)]
    pub resources: usize,
    /// Regions per account.
    #[arg(long, default_value_t = 2)]
    pub regions: usize,
    /// Random seed: the same seed gives the same snapshot.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write plain JSON instead of zstd.
    #[arg(long)]
    pub plain: bool,
    /// Output file (default `synthetic-<accounts>.snapshot.json.zst`, or `.json` with --plain).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

const ORG_ID: &str = "o-synth0000001";
const REGIONS: [&str; 6] = [
    "eu-central-1",
    "eu-west-1",
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-southeast-2",
];

/// Writes the snapshot the flags describe.
pub fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.accounts >= 1, "--accounts must be at least 1");
    anyhow::ensure!(
        (1..=REGIONS.len()).contains(&args.regions),
        "--regions must be between 1 and {}",
        REGIONS.len()
    );
    let snapshot = generate(args.accounts, args.resources, args.regions, args.seed);
    let output = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "synthetic-{}.snapshot.json{}",
            args.accounts,
            if args.plain { "" } else { ".zst" }
        ))
    });
    let compression = if args.plain {
        Compression::None
    } else {
        Compression::Zstd(3)
    };
    headroom_schemas::write_file(&output, &snapshot, compression)
        .with_context(|| format!("writing {}", output.display()))?;
    #[expect(
        clippy::print_stderr,
        reason = "a developer command reporting its output"
    )]
    {
        eprintln!("wrote {}", output.display());
    }
    Ok(())
}

fn account_id(n: usize) -> AccountId {
    // 1000000000xx-style IDs, distinct from every third party below.
    AccountId::new(format!("{:012}", 100_000_000_000 + n * 7)).unwrap_or_else(|_| unreachable!())
}

fn third_party(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{:012}",
        900_000_000_000u64 + rng.random_range(0..64u64) * 1_111
    )
}

fn org_arn(kind: &str, id: &str, management: &AccountId) -> String {
    format!("arn:aws:organizations::{management}:{kind}/{ORG_ID}/{id}")
}

/// Builds the snapshot. Pure and deterministic in its arguments.
#[expect(
    clippy::too_many_lines,
    reason = "one linear recipe, easier read top to bottom"
)]
pub fn generate(accounts: usize, resources: usize, regions: usize, seed: u64) -> Snapshot {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let management = account_id(0);
    let root_id = "r-syn0".to_owned();
    let regions: Vec<&str> = {
        let mut r = REGIONS[..regions].to_vec();
        r.sort_unstable();
        r
    };

    // The OU tree: a handful of top-level OUs, each with nested children up to depth 5.
    let mut ous: BTreeMap<String, OrganizationalUnit> = BTreeMap::new();
    let mut parents: Vec<String> = Vec::new();
    let target_ous = (accounts / 15).max(4);
    let top_level = (target_ous / 8).clamp(3, 24);
    let mut depth: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..target_ous {
        let id = format!("ou-syn0-{i:08}");
        let (parent, d) = if i < top_level || parents.is_empty() {
            (root_id.clone(), 1)
        } else {
            let p = parents[rng.random_range(0..parents.len())].clone();
            let d = depth[&p] + 1;
            (p, d)
        };
        if d < 5 {
            parents.push(id.clone());
        }
        depth.insert(id.clone(), d);
        ous.insert(
            id.clone(),
            OrganizationalUnit {
                arn: org_arn("ou", &id, &management),
                name: format!(
                    "{}-{i}",
                    ["Workloads", "Platform", "Sandbox", "Data", "Security"][i % 5]
                ),
                parent_id: parent,
                id,
            },
        );
    }
    let ou_ids: Vec<String> = ous.keys().cloned().collect();

    let mut org_accounts = BTreeMap::new();
    let mut inventories = BTreeMap::new();
    for n in 0..=accounts {
        let id = account_id(n);
        let parent_id = if n == 0 || rng.random_bool(0.03) {
            root_id.clone()
        } else {
            ou_ids[rng.random_range(0..ou_ids.len())].clone()
        };
        let roll: f64 = rng.random();
        let state = if n == 0 {
            AccountState::Active
        } else if roll < 0.01 {
            AccountState::Suspended
        } else if roll < 0.013 {
            AccountState::Closed
        } else {
            AccountState::Active
        };
        let name = if n == 0 {
            "management".to_owned()
        } else {
            format!("acct-{n:05}")
        };
        let inventory = if n == 0 {
            AccountInventory::NotCollected {
                reason: NotCollectedReason::ManagementAccount,
            }
        } else if !state.is_active() {
            AccountInventory::NotCollected {
                reason: NotCollectedReason::Inactive,
            }
        } else if rng.random_bool(0.005) {
            AccountInventory::Failed {
                error: CollectionError {
                    operation: "sts:AssumeRole".into(),
                    code: Some("AccessDenied".into()),
                    message: format!(
                        "User is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{id}:role/Headroom"
                    ),
                    detail: None,
                },
            }
        } else {
            collected_account(&mut rng, &id, &regions, resources)
        };
        inventories.insert(id.clone(), inventory);
        org_accounts.insert(
            id.clone(),
            Account {
                arn: org_arn("account", id.as_str(), &management),
                email: format!("aws+{name}@example.com"),
                name: name.clone(),
                state,
                parent_id,
                tags: Tags::from([
                    (
                        "Environment".into(),
                        ["production", "staging", "development"][n % 3].into(),
                    ),
                    ("Name".into(), name),
                    ("Owner".into(), format!("team-{}", n % 40)),
                ]),
                joined_timestamp: Some("2024-01-01T00:00:00Z".into()),
                joined_method: Some("CREATED".into()),
                id,
            },
        );
    }

    let root = Root {
        arn: org_arn("root", &root_id, &management),
        id: root_id.clone(),
        name: "Root".into(),
        policy_types: vec![
            PolicyTypeSummary {
                policy_type: "RESOURCE_CONTROL_POLICY".into(),
                status: "ENABLED".into(),
            },
            PolicyTypeSummary {
                policy_type: "SERVICE_CONTROL_POLICY".into(),
                status: "ENABLED".into(),
            },
        ],
    };
    let mut every_target: Vec<PolicyTarget> = Vec::new();
    every_target.push(PolicyTarget {
        target_id: root_id.clone(),
        arn: root.arn.clone(),
        name: "Root".into(),
        target_type: TargetType::Root,
    });
    for ou in ous.values() {
        every_target.push(PolicyTarget {
            target_id: ou.id.clone(),
            arn: ou.arn.clone(),
            name: ou.name.clone(),
            target_type: TargetType::OrganizationalUnit,
        });
    }
    for a in org_accounts.values() {
        every_target.push(PolicyTarget {
            target_id: a.id.to_string(),
            arn: a.arn.clone(),
            name: a.name.clone(),
            target_type: TargetType::Account,
        });
    }
    every_target.sort_by(|a, b| a.target_id.cmp(&b.target_id));
    let full_access = |id: &str, kind: &str, content: &str| Policy {
        id: id.into(),
        arn: format!("arn:aws:organizations::aws:policy/{kind}/{id}"),
        name: id.trim_start_matches("p-").into(),
        description: "Allows access to every operation".into(),
        aws_managed: true,
        content: content.into(),
        targets: every_target.clone(),
    };
    let mut scps = BTreeMap::new();
    scps.insert(
        "p-FullAWSAccess".into(),
        full_access(
            "p-FullAWSAccess",
            "service_control_policy",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        ),
    );
    let deny_leave = Policy {
        id: "p-syn00001".into(),
        arn: format!("arn:aws:organizations::{management}:policy/{ORG_ID}/service_control_policy/p-syn00001"),
        name: "DenyLeaveOrganization".into(),
        description: "Member accounts cannot leave".into(),
        aws_managed: false,
        content: r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyLeave","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#.into(),
        targets: vec![every_target[every_target.iter().position(|t| t.target_type == TargetType::Root).unwrap_or(0)].clone()],
    };
    scps.insert(deny_leave.id.clone(), deny_leave);
    let mut rcps = BTreeMap::new();
    rcps.insert(
        "p-RCPFullAWSAccess".into(),
        full_access(
            "p-RCPFullAWSAccess",
            "resource_control_policy",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
        ),
    );

    Snapshot {
        format: FormatTag::HeadroomSnapshot,
        format_version: SNAPSHOT_FORMAT_VERSION,
        meta: Meta {
            collector_version: "synthetic".into(),
            collected_at: "2026-01-01T00:00:00Z".into(),
            partition: "aws".into(),
            caller_identity: CallerIdentity {
                account: account_id(1),
                arn: format!(
                    "arn:aws:sts::{}:assumed-role/HeadroomCollector/synth",
                    account_id(1)
                ),
                user_id: "AROASYNTHETIC:synth".into(),
            },
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
            config_digest: format!("sha256:{seed:064x}"),
            service_availability: None,
        },
        organization: Organization {
            id: ORG_ID.into(),
            arn: format!("arn:aws:organizations::{management}:organization/{ORG_ID}"),
            management_account_id: management,
            feature_set: "ALL".into(),
            roots: vec![root],
            organizational_units: ous,
            accounts: org_accounts,
        },
        policies: Policies { scps, rcps },
        accounts: inventories,
        activity: None,
    }
}

fn complete<T>(data: T) -> Collected<T> {
    Collected::Complete { data }
}

fn policy_doc(statements: &[String]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

/// A resource policy statement: mostly the account itself or the organization, sometimes a
/// known third party, rarely a wildcard.
fn resource_statement(rng: &mut ChaCha8Rng, own: &AccountId, action: &str) -> String {
    let roll: f64 = rng.random();
    if roll < 0.015 {
        format!(
            r#"{{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"{action}","Resource":"*"}}"#
        )
    } else if roll < 0.10 {
        let tp = third_party(rng);
        format!(
            r#"{{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{tp}:root"}},"Action":"{action}","Resource":"*"}}"#
        )
    } else if roll < 0.30 {
        format!(
            r#"{{"Sid":"Org","Effect":"Allow","Principal":"*","Action":"{action}","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{ORG_ID}"}}}}}}"#
        )
    } else {
        format!(
            r#"{{"Sid":"Owner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{own}:root"}},"Action":"{action}","Resource":"*"}}"#
        )
    }
}

fn tags(rng: &mut ChaCha8Rng) -> Tags {
    let mut t = Tags::from([(
        "CostCenter".to_owned(),
        format!("cc-{}", rng.random_range(100..999)),
    )]);
    if rng.random_bool(0.01) {
        t.insert("dp:exclude:identity".into(), "true".into());
    }
    t
}

#[expect(clippy::too_many_lines, reason = "one table of resource kinds")]
fn collected_account(
    rng: &mut ChaCha8Rng,
    id: &AccountId,
    regions: &[&str],
    resources: usize,
) -> AccountInventory {
    // Resource mix, in percent of `resources`.
    let count = |rng: &mut ChaCha8Rng, pct: usize| {
        let mean = resources * pct / 100;
        if mean == 0 {
            usize::from(rng.random_range(0..100) < pct * resources)
        } else {
            rng.random_range(mean / 2..=mean + mean / 2)
        }
    };
    let mut global_iam = iam::IamInventory::default();
    for i in 0..count(rng, 12) {
        let principal = match rng.random_range(0..100) {
            0 => r#"{"AWS":"*"}"#.to_owned(),
            1..=8 => format!(
                r#"{{"AWS":"arn:aws:iam::{}:role/deployer"}}"#,
                third_party(rng)
            ),
            9..=40 => r#"{"Service":"lambda.amazonaws.com"}"#.to_owned(),
            _ => format!(r#"{{"AWS":"arn:aws:iam::{id}:root"}}"#),
        };
        global_iam.roles.push(iam::Role {
            role_name: format!("role-{i:04}"),
            arn: format!("arn:aws:iam::{id}:role/role-{i:04}"),
            path: "/".into(),
            assume_role_policy_document: Some(policy_doc(&[format!(
                r#"{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}"#
            )])),
            tags: tags(rng),
        });
    }
    for i in 0..count(rng, 3) {
        let path = if rng.random_bool(0.7) {
            "/automation/"
        } else {
            "/"
        };
        global_iam.users.push(iam::User {
            user_name: format!("user-{i:03}"),
            arn: format!("arn:aws:iam::{id}:user{path}user-{i:03}"),
            path: path.into(),
            create_date: Some("2024-05-01T00:00:00Z".into()),
        });
    }
    global_iam.users.sort_by(|a, b| a.arn.cmp(&b.arn));
    global_iam.saml_providers.push(iam::SamlProvider {
        arn: format!(
            "arn:aws:iam::{id}:saml-provider/AWSSSO_{:016x}_DO_NOT_DELETE",
            rng.random::<u64>()
        ),
        create_date: Some("2024-01-01T00:00:00Z".into()),
        valid_until: None,
    });
    if rng.random_bool(0.02) {
        global_iam.saml_providers.push(iam::SamlProvider {
            arn: format!("arn:aws:iam::{id}:saml-provider/LegacyIdP"),
            create_date: None,
            valid_until: None,
        });
    }
    let mut buckets = Vec::new();
    for i in 0..count(rng, 8) {
        let name = format!("bucket-{id}-{i:03}");
        let policy = rng
            .random_bool(0.6)
            .then(|| policy_doc(&[resource_statement(rng, id, "s3:GetObject")]));
        buckets.push(s3::Bucket {
            name,
            bucket_region: Some(regions[0].to_owned()),
            policy,
            tags: tags(rng),
        });
    }
    let global = GlobalInventory {
        iam: complete(global_iam),
        s3: complete(s3::S3Inventory { buckets }),
    };

    let per_region = |pct: usize| pct.div_ceil(regions.len());
    let mut region_map = BTreeMap::new();
    for region in regions {
        let mut ec2_inv = ec2::Ec2Inventory::default();
        for i in 0..count(rng, per_region(35)) {
            let image = format!("ami-{:017x}", rng.random_range(0..40u64));
            let lookup = match rng.random_range(0..100) {
                0 => ec2::ImageLookup::Deregistered,
                1..=60 => ec2::ImageLookup::Found {
                    owner_id: Some("131313131313".into()),
                    image_owner_alias: Some("amazon".into()),
                    name: Some("al2023".into()),
                    state: Some("available".into()),
                },
                _ => ec2::ImageLookup::Found {
                    owner_id: Some(id.to_string()),
                    image_owner_alias: None,
                    name: Some("golden".into()),
                    state: Some("available".into()),
                },
            };
            ec2_inv.images.entry(image.clone()).or_insert(lookup);
            let mut t = tags(rng);
            let tokens = if rng.random_bool(0.05) {
                "optional"
            } else {
                "required"
            };
            if tokens == "optional" && rng.random_bool(0.3) {
                t.insert("ExemptFromIMDSv2".into(), "true".into());
            }
            ec2_inv.instances.push(ec2::Instance {
                instance_id: format!("i-{:017x}", rng.random::<u64>() >> 4),
                image_id: Some(image),
                state: if rng.random_bool(0.05) {
                    "terminated"
                } else {
                    "running"
                }
                .into(),
                public_ip_address: rng
                    .random_bool(0.03)
                    .then(|| format!("203.0.113.{}", i % 250)),
                metadata_options: Some(ec2::InstanceMetadataOptions {
                    http_tokens: Some(tokens.into()),
                    http_endpoint: Some("enabled".into()),
                    http_put_response_hop_limit: Some(if rng.random_bool(0.02) { 2 } else { 1 }),
                }),
                tags: t,
            });
        }
        ec2_inv
            .instances
            .sort_by(|a, b| a.instance_id.cmp(&b.instance_id));

        let clusters = (0..count(rng, per_region(1)))
            .map(|i| eks::Cluster {
                name: format!("cluster-{i}"),
                arn: format!("arn:aws:eks:{region}:{id}:cluster/cluster-{i}"),
                tags: if rng.random_bool(0.9) {
                    Tags::from([("PavedRoad".into(), "true".into())])
                } else {
                    Tags::new()
                },
            })
            .collect();
        let functions = (0..count(rng, per_region(7)))
            .map(|i| {
                let arn = format!("arn:aws:lambda:{region}:{id}:function:fn-{i:03}");
                let url_configs = if rng.random_bool(0.1) {
                    vec![lambda::FunctionUrlConfig {
                        function_url: format!("https://fn{i:03}.lambda-url.{region}.on.aws/"),
                        function_arn: arn.clone(),
                        auth_type: if rng.random_bool(0.2) {
                            "NONE"
                        } else {
                            "AWS_IAM"
                        }
                        .into(),
                    }]
                } else {
                    Vec::new()
                };
                lambda::Function {
                    function_name: format!("fn-{i:03}"),
                    function_arn: arn,
                    url_configs,
                }
            })
            .collect();
        let db_instances = (0..count(rng, per_region(3)))
            .map(|i| rds::DbInstance {
                db_instance_identifier: format!("db-{i:03}"),
                db_instance_arn: format!("arn:aws:rds:{region}:{id}:db:db-{i:03}"),
                engine: Some("postgres".into()),
                storage_encrypted: Some(!rng.random_bool(0.03)),
                db_cluster_identifier: None,
            })
            .collect();
        let repositories = (0..count(rng, per_region(3)))
            .map(|i| ecr::Repository {
                repository_name: format!("repo-{i:03}"),
                repository_arn: format!("arn:aws:ecr:{region}:{id}:repository/repo-{i:03}"),
                policy_text: rng
                    .random_bool(0.5)
                    .then(|| policy_doc(&[resource_statement(rng, id, "ecr:BatchGetImage")])),
                tags: tags(rng),
            })
            .collect();
        let mut keys: Vec<kms::Key> = (0..count(rng, per_region(10)))
            .map(|_| {
                let key_id = format!("{:08x}-0000-4000-8000-{:012x}", rng.random::<u32>(), rng.random::<u64>() >> 16);
                let aws = rng.random_bool(0.3);
                let policy = if aws {
                    format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{{"StringEquals":{{"kms:CallerAccount":"{id}","kms:ViaService":"ec2.{region}.amazonaws.com"}}}}}}]}}"#)
                } else {
                    policy_doc(&[
                        format!(r#"{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{id}:root"}},"Action":"kms:*","Resource":"*"}}"#),
                        resource_statement(rng, id, "kms:Decrypt"),
                    ])
                };
                kms::Key {
                    key_arn: format!("arn:aws:kms:{region}:{id}:key/{key_id}"),
                    key_id,
                    key_manager: if aws { "AWS" } else { "CUSTOMER" }.into(),
                    policy: Some(policy),
                    tags: if aws { Tags::new() } else { tags(rng) },
                }
            })
            .collect();
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        let secrets = (0..count(rng, per_region(7)))
            .map(|i| secretsmanager::Secret {
                name: format!("secret-{i:03}"),
                arn: format!("arn:aws:secretsmanager:{region}:{id}:secret:secret-{i:03}-AbCdEf"),
                resource_policy: rng.random_bool(0.3).then(|| {
                    policy_doc(&[resource_statement(rng, id, "secretsmanager:GetSecretValue")])
                }),
                tags: tags(rng),
            })
            .collect();
        let queues = (0..count(rng, per_region(8)))
            .map(|i| sqs::Queue {
                queue_url: format!("https://sqs.{region}.amazonaws.com/{id}/queue-{i:03}"),
                queue_arn: format!("arn:aws:sqs:{region}:{id}:queue-{i:03}"),
                policy: rng
                    .random_bool(0.5)
                    .then(|| policy_doc(&[resource_statement(rng, id, "sqs:SendMessage")])),
                tags: tags(rng),
            })
            .collect();
        let access_policies = (0..count(rng, per_region(1)))
            .map(|i| aoss::AccessPolicy {
                name: format!("access-{i}"),
                policy_type: "data".into(),
                policy_version: Some("MTY5ODc2MzI0MDAwMF8x".into()),
                description: None,
                policy: format!(
                    r#"[{{"Rules":[{{"ResourceType":"index","Resource":["index/c{i}/*"],"Permission":["aoss:ReadDocument"]}}],"Principal":["arn:aws:iam::{id}:role/reader"]}}]"#
                ),
            })
            .collect();
        let mut inventory = RegionalInventory {
            ec2: complete(ec2_inv),
            eks: complete(eks::EksInventory { clusters }),
            lambda: complete(lambda::LambdaInventory { functions }),
            rds: complete(rds::RdsInventory {
                db_instances,
                db_clusters: Vec::new(),
            }),
            ecr: complete(ecr::EcrInventory { repositories }),
            kms: complete(kms::KmsInventory { keys }),
            secretsmanager: complete(secretsmanager::SecretsManagerInventory { secrets }),
            sqs: complete(sqs::SqsInventory { queues }),
            aoss: complete(aoss::AossInventory { access_policies }),
        };
        if rng.random_bool(0.005) {
            inventory.aoss = Collected::Failed {
                error: CollectionError {
                    operation: "aoss:ListAccessPolicies".into(),
                    code: Some("AccessDeniedException".into()),
                    message: "not authorized".into(),
                    detail: None,
                },
            };
        }
        region_map.insert((*region).to_owned(), inventory);
    }
    AccountInventory::Collected {
        role_arn: format!("arn:aws:iam::{id}:role/Headroom"),
        global,
        regions: region_map,
        regions_not_enabled: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_valid() {
        let a = headroom_schemas::to_json(&generate(40, 30, 2, 7));
        let b = headroom_schemas::to_json(&generate(40, 30, 2, 7));
        assert_eq!(a, b);
        let snapshot = headroom_schemas::read(&a).unwrap();
        assert_eq!(snapshot.organization.accounts.len(), 41);
        let c = headroom_schemas::to_json(&generate(40, 30, 2, 8));
        assert_ne!(a, c);
    }
}
