//! `cargo xtask converge`: the rollout loop on a synthetic organization, in memory. Analyze,
//! apply the plan as `terraform apply` would ([`headroom_analyzer::rollout`]), analyze the
//! applied organization again, and compare: the Terraform must be byte for byte the same, and
//! `summary.json` too but for the collection time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, ensure};
use clap::Args as ClapArgs;
use headroom_analyzer::{Area, Outputs, Settings, checks, placement, render, rollout};
use headroom_schemas::config::Config;

use crate::synth;

/// Flags of `cargo xtask converge`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Member accounts of the synthetic organization.
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    /// Resources per account, on average.
    #[arg(long, default_value_t = 100)]
    pub resources: usize,
    /// Regions per account.
    #[arg(long, default_value_t = 2)]
    pub regions: usize,
    /// Random seed of the organization.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The configuration to analyze with (default: none).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs the loop and prints one line per cycle.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut snapshot = synth::generate(args.accounts, args.resources, args.regions, args.seed);
    let settings = match &args.config {
        Some(path) => Settings::from_config(&Config::load(path)?),
        None => Settings::default(),
    };
    let first = headroom_analyzer::analyze(&snapshot, &settings).context("first analysis")?;
    let runs = checks::run_checks(&snapshot, &settings)?.runs;
    let statements = checks::statement_source(&snapshot, &settings)?;
    let plan = placement::place(
        &snapshot.organization,
        &snapshot.policies,
        &settings,
        &runs,
        &statements,
    )?;
    let deployed = render::deployed(&plan, &render::names(&plan));
    drop((plan, statements, runs));
    let count = |kind: headroom_analyzer::model::CheckKind| {
        deployed.iter().filter(|d| d.kind == kind).count()
    };
    let (scps, rcps) = (
        count(headroom_analyzer::model::CheckKind::Scp),
        count(headroom_analyzer::model::CheckKind::Rcp),
    );
    rollout::apply(&mut snapshot.policies, &snapshot.organization, &deployed);
    "2099-01-01T00:00:00Z".clone_into(&mut snapshot.meta.collected_at);
    let second = headroom_analyzer::analyze(&snapshot, &settings).context("second analysis")?;
    let (tf1, tf2) = (terraform(&first), terraform(&second));
    ensure!(
        tf1.len() == tf2.len() && tf1.keys().eq(tf2.keys()),
        "the second run wrote other Terraform files"
    );
    for (file, text) in &tf1 {
        ensure!(tf2[file] == *text, "`{file}` changed after the apply");
    }
    let (s1, s2) = (summary(&first)?, summary(&second)?);
    ensure!(s1 == s2, "summary.json changed after the apply");
    ensure!(
        s2["removals"].as_array().is_some_and(Vec::is_empty),
        "the second run removes attachments"
    );
    #[expect(clippy::print_stdout, reason = "the command's result")]
    {
        println!(
            "converge: {} accounts, {scps} SCPs and {rcps} RCPs applied; the second run wrote the same {} Terraform files byte for byte, the same summary, and removes nothing",
            args.accounts,
            tf1.len()
        );
    }
    Ok(())
}

fn terraform(outputs: &Outputs) -> BTreeMap<String, &[u8]> {
    outputs
        .files
        .iter()
        .filter(|(f, _)| matches!(f.area, Area::Scps | Area::Rcps))
        .map(|(f, bytes)| (format!("{:?}/{}", f.area, f.path), bytes.as_slice()))
        .collect()
}

fn summary(outputs: &Outputs) -> anyhow::Result<serde_json::Value> {
    let (_, bytes) = outputs
        .files
        .iter()
        .find(|(f, _)| f.area == Area::Out && f.path == headroom_analyzer::summary::SUMMARY_FILE)
        .context("no summary.json")?;
    let mut value: serde_json::Value = serde_json::from_slice(bytes)?;
    value["organization"]["collected_at"] = serde_json::Value::Null;
    Ok(value)
}
