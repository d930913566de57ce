//! Consistency rules a snapshot must satisfy beyond its JSON shape.

use crate::{AccountId, Organization, Policies, Snapshot};

/// A snapshot whose parts contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("snapshot is inconsistent: {0}")]
pub struct InconsistentError(pub String);

/// Checks the cross-references of a parsed snapshot: one root, every parent known, no cycles,
/// map keys equal to the IDs they hold, one inventory entry per account.
pub(crate) fn validate(snapshot: &Snapshot) -> Result<(), InconsistentError> {
    validate_head(&snapshot.organization, &snapshot.policies)?;
    validate_accounts(&snapshot.organization, snapshot.accounts.keys())
}

/// The rules on the organization and the policies alone.
pub(crate) fn validate_head(
    org: &Organization,
    policies: &Policies,
) -> Result<(), InconsistentError> {
    let fail = |msg: String| Err(InconsistentError(msg));
    if org.roots.len() != 1 {
        return fail(format!(
            "expected exactly one organization root, found {}",
            org.roots.len()
        ));
    }
    let root_id = org.roots[0].id.as_str();
    let known_parent = |id: &str| id == root_id || org.organizational_units.contains_key(id);
    for (key, ou) in &org.organizational_units {
        if *key != ou.id {
            return fail(format!("OU listed under `{key}` has id `{}`", ou.id));
        }
        if !known_parent(&ou.parent_id) {
            return fail(format!(
                "OU `{}` has parent `{}`, which is neither the root nor an OU",
                ou.id, ou.parent_id
            ));
        }
        // Walk up: a cycle never reaches the root.
        let mut cursor = ou.parent_id.as_str();
        let mut steps = 0;
        while cursor != root_id {
            steps += 1;
            if steps > org.organizational_units.len() {
                return fail(format!("OU `{}` is part of a parent cycle", ou.id));
            }
            cursor = &org.organizational_units[cursor].parent_id;
        }
    }
    for (key, account) in &org.accounts {
        if *key != account.id {
            return fail(format!(
                "account listed under `{key}` has id `{}`",
                account.id
            ));
        }
        if !known_parent(&account.parent_id) {
            return fail(format!(
                "account `{}` has parent `{}`, which is neither the root nor an OU",
                account.id, account.parent_id
            ));
        }
    }
    if !org.accounts.contains_key(&org.management_account_id) {
        return fail(format!(
            "management account `{}` is not among the organization's accounts",
            org.management_account_id
        ));
    }
    for (kind, map) in [("SCP", &policies.scps), ("RCP", &policies.rcps)] {
        for (key, policy) in map {
            if *key != policy.id {
                return fail(format!(
                    "{kind} listed under `{key}` has id `{}`",
                    policy.id
                ));
            }
        }
    }
    Ok(())
}

/// The rule between the organization and the inventories: exactly one entry per account.
/// `inventories` are the account IDs under `accounts`, in ascending order.
pub(crate) fn validate_accounts<'a>(
    org: &Organization,
    inventories: impl IntoIterator<Item = &'a AccountId> + Clone,
) -> Result<(), InconsistentError> {
    let has_inventory: std::collections::BTreeSet<&AccountId> =
        inventories.clone().into_iter().collect();
    if let Some(id) = org.accounts.keys().find(|id| !has_inventory.contains(*id)) {
        return Err(InconsistentError(format!(
            "account `{id}` has no entry under `accounts`"
        )));
    }
    if let Some(id) = inventories
        .into_iter()
        .find(|id| !org.accounts.contains_key(*id))
    {
        return Err(InconsistentError(format!(
            "`accounts` has an entry for `{id}`, which is not in the organization"
        )));
    }
    Ok(())
}
