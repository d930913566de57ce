//! The collection engine: fan-out over accounts x regions x services under one request budget.
//!
//! Up to `concurrency` accounts are in flight (each on its own tokio task); within an account
//! every region and every service runs at once, and per service
//! [`crate::services::ITEM_PARALLELISM`] follow-up calls. None of these is the limit: the HTTP
//! client is wrapped in one request budget ([`crate::budget`]) of `concurrency` requests in
//! flight, shared by everything, so the budget stays full whatever the shape of the
//! organization. Member accounts start as soon as the organization's tree is known; account
//! tags and policies are read meanwhile. Every result lands in a `BTreeMap` or a sorted list,
//! so completion order never reaches the snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::{StreamExt, stream};
use headroom_schemas::inventory::{
    AccountInventory, GlobalInventory, NotCollectedReason, RegionalInventory,
};
use headroom_schemas::org::AccountState;
use headroom_schemas::status::Collected;
use headroom_schemas::{AccountId, FormatTag, Meta, SNAPSHOT_FORMAT_VERSION, Snapshot};
use tracing::Instrument;

use crate::actions;
use crate::availability::{self, Availability};
use crate::credentials::{AccountClients, ClientFactory};
use crate::error::ApiError;
use crate::exit::InputError;
use crate::progress::Progress;
use crate::services;

/// API requests in flight when neither the flag nor the configuration says.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The management account (never collected).
    pub management_account_id: AccountId,
    /// Accounts never collected.
    pub skip_account_ids: BTreeSet<AccountId>,
    /// The regions to collect, sorted; `None` for every region enabled in each account.
    pub regions: Option<Vec<String>>,
    /// The request budget: API requests in flight at once (at least 1); also the most
    /// accounts in flight.
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
    progress.status(&format!(
        "reading the organization as `{}`",
        factory.organization_reader_arn()
    ));
    let org_client = factory
        .organizations()
        .await
        .context("failed to enter the organization reader role")?;
    let ssm = factory.ssm();
    let (availability, structure) = futures::join!(
        read_availability(&ssm, &progress),
        crate::org::structure(&org_client)
    );
    let structure = structure.context("failed to read the organization")?;
    let known = structure.accounts();
    check_plan(plan, structure.management_account_id(), &known)?;

    let (mut accounts, targets) = dispositions(&known, plan, &progress);
    progress.start_accounts(
        targets
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    known.get(id).map(|(n, _)| n.clone()).unwrap_or_default(),
                )
            })
            .collect(),
    );
    let regions = plan.regions.clone().map(Arc::new);
    let shared = Arc::new(availability);
    let members = stream::iter(targets)
        .map(|id| {
            let factory = Arc::clone(&factory);
            let regions = regions.clone();
            let progress = Arc::clone(&progress);
            let availability = Arc::clone(&shared);
            let task_id = id.clone();
            let task = tokio::spawn(async move {
                let inventory =
                    collect_account(&*factory, &task_id, regions.as_deref(), &availability).await;
                progress.account_done(&task_id, &inventory);
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
        .buffer_unordered(plan.concurrency.max(1))
        .collect::<BTreeMap<AccountId, AccountInventory>>();
    let ((organization, policies), collected) = futures::future::try_join(
        async {
            crate::org::complete(&org_client, structure)
                .await
                .context("failed to read the organization")
        },
        async { Ok(members.await) },
    )
    .await?;
    accounts.extend(collected);

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
            service_availability: Some(shared.data().clone()),
        },
        organization,
        policies,
        accounts,
        activity: None,
    })
}

/// The same contradictions `analyze` rejects, caught before the long fan-out: another
/// management account, or skipped accounts the organization does not have.
fn check_plan(
    plan: &Plan,
    management_account_id: &AccountId,
    known: &BTreeMap<AccountId, (String, AccountState)>,
) -> Result<(), InputError> {
    if *management_account_id != plan.management_account_id {
        return Err(InputError(format!(
            "the configuration names management account `{}` but the organization is managed by `{management_account_id}`",
            plan.management_account_id,
        )));
    }
    let unknown: Vec<&str> = plan
        .skip_account_ids
        .iter()
        .filter(|id| !known.contains_key(*id))
        .map(AccountId::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(InputError(format!(
            "skip_account_ids names account(s) not in the organization: `{}`; an entry matching nothing means the account meant to be skipped is still collected",
            unknown.join("`, `")
        )));
    }
    Ok(())
}

/// Where AWS offers each service: from SSM, else (with a warning) the built-in table.
async fn read_availability(ssm: &aws_sdk_ssm::Client, progress: &Progress) -> Availability {
    match availability::from_ssm(ssm).await {
        Ok(data) => Availability::new(data),
        Err(e) => {
            progress.warn(&format!(
                "cannot read where AWS offers each service from SSM ({}); using the table built into collect",
                e.summary()
            ));
            Availability::new(availability::builtin())
        }
    }
}

/// What happens to each account: the management account, skipped, inactive and unknown-state
/// accounts get their entry now; the active member accounts to collect are returned.
fn dispositions(
    known: &BTreeMap<AccountId, (String, AccountState)>,
    plan: &Plan,
    progress: &Progress,
) -> (BTreeMap<AccountId, AccountInventory>, Vec<AccountId>) {
    let mut accounts: BTreeMap<AccountId, AccountInventory> = BTreeMap::new();
    let mut targets = Vec::new();
    for (id, (_, state)) in known {
        let entry = if *id == plan.management_account_id {
            AccountInventory::NotCollected {
                reason: NotCollectedReason::ManagementAccount,
            }
        } else if plan.skip_account_ids.contains(id) {
            AccountInventory::NotCollected {
                reason: NotCollectedReason::Skipped,
            }
        } else if state.is_active() {
            targets.push(id.clone());
            continue;
        } else if let AccountState::Unknown(state) = state {
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

/// Collects one active member account: enter it, learn which regions it has enabled, read
/// every service (each regional one only where AWS offers it).
pub async fn collect_account<F: ClientFactory>(
    factory: &F,
    id: &AccountId,
    regions: Option<&Vec<String>>,
    availability: &Availability,
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
        let clients = &clients;
        let global = async {
            let iam_client = clients.iam();
            let (iam, s3) = futures::join!(
                instrumented(id, None, "iam", services::iam::collect(&iam_client)),
                instrumented(id, None, "s3", services::s3::collect(clients)),
            );
            GlobalInventory { iam, s3 }
        };
        let regional = async {
            let status = services::ec2::region_status(&clients.ec2(clients.home_region())).await;
            let (collect, not_enabled) = match (regions, status) {
                (None, Ok(status)) => (
                    status.enabled.into_iter().collect::<Vec<_>>(),
                    status.not_enabled.into_iter().collect::<Vec<_>>(),
                ),
                (None, Err(e)) => {
                    tracing::warn!(error = %e, "cannot list regions");
                    return Err(e);
                }
                (Some(wanted), Ok(status)) => wanted
                    .iter()
                    .cloned()
                    .partition(|r| !status.not_enabled.contains(r)),
                (Some(wanted), Err(e)) => {
                    // The configured regions are collected all the same: a region the account
                    // has not enabled then shows up as gaps, never as a silent absence.
                    tracing::warn!(error = %e, "cannot tell which opt-in regions are enabled");
                    (wanted.clone(), Vec::new())
                }
            };
            // Every region at once: the request budget, not this fan-out, limits the calls.
            let all = collect.len().max(1);
            let inventories = stream::iter(collect)
                .map(|region| async move {
                    let inventory =
                        Box::pin(collect_region(id, clients, &region, availability)).await;
                    (region, inventory)
                })
                .buffer_unordered(all)
                .collect::<BTreeMap<String, RegionalInventory>>()
                .await;
            Ok((inventories, not_enabled))
        };
        let (global, regional) = futures::join!(global, regional);
        match regional {
            Ok((regions, regions_not_enabled)) => AccountInventory::Collected {
                role_arn: clients.role_arn().to_owned(),
                global,
                regions,
                regions_not_enabled,
            },
            Err(e) => AccountInventory::Failed { error: e.into() },
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
    availability: &Availability,
) -> RegionalInventory {
    let r = Some(region);
    let offered = |service: &str| availability.offered(service, region);
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
        instrumented_if(offered("ec2"), id, r, "ec2", services::ec2::collect(&ec2_c)),
        instrumented_if(offered("eks"), id, r, "eks", services::eks::collect(&eks_c)),
        instrumented_if(
            offered("lambda"),
            id,
            r,
            "lambda",
            services::lambda::collect(&lambda_c)
        ),
        instrumented_if(offered("rds"), id, r, "rds", services::rds::collect(&rds_c)),
        instrumented_if(offered("ecr"), id, r, "ecr", services::ecr::collect(&ecr_c)),
        instrumented_if(offered("kms"), id, r, "kms", services::kms::collect(&kms_c)),
        instrumented_if(
            offered("secretsmanager"),
            id,
            r,
            "secretsmanager",
            services::secretsmanager::collect(&secrets_c)
        ),
        instrumented_if(offered("sqs"), id, r, "sqs", services::sqs::collect(&sqs_c)),
        instrumented_if(
            offered("aoss"),
            id,
            r,
            "aoss",
            services::aoss::collect(&aoss_c)
        ),
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

/// [`instrumented`] where AWS offers the service; `not_offered` (no call) elsewhere.
async fn instrumented_if<T>(
    offered: bool,
    id: &AccountId,
    region: Option<&str>,
    service: &'static str,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Collected<T> {
    if offered {
        instrumented(id, region, service, work).await
    } else {
        Collected::NotOffered
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
