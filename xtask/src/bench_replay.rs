//! `cargo xtask bench-replay`: what the activity replay adds to `analyze`, per million events.
//!
//! One synthetic organization (`xtask synth`'s generator) is analyzed in this process, in
//! turn (round-robin, `--runs` rounds, median), without activity and with `--events` events
//! in its `activity` section, both already parsed; the difference is the replay's cost: the
//! evaluation of every event against the planned documents, repeated for each placement round
//! the replay needs, and the extra placements. The events are the relevant calls of the
//! synthetic CloudTrail generator (`headroom_schemas::activity::synthetic::bulk`: launches,
//! user and SAML provider creation, calls from outside the organization, IMDSv1 credentials),
//! read through the collector's own log-file reader; a base of distinct calls is generated and
//! repeated (with distinct event IDs) up to the count. The same run also times the parse of
//! the `activity` section's JSON (what `analyze` reads besides), and prints both per million
//! events against the target of 1 s per million for the evaluation. Last, it times the
//! streaming `analyze` on the snapshot without activity written as format 1.1 and as 1.2: for
//! a 1.2 snapshot the streaming path keeps the inventories' facts the replay may need (the
//! activity section comes after the inventories), and the ratio is that cost.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use headroom_analyzer::Settings;
use headroom_schemas::activity::catalog::all_actions;
use headroom_schemas::activity::cloudtrail::{Filter, read_log_file, sort_events};
use headroom_schemas::activity::synthetic::{Bulk, bulk};
use headroom_schemas::activity::{Activity, Event, Window};

/// Flags of `cargo xtask bench-replay`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Member accounts of the synthetic organization.
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    /// Resources per account.
    #[arg(long, default_value_t = 20)]
    pub resources: usize,
    /// Events in the activity section.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Distinct calls generated (repeated up to `--events`).
    #[arg(long, default_value_t = 100_000)]
    pub distinct: usize,
    /// Rounds; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Generates the snapshot and the events, times both analyses in turn and prints the table.
pub fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.events >= 1 && args.distinct >= 1,
        "--events and --distinct must be at least 1"
    );
    anyhow::ensure!(args.runs >= 1, "--runs must be at least 1");
    let plain = crate::synth::generate(args.accounts, args.resources, 2, args.seed);
    let events = events(&plain, args)?;
    let mut replayed = plain.clone();
    replayed.format_version = headroom_schemas::version::FormatVersion { major: 1, minor: 2 };
    let section = serde_json::to_vec(&activity(events)?)?;
    // Parsed, as `analyze` gets it: the events' memory is laid out as parsing leaves it (in
    // order), not as the generator's clones and the sort left it.
    replayed.activity = Some(serde_json::from_slice(&section)?);
    let settings = Settings::default();
    // The streaming path keeps the inventories' facts for any snapshot that may hold activity
    // (format 1.2): its cost, on the same snapshot without activity written as 1.1 and 1.2.
    let (older, newer) = (as_version(&plain, 1)?, as_version(&plain, 2)?);
    let (mut stream_older, mut stream_newer) = (Vec::new(), Vec::new());
    let (mut without, mut with, mut parse) = (Vec::new(), Vec::new(), Vec::new());
    let mut summary_with = Vec::new();
    for _ in 0..args.runs {
        let t = Instant::now();
        let outputs = headroom_analyzer::analyze(&plain, &settings)?;
        without.push(t.elapsed().as_secs_f64());
        drop(outputs);
        let t = Instant::now();
        let outputs = headroom_analyzer::analyze(&replayed, &settings)?;
        with.push(t.elapsed().as_secs_f64());
        summary_with = outputs
            .files
            .iter()
            .find(|(f, _)| f.path == "summary.json")
            .map(|(_, b)| b.clone())
            .unwrap_or_default();
        for (bytes, samples) in [(&older, &mut stream_older), (&newer, &mut stream_newer)] {
            let sink = headroom_analyzer::Collect::default();
            let t = Instant::now();
            headroom_analyzer::analyze_bytes_into(bytes, &settings, &sink)?;
            samples.push(t.elapsed().as_secs_f64());
        }
        let t = Instant::now();
        let parsed: Activity = serde_json::from_slice(&section)?;
        parse.push(t.elapsed().as_secs_f64());
        drop(parsed);
    }
    let (without, with, parse) = (median(without), median(with), median(parse));
    let (stream_older, stream_newer) = (median(stream_older), median(stream_newer));
    let millions = f64::from(u32::try_from(args.events).unwrap_or(u32::MAX)) / 1e6;
    let extra = (with - without) / millions;
    let denied = denied_accounts(&summary_with)?;
    let rounds = rounds(&replayed, &settings)?;
    let mut table = String::new();
    let _ = writeln!(
        table,
        "activity replay: {} member accounts, {} events ({} distinct calls), {} cores, median of {} rounds",
        args.accounts,
        args.events,
        args.distinct,
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        args.runs
    );
    let _ = writeln!(table, "| measurement | seconds | per million events |");
    let _ = writeln!(table, "|---|---:|---:|");
    let _ = writeln!(table, "| analyze without activity | {without:.3} | |");
    let _ = writeln!(table, "| analyze with activity | {with:.3} | |");
    let _ = writeln!(
        table,
        "| replay (difference) | {:.3} | {extra:.3} (target <= 1.000: {}) |",
        with - without,
        if extra <= 1.0 { "met" } else { "missed" }
    );
    let _ = writeln!(
        table,
        "| parse of the activity section ({:.0} MiB of JSON) | {parse:.3} | {:.3} |",
        f64::from(u32::try_from(section.len() / 1024).unwrap_or(u32::MAX)) / 1024.0,
        parse / millions
    );
    let _ = writeln!(
        table,
        "| streaming analyze, no activity, format 1.1 ({:.0} MiB) | {stream_older:.3} | |",
        f64::from(u32::try_from(older.len() / 1024).unwrap_or(u32::MAX)) / 1024.0,
    );
    let _ = writeln!(
        table,
        "| streaming analyze, no activity, format 1.2 (facts kept) | {stream_newer:.3} | ratio {:.3} |",
        stream_newer / stream_older
    );
    let _ = writeln!(
        table,
        "(check, account) pairs with denied events: {denied}; placement rounds: {rounds} (each after the first replays only the checks the previous one moved)"
    );
    #[expect(clippy::print_stdout, reason = "the benchmark's table")]
    {
        print!("{table}");
    }
    Ok(())
}

/// How many placement rounds the replay of `snapshot` takes.
fn rounds(snapshot: &headroom_schemas::Snapshot, settings: &Settings) -> anyhow::Result<usize> {
    let runs = headroom_analyzer::checks::run_checks(snapshot, settings)?.runs;
    let statements = headroom_analyzer::checks::statement_source(snapshot, settings)?;
    let facts = headroom_analyzer::activity::facts::Facts::from_snapshot(snapshot);
    let replay = headroom_analyzer::activity::placed::Replay {
        activity: snapshot.activity.as_ref().context("no activity")?,
        facts: &facts,
        partition: &snapshot.meta.partition,
    };
    Ok(headroom_analyzer::activity::placed::place(
        &snapshot.organization,
        &snapshot.policies,
        settings,
        &runs,
        &statements,
        replay,
    )?
    .rounds)
}

/// The snapshot as JSON, written as format `1.minor`.
fn as_version(snapshot: &headroom_schemas::Snapshot, minor: u32) -> anyhow::Result<Vec<u8>> {
    let mut copy = snapshot.clone();
    copy.format_version = headroom_schemas::version::FormatVersion { major: 1, minor };
    Ok(serde_json::to_vec(&copy)?)
}

/// A 30-day window of `events`, every selector collected, read completely (Athena).
fn activity(events: Vec<Event>) -> anyhow::Result<Activity> {
    Ok(Activity {
        window: Window {
            first_day: "2026-01-01".into(),
            last_day: "2026-01-30".into(),
        },
        selectors: all_actions(),
        source: serde_json::from_value(serde_json::json!({
            "type": "athena", "workgroup": "primary", "database": "trail", "table": "cloudtrail",
            "query": {"status": "complete", "records": events.len(), "events": events.len()}
        }))?,
        events,
    })
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The relevant events of the synthetic trail of `snapshot`'s organization: `args.distinct`
/// distinct calls, repeated up to `args.events` with distinct event IDs, sorted as `collect`
/// writes them.
fn events(snapshot: &headroom_schemas::Snapshot, args: &Args) -> anyhow::Result<Vec<Event>> {
    let members: Vec<String> = snapshot
        .organization
        .accounts
        .keys()
        .filter(|id| **id != snapshot.organization.management_account_id)
        .map(ToString::to_string)
        .collect();
    let spec = Bulk {
        organization_id: snapshot.organization.id.clone(),
        members: members.clone(),
        outsiders: vec!["898989898989".into(), "121212121212".into()],
        regions: vec!["eu-west-1".into(), "us-east-1".into()],
        days: (1..=30).map(|d| format!("2026-01-{d:02}")).collect(),
        records_per_file: 100,
        relevant_per_mille: 1000,
    };
    let filter = Filter::new(
        snapshot
            .organization
            .accounts
            .keys()
            .map(ToString::to_string),
    );
    let mut base: Vec<Event> = Vec::with_capacity(args.distinct);
    let mut failure = None;
    let mut seed = args.seed;
    while base.len() < args.distinct {
        // About 1.5 KB of JSON per record: a budget for the calls still needed.
        let budget = ((args.distinct - base.len()) as u64 * 1_500).max(150_000);
        bulk(&spec, seed, budget, &mut |_key, json| {
            if let Err(e) = read_log_file(&json, &filter, None, &mut base) {
                failure.get_or_insert(e);
            }
        });
        seed += 1;
    }
    if let Some(e) = failure {
        anyhow::bail!("the synthetic log files do not read: {}", e.0);
    }
    base.truncate(args.distinct);
    let mut events = Vec::with_capacity(args.events);
    for i in 0..args.events {
        let mut event = base[i % base.len()].clone();
        if i >= base.len() {
            event.id = format!("{}-{}", event.id, i / base.len());
        }
        events.push(event);
    }
    sort_events(&mut events);
    Ok(events)
}

/// How many (check, account) pairs the replay found denied events in.
fn denied_accounts(summary: &[u8]) -> anyhow::Result<usize> {
    let summary: serde_json::Value = serde_json::from_slice(summary)?;
    Ok(summary["checks"].as_array().map_or(0, |checks| {
        checks
            .iter()
            .filter_map(|c| c["activity"]["accounts"].as_array())
            .flatten()
            .filter(|a| a["denied"]["count"].as_u64().unwrap_or(0) > 0)
            .count()
    }))
}
