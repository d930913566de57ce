//! Running the enabled checks over the accounts: per account, the inventories a check reads
//! (a service that failed to collect makes the account incomplete for the checks that read
//! it), the check's verdict for placement and its report file; per check, one run over the
//! organization; and the statements placement asks for.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use headroom_schemas::inventory::{
    AccountInventory, GlobalInventory, NotCollectedReason, RegionalInventory,
};
use headroom_schemas::org::{Account, Organization};
use headroom_schemas::status::CollectionError;
use headroom_schemas::{AccountId, Meta, Snapshot};
use rayon::prelude::*;

use super::config::resolve_config;
use super::registry::{ALL, AccountScope, Check, CheckMeta, PolicyContext, PreparedCheck, find};
use crate::model::{AccountStatus, AccountVerdict, ActivityMode, CheckRun, Counts, Statement};
use crate::output::{Area, Collect, OutputFile, Sink};
use crate::policy_document::OrgView;
use crate::{AnalyzeError, Settings, report};

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
        findings: Vec::new(),
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

pub(super) fn run_account<C: Check>(
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
    let findings = if evaluation.counts.violations > 0 {
        crate::findings::from_report(&evaluation.report)
    } else {
        Vec::new()
    };
    let verdict = AccountVerdict {
        status,
        allowlist: evaluation.allowlist,
        counts: evaluation.counts,
        findings,
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
    /// `activity` of each check, aligned with `checks`.
    activity: Vec<ActivityMode>,
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
        let mut activity = Vec::new();
        for check in ALL {
            if let Some(cfg) = config.get(check.meta().id)
                && cfg.enabled
            {
                checks.push(check.prepare(&cfg.options)?);
                require_allowlist.push(cfg.require_allowlist);
                activity.push(cfg.activity);
            }
        }
        Ok(Self {
            input,
            checks,
            require_allowlist,
            activity,
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
            .zip(self.require_allowlist.iter().zip(&self.activity))
            .map(|(check, (&require_allowlist, &activity))| CheckRun {
                check_id: check.meta().id,
                kind: check.meta().kind,
                verdicts: BTreeMap::new(),
                configured_allowlist: check.configured_allowlist(&self.input.policy),
                empty_allowlist: check.meta().empty_allowlist,
                require_allowlist,
                activity,
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
