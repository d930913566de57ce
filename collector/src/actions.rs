//! Every IAM action `collect` calls, in one place.
//!
//! Each SDK call site names its action with one of these constants (it is also the
//! `operation` recorded when the call fails), and `test_environment/policies/*.json` grants
//! exactly [`ORG_READER`] and [`ACCOUNT_READER`]: `tests/iam_policies.rs` fails when the two
//! disagree in either direction.

/// `sts:AssumeRole`, called by the starting identity for every hop of the role chain.
pub const STS_ASSUME_ROLE: &str = "sts:AssumeRole";
/// `sts:GetCallerIdentity` (needs no permission; recorded in `meta.caller_identity`).
pub const STS_GET_CALLER_IDENTITY: &str = "sts:GetCallerIdentity";

/// `ssm:GetParametersByPath`, on AWS's public parameters
/// `/aws/service/global-infrastructure/services/<service>/regions` only.
pub const SSM_GET_PARAMETERS_BY_PATH: &str = "ssm:GetParametersByPath";

/// `organizations:DescribeOrganization`.
pub const ORG_DESCRIBE_ORGANIZATION: &str = "organizations:DescribeOrganization";
/// `organizations:ListRoots`.
pub const ORG_LIST_ROOTS: &str = "organizations:ListRoots";
/// `organizations:ListOrganizationalUnitsForParent`.
pub const ORG_LIST_OUS_FOR_PARENT: &str = "organizations:ListOrganizationalUnitsForParent";
/// `organizations:ListAccountsForParent`.
pub const ORG_LIST_ACCOUNTS_FOR_PARENT: &str = "organizations:ListAccountsForParent";
/// `organizations:ListTagsForResource`.
pub const ORG_LIST_TAGS: &str = "organizations:ListTagsForResource";
/// `organizations:ListPolicies`.
pub const ORG_LIST_POLICIES: &str = "organizations:ListPolicies";
/// `organizations:DescribePolicy`.
pub const ORG_DESCRIBE_POLICY: &str = "organizations:DescribePolicy";
/// `organizations:ListTargetsForPolicy`.
pub const ORG_LIST_TARGETS_FOR_POLICY: &str = "organizations:ListTargetsForPolicy";

/// `ec2:DescribeRegions`.
pub const EC2_DESCRIBE_REGIONS: &str = "ec2:DescribeRegions";
/// `ec2:DescribeInstances`.
pub const EC2_DESCRIBE_INSTANCES: &str = "ec2:DescribeInstances";
/// `ec2:DescribeImages`.
pub const EC2_DESCRIBE_IMAGES: &str = "ec2:DescribeImages";
/// `eks:ListClusters`.
pub const EKS_LIST_CLUSTERS: &str = "eks:ListClusters";
/// `eks:DescribeCluster`.
pub const EKS_DESCRIBE_CLUSTER: &str = "eks:DescribeCluster";
/// `iam:ListUsers`.
pub const IAM_LIST_USERS: &str = "iam:ListUsers";
/// `iam:ListRoles`.
pub const IAM_LIST_ROLES: &str = "iam:ListRoles";
/// `iam:ListRoleTags`.
pub const IAM_LIST_ROLE_TAGS: &str = "iam:ListRoleTags";
/// `iam:ListSAMLProviders`.
pub const IAM_LIST_SAML_PROVIDERS: &str = "iam:ListSAMLProviders";
/// `lambda:ListFunctions`.
pub const LAMBDA_LIST_FUNCTIONS: &str = "lambda:ListFunctions";
/// `lambda:ListFunctionUrlConfigs`.
pub const LAMBDA_LIST_FUNCTION_URL_CONFIGS: &str = "lambda:ListFunctionUrlConfigs";
/// `rds:DescribeDBInstances`.
pub const RDS_DESCRIBE_DB_INSTANCES: &str = "rds:DescribeDBInstances";
/// `rds:DescribeDBClusters`.
pub const RDS_DESCRIBE_DB_CLUSTERS: &str = "rds:DescribeDBClusters";
/// `s3:ListAllMyBuckets` (the `ListBuckets` call).
pub const S3_LIST_ALL_MY_BUCKETS: &str = "s3:ListAllMyBuckets";
/// `s3:GetBucketPolicy`.
pub const S3_GET_BUCKET_POLICY: &str = "s3:GetBucketPolicy";
/// `s3:GetBucketTagging`.
pub const S3_GET_BUCKET_TAGGING: &str = "s3:GetBucketTagging";
/// `ecr:DescribeRepositories`.
pub const ECR_DESCRIBE_REPOSITORIES: &str = "ecr:DescribeRepositories";
/// `ecr:GetRepositoryPolicy`.
pub const ECR_GET_REPOSITORY_POLICY: &str = "ecr:GetRepositoryPolicy";
/// `ecr:ListTagsForResource`.
pub const ECR_LIST_TAGS: &str = "ecr:ListTagsForResource";
/// `kms:ListKeys`.
pub const KMS_LIST_KEYS: &str = "kms:ListKeys";
/// `kms:DescribeKey`.
pub const KMS_DESCRIBE_KEY: &str = "kms:DescribeKey";
/// `kms:GetKeyPolicy`.
pub const KMS_GET_KEY_POLICY: &str = "kms:GetKeyPolicy";
/// `kms:ListResourceTags`.
pub const KMS_LIST_RESOURCE_TAGS: &str = "kms:ListResourceTags";
/// `secretsmanager:ListSecrets`.
pub const SECRETS_LIST_SECRETS: &str = "secretsmanager:ListSecrets";
/// `secretsmanager:GetResourcePolicy`.
pub const SECRETS_GET_RESOURCE_POLICY: &str = "secretsmanager:GetResourcePolicy";
/// `sqs:ListQueues`.
pub const SQS_LIST_QUEUES: &str = "sqs:ListQueues";
/// `sqs:GetQueueAttributes`.
pub const SQS_GET_QUEUE_ATTRIBUTES: &str = "sqs:GetQueueAttributes";
/// `sqs:ListQueueTags`.
pub const SQS_LIST_QUEUE_TAGS: &str = "sqs:ListQueueTags";
/// `aoss:ListAccessPolicies`.
pub const AOSS_LIST_ACCESS_POLICIES: &str = "aoss:ListAccessPolicies";
/// `aoss:GetAccessPolicy`.
pub const AOSS_GET_ACCESS_POLICY: &str = "aoss:GetAccessPolicy";

/// What the organization reader role (`OrgAndAccountInfoReader`) in the management account
/// needs, sorted.
pub const ORG_READER: &[&str] = &[
    ORG_DESCRIBE_ORGANIZATION,
    ORG_DESCRIBE_POLICY,
    ORG_LIST_ACCOUNTS_FOR_PARENT,
    ORG_LIST_OUS_FOR_PARENT,
    ORG_LIST_POLICIES,
    ORG_LIST_ROOTS,
    ORG_LIST_TAGS,
    ORG_LIST_TARGETS_FOR_POLICY,
];

/// What the account reader role (`Headroom`) in each member account needs, sorted.
pub const ACCOUNT_READER: &[&str] = &[
    AOSS_GET_ACCESS_POLICY,
    AOSS_LIST_ACCESS_POLICIES,
    EC2_DESCRIBE_IMAGES,
    EC2_DESCRIBE_INSTANCES,
    EC2_DESCRIBE_REGIONS,
    ECR_DESCRIBE_REPOSITORIES,
    ECR_GET_REPOSITORY_POLICY,
    ECR_LIST_TAGS,
    EKS_DESCRIBE_CLUSTER,
    EKS_LIST_CLUSTERS,
    IAM_LIST_ROLE_TAGS,
    IAM_LIST_ROLES,
    IAM_LIST_SAML_PROVIDERS,
    IAM_LIST_USERS,
    KMS_DESCRIBE_KEY,
    KMS_GET_KEY_POLICY,
    KMS_LIST_KEYS,
    KMS_LIST_RESOURCE_TAGS,
    LAMBDA_LIST_FUNCTION_URL_CONFIGS,
    LAMBDA_LIST_FUNCTIONS,
    RDS_DESCRIBE_DB_CLUSTERS,
    RDS_DESCRIBE_DB_INSTANCES,
    S3_GET_BUCKET_POLICY,
    S3_GET_BUCKET_TAGGING,
    S3_LIST_ALL_MY_BUCKETS,
    SECRETS_GET_RESOURCE_POLICY,
    SECRETS_LIST_SECRETS,
    SQS_GET_QUEUE_ATTRIBUTES,
    SQS_LIST_QUEUE_TAGS,
    SQS_LIST_QUEUES,
];

/// What the identity that runs `collect` (or the security analysis hop) needs, sorted: assuming
/// the two reader roles, and reading where AWS offers each service (public SSM parameters).
/// `sts:GetCallerIdentity` needs no permission. `test_environment/policies/collector.json`
/// grants exactly these, each on its resources only.
pub const CALLER: &[&str] = &[SSM_GET_PARAMETERS_BY_PATH, STS_ASSUME_ROLE];

/// `s3:ListBucket` (the `ListObjectsV2` call), on the organization trail's bucket.
pub const S3_LIST_BUCKET: &str = "s3:ListBucket";
/// `s3:GetObject`, on the trail's log files.
pub const S3_GET_OBJECT: &str = "s3:GetObject";
/// `kms:Decrypt`, which S3 asks for on the reader's behalf when the trail's log files are
/// encrypted with a KMS key (SSE-KMS, as AWS Control Tower's trail is); a refusal is recorded
/// under this action.
pub const KMS_DECRYPT: &str = "kms:Decrypt";
/// `athena:StartQueryExecution`.
pub const ATHENA_START_QUERY_EXECUTION: &str = "athena:StartQueryExecution";
/// `athena:GetQueryExecution`.
pub const ATHENA_GET_QUERY_EXECUTION: &str = "athena:GetQueryExecution";
/// `athena:GetQueryResults`.
pub const ATHENA_GET_QUERY_RESULTS: &str = "athena:GetQueryResults";

/// What the activity reader needs to read the trail's log files (`activity.source: s3`),
/// sorted. `test_environment/policies/activity_reader_s3.json` grants exactly these, on the
/// trail's bucket, its log files and its key.
pub const ACTIVITY_READER_S3: &[&str] = &[KMS_DECRYPT, S3_GET_OBJECT, S3_LIST_BUCKET];

/// What the activity reader calls to query the trail through Athena (`activity.source:
/// athena`), sorted.
pub const ACTIVITY_READER_ATHENA: &[&str] = &[
    ATHENA_GET_QUERY_EXECUTION,
    ATHENA_GET_QUERY_RESULTS,
    ATHENA_START_QUERY_EXECUTION,
];

/// What Athena does with the reader's permissions to run the query, sorted: read the table's
/// definition in Glue and the trail's log files, and write the results to the output
/// location. `collect` calls none of these itself; `activity_reader_athena.json` grants
/// them beside [`ACTIVITY_READER_ATHENA`].
pub const ATHENA_ON_BEHALF: &[&str] = &[
    "glue:GetDatabase",
    "glue:GetPartitions",
    "glue:GetTable",
    "kms:Decrypt",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
];
