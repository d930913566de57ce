//! A plain-text overview of a snapshot: the OU tree with account counts and collection status.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use headroom_schemas::inventory::{AccountInventory, NotCollectedReason};
use headroom_schemas::org::{Account, Organization};
use headroom_schemas::{AvailabilitySource, Snapshot};

use crate::Settings;

/// Renders the overview. Deterministic: children are listed OUs first, each group sorted by
/// name and then ID.
pub fn render(snapshot: &Snapshot, settings: &Settings) -> String {
    let org = &snapshot.organization;
    let meta = &snapshot.meta;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Organization {} (management account {})",
        printable(&org.id),
        org.management_account_id
    );
    let regions = if meta.regions.is_empty() {
        "all enabled".to_owned()
    } else {
        meta.regions.join(", ")
    };
    let _ = writeln!(
        out,
        "Snapshot format {}, collected {} by collect {}, partition {}, regions: {}",
        snapshot.format_version,
        printable(&meta.collected_at),
        printable(&meta.collector_version),
        printable(&meta.partition),
        printable(&regions),
    );
    if let Some(availability) = &meta.service_availability {
        let _ = writeln!(
            out,
            "Service availability per region: {}",
            match availability.source {
                AvailabilitySource::Ssm => "AWS SSM public parameters, read during collection",
                AvailabilitySource::Builtin => "collect's built-in table (SSM was not readable)",
            }
        );
    }
    out.push('\n');
    let root = org.root();
    let _ = writeln!(
        out,
        "Root ({}): {}",
        printable(&root.id),
        plural(count_beneath(org, &root.id), "account")
    );
    render_children(snapshot, settings, &root.id, "", &mut out);

    let mut collected = 0;
    let mut failed = 0;
    let mut not_collected = 0;
    let mut gaps = Vec::new();
    for (id, inventory) in &snapshot.accounts {
        match inventory {
            AccountInventory::Collected { .. } => collected += 1,
            AccountInventory::Failed { .. } => failed += 1,
            AccountInventory::NotCollected { .. } => not_collected += 1,
        }
        for gap in inventory.gaps() {
            let place = match (gap.region, gap.service) {
                (Some(r), Some(s)) => format!("{r} {s}"),
                (None, Some(s)) => format!("global {s}"),
                _ => "account".to_owned(),
            };
            let name = org
                .accounts
                .get(id)
                .map_or_else(|| id.to_string(), |a| settings.account_name(a));
            gaps.push(format!(
                "  {} {id} {place}: {} ({}{})",
                printable(&name),
                gap.error.operation,
                gap.error
                    .code
                    .as_deref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default(),
                printable(&gap.error.message)
            ));
        }
    }
    let _ = writeln!(
        out,
        "\nAccounts: {} ({collected} collected, {failed} failed, {not_collected} not collected); collection gaps: {}",
        org.accounts.len(),
        gaps.len()
    );
    for line in gaps {
        out.push_str(&line);
        out.push('\n');
    }
    render_absences(snapshot, &mut out);
    out
}

/// Known absences, which are not gaps: services AWS does not offer in a region, and opt-in
/// regions an account has not enabled. One line per (service, region) or region, with the
/// number of accounts.
fn render_absences(snapshot: &Snapshot, out: &mut String) {
    let mut not_offered: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut not_enabled: BTreeMap<&str, usize> = BTreeMap::new();
    for inventory in snapshot.accounts.values() {
        for absent in inventory.not_offered() {
            *not_offered
                .entry((absent.service, absent.region))
                .or_default() += 1;
        }
        for region in inventory.regions_not_enabled() {
            *not_enabled.entry(region.as_str()).or_default() += 1;
        }
    }
    if !not_offered.is_empty() {
        let _ = writeln!(
            out,
            "Not offered by AWS (not gaps): {}",
            plural(not_offered.len(), "service-region")
        );
        for ((service, region), accounts) in not_offered {
            let _ = writeln!(
                out,
                "  {service} not offered in {}: {}",
                printable(region),
                plural(accounts, "account")
            );
        }
    }
    if !not_enabled.is_empty() {
        let _ = writeln!(
            out,
            "Opt-in regions not enabled (skipped, not gaps): {}",
            plural(not_enabled.len(), "region")
        );
        for (region, accounts) in not_enabled {
            let _ = writeln!(
                out,
                "  {}: {}",
                printable(region),
                plural(accounts, "account")
            );
        }
    }
}

fn render_children(
    snapshot: &Snapshot,
    settings: &Settings,
    parent_id: &str,
    indent: &str,
    out: &mut String,
) {
    let org = &snapshot.organization;
    let mut ous: Vec<_> = org.child_ous(parent_id).collect();
    ous.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let mut accounts: Vec<_> = org.child_accounts(parent_id).collect();
    accounts.sort_by_key(|a| (settings.account_name(a), a.id.clone()));
    let total = ous.len() + accounts.len();
    let mut index = 0;
    for ou in ous {
        index += 1;
        let last = index == total;
        let _ = writeln!(
            out,
            "{indent}{} {} ({}): {}",
            if last { "└──" } else { "├──" },
            printable(&ou.name),
            printable(&ou.id),
            plural(count_beneath(org, &ou.id), "account")
        );
        let child_indent = format!("{indent}{}", if last { "    " } else { "│   " });
        render_children(snapshot, settings, &ou.id, &child_indent, out);
    }
    for account in accounts {
        index += 1;
        let last = index == total;
        let _ = writeln!(
            out,
            "{indent}{} {} {} {}: {}",
            if last { "└──" } else { "├──" },
            printable(&settings.account_name(account)),
            account.id,
            printable(account.state.as_str()),
            status(snapshot, account)
        );
    }
}

fn status(snapshot: &Snapshot, account: &Account) -> String {
    match snapshot.accounts.get(&account.id) {
        Some(inventory @ AccountInventory::Collected { regions, .. }) => {
            let gaps = inventory.gaps().len();
            let mut s = format!("collected, {}", plural(regions.len(), "region"));
            if gaps > 0 {
                let _ = write!(s, ", {}", plural(gaps, "gap"));
            }
            let not_offered = inventory.not_offered().len();
            if not_offered > 0 {
                let _ = write!(s, ", {} not offered", plural(not_offered, "service-region"));
            }
            let not_enabled = inventory.regions_not_enabled().len();
            if not_enabled > 0 {
                let _ = write!(s, ", {} not enabled", plural(not_enabled, "region"));
            }
            s
        }
        Some(AccountInventory::Failed { error }) => format!(
            "collection failed ({}{})",
            error
                .code
                .as_deref()
                .map(|c| format!("{c} at "))
                .unwrap_or_default(),
            error.operation
        ),
        Some(AccountInventory::NotCollected { reason }) => match reason {
            NotCollectedReason::ManagementAccount => "not collected (management account)",
            NotCollectedReason::Skipped => "not collected (skip_account_ids)",
            NotCollectedReason::Inactive => "not collected (inactive)",
        }
        .to_owned(),
        None => "missing from the snapshot".to_owned(),
    }
}

/// How many accounts sit anywhere beneath `node_id`.
fn count_beneath(org: &Organization, node_id: &str) -> usize {
    org.accounts
        .values()
        .filter(|a| {
            let mut cursor = a.parent_id.as_str();
            loop {
                if cursor == node_id {
                    return true;
                }
                match org.organizational_units.get(cursor) {
                    Some(ou) => cursor = &ou.parent_id,
                    None => return false,
                }
            }
        })
        .count()
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// AWS names may hold any character: escape control characters so a name cannot forge
/// terminal output or lines.
pub fn printable(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_default().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect()
    } else {
        s.to_owned()
    }
}
