//! The checks: one file per check, named by its ID, whose doc comment (inside
//! [`declare_check!`]) is its documentation; and, one file per concern:
//! - [`registry`]: the `Check` trait, check metadata, [`ALL`] (the explicit list, sorted by
//!   ID, which orders every output);
//! - [`config`]: the `checks` section of the configuration, resolved and validated;
//! - [`runner`]: running the enabled checks over the accounts (in parallel, merged in registry
//!   order), and the statements placement asks for;
//! - [`docs`]: `documentation/CHECKS.md` and the report schemas, generated;
//! - [`common`] and [`rcp`]: what several checks share.

pub mod common;
pub mod rcp;

pub mod deny_aoss_third_party_access;
pub mod deny_ec2_ami_owner;
pub mod deny_ec2_imds_hop_limit;
pub mod deny_ec2_imds_v1;
pub mod deny_ec2_public_ip;
pub mod deny_ecr_third_party_access;
pub mod deny_eks_create_cluster_without_tag;
pub mod deny_iam_saml_provider_not_aws_sso;
pub mod deny_iam_user_creation;
pub mod deny_kms_third_party_access;
pub mod deny_lambda_auth_type_none;
pub mod deny_rds_unencrypted;
pub mod deny_s3_third_party_access;
pub mod deny_secrets_manager_third_party_access;
pub mod deny_sqs_third_party_access;
pub mod deny_sts_third_party_assumerole;

pub mod config;
pub mod docs;
pub mod registry;
pub mod runner;

pub use self::config::{CheckConfig, resolve_config};
pub use self::docs::{checks_markdown, doc_text, report_schemas};
pub use self::registry::{
    ALL, AccountScope, AnyCheck, Check, CheckMeta, Evaluation, PolicyContext, PreparedCheck, find,
};
pub(crate) use self::registry::{declare_check, optional};
pub use self::runner::{
    AccountInput, AccountResult, AccountVerdicts, CheckResults, Checker, RunInput, run_checks,
    run_checks_into, statement_source, statements,
};
