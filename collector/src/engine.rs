//! The collection engine: bounded fan-out over accounts x regions x services.
//!
//! At most `concurrency` accounts are in flight (each on its own tokio task); within an
//! account, [`REGION_PARALLELISM`] regions at once, every service of a region at once, and
//! per service [`crate::services::ITEM_PARALLELISM`] follow-up calls. Every result lands in a
//! `BTreeMap` or a sorted list, so completion order never reaches the snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::{StreamExt, stream};
use headroom_schemas::inventory::{
    AccountInventory, GlobalInventory, NotCollectedReason, RegionalInventory,
};
use headroom_schemas::org::{AccountState, Organization};
use headroom_schemas::status::Collected;
use headroom_schemas::{AccountId, FormatTag, Meta, SNAPSHOT_FORMAT_VERSION, Snapshot};
use tracing::Instrument;

use crate::actions;
use crate::credentials::{AccountClients, ClientFactory};
use crate::error::ApiError;
use crate::exit::InputError;
use crate::progress::Progress;
use crate::services;

/// Regions of one account collected at once.
pub const REGION_PARALLELISM: usize = 2;

/// Accounts in flight when neither the flag nor the configuration says.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The management account (never collected).
    pub management_account_id: AccountId,
    /// Accounts never collected.
    pub skip_account_ids: BTreeSet<AccountId>,
    /// The regions to collect, sorted; `None` for every region enabled in each account.
    pub regions: Option<Vec<String>>,
    /// Accounts in flight at once (at least 1).
    pub concurrency: usize,
    /// `meta.collector_version`.
    pub collector_version: String,
    /// `meta.collected_at`.
    pub collected_at: String,
    /// `meta.config_digest`.
    pub config_digest: String,
}

/// The partition named by an ARN (`arn:<partition>:...`), `aws` when it names none.
pub fn partition_of(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// Collects the organization. Only a failure to identify the caller or to read the
/// organization itself is an error; every account, region and service failure is recorded
/// in the snapshot.
pub async fn collect<F: ClientFactory>(
    factory: Arc<F>,
    plan: &Plan,
    progress: Arc<Progress>,
) -> Result<Snapshot, anyhow::Error> {
    use anyhow::Context as _;
    let caller = factory
        .caller_identity()
        .await
        .context("failed to identify the caller")?;
    progress.status("reading the organization");
    let org_client = factory
        .organizations()
        .await
        .context("failed to enter the management account")?;
    let (organization, policies) = crate::org::walk(&org_client)
        .await
        .context("failed to read the organization")?;
    // The same contradictions `analyze` rejects, caught before the long fan-out.
    if organization.management_account_id != plan.management_account_id {
        return Err(InputError(format!(
            "the configuration names management account `{}` but the organization is managed by `{}`",
            plan.management_account_id, organization.management_account_id
        ))
        .into());
    }
    let unknown: Vec<&str> = plan
        .skip_account_ids
        .iter()
        .filter(|id| !organization.accounts.contains_key(*id))
        .map(AccountId::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(InputError(format!(
            "skip_account_ids names account(s) not in the organization: `{}`; an entry matching nothing means the account meant to be skipped is still collected",
            unknown.join("`, `")
        ))
        .into());
    }

    let (mut accounts, targets) = dispositions(&organization, plan, &progress);
    progress.start_accounts(targets.len());
    let regions = plan.regions.clone().map(Arc::new);
    let mut done = stream::iter(targets)
        .map(|id| {
            let factory = Arc::clone(&factory);
            let regions = regions.clone();
            let progress = Arc::clone(&progress);
            let task_id = id.clone();
            let task = tokio::spawn(async move {
                let inventory = collect_account(&*factory, &task_id, regions.as_deref()).await;
                progress.account_done(task_id.as_str(), inventory.gaps().len());
                inventory
            });
            async move {
                let inventory = task.await.unwrap_or_else(|e| AccountInventory::Failed {
                    error: ApiError::other("collect", format!("the collection task failed: {e}"))
                        .into(),
                });
                (id, inventory)
            }
        })
        .buffer_unordered(plan.concurrency.max(1));
    while let Some((id, inventory)) = done.next().await {
        accounts.insert(id, inventory);
    }

    Ok(Snapshot {
        format: FormatTag::HeadroomSnapshot,
        format_version: SNAPSHOT_FORMAT_VERSION,
        meta: Meta {
            collector_version: plan.collector_version.clone(),
            collected_at: plan.collected_at.clone(),
            partition: partition_of(&caller.arn).to_owned(),
            caller_identity: caller,
            regions: plan.regions.clone().unwrap_or_default(),
            config_digest: plan.config_digest.clone(),
        },
        organization,
        policies,
        accounts,
    })
}

/// What happens to each account: the management account, skipped, inactive and unknown-state
/// accounts get their entry now; the active member accounts to collect are returned.
fn dispositions(
    organization: &Organization,
    plan: &Plan,
    progress: &Progress,
) -> (BTreeMap<AccountId, AccountInventory>, Vec<AccountId>) {
    let mut accounts: BTreeMap<AccountId, AccountInventory> = BTreeMap::new();
    let mut targets = Vec::new();
    for (id, account) in &organization.accounts {
        let entry = if *id == organization.management_account_id {
            AccountInventory::NotCollected {
                reason: NotCollectedReason::ManagementAccount,
            }
        } else if plan.skip_account_ids.contains(id) {
            AccountInventory::NotCollected {
                reason: NotCollectedReason::Skipped,
            }
        } else if account.state.is_active() {
            targets.push(id.clone());
            continue;
        } else if let AccountState::Unknown(state) = &account.state {
            progress.warn(&format!(
                "account `{id}` is in state `{state}`, which this build does not know; recorded as a gap"
            ));
            AccountInventory::Failed {
                error: ApiError::other(
                    actions::ORG_LIST_ACCOUNTS_FOR_PARENT,
                    format!(
                        "account state `{state}` is not known to this build, so whether the account can be collected is unknown"
                    ),
                )
                .into(),
            }
        } else {
            AccountInventory::NotCollected {
                reason: NotCollectedReason::Inactive,
            }
        };
        accounts.insert(id.clone(), entry);
    }

    (accounts, targets)
}

/// Collects one active member account: enter it, find its regions, read every service.
pub async fn collect_account<F: ClientFactory>(
    factory: &F,
    id: &AccountId,
    regions: Option<&Vec<String>>,
) -> AccountInventory {
    let span = tracing::info_span!("account", account = %id);
    async {
        let clients = match factory.account(id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot enter account");
                return AccountInventory::Failed { error: e.into() };
            }
        };
        let regions = if let Some(r) = regions {
            r.clone()
        } else {
            {
                let ec2 = clients.ec2(clients.home_region());
                match services::ec2::enabled_regions(&ec2).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot list regions");
                        return AccountInventory::Failed { error: e.into() };
                    }
                }
            }
        };
        let clients = &clients;
        let global = async {
            let iam_client = clients.iam();
            let (iam, s3) = futures::join!(
                instrumented(id, None, "iam", services::iam::collect(&iam_client)),
                instrumented(id, None, "s3", services::s3::collect(clients)),
            );
            GlobalInventory { iam, s3 }
        };
        let regional = stream::iter(regions)
            .map(|region| async move {
                let inventory = Box::pin(collect_region(id, clients, &region)).await;
                (region, inventory)
            })
            .buffer_unordered(REGION_PARALLELISM)
            .collect::<BTreeMap<String, RegionalInventory>>();
        let (global, regions) = futures::join!(global, regional);
        AccountInventory::Collected {
            role_arn: clients.role_arn().to_owned(),
            global,
            regions,
        }
    }
    .instrument(span)
    .await
}

#[expect(clippy::similar_names, reason = "the services ec2 and ecr")]
async fn collect_region(
    id: &AccountId,
    clients: &Arc<dyn AccountClients>,
    region: &str,
) -> RegionalInventory {
    let r = Some(region);
    let (ec2_c, eks_c, lambda_c, rds_c) = (
        clients.ec2(region),
        clients.eks(region),
        clients.lambda(region),
        clients.rds(region),
    );
    let (ecr_c, kms_c, secrets_c, sqs_c, aoss_c) = (
        clients.ecr(region),
        clients.kms(region),
        clients.secretsmanager(region),
        clients.sqs(region),
        clients.aoss(region),
    );
    let (ec2, eks, lambda, rds, ecr, kms, secretsmanager, sqs, aoss) = futures::join!(
        instrumented(id, r, "ec2", services::ec2::collect(&ec2_c)),
        instrumented(id, r, "eks", services::eks::collect(&eks_c)),
        instrumented(id, r, "lambda", services::lambda::collect(&lambda_c)),
        instrumented(id, r, "rds", services::rds::collect(&rds_c)),
        instrumented(id, r, "ecr", services::ecr::collect(&ecr_c)),
        instrumented(id, r, "kms", services::kms::collect(&kms_c)),
        instrumented(
            id,
            r,
            "secretsmanager",
            services::secretsmanager::collect(&secrets_c)
        ),
        instrumented(id, r, "sqs", services::sqs::collect(&sqs_c)),
        instrumented(id, r, "aoss", services::aoss::collect(&aoss_c)),
    );
    RegionalInventory {
        ec2,
        eks,
        lambda,
        rds,
        ecr,
        kms,
        secretsmanager,
        sqs,
        aoss,
    }
}

/// Runs one (account, region, service) in its own span and records its outcome.
async fn instrumented<T>(
    id: &AccountId,
    region: Option<&str>,
    service: &'static str,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Collected<T> {
    let span =
        tracing::info_span!("service", account = %id, region = region.unwrap_or("global"), service);
    match work.instrument(span.clone()).await {
        Ok(data) => Collected::Complete { data },
        Err(e) => {
            span.in_scope(|| tracing::warn!(error = %e, "collection failed"));
            Collected::Failed { error: e.into() }
        }
    }
}
