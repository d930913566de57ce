//! The role chain, and [`ClientFactory`]: the one seam between the collector and AWS.
//!
//! `collect` starts from the aws-config default chain (env, profiles, SSO, IMDS; `--profile`,
//! `--region`, `AWS_ENDPOINT_URL`). If `security_analysis_account_id` is set it first assumes
//! `OrganizationAccountAccessRole` there; from that session it assumes the organization reader
//! role in the management account (or in a delegated administrator account) and the account
//! reader role in each member account, both with the configured `external_id` and
//! `session_duration`. Every
//! assumed role is assumed once per run: [`AssumedRole`] caches the credentials and renews
//! them only shortly before they expire, when the SDK's identity cache asks.
//!
//! Tests replace [`ClientFactory`] with one that hands out `aws-smithy-mocks` clients.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use headroom_schemas::AccountId;
use headroom_schemas::CallerIdentity;
use tokio::sync::Mutex;

use crate::actions;
use crate::error::ApiError;

/// The session name of the hop into the security analysis account.
pub const SECURITY_SESSION_NAME: &str = "HeadroomSecurityAnalysisSession";
/// The session name of the organization reader role.
pub const ORG_READER_SESSION_NAME: &str = "HeadroomOrgAndAccountInfoReaderSession";
/// The session name of the account reader role.
pub const ACCOUNT_READER_SESSION_NAME: &str = "HeadroomAnalysisSession";
/// The role assumed in the security analysis account.
pub const SECURITY_ROLE_NAME: &str = "OrganizationAccountAccessRole";

/// Renew assumed-role credentials this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Hands out SDK clients: the organization reader's Organizations client, and per member
/// account the clients of every service the inventories need.
pub trait ClientFactory: Send + Sync + 'static {
    /// Who `collect` runs as.
    fn caller_identity(&self) -> impl Future<Output = Result<CallerIdentity, ApiError>> + Send;

    /// An SSM client of the identity that assumes the reader roles, in its home region: it reads
    /// the public parameters saying where AWS offers each service.
    fn ssm(&self) -> aws_sdk_ssm::Client;

    /// The ARN of the role the organization is read through (for progress messages).
    fn organization_reader_arn(&self) -> String;

    /// An Organizations client in the management account (the organization reader role).
    fn organizations(
        &self,
    ) -> impl Future<Output = Result<aws_sdk_organizations::Client, ApiError>> + Send;

    /// Enters a member account (assumes the account reader role once) and returns its clients.
    fn account(
        &self,
        account_id: &AccountId,
    ) -> impl Future<Output = Result<Arc<dyn AccountClients>, ApiError>> + Send;
}

/// The clients of one member account. Regional clients are made per region.
pub trait AccountClients: Send + Sync {
    /// The ARN of the role `collect` works as in this account.
    fn role_arn(&self) -> &str;
    /// The account's home region: where global services and `DescribeRegions` are called.
    fn home_region(&self) -> &str;
    /// EC2 in `region`.
    fn ec2(&self, region: &str) -> aws_sdk_ec2::Client;
    /// EKS in `region`.
    fn eks(&self, region: &str) -> aws_sdk_eks::Client;
    /// Lambda in `region`.
    fn lambda(&self, region: &str) -> aws_sdk_lambda::Client;
    /// RDS in `region`.
    fn rds(&self, region: &str) -> aws_sdk_rds::Client;
    /// ECR in `region`.
    fn ecr(&self, region: &str) -> aws_sdk_ecr::Client;
    /// KMS in `region`.
    fn kms(&self, region: &str) -> aws_sdk_kms::Client;
    /// Secrets Manager in `region`.
    fn secretsmanager(&self, region: &str) -> aws_sdk_secretsmanager::Client;
    /// SQS in `region`.
    fn sqs(&self, region: &str) -> aws_sdk_sqs::Client;
    /// OpenSearch Serverless in `region`.
    fn aoss(&self, region: &str) -> aws_sdk_opensearchserverless::Client;
    /// IAM (global).
    fn iam(&self) -> aws_sdk_iam::Client;
    /// S3 in `region` (bucket-level calls go to the bucket's region).
    fn s3(&self, region: &str) -> aws_sdk_s3::Client;
}

/// `arn:<partition>:iam::<account>:role/<name>`.
pub fn role_arn(partition: &str, account_id: &str, role_name: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:role/{role_name}")
}

/// How reader roles are assumed: the optional `sts:ExternalId` and session duration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssumeOptions {
    /// Sent as `ExternalId` (the reader roles' trust policies may require it).
    pub external_id: Option<String>,
    /// Sent as `DurationSeconds`; AWS's default (one hour) when `None`.
    pub duration_seconds: Option<i32>,
}

/// Calls `sts:AssumeRole` once. Errors name the role and keep AWS's error code.
pub async fn assume_role(
    sts: &aws_sdk_sts::Client,
    role_arn: &str,
    session_name: &str,
) -> Result<Credentials, ApiError> {
    assume_role_with(sts, role_arn, session_name, &AssumeOptions::default()).await
}

/// [`assume_role`] with an external ID and a session duration.
pub async fn assume_role_with(
    sts: &aws_sdk_sts::Client,
    role_arn: &str,
    session_name: &str,
    options: &AssumeOptions,
) -> Result<Credentials, ApiError> {
    let out = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .set_external_id(options.external_id.clone())
        .set_duration_seconds(options.duration_seconds)
        .send()
        .await
        .map_err(|e| {
            ApiError::from_sdk(actions::STS_ASSUME_ROLE, &e)
                .context(&format!("failed to assume role `{role_arn}`"))
        })?;
    let Some(c) = out.credentials() else {
        return Err(ApiError::other(
            actions::STS_ASSUME_ROLE,
            format!("failed to assume role `{role_arn}`: the response held no credentials"),
        ));
    };
    let expiry = SystemTime::try_from(*c.expiration()).ok();
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        expiry,
        "HeadroomAssumeRole",
    ))
}

/// Credentials of one assumed role: assumed once, renewed only near expiry.
#[derive(Debug)]
pub struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    session_name: &'static str,
    options: AssumeOptions,
    cached: Mutex<Option<Credentials>>,
}

impl AssumedRole {
    /// A provider for `role_arn`, assumed through `sts`.
    pub fn new(
        sts: aws_sdk_sts::Client,
        role_arn: String,
        session_name: &'static str,
        options: AssumeOptions,
    ) -> Self {
        Self {
            sts,
            role_arn,
            session_name,
            options,
            cached: Mutex::new(None),
        }
    }

    /// The current credentials, assuming the role if none are cached or they expire soon.
    pub async fn credentials(&self) -> Result<Credentials, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c
                .expiry()
                .is_none_or(|e| e > SystemTime::now() + REFRESH_MARGIN);
            if fresh {
                return Ok(c.clone());
            }
        }
        let c =
            assume_role_with(&self.sts, &self.role_arn, self.session_name, &self.options).await?;
        *cached = Some(c.clone());
        Ok(c)
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.credentials()
                .await
                .map_err(CredentialsError::provider_error)
        })
    }
}

/// The real [`ClientFactory`]: the role chain over the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsClientFactory {
    /// The security analysis session: `base`, or `base` after the hop.
    session: SdkConfig,
    partition: String,
    organization_reader_account_id: AccountId,
    org_reader_role: String,
    account_reader_role: String,
    options: AssumeOptions,
    /// Address buckets path-style (custom S3 endpoints such as emulators need it).
    s3_path_style: bool,
    interceptor: Option<SharedInterceptor>,
    caller: CallerIdentity,
}

/// What the real factory needs to know.
#[derive(Debug, Clone)]
pub struct RoleChain {
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// If set, hop into `OrganizationAccountAccessRole` here first.
    pub security_analysis_account_id: Option<AccountId>,
    /// Where the organization reader role lives: the management account, or a delegated
    /// administrator account.
    pub organization_reader_account_id: AccountId,
    /// The organization reader role name.
    pub org_reader_role: String,
    /// The account reader role name.
    pub account_reader_role: String,
    /// External ID and session duration for both reader roles (not for the security hop).
    pub options: AssumeOptions,
}

impl AwsClientFactory {
    /// Builds the factory. The security hop, if any, is assumed here, so a wrong hop fails
    /// before any other work.
    pub async fn new(
        base: SdkConfig,
        chain: RoleChain,
        caller: CallerIdentity,
        interceptor: Option<SharedInterceptor>,
    ) -> Result<Self, ApiError> {
        let s3_path_style =
            base.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let session = match &chain.security_analysis_account_id {
            None => base.clone(),
            Some(id) => {
                let arn = role_arn(&chain.partition, id.as_str(), SECURITY_ROLE_NAME);
                with_role(
                    &base,
                    arn,
                    SECURITY_SESSION_NAME,
                    &AssumeOptions::default(),
                    interceptor.as_ref(),
                )
                .await?
            }
        };
        Ok(Self {
            session,
            partition: chain.partition,
            organization_reader_account_id: chain.organization_reader_account_id,
            org_reader_role: chain.org_reader_role,
            account_reader_role: chain.account_reader_role,
            options: chain.options,
            s3_path_style,
            interceptor,
            caller,
        })
    }
}

impl AwsClientFactory {
    /// The security analysis session (the starting identity, or the hop into the security
    /// analysis account): what other roles, such as the activity reader, are assumed from.
    pub fn session(&self) -> &SdkConfig {
        &self.session
    }

    /// Whether S3 buckets are addressed path-style (a custom endpoint, such as an emulator).
    pub fn s3_path_style(&self) -> bool {
        self.s3_path_style
    }

    /// The interceptor counting calls and retries for progress, if any.
    pub fn interceptor(&self) -> Option<&SharedInterceptor> {
        self.interceptor.as_ref()
    }
}

/// `parent` with the credentials of `role_arn`, assumed (once, eagerly) from `parent`.
pub async fn with_role(
    parent: &SdkConfig,
    role_arn: String,
    session_name: &'static str,
    options: &AssumeOptions,
    interceptor: Option<&SharedInterceptor>,
) -> Result<SdkConfig, ApiError> {
    let mut sts = aws_sdk_sts::config::Builder::from(parent);
    if let Some(i) = interceptor {
        sts = sts.interceptor(i.clone());
    }
    let sts = aws_sdk_sts::Client::from_conf(sts.build());
    let provider = AssumedRole::new(sts, role_arn, session_name, options.clone());
    provider.credentials().await?;
    Ok(parent
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

/// Who the starting identity is.
pub async fn caller_identity(config: &SdkConfig) -> Result<CallerIdentity, ApiError> {
    let out = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(actions::STS_GET_CALLER_IDENTITY, &e))?;
    let account = out.account().unwrap_or_default();
    let account = AccountId::new(account)
        .map_err(|e| ApiError::other(actions::STS_GET_CALLER_IDENTITY, e.to_string()))?;
    Ok(CallerIdentity {
        account,
        arn: out.arn().unwrap_or_default().to_owned(),
        user_id: out.user_id().unwrap_or_default().to_owned(),
    })
}

impl ClientFactory for AwsClientFactory {
    async fn caller_identity(&self) -> Result<CallerIdentity, ApiError> {
        Ok(self.caller.clone())
    }

    fn ssm(&self) -> aws_sdk_ssm::Client {
        let mut builder = aws_sdk_ssm::config::Builder::from(&self.session);
        if let Some(i) = &self.interceptor {
            builder = builder.interceptor(i.clone());
        }
        aws_sdk_ssm::Client::from_conf(builder.build())
    }

    fn organization_reader_arn(&self) -> String {
        role_arn(
            &self.partition,
            self.organization_reader_account_id.as_str(),
            &self.org_reader_role,
        )
    }

    async fn organizations(&self) -> Result<aws_sdk_organizations::Client, ApiError> {
        let config = with_role(
            &self.session,
            self.organization_reader_arn(),
            ORG_READER_SESSION_NAME,
            &self.options,
            self.interceptor.as_ref(),
        )
        .await?;
        let mut builder = aws_sdk_organizations::config::Builder::from(&config);
        if let Some(i) = &self.interceptor {
            builder = builder.interceptor(i.clone());
        }
        Ok(aws_sdk_organizations::Client::from_conf(builder.build()))
    }

    async fn account(&self, account_id: &AccountId) -> Result<Arc<dyn AccountClients>, ApiError> {
        let arn = role_arn(
            &self.partition,
            account_id.as_str(),
            &self.account_reader_role,
        );
        let config = with_role(
            &self.session,
            arn.clone(),
            ACCOUNT_READER_SESSION_NAME,
            &self.options,
            self.interceptor.as_ref(),
        )
        .await?;
        let home_region = config
            .region()
            .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
        Ok(Arc::new(SdkAccountClients {
            config,
            role_arn: arn,
            home_region,
            s3_path_style: self.s3_path_style,
            interceptor: self.interceptor.clone(),
        }))
    }
}

/// [`AccountClients`] over one assumed-role [`SdkConfig`]; every client shares its HTTP
/// client, credentials and identity cache.
#[derive(Debug)]
struct SdkAccountClients {
    config: SdkConfig,
    role_arn: String,
    home_region: String,
    s3_path_style: bool,
    interceptor: Option<SharedInterceptor>,
}

macro_rules! regional_client {
    ($name:ident, $krate:ident) => {
        fn $name(&self, region: &str) -> $krate::Client {
            let mut b =
                $krate::config::Builder::from(&self.config).region(Region::new(region.to_owned()));
            if let Some(i) = &self.interceptor {
                b = b.interceptor(i.clone());
            }
            $krate::Client::from_conf(b.build())
        }
    };
}

impl AccountClients for SdkAccountClients {
    fn role_arn(&self) -> &str {
        &self.role_arn
    }

    fn home_region(&self) -> &str {
        &self.home_region
    }

    regional_client!(ec2, aws_sdk_ec2);
    regional_client!(eks, aws_sdk_eks);
    regional_client!(lambda, aws_sdk_lambda);
    regional_client!(rds, aws_sdk_rds);
    regional_client!(ecr, aws_sdk_ecr);
    regional_client!(kms, aws_sdk_kms);
    regional_client!(secretsmanager, aws_sdk_secretsmanager);
    regional_client!(sqs, aws_sdk_sqs);
    regional_client!(aoss, aws_sdk_opensearchserverless);

    fn iam(&self) -> aws_sdk_iam::Client {
        let mut b = aws_sdk_iam::config::Builder::from(&self.config);
        if let Some(i) = &self.interceptor {
            b = b.interceptor(i.clone());
        }
        aws_sdk_iam::Client::from_conf(b.build())
    }

    fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .force_path_style(self.s3_path_style);
        if let Some(i) = &self.interceptor {
            b = b.interceptor(i.clone());
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }
}
