//! The organization walk: roots, the OU tree at any depth, every account with its state,
//! parent and tags, and every SCP and RCP with its document and targets.
//!
//! Every list call is paginated until AWS stops sending a token (an empty page may still
//! carry one). Organizations throttles hard, so at most [`ORG_PARALLELISM`] calls are in
//! flight; throttling is retried by the SDK's retry strategy. The walk comes in two parts:
//! [`structure`] (what member collection needs) and [`complete`] (tags and policies), so that
//! `collect` can start on the accounts while the second part runs.

use std::collections::BTreeMap;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{self as org_types, PolicyType};
use futures::{StreamExt, TryStreamExt, stream};
use headroom_schemas::org::{
    Account, AccountState, Organization, OrganizationalUnit, PolicyTypeSummary, Root,
};
use headroom_schemas::policies::{Policies, Policy, PolicyTarget, TargetType};
use headroom_schemas::{AccountId, Tags};

use crate::actions;
use crate::error::ApiError;
use crate::services::{rfc3339, tag_map};

/// Organizations calls in flight at once.
pub const ORG_PARALLELISM: usize = 4;

/// The state `collect` records for an account that reports neither `State` nor `Status`.
pub const MISSING_STATE: &str = "UNREPORTED";

/// Reads the whole organization and its policies.
pub async fn walk(client: &Client) -> Result<(Organization, Policies), ApiError> {
    let structure = structure(client).await?;
    complete(client, structure).await
}

/// The organization as far as member collection needs it: its description, roots, OU tree and
/// accounts, without account tags or policies (see [`complete`]). `collect` starts on the
/// accounts as soon as this is known and reads the rest meanwhile.
#[derive(Debug, Clone)]
pub struct Structure {
    id: String,
    arn: String,
    management_account_id: AccountId,
    feature_set: Option<org_types::OrganizationFeatureSet>,
    roots: Vec<Root>,
    organizational_units: BTreeMap<String, OrganizationalUnit>,
    /// Every account with its parent, in walk order.
    found: Vec<(String, org_types::Account)>,
}

impl Structure {
    /// The management account.
    pub fn management_account_id(&self) -> &AccountId {
        &self.management_account_id
    }

    /// Every account with its name and state, by ID (accounts with an ID that is not an
    /// account ID are left to [`complete`], which rejects them).
    pub fn accounts(&self) -> BTreeMap<AccountId, (String, AccountState)> {
        self.found
            .iter()
            .filter_map(|(_, a)| {
                let id = AccountId::new(a.id().unwrap_or_default()).ok()?;
                Some((
                    id,
                    (a.name().unwrap_or_default().to_owned(), account_state(a)),
                ))
            })
            .collect()
    }
}

/// Reads the organization's description, roots, OU tree and accounts.
pub async fn structure(client: &Client) -> Result<Structure, ApiError> {
    let described = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ORG_DESCRIBE_ORGANIZATION, &e))?;
    let Some(o) = described.organization() else {
        return Err(ApiError::other(
            actions::ORG_DESCRIBE_ORGANIZATION,
            "the response held no organization",
        ));
    };
    let management_account_id = AccountId::new(o.master_account_id().unwrap_or_default())
        .map_err(|e| ApiError::other(actions::ORG_DESCRIBE_ORGANIZATION, e.to_string()))?;
    let roots = list_roots(client).await?;
    let (organizational_units, found) = walk_tree(client, &roots).await?;
    Ok(Structure {
        id: o.id().unwrap_or_default().to_owned(),
        arn: o.arn().unwrap_or_default().to_owned(),
        management_account_id,
        feature_set: o.feature_set().cloned(),
        roots,
        organizational_units,
        found,
    })
}

/// Adds the account tags and the policies to `structure`.
pub async fn complete(
    client: &Client,
    structure: Structure,
) -> Result<(Organization, Policies), ApiError> {
    let Structure {
        id,
        arn,
        management_account_id,
        feature_set,
        roots,
        organizational_units,
        found,
    } = structure;
    let consolidated_billing =
        feature_set.as_ref() == Some(&org_types::OrganizationFeatureSet::ConsolidatedBilling);
    // One after the other: at most ORG_PARALLELISM Organizations calls in flight. This part
    // runs while the accounts are collected, off the critical path.
    let accounts = tag_accounts(client, found).await?;
    // Organizations without all features have no policies, and their policy APIs refuse.
    let policies = if consolidated_billing {
        Policies::default()
    } else {
        list_all_policies(client).await?
    };
    let org = Organization {
        id,
        arn,
        management_account_id,
        feature_set: feature_set
            .map(|f| f.as_str().to_owned())
            .unwrap_or_default(),
        roots,
        organizational_units,
        accounts,
    };
    Ok((org, policies))
}

/// Every root, sorted by ID, with its policy types sorted by type.
pub async fn list_roots(client: &Client) -> Result<Vec<Root>, ApiError> {
    let pages: Vec<_> = client
        .list_roots()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ORG_LIST_ROOTS, &e))?;
    let mut roots: Vec<Root> = pages
        .iter()
        .flat_map(|p| p.roots())
        .map(|r| {
            let mut policy_types: Vec<PolicyTypeSummary> = r
                .policy_types()
                .iter()
                .map(|t| PolicyTypeSummary {
                    policy_type: t
                        .r#type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    status: t
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                })
                .collect();
            policy_types.sort_by(|a, b| a.policy_type.cmp(&b.policy_type));
            Root {
                id: r.id().unwrap_or_default().to_owned(),
                arn: r.arn().unwrap_or_default().to_owned(),
                name: r.name().unwrap_or_default().to_owned(),
                policy_types,
            }
        })
        .collect();
    roots.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(roots)
}

type Tree = (
    BTreeMap<String, OrganizationalUnit>,
    Vec<(String, org_types::Account)>,
);

/// Walks the tree breadth first from every root: the OUs and accounts of each parent (both
/// lists at once), level by level.
async fn walk_tree(client: &Client, roots: &[Root]) -> Result<Tree, ApiError> {
    let mut ous = BTreeMap::new();
    let mut found: Vec<(String, org_types::Account)> = Vec::new();
    let mut level: Vec<String> = roots.iter().map(|r| r.id.clone()).collect();
    while !level.is_empty() {
        let children: Vec<(Vec<org_types::OrganizationalUnit>, Vec<org_types::Account>)> =
            stream::iter(level.iter())
                .map(|parent| async move {
                    futures::try_join!(
                        list_ous_for_parent(client, parent),
                        list_accounts_for_parent(client, parent)
                    )
                })
                .buffered(ORG_PARALLELISM / 2)
                .try_collect()
                .await?;
        let mut next = Vec::new();
        for (parent, (child_ous, child_accounts)) in level.iter().zip(children) {
            for ou in child_ous {
                let id = ou.id().unwrap_or_default().to_owned();
                if ous.contains_key(&id) {
                    continue;
                }
                next.push(id.clone());
                ous.insert(
                    id.clone(),
                    OrganizationalUnit {
                        id,
                        arn: ou.arn().unwrap_or_default().to_owned(),
                        name: ou.name().unwrap_or_default().to_owned(),
                        parent_id: parent.clone(),
                    },
                );
            }
            for account in child_accounts {
                found.push((parent.clone(), account));
            }
        }
        level = next;
    }
    Ok((ous, found))
}

/// Every account with its tags, by ID.
async fn tag_accounts(
    client: &Client,
    found: Vec<(String, org_types::Account)>,
) -> Result<BTreeMap<AccountId, Account>, ApiError> {
    let tags: Vec<Tags> = stream::iter(found.iter())
        .map(|(_, a)| list_tags(client, a.id().unwrap_or_default()))
        .buffered(ORG_PARALLELISM)
        .try_collect()
        .await?;
    let mut accounts = BTreeMap::new();
    for ((parent_id, a), tags) in found.into_iter().zip(tags) {
        let id = AccountId::new(a.id().unwrap_or_default())
            .map_err(|e| ApiError::other(actions::ORG_LIST_ACCOUNTS_FOR_PARENT, e.to_string()))?;
        accounts.insert(id.clone(), convert_account(id, parent_id, &a, tags));
    }
    Ok(accounts)
}

/// The lifecycle state: `State`, else the older `Status`, else [`MISSING_STATE`].
pub fn account_state(a: &org_types::Account) -> AccountState {
    // `Status` is the fallback for APIs that still send no `State`.
    let status = a.status().map(|s| s.as_str().to_owned());
    let state = a.state().map(|s| s.as_str().to_owned());
    AccountState::from(state.or(status).unwrap_or_else(|| MISSING_STATE.to_owned()))
}

fn convert_account(
    id: AccountId,
    parent_id: String,
    a: &org_types::Account,
    tags: Tags,
) -> Account {
    Account {
        id,
        arn: a.arn().unwrap_or_default().to_owned(),
        name: a.name().unwrap_or_default().to_owned(),
        email: a.email().unwrap_or_default().to_owned(),
        state: account_state(a),
        parent_id,
        tags,
        joined_timestamp: a.joined_timestamp().map(rfc3339),
        joined_method: a.joined_method().map(|m| m.as_str().to_owned()),
    }
}

/// Every OU directly under `parent_id`, all pages.
pub async fn list_ous_for_parent(
    client: &Client,
    parent_id: &str,
) -> Result<Vec<org_types::OrganizationalUnit>, ApiError> {
    let pages: Vec<_> = client
        .list_organizational_units_for_parent()
        .parent_id(parent_id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ORG_LIST_OUS_FOR_PARENT, &e))?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.organizational_units.unwrap_or_default())
        .collect())
}

/// Every account directly under `parent_id`, all pages.
pub async fn list_accounts_for_parent(
    client: &Client,
    parent_id: &str,
) -> Result<Vec<org_types::Account>, ApiError> {
    let pages: Vec<_> = client
        .list_accounts_for_parent()
        .parent_id(parent_id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ORG_LIST_ACCOUNTS_FOR_PARENT, &e))?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.accounts.unwrap_or_default())
        .collect())
}

/// The tags of an account (or any Organizations resource), all pages.
pub async fn list_tags(client: &Client, resource_id: &str) -> Result<Tags, ApiError> {
    let pages: Vec<_> = client
        .list_tags_for_resource()
        .resource_id(resource_id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ORG_LIST_TAGS, &e))?;
    Ok(tag_map(
        pages
            .iter()
            .flat_map(|p| p.tags())
            .map(|t| (Some(t.key()), Some(t.value()))),
    ))
}

async fn list_all_policies(client: &Client) -> Result<Policies, ApiError> {
    Ok(Policies {
        scps: list_policies(client, PolicyType::ServiceControlPolicy).await?,
        rcps: list_policies(client, PolicyType::ResourceControlPolicy).await?,
    })
}

/// Every policy of one type with its document and targets, by policy ID.
pub async fn list_policies(
    client: &Client,
    policy_type: PolicyType,
) -> Result<BTreeMap<String, Policy>, ApiError> {
    let pages: Vec<_> = client
        .list_policies()
        .filter(policy_type)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ORG_LIST_POLICIES, &e))?;
    let summaries: Vec<org_types::PolicySummary> = pages
        .into_iter()
        .flat_map(|p| p.policies.unwrap_or_default())
        .collect();
    let policies: Vec<Policy> = stream::iter(summaries.iter())
        .map(|s| describe_policy(client, s))
        .buffered(ORG_PARALLELISM)
        .try_collect()
        .await?;
    Ok(policies.into_iter().map(|p| (p.id.clone(), p)).collect())
}

async fn describe_policy(
    client: &Client,
    summary: &org_types::PolicySummary,
) -> Result<Policy, ApiError> {
    let id = summary.id().unwrap_or_default();
    let described = client
        .describe_policy()
        .policy_id(id)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ORG_DESCRIBE_POLICY, &e))?;
    let content = described
        .policy()
        .and_then(|p| p.content())
        .unwrap_or_default()
        .to_owned();
    let pages: Vec<_> = client
        .list_targets_for_policy()
        .policy_id(id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ORG_LIST_TARGETS_FOR_POLICY, &e))?;
    let mut targets = Vec::new();
    for t in pages.iter().flat_map(|p| p.targets()) {
        let target_type = match t.r#type() {
            Some(org_types::TargetType::Root) => TargetType::Root,
            Some(org_types::TargetType::OrganizationalUnit) => TargetType::OrganizationalUnit,
            Some(org_types::TargetType::Account) => TargetType::Account,
            other => {
                return Err(ApiError::other(
                    actions::ORG_LIST_TARGETS_FOR_POLICY,
                    format!(
                        "policy `{id}` has a target of unknown type `{}`",
                        other.map_or("", |t| t.as_str())
                    ),
                ));
            }
        };
        targets.push(PolicyTarget {
            target_id: t.target_id().unwrap_or_default().to_owned(),
            arn: t.arn().unwrap_or_default().to_owned(),
            name: t.name().unwrap_or_default().to_owned(),
            target_type,
        });
    }
    targets.sort_by(|a, b| a.target_id.cmp(&b.target_id));
    Ok(Policy {
        id: id.to_owned(),
        arn: summary.arn().unwrap_or_default().to_owned(),
        name: summary.name().unwrap_or_default().to_owned(),
        description: summary.description().unwrap_or_default().to_owned(),
        aws_managed: summary.aws_managed(),
        content,
        targets,
    })
}
