//! Error paths against `aws-smithy-mocks`: pagination through empty pages, throttling then
//! success, retries that run out, access denied on `AssumeRole` for one account, an unknown
//! account state. Real SDK clients answer through mock interceptors; one set of clients per
//! account is handed out by a test [`ClientFactory`].
#![expect(clippy::unwrap_used, reason = "test code")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use headroom_collector::credentials::{
    ACCOUNT_READER_SESSION_NAME, AccountClients, ClientFactory, assume_role, role_arn,
};
use headroom_collector::engine::{self, Plan};
use headroom_collector::error::ApiError;
use headroom_collector::progress::{Mode, Progress};
use headroom_collector::{cli, org, services};
use headroom_schemas::inventory::{AccountInventory, NotCollectedReason};
use headroom_schemas::org::AccountState;
use headroom_schemas::status::Collected;
use headroom_schemas::{AccountId, CallerIdentity, Snapshot};

const MANAGEMENT: &str = "111111111111";
const GOOD: &str = "222222222222";
const DENIED: &str = "333333333333";
const ODD_STATE: &str = "444444444444";

fn http(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    )
}

fn fast_retries(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

// ---------------------------------------------------------------------------------------
// Organizations
// ---------------------------------------------------------------------------------------

mod org_mocks {
    use aws_sdk_organizations::Client;
    use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
    use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
    use aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput;
    use aws_sdk_organizations::operation::list_policies::ListPoliciesOutput;
    use aws_sdk_organizations::operation::list_roots::ListRootsOutput;
    use aws_sdk_organizations::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_organizations::types::{
        Account, AccountState, Organization, OrganizationFeatureSet, Root,
    };
    use aws_smithy_mocks::{Rule, mock};

    pub fn account(id: &str, state: Option<AccountState>) -> Account {
        let b = Account::builder()
            .id(id)
            .arn(format!(
                "arn:aws:organizations::111111111111:account/o-example/{id}"
            ))
            .name(format!("acct-{id}"))
            .email(format!("{id}@example.com"));
        match state {
            Some(s) => b.state(s).build(),
            None => b.build(),
        }
    }

    /// The rules of a flat organization: `accounts` directly under the root, no policies.
    pub fn flat(accounts: Vec<Account>) -> Vec<Rule> {
        vec![
            mock!(Client::describe_organization).then_output(|| {
                DescribeOrganizationOutput::builder()
                    .organization(
                        Organization::builder()
                            .id("o-example")
                            .arn("arn:aws:organizations::111111111111:organization/o-example")
                            .feature_set(OrganizationFeatureSet::All)
                            .master_account_id("111111111111")
                            .build(),
                    )
                    .build()
            }),
            mock!(Client::list_roots).then_output(|| {
                ListRootsOutput::builder()
                    .roots(
                        Root::builder()
                            .id("r-ex")
                            .arn("arn:aws:organizations::111111111111:root/o-example/r-ex")
                            .name("Root")
                            .build(),
                    )
                    .build()
            }),
            mock!(Client::list_organizational_units_for_parent)
                .then_output(|| ListOrganizationalUnitsForParentOutput::builder().build()),
            mock!(Client::list_accounts_for_parent).then_output(move || {
                ListAccountsForParentOutput::builder()
                    .set_accounts(Some(accounts.clone()))
                    .build()
            }),
            mock!(Client::list_tags_for_resource)
                .then_output(|| ListTagsForResourceOutput::builder().build()),
            mock!(Client::list_policies).then_output(|| ListPoliciesOutput::builder().build()),
        ]
    }
}

#[tokio::test]
async fn org_pagination_follows_tokens_through_empty_pages() {
    use aws_sdk_organizations::Client;
    use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
    let p1 = mock!(Client::list_accounts_for_parent)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            ListAccountsForParentOutput::builder()
                .accounts(org_mocks::account(GOOD, None))
                .next_token("t1")
                .build()
        });
    // AWS may answer a page with no items and a token: the walk must go on.
    let p2 = mock!(Client::list_accounts_for_parent)
        .match_requests(|r| r.next_token() == Some("t1"))
        .then_output(|| {
            ListAccountsForParentOutput::builder()
                .next_token("t2")
                .build()
        });
    let p3 = mock!(Client::list_accounts_for_parent)
        .match_requests(|r| r.next_token() == Some("t2"))
        .then_output(|| {
            ListAccountsForParentOutput::builder()
                .accounts(org_mocks::account(DENIED, None))
                .build()
        });
    let client = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, [&p1, &p2, &p3]);
    let accounts = org::list_accounts_for_parent(&client, "r-ex")
        .await
        .unwrap();
    let ids: Vec<_> = accounts.iter().map(|a| a.id().unwrap()).collect();
    assert_eq!(ids, [GOOD, DENIED]);
    assert_eq!((p1.num_calls(), p2.num_calls(), p3.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn iam_pagination_follows_markers() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput;
    use aws_sdk_iam::operation::list_roles::ListRolesOutput;
    use aws_sdk_iam::operation::list_saml_providers::ListSamlProvidersOutput;
    use aws_sdk_iam::operation::list_users::ListUsersOutput;
    use aws_sdk_iam::types::Role;
    let role = |name: &str| {
        Role::builder()
            .role_name(name)
            .arn(format!("arn:aws:iam::{GOOD}:role/{name}"))
            .path("/")
            .role_id(format!("AROA{name}"))
            .create_date(DateTime::from_secs(0))
            // IAM URL-encodes trust policies; the snapshot holds the decoded JSON.
            .assume_role_policy_document("%7B%22Statement%22%3A%5B%5D%7D")
            .build()
            .unwrap()
    };
    let page1 = mock!(Client::list_roles)
        .match_requests(|r| r.marker().is_none())
        .then_output(move || {
            ListRolesOutput::builder()
                .roles(role("b-role"))
                .is_truncated(true)
                .marker("m1")
                .build()
                .unwrap()
        });
    let page2 = mock!(Client::list_roles)
        .match_requests(|r| r.marker() == Some("m1"))
        .then_output(move || {
            ListRolesOutput::builder()
                .set_roles(Some(vec![]))
                .is_truncated(true)
                .marker("m2")
                .build()
                .unwrap()
        });
    let page3 = mock!(Client::list_roles)
        .match_requests(|r| r.marker() == Some("m2"))
        .then_output(move || {
            ListRolesOutput::builder()
                .roles(role("a-role"))
                .is_truncated(false)
                .build()
                .unwrap()
        });
    let users = mock!(Client::list_users).then_output(|| {
        ListUsersOutput::builder()
            .set_users(Some(vec![]))
            .build()
            .unwrap()
    });
    let tags = mock!(Client::list_role_tags).then_output(|| {
        ListRoleTagsOutput::builder()
            .set_tags(Some(vec![]))
            .build()
            .unwrap()
    });
    let saml = mock!(Client::list_saml_providers)
        .then_output(|| ListSamlProvidersOutput::builder().build());
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&page1, &page2, &page3, &users, &tags, &saml]
    );
    let iam = services::iam::collect(&client).await.unwrap();
    let names: Vec<_> = iam.roles.iter().map(|r| r.role_name.as_str()).collect();
    assert_eq!(names, ["a-role", "b-role"], "sorted by ARN");
    assert_eq!(
        iam.roles[0].assume_role_policy_document.as_deref(),
        Some(r#"{"Statement":[]}"#)
    );
    assert_eq!(
        (page1.num_calls(), page2.num_calls(), page3.num_calls()),
        (1, 1, 1)
    );
    assert_eq!(tags.num_calls(), 2);
}

#[tokio::test]
async fn throttling_is_retried_then_succeeds() {
    use aws_sdk_organizations::Client;
    use aws_sdk_organizations::operation::list_roots::ListRootsOutput;
    use aws_sdk_organizations::types::Root;
    // Organizations throttles with HTTP 400 and the code in the body.
    let rule = mock!(Client::list_roots)
        .sequence()
        .http_response(|| {
            http(400, r#"{"__type":"TooManyRequestsException","Message":"AWS Organizations can't complete your request because another request is already in progress."}"#)
        })
        .times(2)
        .output(|| {
            ListRootsOutput::builder()
                .roots(Root::builder().id("r-ex").name("Root").build())
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_organizations, RuleMode::Sequential, [&rule], |b| b
        .retry_config(fast_retries(3)));
    let roots = org::list_roots(&client).await.unwrap();
    assert_eq!(roots[0].id, "r-ex");
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn retries_that_run_out_become_a_recorded_error() {
    use aws_sdk_eks::Client;
    use aws_sdk_eks::operation::list_clusters::ListClustersOutput;
    let rule = mock!(Client::list_clusters)
        .sequence()
        .http_response(|| {
            http(
                429,
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            )
        })
        .times(3)
        .output(|| ListClustersOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_eks, RuleMode::Sequential, [&rule], |b| b
        .retry_config(fast_retries(3)));
    let err = services::eks::collect(&client).await.unwrap_err();
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(err.operation, "eks:ListClusters");
    assert_eq!(err.code.as_deref(), Some("ThrottlingException"));
}

// ---------------------------------------------------------------------------------------
// A whole collection through a mock ClientFactory
// ---------------------------------------------------------------------------------------

/// One account's clients, each answering every list call with an empty page.
struct EmptyAccount {
    role_arn: String,
    ec2: aws_sdk_ec2::Client,
    eks: aws_sdk_eks::Client,
    lambda: aws_sdk_lambda::Client,
    rds: aws_sdk_rds::Client,
    ecr: aws_sdk_ecr::Client,
    kms: aws_sdk_kms::Client,
    secretsmanager: aws_sdk_secretsmanager::Client,
    sqs: aws_sdk_sqs::Client,
    aoss: aws_sdk_opensearchserverless::Client,
    iam: aws_sdk_iam::Client,
    s3: aws_sdk_s3::Client,
}

impl EmptyAccount {
    fn new(id: &str) -> Self {
        Self {
            role_arn: role_arn("aws", id, "Headroom"),
            ec2: {
                use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
                let r = mock!(aws_sdk_ec2::Client::describe_instances)
                    .then_output(|| DescribeInstancesOutput::builder().build());
                let regions = regions_mock();
                mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&r, &regions])
            },
            eks: {
                use aws_sdk_eks::operation::list_clusters::ListClustersOutput;
                let r = mock!(aws_sdk_eks::Client::list_clusters)
                    .then_output(|| ListClustersOutput::builder().build());
                mock_client!(aws_sdk_eks, RuleMode::MatchAny, [&r])
            },
            lambda: {
                use aws_sdk_lambda::operation::list_functions::ListFunctionsOutput;
                let r = mock!(aws_sdk_lambda::Client::list_functions)
                    .then_output(|| ListFunctionsOutput::builder().build());
                mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&r])
            },
            rds: {
                use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
                use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
                let a = mock!(aws_sdk_rds::Client::describe_db_instances)
                    .then_output(|| DescribeDbInstancesOutput::builder().build());
                let b = mock!(aws_sdk_rds::Client::describe_db_clusters)
                    .then_output(|| DescribeDbClustersOutput::builder().build());
                mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&a, &b])
            },
            ecr: {
                use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesOutput;
                let r = mock!(aws_sdk_ecr::Client::describe_repositories)
                    .then_output(|| DescribeRepositoriesOutput::builder().build());
                mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&r])
            },
            kms: {
                use aws_sdk_kms::operation::list_keys::ListKeysOutput;
                let r = mock!(aws_sdk_kms::Client::list_keys)
                    .then_output(|| ListKeysOutput::builder().build());
                mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&r])
            },
            secretsmanager: {
                use aws_sdk_secretsmanager::operation::list_secrets::ListSecretsOutput;
                let r = mock!(aws_sdk_secretsmanager::Client::list_secrets)
                    .then_output(|| ListSecretsOutput::builder().build());
                mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&r])
            },
            sqs: {
                use aws_sdk_sqs::operation::list_queues::ListQueuesOutput;
                let r = mock!(aws_sdk_sqs::Client::list_queues)
                    .then_output(|| ListQueuesOutput::builder().build());
                mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&r])
            },
            aoss: {
                use aws_sdk_opensearchserverless::operation::list_access_policies::ListAccessPoliciesOutput;
                let r = mock!(aws_sdk_opensearchserverless::Client::list_access_policies)
                    .then_output(|| ListAccessPoliciesOutput::builder().build());
                mock_client!(aws_sdk_opensearchserverless, RuleMode::MatchAny, [&r])
            },
            iam: {
                use aws_sdk_iam::operation::list_roles::ListRolesOutput;
                use aws_sdk_iam::operation::list_saml_providers::ListSamlProvidersOutput;
                use aws_sdk_iam::operation::list_users::ListUsersOutput;
                let a = mock!(aws_sdk_iam::Client::list_users).then_output(|| {
                    ListUsersOutput::builder()
                        .set_users(Some(vec![]))
                        .build()
                        .unwrap()
                });
                let b = mock!(aws_sdk_iam::Client::list_roles).then_output(|| {
                    ListRolesOutput::builder()
                        .set_roles(Some(vec![]))
                        .build()
                        .unwrap()
                });
                let c = mock!(aws_sdk_iam::Client::list_saml_providers)
                    .then_output(|| ListSamlProvidersOutput::builder().build());
                mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&a, &b, &c])
            },
            s3: {
                use aws_sdk_s3::operation::list_buckets::ListBucketsOutput;
                let r = mock!(aws_sdk_s3::Client::list_buckets)
                    .then_output(|| ListBucketsOutput::builder().build());
                mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&r])
            },
        }
    }
}

/// `DescribeRegions` with `AllRegions`: us-east-1 and af-south-1 enabled, me-south-1 an opt-in
/// region the account has not enabled.
fn regions_mock() -> aws_smithy_mocks::Rule {
    use aws_sdk_ec2::operation::describe_regions::DescribeRegionsOutput;
    use aws_sdk_ec2::types::Region;
    mock!(aws_sdk_ec2::Client::describe_regions)
        .match_requests(|r| r.all_regions() == Some(true))
        .then_output(|| {
            let region = |name: &str, status: &str| {
                Region::builder()
                    .region_name(name)
                    .opt_in_status(status)
                    .build()
            };
            DescribeRegionsOutput::builder()
                .regions(region("us-east-1", "opt-in-not-required"))
                .regions(region("af-south-1", "opted-in"))
                .regions(region("me-south-1", "not-opted-in"))
                .build()
        })
}

impl AccountClients for EmptyAccount {
    fn role_arn(&self) -> &str {
        &self.role_arn
    }
    fn home_region(&self) -> &'static str {
        "us-east-1"
    }
    fn ec2(&self, _: &str) -> aws_sdk_ec2::Client {
        self.ec2.clone()
    }
    fn eks(&self, _: &str) -> aws_sdk_eks::Client {
        self.eks.clone()
    }
    fn lambda(&self, _: &str) -> aws_sdk_lambda::Client {
        self.lambda.clone()
    }
    fn rds(&self, _: &str) -> aws_sdk_rds::Client {
        self.rds.clone()
    }
    fn ecr(&self, _: &str) -> aws_sdk_ecr::Client {
        self.ecr.clone()
    }
    fn kms(&self, _: &str) -> aws_sdk_kms::Client {
        self.kms.clone()
    }
    fn secretsmanager(&self, _: &str) -> aws_sdk_secretsmanager::Client {
        self.secretsmanager.clone()
    }
    fn sqs(&self, _: &str) -> aws_sdk_sqs::Client {
        self.sqs.clone()
    }
    fn aoss(&self, _: &str) -> aws_sdk_opensearchserverless::Client {
        self.aoss.clone()
    }
    fn iam(&self) -> aws_sdk_iam::Client {
        self.iam.clone()
    }
    fn s3(&self, _: &str) -> aws_sdk_s3::Client {
        self.s3.clone()
    }
}

/// Hands out the organization mock and, per account, the real `assume_role` against the STS
/// mock followed by that account's mock clients.
struct MockFactory {
    sts: aws_sdk_sts::Client,
    org: aws_sdk_organizations::Client,
    ssm: aws_sdk_ssm::Client,
    accounts: BTreeMap<String, Arc<dyn AccountClients>>,
}

impl ClientFactory for MockFactory {
    fn ssm(&self) -> aws_sdk_ssm::Client {
        self.ssm.clone()
    }

    fn organization_reader_arn(&self) -> String {
        role_arn("aws", MANAGEMENT, "OrgAndAccountInfoReader")
    }

    async fn caller_identity(&self) -> Result<CallerIdentity, ApiError> {
        Ok(CallerIdentity {
            account: AccountId::new(MANAGEMENT).unwrap(),
            arn: format!("arn:aws:iam::{MANAGEMENT}:user/runner"),
            user_id: "AIDAEXAMPLE".into(),
        })
    }

    async fn organizations(&self) -> Result<aws_sdk_organizations::Client, ApiError> {
        Ok(self.org.clone())
    }

    async fn account(&self, id: &AccountId) -> Result<Arc<dyn AccountClients>, ApiError> {
        let arn = role_arn("aws", id.as_str(), "Headroom");
        assume_role(&self.sts, &arn, ACCOUNT_READER_SESSION_NAME).await?;
        Ok(Arc::clone(&self.accounts[id.as_str()]))
    }
}

fn sts_mock() -> (aws_sdk_sts::Client, aws_smithy_mocks::Rule) {
    use aws_sdk_sts::Client;
    use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
    use aws_sdk_sts::types::Credentials;
    let denied = mock!(Client::assume_role)
        .match_requests(|r| r.role_arn().is_some_and(|a| a.contains(DENIED)))
        .then_http_response(|| {
            http(
                403,
                r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::111111111111:user/runner is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::333333333333:role/Headroom</Message></Error><RequestId>1</RequestId></ErrorResponse>"#,
            )
        });
    let ok = mock!(Client::assume_role).then_output(|| {
        AssumeRoleOutput::builder()
            .credentials(
                Credentials::builder()
                    .access_key_id("ASIAEXAMPLE")
                    .secret_access_key("secret")
                    .session_token("token")
                    .expiration(DateTime::from_secs(4_000_000_000))
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&denied, &ok]);
    (client, denied)
}

fn plan() -> Plan {
    Plan {
        management_account_id: AccountId::new(MANAGEMENT).unwrap(),
        skip_account_ids: std::collections::BTreeSet::default(),
        regions: Some(vec!["us-east-1".into()]),
        concurrency: 2,
        collector_version: "test".into(),
        collected_at: "2026-11-26T00:00:00Z".into(),
        config_digest: "sha256:none".into(),
    }
}

/// An SSM client whose every call is denied: `collect` falls back to its built-in table.
fn ssm_denied() -> aws_sdk_ssm::Client {
    let denied = mock!(aws_sdk_ssm::Client::get_parameters_by_path).then_http_response(|| {
        http(
            400,
            r#"{"__type":"AccessDeniedException","message":"not authorized to perform: ssm:GetParametersByPath"}"#,
        )
    });
    mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&denied])
}

async fn collect(accounts: Vec<aws_sdk_organizations::types::Account>) -> (Snapshot, usize) {
    collect_with(accounts, &plan(), ssm_denied(), |id| {
        Arc::new(EmptyAccount::new(id))
    })
    .await
}

async fn collect_with(
    accounts: Vec<aws_sdk_organizations::types::Account>,
    plan: &Plan,
    ssm: aws_sdk_ssm::Client,
    clients: impl Fn(&str) -> Arc<dyn AccountClients>,
) -> (Snapshot, usize) {
    let rules = org_mocks::flat(accounts.clone());
    let org = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &rules);
    let (sts, denied) = sts_mock();
    let accounts = accounts
        .iter()
        .map(|a| {
            let id = a.id().unwrap().to_owned();
            let c = clients(&id);
            (id, c)
        })
        .collect();
    let factory = Arc::new(MockFactory {
        sts,
        org,
        ssm,
        accounts,
    });
    let snapshot = engine::collect(factory, plan, Progress::new(Mode::Quiet))
        .await
        .unwrap();
    // What `collect` writes must read back through the schema's validation.
    let reread = headroom_schemas::read(&headroom_schemas::to_json(&snapshot)).unwrap();
    assert_eq!(reread, snapshot);
    (snapshot, denied.num_calls())
}

#[tokio::test]
async fn access_denied_on_assume_role_is_one_gap_and_the_rest_is_collected() {
    use aws_sdk_organizations::types::AccountState as Sdk;
    let (snapshot, denied_calls) = collect(vec![
        org_mocks::account(MANAGEMENT, Some(Sdk::Active)),
        org_mocks::account(GOOD, Some(Sdk::Active)),
        org_mocks::account(DENIED, Some(Sdk::Active)),
    ])
    .await;
    assert_eq!(denied_calls, 1, "one AssumeRole per account");
    assert_eq!(
        snapshot.accounts[MANAGEMENT],
        AccountInventory::NotCollected {
            reason: NotCollectedReason::ManagementAccount
        }
    );
    let AccountInventory::Failed { error } = &snapshot.accounts[DENIED] else {
        panic!("the denied account must be a failed entry");
    };
    assert_eq!(error.operation, "sts:AssumeRole");
    assert_eq!(error.code.as_deref(), Some("AccessDenied"));
    assert!(
        error
            .message
            .contains("failed to assume role `arn:aws:iam::333333333333:role/Headroom`"),
        "{}",
        error.message
    );
    let AccountInventory::Collected {
        role_arn,
        global,
        regions,
        regions_not_enabled,
    } = &snapshot.accounts[GOOD]
    else {
        panic!("the good account must be collected");
    };
    assert_eq!(role_arn, "arn:aws:iam::222222222222:role/Headroom");
    assert!(global.iam.is_complete() && global.s3.is_complete());
    assert_eq!(regions.keys().collect::<Vec<_>>(), ["us-east-1"]);
    assert!(
        regions_not_enabled.is_empty(),
        "only configured regions count"
    );
    assert!(
        regions["us-east-1"]
            .statuses()
            .iter()
            .all(|(_, e)| e.is_none())
    );
    assert!(
        matches!(&regions["us-east-1"].ec2, Collected::Complete { data } if data.instances.is_empty())
    );

    // Without --allow-partial the run fails (exit 1); the gap is named.
    let err = cli::check_complete(&snapshot, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 gap(s) in 1 account(s)"), "{err}");
    assert!(cli::check_complete(&snapshot, true).is_ok());
    let groups = cli::gap_groups(&snapshot, &|_| String::new());
    assert_eq!(groups.len(), 1);
    let line = groups[0].line();
    assert!(
        line.starts_with("not collected: sts:AssumeRole failed with AccessDenied for 1 account, not collected at all: 333333333333 (acct-333333333333); e.g. 333333333333 (acct-333333333333): failed to assume role"),
        "{line}"
    );
    assert!(!line.contains("<ErrorResponse"), "{line}");
}

#[tokio::test]
async fn an_unknown_account_state_is_kept_and_recorded_as_a_gap() {
    use aws_sdk_organizations::types::AccountState as Sdk;
    let (snapshot, _) = collect(vec![
        org_mocks::account(MANAGEMENT, Some(Sdk::Active)),
        org_mocks::account(GOOD, Some(Sdk::Suspended)),
        org_mocks::account(ODD_STATE, Some(Sdk::from("PENDING_MIGRATION"))),
    ])
    .await;
    let org = &snapshot.organization;
    assert_eq!(
        org.accounts[ODD_STATE].state,
        AccountState::Unknown("PENDING_MIGRATION".into())
    );
    assert_eq!(org.accounts[GOOD].state, AccountState::Suspended);
    assert_eq!(
        snapshot.accounts[GOOD],
        AccountInventory::NotCollected {
            reason: NotCollectedReason::Inactive
        }
    );
    // Never assumed "inactive": whether a guardrail would break it is unknown, so it is a gap.
    let AccountInventory::Failed { error } = &snapshot.accounts[ODD_STATE] else {
        panic!("an unknown state must be a failed entry");
    };
    assert!(
        error.message.contains("`PENDING_MIGRATION`"),
        "{}",
        error.message
    );
    assert!(cli::check_complete(&snapshot, false).is_err());
}

#[tokio::test]
async fn status_is_the_fallback_when_state_is_absent() {
    use aws_sdk_organizations::types::{Account, AccountStatus};
    let old = Account::builder()
        .id(GOOD)
        .name("old")
        .status(AccountStatus::Active)
        .build();
    assert_eq!(org::account_state(&old), AccountState::Active);
    let none = Account::builder().id(GOOD).build();
    assert_eq!(
        org::account_state(&none),
        AccountState::Unknown(org::MISSING_STATE.into())
    );
}

#[tokio::test]
async fn missing_policies_and_deleted_resources_are_not_errors() {
    use aws_sdk_s3::Client;
    use aws_sdk_s3::operation::list_buckets::ListBucketsOutput;
    use aws_sdk_s3::types::Bucket;
    let list = mock!(Client::list_buckets).then_output(|| {
        ListBucketsOutput::builder()
            .buckets(
                Bucket::builder()
                    .name("b-no-policy")
                    .bucket_region("eu-west-1")
                    .build(),
            )
            .build()
    });
    let policy = mock!(Client::get_bucket_policy).then_http_response(|| {
        http(404, "<Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not exist</Message></Error>")
    });
    let tagging = mock!(Client::get_bucket_tagging).then_http_response(|| {
        http(
            404,
            "<Error><Code>NoSuchTagSet</Code><Message>The TagSet does not exist</Message></Error>",
        )
    });
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list, &policy, &tagging]);
    let mut account = EmptyAccount::new(GOOD);
    account.s3 = s3;
    let clients: Arc<dyn AccountClients> = Arc::new(account);
    let inventory = services::s3::collect(&clients).await.unwrap();
    assert_eq!(inventory.buckets.len(), 1);
    let bucket = &inventory.buckets[0];
    assert_eq!(bucket.policy, None);
    assert!(bucket.tags.is_empty());
    assert_eq!(bucket.bucket_region.as_deref(), Some("eu-west-1"));
}

#[tokio::test]
async fn a_denied_service_is_a_gap_not_an_empty_inventory() {
    use aws_sdk_kms::Client;
    let denied = mock!(Client::list_keys).then_http_response(|| {
        http(400, r#"{"__type":"AccessDeniedException","message":"not authorized to perform: kms:ListKeys"}"#)
    });
    let kms = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&denied]);
    let err = services::kms::collect(&kms).await.unwrap_err();
    assert_eq!(err.operation, "kms:ListKeys");
    assert_eq!(err.code.as_deref(), Some("AccessDeniedException"));
}

#[tokio::test]
async fn aoss_policies_are_stored_as_canonical_json_text() {
    use aws_sdk_opensearchserverless::Client;
    use aws_sdk_opensearchserverless::operation::get_access_policy::GetAccessPolicyOutput;
    use aws_sdk_opensearchserverless::operation::list_access_policies::ListAccessPoliciesOutput;
    use aws_sdk_opensearchserverless::types::{
        AccessPolicyDetail, AccessPolicySummary, AccessPolicyType,
    };
    use aws_smithy_types::{Document, Number};
    let list = mock!(Client::list_access_policies).then_output(|| {
        ListAccessPoliciesOutput::builder()
            .access_policy_summaries(
                AccessPolicySummary::builder()
                    .name("p1")
                    .r#type(AccessPolicyType::Data)
                    .build(),
            )
            .build()
    });
    let get = mock!(Client::get_access_policy).then_output(|| {
        let rule = Document::Object(
            [
                (
                    "Principal".to_owned(),
                    Document::Array(vec![Document::String(
                        "arn:aws:iam::999999999999:root".into(),
                    )]),
                ),
                ("Description".to_owned(), Document::Null),
                (
                    "Rules".to_owned(),
                    Document::Array(vec![Document::Number(Number::PosInt(1))]),
                ),
            ]
            .into_iter()
            .collect(),
        );
        GetAccessPolicyOutput::builder()
            .access_policy_detail(
                AccessPolicyDetail::builder()
                    .name("p1")
                    .r#type(AccessPolicyType::Data)
                    .policy(Document::Array(vec![rule]))
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_opensearchserverless,
        RuleMode::MatchAny,
        [&list, &get]
    );
    let inventory = services::aoss::collect(&client).await.unwrap();
    assert_eq!(
        inventory.access_policies[0].policy,
        r#"[{"Description":null,"Principal":["arn:aws:iam::999999999999:root"],"Rules":[1]}]"#
    );
}

#[tokio::test]
async fn a_deregistered_image_fails_its_batch_and_is_looked_up_alone() {
    use aws_sdk_ec2::Client;
    use aws_sdk_ec2::operation::describe_images::DescribeImagesOutput;
    use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
    use aws_sdk_ec2::types::{Image, Instance, Reservation};
    use headroom_schemas::inventory::ec2::ImageLookup;
    let instances = mock!(Client::describe_instances).then_output(|| {
        DescribeInstancesOutput::builder()
            .reservations(
                Reservation::builder()
                    .instances(
                        Instance::builder()
                            .instance_id("i-2")
                            .image_id("ami-gone")
                            .build(),
                    )
                    .instances(
                        Instance::builder()
                            .instance_id("i-1")
                            .image_id("ami-live")
                            .build(),
                    )
                    .instances(
                        Instance::builder()
                            .instance_id("i-3")
                            .image_id("ami-hidden")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    // A batch naming a deregistered image fails as a whole.
    let gone = mock!(Client::describe_images)
        .match_requests(|r| r.image_ids().iter().any(|i| i == "ami-gone"))
        .then_http_response(|| {
            http(400, "<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>The image id '[ami-gone]' does not exist</Message></Error></Errors><RequestID>1</RequestID></Response>")
        });
    let live = mock!(Client::describe_images)
        .match_requests(|r| r.image_ids() == ["ami-live"])
        .then_output(|| {
            DescribeImagesOutput::builder()
                .images(
                    Image::builder()
                        .image_id("ami-live")
                        .owner_id("137112412989")
                        .image_owner_alias("amazon")
                        .build(),
                )
                .build()
        });
    let hidden = mock!(Client::describe_images)
        .match_requests(|r| r.image_ids() == ["ami-hidden"])
        .then_output(|| DescribeImagesOutput::builder().build());
    let client = mock_client!(
        aws_sdk_ec2,
        RuleMode::MatchAny,
        [&instances, &gone, &live, &hidden]
    );
    let ec2 = services::ec2::collect(&client).await.unwrap();
    let ids: Vec<_> = ec2
        .instances
        .iter()
        .map(|i| i.instance_id.as_str())
        .collect();
    assert_eq!(ids, ["i-1", "i-2", "i-3"], "sorted by instance ID");
    assert_eq!(ec2.images["ami-gone"], ImageLookup::Deregistered);
    assert_eq!(ec2.images["ami-hidden"], ImageLookup::NotVisible);
    assert!(matches!(
        &ec2.images["ami-live"],
        ImageLookup::Found { owner_id: Some(o), image_owner_alias: Some(a), .. } if o == "137112412989" && a == "amazon"
    ));
    assert_eq!(gone.num_calls(), 2, "the batch, then the image alone");
}

#[tokio::test]
async fn region_status_separates_regions_not_opted_in() {
    let rule = regions_mock();
    let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&rule]);
    let status = services::ec2::region_status(&client).await.unwrap();
    assert_eq!(
        status.enabled.iter().collect::<Vec<_>>(),
        ["af-south-1", "us-east-1"]
    );
    assert_eq!(
        status.not_enabled.iter().collect::<Vec<_>>(),
        ["me-south-1"]
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn contradictions_with_the_organization_are_input_errors() {
    use aws_sdk_organizations::types::AccountState as Sdk;
    let accounts = vec![
        org_mocks::account(MANAGEMENT, Some(Sdk::Active)),
        org_mocks::account(GOOD, Some(Sdk::Active)),
    ];
    let run = async |plan: Plan| {
        let rules = org_mocks::flat(accounts.clone());
        let org = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &rules);
        let (sts, _) = sts_mock();
        let factory = Arc::new(MockFactory {
            sts,
            org,
            ssm: ssm_denied(),
            accounts: BTreeMap::new(),
        });
        engine::collect(factory, &plan, Progress::new(Mode::Quiet))
            .await
            .unwrap_err()
    };
    let mut unknown_skip = plan();
    unknown_skip
        .skip_account_ids
        .insert(AccountId::new("555555555555").unwrap());
    let err = run(unknown_skip).await;
    assert_eq!(headroom_collector::exit::code_for(&err), 2);
    assert!(err.to_string().contains("`555555555555`"), "{err}");

    let mut other_management = plan();
    other_management.management_account_id = AccountId::new(GOOD).unwrap();
    let err = run(other_management).await;
    assert_eq!(headroom_collector::exit::code_for(&err), 2);
    assert!(
        err.to_string()
            .contains("names management account `222222222222` but the organization is managed by `111111111111`"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// Where AWS offers each service; regions the account has not enabled
// ---------------------------------------------------------------------------------------

/// SSM's public parameters for every service: two pages each (SSM returns at most 10 per
/// page), with aoss missing from af-south-1.
fn ssm_offering(
    regions: &'static [&'static str],
) -> (aws_sdk_ssm::Client, Vec<aws_smithy_mocks::Rule>) {
    use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathOutput;
    use aws_sdk_ssm::types::Parameter;
    let mut rules = Vec::new();
    for (service, code) in headroom_collector::availability::SSM_SERVICE_CODES {
        let path = headroom_collector::availability::ssm_path(code);
        let offered: Vec<&'static str> = regions
            .iter()
            .copied()
            .filter(|r| !(service == "aoss" && *r == "af-south-1"))
            .collect();
        let (first, second) = offered.split_at(1);
        let page = move |names: Vec<&'static str>, path: String, token: Option<&str>| {
            let mut out = GetParametersByPathOutput::builder().set_parameters(Some(
                names
                    .into_iter()
                    .map(|r| {
                        Parameter::builder()
                            .name(format!("{path}/{r}"))
                            .value(r)
                            .build()
                    })
                    .collect(),
            ));
            if let Some(t) = token {
                out = out.next_token(t);
            }
            out.build()
        };
        let (p1, p2) = (path.clone(), path.clone());
        let (f, g) = (first.to_vec(), second.to_vec());
        let pages = (p1.clone(), p2.clone());
        rules.push(
            mock!(aws_sdk_ssm::Client::get_parameters_by_path)
                .match_requests(move |r| r.path() == Some(p1.as_str()) && r.next_token().is_none())
                .then_output(move || page(f.clone(), pages.0.clone(), Some("next"))),
        );
        rules.push(
            mock!(aws_sdk_ssm::Client::get_parameters_by_path)
                .match_requests(move |r| {
                    r.path() == Some(p2.as_str()) && r.next_token() == Some("next")
                })
                .then_output(move || page(g.clone(), pages.1.clone(), None)),
        );
    }
    let client = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &rules);
    (client, rules)
}

#[tokio::test]
async fn service_regions_are_read_from_ssm_through_every_page() {
    let (client, rules) = ssm_offering(&["af-south-1", "eu-west-1", "us-east-1"]);
    let availability = headroom_collector::availability::from_ssm(&client)
        .await
        .unwrap();
    assert_eq!(
        availability.source,
        headroom_schemas::AvailabilitySource::Ssm
    );
    assert_eq!(availability.services.len(), 9);
    assert_eq!(
        availability.services["aoss"].iter().collect::<Vec<_>>(),
        ["eu-west-1", "us-east-1"]
    );
    assert_eq!(availability.services["ec2"].len(), 3);
    assert!(rules.iter().all(|r| r.num_calls() == 1), "each page once");
}

/// An account whose aoss calls are counted.
fn counting_account(id: &str) -> (Arc<dyn AccountClients>, aws_smithy_mocks::Rule) {
    use aws_sdk_opensearchserverless::operation::list_access_policies::ListAccessPoliciesOutput;
    let rule = mock!(aws_sdk_opensearchserverless::Client::list_access_policies)
        .then_output(|| ListAccessPoliciesOutput::builder().build());
    let mut account = EmptyAccount::new(id);
    account.aoss = mock_client!(aws_sdk_opensearchserverless, RuleMode::MatchAny, [&rule]);
    (Arc::new(account), rule)
}

#[tokio::test]
async fn a_service_not_offered_in_a_region_is_not_called_and_not_a_gap() {
    use aws_sdk_organizations::types::AccountState as Sdk;
    let (ssm, _rules) = ssm_offering(&["af-south-1", "me-south-1", "us-east-1"]);
    let mut plan = plan();
    plan.regions = Some(vec![
        "af-south-1".into(),
        "me-south-1".into(),
        "us-east-1".into(),
    ]);
    let (good, aoss_calls) = counting_account(GOOD);
    let (snapshot, _) = collect_with(
        vec![
            org_mocks::account(MANAGEMENT, Some(Sdk::Active)),
            org_mocks::account(GOOD, Some(Sdk::Active)),
        ],
        &plan,
        ssm,
        |_| Arc::clone(&good),
    )
    .await;
    let availability = snapshot.meta.service_availability.as_ref().unwrap();
    assert_eq!(
        availability.source,
        headroom_schemas::AvailabilitySource::Ssm
    );
    let AccountInventory::Collected {
        regions,
        regions_not_enabled,
        ..
    } = &snapshot.accounts[GOOD]
    else {
        panic!("collected");
    };
    // me-south-1 is an opt-in region the account has not enabled: skipped, recorded.
    assert_eq!(
        regions.keys().collect::<Vec<_>>(),
        ["af-south-1", "us-east-1"]
    );
    assert_eq!(regions_not_enabled, &["me-south-1"]);
    // aoss is not offered in af-south-1: no call there, a known absence, not a gap.
    assert_eq!(regions["af-south-1"].aoss, Collected::NotOffered);
    assert!(regions["af-south-1"].ec2.is_complete() && regions["us-east-1"].aoss.is_complete());
    assert_eq!(aoss_calls.num_calls(), 1, "us-east-1 only");
    assert!(snapshot.accounts[GOOD].gaps().is_empty());
    assert!(cli::check_complete(&snapshot, false).is_ok());
}

#[tokio::test]
async fn without_ssm_the_builtin_table_decides() {
    use aws_sdk_organizations::types::AccountState as Sdk;
    let mut plan = plan();
    plan.regions = Some(vec!["af-south-1".into(), "us-east-1".into()]);
    let (good, aoss_calls) = counting_account(GOOD);
    let (snapshot, _) = collect_with(
        vec![
            org_mocks::account(MANAGEMENT, Some(Sdk::Active)),
            org_mocks::account(GOOD, Some(Sdk::Active)),
        ],
        &plan,
        ssm_denied(),
        |_| Arc::clone(&good),
    )
    .await;
    let availability = snapshot.meta.service_availability.as_ref().unwrap();
    assert_eq!(
        availability.source,
        headroom_schemas::AvailabilitySource::Builtin
    );
    let AccountInventory::Collected { regions, .. } = &snapshot.accounts[GOOD] else {
        panic!("collected");
    };
    assert_eq!(regions["af-south-1"].aoss, Collected::NotOffered);
    assert_eq!(aoss_calls.num_calls(), 1);
    assert!(snapshot.accounts[GOOD].gaps().is_empty());
}

// ---------------------------------------------------------------------------------------
// Errors a person can read, grouped
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_xml_error_from_a_json_service_gives_its_code_and_message() {
    let rule = mock!(aws_sdk_lambda::Client::list_functions).then_http_response(|| {
        http(
            403,
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error><RequestId>1</RequestId></ErrorResponse>",
        )
    });
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&rule]);
    let err = services::lambda::collect(&lambda).await.unwrap_err();
    assert_eq!(err.operation, "lambda:ListFunctions");
    assert_eq!(err.code.as_deref(), Some("SignatureDoesNotMatch"));
    assert_eq!(
        err.message,
        "The request signature we calculated does not match the signature you provided."
    );
    let detail = err.detail.as_deref().unwrap();
    assert!(
        detail.starts_with("HTTP 403; body: <ErrorResponse"),
        "{detail}"
    );
    assert!(!err.to_string().contains("HttpResponse"), "{err}");
}

#[tokio::test]
async fn an_unmodelled_sts_error_and_a_bodiless_403_read_well() {
    let rule = mock!(aws_sdk_sts::Client::assume_role).then_http_response(|| {
        http(
            400,
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>",
        )
    });
    let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&rule]);
    let err = assume_role(&sts, "arn:aws:iam::222222222222:role/Headroom", "s")
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidClientTokenId"));
    assert_eq!(
        err.message,
        "failed to assume role `arn:aws:iam::222222222222:role/Headroom`: The security token included in the request is invalid."
    );

    let rule = mock!(aws_sdk_eks::Client::list_clusters).then_http_response(|| http(403, ""));
    let eks = mock_client!(aws_sdk_eks, RuleMode::MatchAny, [&rule]);
    let err = services::eks::collect(&eks).await.unwrap_err();
    assert_eq!(err.message, "HTTP 403 with no error message");
    assert_eq!(err.detail.as_deref(), Some("HTTP 403"));
}

/// An account whose every `lambda:ListFunctions` is denied.
fn lambda_denied_account(id: &str) -> Arc<dyn AccountClients> {
    let rule = mock!(aws_sdk_lambda::Client::list_functions).then_http_response(|| {
        let mut response = http(
            403,
            r#"{"Type":"User","Message":"User: arn:aws:sts::222222222222:assumed-role/Headroom/s is not authorized to perform: lambda:ListFunctions"}"#,
        );
        response
            .headers_mut()
            .insert("x-amzn-errortype", "AccessDeniedException");
        response
    });
    let mut account = EmptyAccount::new(id);
    account.lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&rule]);
    Arc::new(account)
}

#[tokio::test]
async fn identical_gaps_are_grouped_in_the_summary_and_kept_whole_in_the_snapshot() {
    use aws_sdk_organizations::types::AccountState as Sdk;
    let mut plan = plan();
    plan.regions = Some(vec!["af-south-1".into(), "us-east-1".into()]);
    let (snapshot, _) = collect_with(
        vec![
            org_mocks::account(MANAGEMENT, Some(Sdk::Active)),
            org_mocks::account(GOOD, Some(Sdk::Active)),
            org_mocks::account(ODD_STATE, Some(Sdk::Active)),
        ],
        &plan,
        ssm_denied(),
        lambda_denied_account,
    )
    .await;
    let gaps: Vec<_> = snapshot
        .accounts
        .values()
        .flat_map(AccountInventory::gaps)
        .collect();
    assert_eq!(gaps.len(), 4, "2 accounts x 2 regions");
    assert!(gaps.iter().all(|g| {
        g.error
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("HTTP 403; body: {"))
    }));
    let groups = cli::gap_groups(&snapshot, &|_| String::new());
    assert_eq!(groups.len(), 1);
    let line = groups[0].line();
    assert!(
        line.starts_with(
            "not collected: lambda:ListFunctions failed with AccessDeniedException in 2 accounts x 2 regions; e.g. 222222222222 (acct-222222222222), af-south-1: User: arn:aws:sts::222222222222:assumed-role/Headroom/s is not authorized"
        ),
        "{line}"
    );
    assert!(
        !line.contains("HTTP 403"),
        "the raw detail stays in the snapshot: {line}"
    );
    let event = groups[0].event();
    assert_eq!(event["count"], 4);
    assert_eq!(
        event["regions"],
        serde_json::json!(["af-south-1", "us-east-1"])
    );
}
