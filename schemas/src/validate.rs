//! Consistency rules a snapshot must satisfy beyond its JSON shape.

use crate::{AccountId, Organization, Policies, Snapshot};

/// The deepest OU nesting AWS Organizations allows: five levels of OUs under the root.
pub const MAX_OU_DEPTH: usize = 5;

/// A snapshot whose parts contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("snapshot is inconsistent: {0}")]
pub struct InconsistentError(pub String);

/// Checks the cross-references of a parsed snapshot: one root, no OU with the root's ID, every
/// parent known, no cycles, OUs at most [`MAX_OU_DEPTH`] levels deep, map keys equal to the IDs
/// they hold, one inventory entry per account.
pub(crate) fn validate(snapshot: &Snapshot) -> Result<(), InconsistentError> {
    validate_head(&snapshot.organization, &snapshot.policies)?;
    validate_accounts(&snapshot.organization, snapshot.accounts.keys())?;
    match &snapshot.activity {
        Some(activity) => validate_activity(&snapshot.organization, activity),
        None => Ok(()),
    }
}

/// The rules between the organization and the `activity` section.
pub(crate) fn validate_activity(
    org: &Organization,
    activity: &crate::activity::Activity,
) -> Result<(), InconsistentError> {
    crate::activity::validate(activity, org).map_err(InconsistentError)
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
        if ou.id == root_id {
            return fail(format!(
                "OU `{}` has the ID of the organization root",
                ou.id
            ));
        }
        if !known_parent(&ou.parent_id) {
            return fail(format!(
                "OU `{}` has parent `{}`, which is neither the root nor an OU",
                ou.id, ou.parent_id
            ));
        }
    }
    for ou in org.organizational_units.values() {
        check_depth(org, root_id, &ou.id)?;
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

/// Walks up from OU `id` (whose parent, and every OU's parent, is known) and fails if the
/// walk does not reach the root within [`MAX_OU_DEPTH`] levels: naming the depth, or the
/// cycle the walk is caught in. Never more than `MAX_OU_DEPTH + 1` steps for a valid tree.
fn check_depth(org: &Organization, root_id: &str, id: &str) -> Result<(), InconsistentError> {
    let mut cursor = id;
    let mut depth = 0usize;
    let mut seen = std::collections::BTreeSet::new();
    while cursor != root_id {
        depth += 1;
        if depth > MAX_OU_DEPTH && !seen.insert(cursor) {
            return Err(InconsistentError(format!(
                "OU `{id}` is part of a parent cycle"
            )));
        }
        let Some(ou) = org.organizational_units.get(cursor) else {
            // Unreachable after the parent check; refused rather than trusted.
            return Err(InconsistentError(format!(
                "OU `{cursor}` is neither the root nor an OU"
            )));
        };
        cursor = &ou.parent_id;
    }
    if depth > MAX_OU_DEPTH {
        return Err(InconsistentError(format!(
            "OU `{id}` is {depth} levels below the root; AWS Organizations allows at most {MAX_OU_DEPTH}"
        )));
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
