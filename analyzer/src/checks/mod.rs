//! The check registry: every SCP and RCP check, their metadata and options, and running them.
//!
//! One file per check, named by its ID; its doc comment (inside [`declare_check!`]) is its
//! documentation, rendered into `documentation/CHECKS.md` by [`checks_markdown`]. [`ALL`] is
//! the explicit list, sorted by ID, and the order of every output. Checks run in parallel over
//! the accounts (rayon) and their results are merged in registry order.

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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use headroom_schemas::inventory::{
    AccountInventory, GlobalInventory, NotCollectedReason, RegionalInventory,
};
use headroom_schemas::org::{Account, Organization};
use headroom_schemas::status::{Collected, CollectionError};
use headroom_schemas::{AccountId, Meta, Snapshot};
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{AccountStatus, AccountVerdict, CheckKind, CheckRun, Counts, Statement};
use crate::output::{Area, Collect, OutputFile, Sink};
use crate::policy_document::OrgView;
use crate::{AnalyzeError, Settings, report};

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
    &deny_aoss_third_party_access::DenyAossThirdPartyAccess,
    &deny_ec2_ami_owner::DenyEc2AmiOwner,
    &deny_ec2_imds_hop_limit::DenyEc2ImdsHopLimit,
    &deny_ec2_imds_v1::DenyEc2ImdsV1,
    &deny_ec2_public_ip::DenyEc2PublicIp,
    &deny_ecr_third_party_access::DenyEcrThirdPartyAccess,
    &deny_eks_create_cluster_without_tag::DenyEksCreateClusterWithoutTag,
    &deny_iam_saml_provider_not_aws_sso::DenyIamSamlProviderNotAwsSso,
    &deny_iam_user_creation::DenyIamUserCreation,
    &deny_kms_third_party_access::DenyKmsThirdPartyAccess,
    &deny_lambda_auth_type_none::DenyLambdaAuthTypeNone,
    &deny_rds_unencrypted::DenyRdsUnencrypted,
    &deny_s3_third_party_access::DenyS3ThirdPartyAccess,
    &deny_secrets_manager_third_party_access::DenySecretsManagerThirdPartyAccess,
    &deny_sqs_third_party_access::DenySqsThirdPartyAccess,
    &deny_sts_third_party_assumerole::DenyStsThirdPartyAssumerole,
];

/// The check with this ID or alias.
pub fn find(id_or_alias: &str) -> Option<&'static dyn AnyCheck> {
    ALL.iter()
        .copied()
        .find(|c| c.meta().id == id_or_alias || c.meta().aliases.contains(&id_or_alias))
}

/// A check's resolved configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckConfig {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `require_allowlist` (default false): refuse placements whose allowlist is empty.
    pub require_allowlist: bool,
    /// The check's own options, `enabled` and `require_allowlist` removed.
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// Resolves and validates `checks` from the configuration: every key must name a check or an
/// alias, a check may be configured once, `enabled` must be a boolean and every other key
/// must be one of the check's options.
pub fn resolve_config(
    settings: &Settings,
) -> Result<BTreeMap<&'static str, CheckConfig>, AnalyzeError> {
    let mut resolved: BTreeMap<&'static str, (String, CheckConfig)> = BTreeMap::new();
    for (key, value) in &settings.checks {
        let Some(check) = find(key) else {
            let known: Vec<&str> = ALL.iter().map(|c| c.meta().id).collect();
            return Err(AnalyzeError::Settings(format!(
                "unknown check `{key}` in `checks` (known checks: {})",
                known.join(", ")
            )));
        };
        let id = check.meta().id;
        let mut options = match value {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                return Err(AnalyzeError::Settings(format!(
                    "checks.{key}: expected a map of options, found {other}"
                )));
            }
        };
        let enabled = match options.remove("enabled") {
            None => true,
            Some(serde_json::Value::Bool(b)) => b,
            Some(other) => {
                return Err(AnalyzeError::Settings(format!(
                    "checks.{key}.enabled: expected true or false, found {other}"
                )));
            }
        };
        let require_allowlist = match options.remove("require_allowlist") {
            None => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(other) => {
                return Err(AnalyzeError::Settings(format!(
                    "checks.{key}.require_allowlist: expected true or false, found {other}"
                )));
            }
        };
        if require_allowlist && check.meta().empty_allowlist.is_none() {
            return Err(AnalyzeError::Settings(format!(
                "checks.{key}.require_allowlist: `{id}` has no allowlist to require"
            )));
        }
        check.validate_options(&options).map_err(|e| {
            AnalyzeError::Settings(e.replacen(&format!("checks.{id}"), &format!("checks.{key}"), 1))
        })?;
        if let Some((previous, _)) = resolved.get(id) {
            return Err(AnalyzeError::Settings(format!(
                "check `{id}` is configured twice in `checks` (as `{previous}` and `{key}`)"
            )));
        }
        resolved.insert(
            id,
            (
                key.clone(),
                CheckConfig {
                    enabled,
                    require_allowlist,
                    options,
                },
            ),
        );
    }
    Ok(ALL
        .iter()
        .map(|c| {
            let id = c.meta().id;
            let config = resolved.remove(id).map_or(
                CheckConfig {
                    enabled: true,
                    require_allowlist: false,
                    options: serde_json::Map::new(),
                },
                |(_, config)| config,
            );
            (id, config)
        })
        .collect())
}

/// Everything a check run shares across accounts.
pub struct RunInput<'a> {
    /// Settings.
    pub settings: &'a Settings,
    /// Org members, the org ID and the partition.
    pub policy: PolicyContext<'a>,
    /// Every account of the organization by ID, with its name and report stem.
    pub accounts: BTreeMap<&'a AccountId, AccountInput<'a>>,
    /// Membership test.
    pub members: &'a BTreeMap<AccountId, Account>,
}

impl std::fmt::Debug for RunInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunInput")
            .field("accounts", &self.accounts.len())
            .finish_non_exhaustive()
    }
}

/// One account as a check run sees it.
#[derive(Debug, Clone)]
pub struct AccountInput<'a> {
    /// The account.
    pub account: &'a Account,
    /// The name reports use.
    pub name: String,
    /// The report file name without `.json`.
    pub file_stem: String,
    /// Whether the management account.
    pub is_management: bool,
    /// Whether named in `skip_account_ids`.
    pub is_skipped: bool,
}

fn gap_line(region: Option<&str>, service: &str, error: &CollectionError) -> String {
    let mut line = format!("{} {service}: ", region.unwrap_or("global"));
    if let Some(code) = &error.code {
        let _ = write!(line, "{code}: ");
    }
    line.push_str(&error.message);
    line
}

/// One account's verdict and report file (none for accounts without inventories).
pub type AccountResult = (AccountVerdict, Option<(OutputFile, Vec<u8>)>);

/// The verdict of an account that has no inventories to evaluate, or its inventories.
fn uncollected<'i>(
    account: &AccountInput<'_>,
    inventory: Option<&'i AccountInventory>,
) -> Result<(&'i GlobalInventory, &'i BTreeMap<String, RegionalInventory>), AccountVerdict> {
    let verdict = |status| AccountVerdict {
        status,
        allowlist: BTreeSet::new(),
        counts: Counts::default(),
    };
    let excluded = |reason| verdict(AccountStatus::Excluded { reason });
    if account.is_management {
        return Err(excluded(NotCollectedReason::ManagementAccount));
    }
    match inventory {
        Some(AccountInventory::Collected {
            global, regions, ..
        }) => Ok((global, regions)),
        _ if account.is_skipped => Err(excluded(NotCollectedReason::Skipped)),
        Some(AccountInventory::NotCollected { reason }) => Err(excluded(*reason)),
        Some(AccountInventory::Failed { error }) => {
            let mut line = format!("account: {}: ", error.operation);
            if let Some(code) = &error.code {
                let _ = write!(line, "{code}: ");
            }
            line.push_str(&error.message);
            Err(verdict(AccountStatus::Incomplete { gaps: vec![line] }))
        }
        None => Err(verdict(AccountStatus::Incomplete {
            gaps: vec!["account: missing from the snapshot's inventories".to_owned()],
        })),
    }
}

fn run_account<C: Check>(
    check: &C,
    meta: &'static CheckMeta,
    options: &C::Options,
    input: &RunInput<'_>,
    account: &AccountInput<'_>,
    inventory: Option<&AccountInventory>,
) -> Result<AccountResult, AnalyzeError> {
    let (global, regions) = match uncollected(account, inventory) {
        Ok(inventories) => inventories,
        Err(verdict) => return Ok((verdict, None)),
    };
    let mut gaps = Vec::new();
    for (service, error) in global.statuses() {
        if let Some(error) = error
            && meta.reads.contains(&service)
        {
            gaps.push(gap_line(None, service, error));
        }
    }
    for (region, inventory) in regions {
        for (service, error) in inventory.statuses() {
            if let Some(error) = error
                && meta.reads.contains(&service)
            {
                gaps.push(gap_line(Some(region), service, error));
            }
        }
    }
    let is_member = |candidate: &str| input.members.contains_key(candidate);
    let scope = AccountScope {
        account: account.account,
        name: &account.name,
        exclude_account_ids: input.settings.exclude_account_ids,
        partition: input.policy.partition,
        org: OrgView {
            org_id: input.policy.org_id,
            partition: input.policy.partition,
            is_member: &is_member,
        },
        global,
        regions,
    };
    let evaluation = check.evaluate(&scope, options, &gaps);
    let bytes = report::to_bytes(
        &evaluation.report,
        input.settings.exclude_account_ids,
        input.members,
    )
    .map_err(|e| {
        AnalyzeError::Settings(format!("cannot serialize the `{}` report: {e}", meta.id))
    })?;
    let file = OutputFile::new(
        Area::Results,
        // `concat`, not `format!`: this runs for every account and check.
        [
            meta.kind.dir(),
            "/",
            meta.id,
            "/",
            &account.file_stem,
            ".json",
        ]
        .concat(),
    );
    let status = if account.is_skipped {
        AccountStatus::Excluded {
            reason: NotCollectedReason::Skipped,
        }
    } else if !gaps.is_empty() {
        AccountStatus::Incomplete { gaps }
    } else if evaluation.counts.violations > 0 {
        AccountStatus::Violating {
            reasons: evaluation.reasons,
        }
    } else {
        AccountStatus::Clean
    };
    let verdict = AccountVerdict {
        status,
        allowlist: evaluation.allowlist,
        counts: evaluation.counts,
    };
    Ok((verdict, Some((file, bytes))))
}

/// The result of running every enabled check.
#[derive(Debug, Clone, Default)]
pub struct CheckResults {
    /// One run per enabled check, in registry order.
    pub runs: Vec<CheckRun>,
    /// Every per-account report, under [`Area::Results`].
    pub files: BTreeMap<OutputFile, Vec<u8>>,
}

/// Runs every enabled check over the snapshot: verdicts for placement and the per-account
/// reports (`{scps,rcps}/<check>/<account_name>_<account_id>.json`), gathered in memory. Pure
/// and deterministic at any thread count.
pub fn run_checks(snapshot: &Snapshot, settings: &Settings) -> Result<CheckResults, AnalyzeError> {
    let sink = Collect::default();
    let runs = run_checks_into(snapshot, settings, &sink)?;
    Ok(CheckResults {
        runs,
        files: sink.into_files(),
    })
}

/// [`run_checks`], putting each report into `sink` as soon as it is made instead of gathering
/// them; returns one run per enabled check, in registry order.
pub fn run_checks_into(
    snapshot: &Snapshot,
    settings: &Settings,
    sink: &dyn Sink,
) -> Result<Vec<CheckRun>, AnalyzeError> {
    let checker = Checker::new(&snapshot.organization, &snapshot.meta, settings)?;
    let verdicts = snapshot
        .organization
        .accounts
        .keys()
        .collect::<Vec<_>>()
        .par_iter()
        .filter_map(|id| {
            checker
                .account(id, snapshot.accounts.get(*id), sink)
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    checker.runs(verdicts, sink)
}

/// Every enabled check of one organization, ready to run account by account (each account's
/// inventory can be dropped once it has been through [`Checker::account`]).
pub struct Checker<'a> {
    input: RunInput<'a>,
    checks: Vec<Box<dyn PreparedCheck>>,
    /// `require_allowlist` of each check, aligned with `checks`.
    require_allowlist: Vec<bool>,
}

impl std::fmt::Debug for Checker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.checks.iter().map(|c| c.meta().id).collect();
        f.debug_struct("Checker")
            .field("checks", &ids)
            .finish_non_exhaustive()
    }
}

/// One account's verdict from each enabled check, in [`Checker`] order.
#[derive(Debug)]
pub struct AccountVerdicts {
    id: AccountId,
    verdicts: Vec<AccountVerdict>,
}

impl<'a> Checker<'a> {
    /// Resolves and validates the checks' configuration against `organization`.
    pub fn new(
        organization: &'a Organization,
        meta: &'a Meta,
        settings: &'a Settings,
    ) -> Result<Self, AnalyzeError> {
        let config = resolve_config(settings)?;
        let stems = report::file_stems(organization, settings);
        let accounts = organization
            .accounts
            .values()
            .map(|account| {
                let input = AccountInput {
                    account,
                    name: settings.account_name(account),
                    file_stem: stems.get(&account.id).cloned().unwrap_or_default(),
                    is_management: account.id == organization.management_account_id,
                    is_skipped: settings.skip_account_ids.contains(&account.id),
                };
                (&account.id, input)
            })
            .collect();
        let input = RunInput {
            settings,
            policy: PolicyContext {
                partition: &meta.partition,
                org_id: &organization.id,
            },
            accounts,
            members: &organization.accounts,
        };
        let mut checks = Vec::new();
        let mut require_allowlist = Vec::new();
        for check in ALL {
            if let Some(cfg) = config.get(check.meta().id)
                && cfg.enabled
            {
                checks.push(check.prepare(&cfg.options)?);
                require_allowlist.push(cfg.require_allowlist);
            }
        }
        Ok(Self {
            input,
            checks,
            require_allowlist,
        })
    }

    /// Runs every enabled check on one account and puts its reports into `sink`. `None` for an
    /// ID that is not an account of the organization (the snapshot's validation rejects such a
    /// document).
    pub fn account(
        &self,
        id: &AccountId,
        inventory: Option<&AccountInventory>,
        sink: &dyn Sink,
    ) -> Result<Option<AccountVerdicts>, AnalyzeError> {
        let Some(account) = self.input.accounts.get(id) else {
            return Ok(None);
        };
        let mut verdicts = Vec::with_capacity(self.checks.len());
        for check in &self.checks {
            let (verdict, file) = check.account(&self.input, account, inventory)?;
            if let Some((file, bytes)) = file {
                sink.put(file, bytes)?;
            }
            verdicts.push(verdict);
        }
        Ok(Some(AccountVerdicts {
            id: id.clone(),
            verdicts,
        }))
    }

    /// One run per enabled check, in registry order, from every account's verdicts. An
    /// account of the organization missing from `accounts` is evaluated without inventories
    /// (incomplete).
    pub fn runs(
        &self,
        accounts: Vec<AccountVerdicts>,
        sink: &dyn Sink,
    ) -> Result<Vec<CheckRun>, AnalyzeError> {
        let mut runs: Vec<CheckRun> = self
            .checks
            .iter()
            .zip(&self.require_allowlist)
            .map(|(check, &require_allowlist)| CheckRun {
                check_id: check.meta().id,
                kind: check.meta().kind,
                verdicts: BTreeMap::new(),
                configured_allowlist: check.configured_allowlist(&self.input.policy),
                empty_allowlist: check.meta().empty_allowlist,
                require_allowlist,
            })
            .collect();
        let add = |runs: &mut Vec<CheckRun>, account: AccountVerdicts| {
            for (run, verdict) in runs.iter_mut().zip(account.verdicts) {
                run.verdicts.insert(account.id.clone(), verdict);
            }
        };
        for account in accounts {
            add(&mut runs, account);
        }
        let missing: Vec<&AccountId> = match runs.first() {
            Some(run) => self
                .input
                .accounts
                .keys()
                .filter(|id| !run.verdicts.contains_key(**id))
                .copied()
                .collect(),
            None => Vec::new(),
        };
        for id in missing {
            if let Some(account) = self.account(id, None, sink)? {
                add(&mut runs, account);
            }
        }
        Ok(runs)
    }
}

/// The Deny statements of `check_id` for one target whose accounts need `allowlist` (the
/// union of the verdicts' allowlists beneath the target plus the run's
/// `configured_allowlist`). Sids are named after the check; an empty allowlist never yields an
/// empty condition or `NotResource`.
pub fn statements(
    check_id: &str,
    snapshot: &Snapshot,
    settings: &Settings,
    allowlist: &BTreeSet<String>,
) -> Result<Vec<Statement>, AnalyzeError> {
    let check = find(check_id)
        .ok_or_else(|| AnalyzeError::Settings(format!("unknown check `{check_id}`")))?;
    let config = resolve_config(settings)?;
    let options = config
        .get(check.meta().id)
        .map(|c| c.options.clone())
        .unwrap_or_default();
    let ctx = PolicyContext {
        partition: &snapshot.meta.partition,
        org_id: &snapshot.organization.id,
    };
    check.statements(&options, &ctx, allowlist)
}

/// The doc comment of a check without the one leading space of each line.
pub fn doc_text(meta: &CheckMeta) -> String {
    let mut out = String::new();
    for line in meta.doc.lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line));
        out.push('\n');
    }
    out
}

/// `documentation/CHECKS.md`, generated from the registry.
pub fn checks_markdown() -> String {
    let mut out = String::from(
        "# Checks\n\n<!-- Generated from the checks' doc comments by `checks_markdown()`; do not edit.\n     Regenerate with `UPDATE_GENERATED=1 cargo test -p headroom-analyzer --test checks generated_documentation_is_fresh`. -->\n\n",
    );
    out.push_str("Every check reads the snapshot only. Each resource is a violation (with a reason code), an\nexemption (with the tag that exempts it) or compliant. Reports are written to\n`<results>/{scps,rcps}/<check>/<account_name>_<account_id>.json`; their JSON Schemas are in\n`documentation/reports/`.\n\n");
    out.push_str("| Check | Kind | Service | Reads | Violation reasons | Aliases |\n|---|---|---|---|---|---|\n");
    for check in ALL {
        let m = check.meta();
        let _ = writeln!(
            out,
            "| [`{id}`](#{id}) | {kind} | {service} | {reads} | {reasons} | {aliases} |",
            id = m.id,
            kind = m.kind.dir().trim_end_matches('s').to_uppercase(),
            service = m.service,
            reads = m
                .reads
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", "),
            reasons = m
                .reasons
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", "),
            aliases = if m.aliases.is_empty() {
                String::new()
            } else {
                m.aliases
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
    }
    out.push_str("\n## How the RCP checks read resource policies\n\n");
    out.push_str(crate::policy_document::condition::RULES);
    for check in ALL {
        let m = check.meta();
        let _ = write!(out, "\n## {}\n\n", m.id);
        let doc = doc_text(m);
        // Check docs use `##` sections; nest them under the check's heading.
        for line in doc.lines() {
            if line.starts_with('#') {
                let _ = writeln!(out, "#{line}");
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
        let _ = write!(
            out,
            "\n### Options\n\nUnder `checks.{}` in the configuration",
            m.id
        );
        if !m.aliases.is_empty() {
            let _ = write!(
                out,
                " (or {})",
                m.aliases
                    .iter()
                    .map(|a| format!("`checks.{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out.push_str(":\n\n| Key | Type | Default | Description |\n|---|---|---|---|\n");
        out.push_str(
            "| `enabled` | boolean | `true` | Run the check and generate its policies. |\n",
        );
        if let Some(effect) = m.empty_allowlist {
            let _ = writeln!(
                out,
                "| `require_allowlist` | boolean | `false` | Never attach the guardrail where its allowlist would be empty (there, {effect}); the accounts stay uncovered, with the reason. |"
            );
        }
        let schema = check.options_schema();
        for (key, prop) in common::schema_properties(&schema) {
            let _ = writeln!(
                out,
                "| `{key}` | {ty} | {default} | {desc} |",
                ty = common::schema_type(&prop),
                default = prop.get("default").map_or_else(
                    || "none".to_owned(),
                    |d| format!("`{}`", headroom_schemas::canonical::to_string(d)),
                ),
                desc = prop
                    .get("description")
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .replace('\n', " "),
            );
        }
        let _ = write!(
            out,
            "\nSource: `{}`. Report schema: `documentation/reports/{}.schema.json`.\n",
            m.source, m.id
        );
    }
    out
}

/// Every check's report JSON Schema: (check ID, pretty JSON with a trailing newline).
pub fn report_schemas() -> Vec<(&'static str, String)> {
    ALL.iter()
        .map(|c| {
            let schema = c.report_schema();
            let mut text = headroom_schemas::canonical::to_string_pretty(schema.as_value());
            text.push('\n');
            (c.meta().id, text)
        })
        .collect()
}

/// A statement builder for placement: resolves the check options once (the same validation
/// as [`run_checks`]) and returns `(run, allowlist) -> statements`. A run of an unknown check
/// yields no statements, which placement never asks for since every run comes from
/// [`run_checks`].
pub fn statement_source<'a>(
    snapshot: &'a Snapshot,
    settings: &Settings,
) -> Result<impl Fn(&CheckRun, &BTreeSet<String>) -> Vec<Statement> + Sync + 'a, AnalyzeError> {
    let config = resolve_config(settings)?;
    let ctx = PolicyContext {
        partition: &snapshot.meta.partition,
        org_id: &snapshot.organization.id,
    };
    // Validate once so the closure below cannot fail.
    for check in ALL {
        if let Some(cfg) = config.get(check.meta().id) {
            check.statements(&cfg.options, &ctx, &BTreeSet::new())?;
        }
    }
    Ok(move |run: &CheckRun, allowlist: &BTreeSet<String>| {
        let Some(check) = find(run.check_id) else {
            return Vec::new();
        };
        let options = config
            .get(check.meta().id)
            .map(|c| c.options.clone())
            .unwrap_or_default();
        check
            .statements(&options, &ctx, allowlist)
            .unwrap_or_default()
    })
}
