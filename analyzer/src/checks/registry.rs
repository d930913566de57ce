//! What a check is and the list of them: the `Check` trait each check file implements, its
//! metadata (`declare_check!`, whose doc comment becomes the documentation), the object-safe
//! face the registry holds, and [`ALL`], the explicit list sorted by ID that orders every
//! output.

use std::collections::{BTreeMap, BTreeSet};

use headroom_schemas::inventory::{AccountInventory, GlobalInventory, RegionalInventory};
use headroom_schemas::org::Account;
use headroom_schemas::status::Collected;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::common;
use super::runner::{AccountInput, AccountResult, RunInput, run_account};
use crate::AnalyzeError;
use crate::model::{CheckKind, Counts, Statement};
use crate::policy_document::OrgView;

/// Declares a check: a unit struct carrying the doc comment and a `META` constant whose `doc`
/// is that comment, so the documentation is the code's.
macro_rules! declare_check {
    (
        $(#[doc = $doc:literal])*
        pub $name:ident {
            id: $id:literal,
            kind: $kind:ident,
            aliases: [$($alias:literal),* $(,)?],
            service: $service:literal,
            reads: [$($read:literal),* $(,)?],
            reasons: [$($reason:literal),* $(,)?],
            $(empty_allowlist: $empty:literal,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl $name {
            /// This check's metadata.
            pub const META: $crate::checks::CheckMeta = $crate::checks::CheckMeta {
                id: $id,
                kind: $crate::model::CheckKind::$kind,
                aliases: &[$($alias),*],
                service: $service,
                reads: &[$($read),*],
                reasons: &[$($reason),*],
                empty_allowlist: $crate::checks::optional!($($empty)?),
                doc: concat!($($doc, "\n"),*),
                source: file!(),
            };
        }
    };
}
pub(crate) use declare_check;

/// `Some(text)` for a given literal, `None` without one.
macro_rules! optional {
    () => {
        None
    };
    ($text:literal) => {
        Some($text)
    };
}
pub(crate) use optional;

/// What the registry knows about a check besides its logic.
#[derive(Debug, Clone, Copy)]
pub struct CheckMeta {
    /// The check ID, equal to its file stem.
    pub id: &'static str,
    /// SCP or RCP.
    pub kind: CheckKind,
    /// Older names accepted in the configuration.
    pub aliases: &'static [&'static str],
    /// The AWS service the guardrail governs, for people.
    pub service: &'static str,
    /// The snapshot inventories the check reads (`ec2`, `iam`, ...): a failed collection of
    /// any of them makes the account incomplete for this check, and only those do.
    pub reads: &'static [&'static str],
    /// Every violation reason code the check can report.
    pub reasons: &'static [&'static str],
    /// For a check whose statements carry an allowlist: what the guardrail denies where the
    /// allowlist comes out empty (a sentence, from "from now on"). `None` for checks without
    /// an allowlist.
    pub empty_allowlist: Option<&'static str>,
    /// The doc comment (one line per doc line, each with its leading space).
    pub doc: &'static str,
    /// The source file, for the documentation.
    pub source: &'static str,
}

/// The account a check evaluates, with everything the check may read.
#[derive(Debug, Clone, Copy)]
pub struct AccountScope<'a> {
    /// The account.
    pub account: &'a Account,
    /// The account name reports use.
    pub name: &'a str,
    /// Whether reports omit account IDs.
    pub exclude_account_ids: bool,
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: &'a str,
    /// The organization, for third-party decisions.
    pub org: OrgView<'a>,
    /// Global inventories.
    pub global: &'a GlobalInventory,
    /// Regional inventories by region.
    pub regions: &'a BTreeMap<String, RegionalInventory>,
}

impl<'a> AccountScope<'a> {
    /// The report header fields for `check`.
    pub fn header(&self, check: &'static str) -> common::Header {
        common::Header {
            account_name: self.name.to_owned(),
            account_id: (!self.exclude_account_ids).then(|| self.account.id.to_string()),
            check,
        }
    }

    /// The collected data of one regional service, per region, skipping failed regions.
    pub fn regional<T: 'a>(
        &self,
        service: impl Fn(&'a RegionalInventory) -> &'a Collected<T> + 'a,
    ) -> impl Iterator<Item = (&'a str, &'a T)> + 'a {
        self.regions.iter().filter_map(move |(region, inventory)| {
            Some((region.as_str(), service(inventory).data()?))
        })
    }
}

/// What a check concluded about one account.
#[derive(Debug, Clone)]
pub struct Evaluation<R> {
    /// The per-account report document.
    pub report: R,
    /// Resource counts.
    pub counts: Counts,
    /// Violations by reason code.
    pub reasons: BTreeMap<String, usize>,
    /// Values the guardrail must allow for this account.
    pub allowlist: BTreeSet<String>,
}

/// What statements need besides the allowlist.
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext<'a> {
    /// The AWS partition for ARNs.
    pub partition: &'a str,
    /// The organization ID (`aws:PrincipalOrgID`).
    pub org_id: &'a str,
}

/// One check: its evaluation, options and the Deny statements it contributes.
pub trait Check: Sync + Send + 'static {
    /// The keys under `checks.<id>` besides `enabled`; unknown keys are rejected.
    type Options: DeserializeOwned + Default + schemars::JsonSchema + Send + Sync;
    /// The per-account report.
    type Report: Serialize + schemars::JsonSchema + Send;

    /// The check's metadata.
    fn meta(&self) -> &'static CheckMeta;

    /// Evaluates one fully or partly collected account. Reads only `meta().reads`; failed
    /// services are skipped here (the caller marks the account incomplete).
    fn evaluate(
        &self,
        account: &AccountScope<'_>,
        options: &Self::Options,
        gaps: &[String],
    ) -> Evaluation<Self::Report>;

    /// Allowlist entries that come from the configuration rather than from accounts.
    fn configured_allowlist(
        &self,
        _options: &Self::Options,
        _ctx: &PolicyContext<'_>,
    ) -> BTreeSet<String> {
        BTreeSet::new()
    }

    /// The Deny statements for one target whose accounts need `allowlist`.
    fn statements(
        &self,
        options: &Self::Options,
        ctx: &PolicyContext<'_>,
        allowlist: &BTreeSet<String>,
    ) -> Vec<Statement>;
}

/// The object-safe face of a check, as the registry holds it.
pub trait AnyCheck: Sync {
    /// The check's metadata.
    fn meta(&self) -> &'static CheckMeta;
    /// Validates raw options (without `enabled`).
    fn validate_options(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), String>;
    /// The check with its options parsed once, ready to run account by account.
    fn prepare(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Box<dyn PreparedCheck + '_>, AnalyzeError>;
    /// The check's Deny statements for one target.
    fn statements(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
        ctx: &PolicyContext<'_>,
        allowlist: &BTreeSet<String>,
    ) -> Result<Vec<Statement>, AnalyzeError>;
    /// The JSON Schema of the check's options.
    fn options_schema(&self) -> schemars::Schema;
    /// The JSON Schema of the check's per-account report.
    fn report_schema(&self) -> schemars::Schema;
}

/// A check with its options parsed: what runs on each account.
pub trait PreparedCheck: Sync {
    /// The check's metadata.
    fn meta(&self) -> &'static CheckMeta;
    /// Evaluates one account: its verdict, and its report file unless the account has no
    /// inventories to report on.
    fn account(
        &self,
        input: &RunInput<'_>,
        account: &AccountInput<'_>,
        inventory: Option<&AccountInventory>,
    ) -> Result<AccountResult, AnalyzeError>;
    /// Allowlist entries that come from the configuration.
    fn configured_allowlist(&self, ctx: &PolicyContext<'_>) -> BTreeSet<String>;
}

struct Prepared<'c, C: Check> {
    check: &'c C,
    options: C::Options,
}

impl<C: Check> PreparedCheck for Prepared<'_, C> {
    fn meta(&self) -> &'static CheckMeta {
        Check::meta(self.check)
    }

    fn account(
        &self,
        input: &RunInput<'_>,
        account: &AccountInput<'_>,
        inventory: Option<&AccountInventory>,
    ) -> Result<AccountResult, AnalyzeError> {
        run_account(
            self.check,
            Check::meta(self.check),
            &self.options,
            input,
            account,
            inventory,
        )
    }

    fn configured_allowlist(&self, ctx: &PolicyContext<'_>) -> BTreeSet<String> {
        self.check.configured_allowlist(&self.options, ctx)
    }
}

fn parse_options<O: DeserializeOwned>(
    id: &str,
    raw: &serde_json::Map<String, serde_json::Value>,
) -> Result<O, String> {
    serde_json::from_value(serde_json::Value::Object(raw.clone()))
        .map_err(|e| format!("checks.{id}: {e}"))
}

impl<C: Check> AnyCheck for C {
    fn meta(&self) -> &'static CheckMeta {
        Check::meta(self)
    }

    fn validate_options(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), String> {
        parse_options::<C::Options>(Check::meta(self).id, raw).map(|_| ())
    }

    fn prepare(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Box<dyn PreparedCheck + '_>, AnalyzeError> {
        let options: C::Options =
            parse_options(Check::meta(self).id, raw).map_err(AnalyzeError::Settings)?;
        Ok(Box::new(Prepared {
            check: self,
            options,
        }))
    }

    fn statements(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
        ctx: &PolicyContext<'_>,
        allowlist: &BTreeSet<String>,
    ) -> Result<Vec<Statement>, AnalyzeError> {
        let options: C::Options =
            parse_options(Check::meta(self).id, raw).map_err(AnalyzeError::Settings)?;
        Ok(Check::statements(self, &options, ctx, allowlist))
    }

    fn options_schema(&self) -> schemars::Schema {
        schemars::schema_for!(C::Options)
    }

    fn report_schema(&self) -> schemars::Schema {
        schemars::schema_for!(C::Report)
    }
}

/// Every check, sorted by ID. This order is the order of every output.
pub static ALL: &[&dyn AnyCheck] = &[
    &super::deny_aoss_third_party_access::DenyAossThirdPartyAccess,
    &super::deny_ec2_ami_owner::DenyEc2AmiOwner,
    &super::deny_ec2_imds_hop_limit::DenyEc2ImdsHopLimit,
    &super::deny_ec2_imds_v1::DenyEc2ImdsV1,
    &super::deny_ec2_public_ip::DenyEc2PublicIp,
    &super::deny_ecr_third_party_access::DenyEcrThirdPartyAccess,
    &super::deny_eks_create_cluster_without_tag::DenyEksCreateClusterWithoutTag,
    &super::deny_iam_saml_provider_not_aws_sso::DenyIamSamlProviderNotAwsSso,
    &super::deny_iam_user_creation::DenyIamUserCreation,
    &super::deny_kms_third_party_access::DenyKmsThirdPartyAccess,
    &super::deny_lambda_auth_type_none::DenyLambdaAuthTypeNone,
    &super::deny_rds_unencrypted::DenyRdsUnencrypted,
    &super::deny_s3_third_party_access::DenyS3ThirdPartyAccess,
    &super::deny_secrets_manager_third_party_access::DenySecretsManagerThirdPartyAccess,
    &super::deny_sqs_third_party_access::DenySqsThirdPartyAccess,
    &super::deny_sts_third_party_assumerole::DenyStsThirdPartyAssumerole,
];

/// The check with this ID or alias.
pub fn find(id_or_alias: &str) -> Option<&'static dyn AnyCheck> {
    ALL.iter()
        .copied()
        .find(|c| c.meta().id == id_or_alias || c.meta().aliases.contains(&id_or_alias))
}
