//! The placement summary a person reads on stdout: one line of organization, one line of
//! totals, one table row per check, then the blockers named by resource and the collection
//! gaps, each list cut at a limit with the count of what was left out (the files hold it all).
//! Where the outputs went and what to do next is added by the binary, which knows the paths.
//!
//! Every name from AWS is escaped ([`escape_invisible`]) so it cannot forge lines or drive
//! the terminal; in exclude mode the organization's account IDs are redacted.

use std::fmt::Write as _;

use crate::render::escape_invisible as printable;
use crate::view::{BlockerView, CheckView, View};

/// The widest the target column is padded to; a longer name overflows its row.
const MAX_TARGET_WIDTH: usize = 48;
/// Target lines printed before the rest is counted instead.
pub const MAX_TARGET_LINES: usize = 20;
/// Blocker lines printed before the rest is counted instead.
pub const MAX_BLOCKER_LINES: usize = 20;
/// Collection gap lines printed before the rest is counted instead.
pub const MAX_GAP_LINES: usize = 10;

/// `1 account`, `2 accounts`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The stdout text for `view`.
pub fn render(view: &View) -> String {
    let mut out = String::new();
    let org = &view.organization;
    let t = &view.totals;
    let _ = writeln!(
        out,
        "Organization {} (root {}, management account {}): {} in {}, snapshot collected {}",
        printable(&org.id),
        printable(&org.root_id),
        org.management_account_id,
        plural(t.accounts, "account"),
        plural(t.ous, "OU"),
        printable(&org.collected_at),
    );
    let _ = writeln!(out, "{}", totals_line(t));
    let _ = writeln!(out, "Policies: {}", view.quotas.join("; "));
    for warning in &view.warnings {
        let _ = writeln!(out, "Warning: {}", printable(warning));
    }
    table(view, &mut out);
    targets(view, &mut out);
    blockers(view, &mut out);
    activity(view, &mut out);
    gaps(view, &mut out);
    out
}

/// `16 checks: 3 at the root, 10 lower, 3 nowhere; 18 blockers in 5 accounts; 1 collection
/// gap in 1 account`.
pub fn totals_line(t: &crate::view::Totals) -> String {
    format!(
        "{}: {} at the root, {} lower, {} nowhere; {} in {}; {} in {}",
        plural(t.checks, "check"),
        t.at_root,
        t.placed - t.at_root,
        t.checks - t.placed,
        plural(t.blockers, "blocker"),
        plural(t.blocking_accounts, "account"),
        plural(t.gaps, "collection gap"),
        plural(t.gap_accounts, "account"),
    )
}

/// Where a check lands, in a few words: `root`, `2 OUs, 3 accounts`, `nowhere`.
pub fn placement(check: &CheckView) -> String {
    if check.targets.is_empty() {
        return "nowhere".to_owned();
    }
    if check.level == "root" {
        return "root".to_owned();
    }
    let ous = check.targets.iter().filter(|t| t.level == "ou").count();
    let accounts = check
        .targets
        .iter()
        .filter(|t| t.level == "account")
        .count();
    let mut parts = Vec::new();
    if ous > 0 {
        parts.push(plural(ous, "OU"));
    }
    if accounts > 0 {
        parts.push(plural(accounts, "account"));
    }
    parts.join(", ")
}

fn table(view: &View, out: &mut String) {
    let width = view
        .checks
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(0)
        .max("check".len());
    let placements: Vec<String> = view.checks.iter().map(placement).collect();
    let pwidth = placements
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("attached at".len());
    let _ = writeln!(
        out,
        "\n{:<width$}  kind  {:<pwidth$}  covered  blocking  carved out  excluded",
        "check", "attached at"
    );
    for (check, placed) in view.checks.iter().zip(&placements) {
        let _ = writeln!(
            out,
            "{:<width$}  {:<4}  {:<pwidth$}  {:>7}  {:>8}  {:>10}  {:>8}",
            printable(&check.id),
            check.kind,
            placed,
            check.covered,
            check.blocking,
            check.carved_out(),
            check.excluded
        );
    }
}

/// One line per Terraform file: where the guardrails land, how many, in what policies.
fn targets(view: &View, out: &mut String) {
    if view.terraform.is_empty() {
        return;
    }
    let labels: Vec<String> = view
        .terraform
        .iter()
        .map(|t| printable(&t.target))
        .collect();
    let width = labels
        .iter()
        .take(MAX_TARGET_LINES)
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("target".len(), MAX_TARGET_WIDTH);
    let _ = writeln!(
        out,
        "\n{:<width$}  checks  policies (characters of limit)  terraform",
        "target"
    );
    for (t, label) in view.terraform.iter().zip(&labels).take(MAX_TARGET_LINES) {
        let policies: Vec<String> = t
            .policies
            .iter()
            .map(|p| format!("{} of {}", p.size, p.max_size))
            .collect();
        let pad = width.saturating_sub(label.chars().count());
        let _ = writeln!(
            out,
            "{label}{:pad$}  {:>6}  {:<31}  {}",
            "",
            t.checks.len(),
            policies.join(", "),
            printable(&t.file)
        );
    }
    if view.terraform.len() > MAX_TARGET_LINES {
        let _ = writeln!(
            out,
            "... and {} more (every target is in summary.md and summary.json)",
            plural(view.terraform.len() - MAX_TARGET_LINES, "target")
        );
    }
}

/// `dev-sandbox (666666666666): i-1 (imds_v1_allowed, eu-west-1), +2 more`: one blocker.
pub fn describe_blocker(blocker: &BlockerView) -> String {
    let mut text = format!("{} ({})", blocker.account_name, blocker.account_id);
    if let Some(first) = blocker.findings.first() {
        let _ = write!(text, ": {} ({}", first.resource, first.reason);
        if let Some(region) = &first.region {
            let _ = write!(text, ", {region}");
        }
        text.push(')');
        if blocker.findings.len() > 1 {
            let _ = write!(text, ", +{} more", blocker.findings.len() - 1);
        }
    } else if !blocker.gaps.is_empty() {
        let _ = write!(text, ": {}: {}", blocker.status, blocker.gaps.join("; "));
    } else if !blocker.reasons.is_empty() {
        let reasons: Vec<String> = blocker
            .reasons
            .iter()
            .map(|r| format!("{} x{}", r.reason, r.count))
            .collect();
        let _ = write!(text, ": {}", reasons.join(", "));
    } else {
        let _ = write!(text, ": {}", blocker.status);
    }
    text
}

fn blockers(view: &View, out: &mut String) {
    if view.totals.blockers == 0 {
        return;
    }
    let _ = writeln!(out, "\nBlockers (account: first resource, reason, region):");
    let mut printed = 0;
    for check in &view.checks {
        if check.blockers.is_empty() {
            continue;
        }
        if printed >= MAX_BLOCKER_LINES {
            break;
        }
        let _ = writeln!(out, "  {}", printable(&check.id));
        for blocker in &check.blockers {
            if printed >= MAX_BLOCKER_LINES {
                break;
            }
            let _ = writeln!(out, "    {}", printable(&describe_blocker(blocker)));
            printed += 1;
        }
    }
    if printed < view.totals.blockers {
        let _ = writeln!(
            out,
            "  ... and {} more (every blocker is in summary.md and report.html)",
            plural(view.totals.blockers - printed, "blocker")
        );
    }
}

/// One line per check on what the activity replay found (only when the snapshot holds
/// activity).
fn activity(view: &View, out: &mut String) {
    if view.checks.iter().all(|c| c.activity.is_none()) {
        return;
    }
    let _ = writeln!(
        out,
        "\nRecent activity (CloudTrail replayed against the plan):"
    );
    for check in &view.checks {
        if let Some(line) = &check.activity {
            let _ = writeln!(out, "  {}: {}", printable(&check.id), printable(line));
        }
    }
}

fn gaps(view: &View, out: &mut String) {
    if view.gaps.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nCollection gaps (never read as clean; the accounts block the checks that read them):"
    );
    for gap in view.gaps.iter().take(MAX_GAP_LINES) {
        let _ = writeln!(
            out,
            "  {} ({}): {}",
            printable(&gap.account_name),
            gap.account_id,
            printable(&gap.gap)
        );
    }
    if view.gaps.len() > MAX_GAP_LINES {
        let _ = writeln!(
            out,
            "  ... and {} more",
            plural(view.gaps.len() - MAX_GAP_LINES, "gap")
        );
    }
}
