//! The command line: flags, configuration, the run, the summary and the exit decision.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, bail};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use clap::Parser;
use headroom_schemas::config::Config;
use headroom_schemas::{AccountId, Compression, Snapshot};
use sha2::{Digest, Sha256};

use crate::credentials::{AwsClientFactory, RoleChain};
use crate::engine::{self, DEFAULT_CONCURRENCY, Plan};
use crate::exit::{self, InputError};
use crate::progress::{Mode, Progress};

/// Attempts per call (first try plus retries) under the adaptive retry mode.
pub const MAX_ATTEMPTS: u32 = 10;

/// Command-line arguments of `collect`.
#[derive(Debug, Default, Parser)]
#[command(
    name = "collect",
    version,
    about = "Snapshot an AWS Organization for Headroom: its structure, SCPs/RCPs and the raw inventories of every account",
    after_help = exit::HELP
)]
pub struct Args {
    /// The YAML configuration shared with `analyze`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to write the snapshot [default: headroom-<org id>-<UTC timestamp>.snapshot.json.zst].
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The AWS profile of the starting credentials (default: the aws-config default chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The region for STS, Organizations and global services [default: the profile's or
    /// `AWS_REGION`]. `AWS_ENDPOINT_URL` is honoured.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The management account, where the organization reader role lives (overrides
    /// `management_account_id`).
    #[arg(long, value_name = "ID")]
    pub management_account_id: Option<String>,
    /// Hop into `OrganizationAccountAccessRole` in this account first (overrides
    /// `security_analysis_account_id`).
    #[arg(long, value_name = "ID")]
    pub security_analysis_account_id: Option<String>,
    /// Regions to collect, comma-separated (overrides `regions`) [default: every region
    /// enabled in each account].
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Option<Vec<String>>,
    /// Accounts collected at once (overrides `concurrency`) [default: 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<NonZeroUsize>,
    /// Exit 0 even when some account, region or service could not be collected (the gaps
    /// are recorded in the snapshot either way).
    #[arg(long)]
    pub allow_partial: bool,
    /// Print errors only: no progress, no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Log every step (tracing spans per account, region and service) on stderr.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Runs `collect`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let setup = Setup::from_args(args)?;
    if args.verbose {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::DEBUG)
            .try_init()
            .ok();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(run_async(args, setup))
}

/// Everything decided before any AWS call.
#[derive(Debug)]
struct Setup {
    plan: Plan,
    security_analysis_account_id: Option<AccountId>,
    org_reader_role: String,
    account_reader_role: String,
}

fn account_id(value: &str, what: &str) -> Result<AccountId, InputError> {
    AccountId::new(value).map_err(|e| InputError(format!("{what}: {e}")))
}

impl Setup {
    fn from_args(args: &Args) -> anyhow::Result<Self> {
        let (config, digest) = match &args.config {
            Some(path) => load_config(path)?,
            None => (Config::default(), sha256_hex(b"")),
        };
        let management_account_id = match (
            &args.management_account_id,
            &config.management_account_id,
        ) {
            (Some(flag), _) => account_id(flag, "--management-account-id")?,
            (None, Some(id)) => id.clone(),
            (None, None) => {
                return Err(InputError(
                    "no management account: set `management_account_id` in the config or pass --management-account-id".into(),
                )
                .into());
            }
        };
        let security_analysis_account_id = match &args.security_analysis_account_id {
            Some(flag) => Some(account_id(flag, "--security-analysis-account-id")?),
            None => config.security_analysis_account_id.clone(),
        };
        let regions = match args.regions.clone().or(config.regions.clone()) {
            None => None,
            Some(list) => {
                let set: BTreeSet<String> = list.iter().map(|r| r.trim().to_owned()).collect();
                if set.is_empty() || set.iter().any(|r| !is_region_name(r)) {
                    return Err(InputError(format!(
                        "regions: expected region names such as `us-east-1`, got `{}`",
                        list.join(",")
                    ))
                    .into());
                }
                Some(set.into_iter().collect())
            }
        };
        let concurrency = args
            .concurrency
            .or(config.concurrency)
            .map_or(DEFAULT_CONCURRENCY, NonZeroUsize::get);
        let collected_at = DateTime::from_secs(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
        .fmt(Format::DateTime)
        .unwrap_or_default();
        Ok(Self {
            plan: Plan {
                management_account_id,
                skip_account_ids: config.skip_account_ids.iter().cloned().collect(),
                regions,
                concurrency,
                collector_version: env!("CARGO_PKG_VERSION").to_owned(),
                collected_at,
                config_digest: digest,
            },
            security_analysis_account_id,
            org_reader_role: config.role_names.org_reader.clone(),
            account_reader_role: config.role_names.account_reader.clone(),
        })
    }
}

fn is_region_name(r: &str) -> bool {
    !r.is_empty()
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[expect(
    clippy::disallowed_methods,
    reason = "the CLI reads the file it was given"
)]
fn load_config(path: &Path) -> anyhow::Result<(Config, String)> {
    let bytes = std::fs::read(path)
        .map_err(|e| InputError(format!("cannot read config `{}`: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    let config = Config::from_yaml(&text, path)?;
    Ok((config, sha256_hex(&bytes)))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::from("sha256:");
    for b in Sha256::digest(bytes) {
        // Writing to a String cannot fail.
        let _ = write!(text, "{b:02x}");
    }
    text
}

async fn run_async(args: &Args, setup: Setup) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS));
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let sdk_config = loader.load().await;
    if sdk_config.region().is_none() {
        return Err(InputError(
            "no AWS region is configured: pass --region or set AWS_REGION (STS is called at a regional endpoint)".into(),
        )
        .into());
    }
    let progress = Progress::new(Mode::detect(args.quiet));
    let caller = crate::credentials::caller_identity(&sdk_config)
        .await
        .context("failed to identify the caller (are AWS credentials configured?)")?;
    let chain = RoleChain {
        partition: engine::partition_of(&caller.arn).to_owned(),
        security_analysis_account_id: setup.security_analysis_account_id.clone(),
        management_account_id: setup.plan.management_account_id.clone(),
        org_reader_role: setup.org_reader_role.clone(),
        account_reader_role: setup.account_reader_role.clone(),
    };
    let factory = AwsClientFactory::new(sdk_config, chain, caller, Some(progress.interceptor()))
        .await
        .context("failed to enter the security analysis account")?;
    let snapshot = engine::collect(Arc::new(factory), &setup.plan, Arc::clone(&progress)).await?;

    let path = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&snapshot));
    headroom_schemas::write_file(&path, &snapshot, Compression::Zstd(9))?;

    let gaps = gap_lines(&snapshot);
    for gap in &gaps {
        progress.warn(gap);
    }
    let collected = snapshot
        .accounts
        .values()
        .filter(|a| matches!(a, headroom_schemas::AccountInventory::Collected { .. }))
        .count();
    progress.finish(&format!(
        "collected {collected} of {} accounts with {} gap(s): {} API calls, {} retries in {:.1}s; wrote `{}`",
        snapshot.accounts.len(),
        gaps.len(),
        progress.calls(),
        progress.retries(),
        started.elapsed().as_secs_f64(),
        path.display()
    ));
    check_complete(&snapshot, args.allow_partial)
}

/// The default output name: `headroom-<org id>-<UTC timestamp>.snapshot.json.zst`.
pub fn default_output(snapshot: &Snapshot) -> PathBuf {
    let stamp: String = snapshot
        .meta
        .collected_at
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    PathBuf::from(format!(
        "headroom-{}-{stamp}.snapshot.json.zst",
        snapshot.organization.id
    ))
}

/// One line per gap: the account, region and service, and what failed.
pub fn gap_lines(snapshot: &Snapshot) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, inventory) in &snapshot.accounts {
        for gap in inventory.gaps() {
            let place = match (gap.region, gap.service) {
                (_, None) => "whole account".to_owned(),
                (None, Some(s)) => format!("{s} (global)"),
                (Some(r), Some(s)) => format!("{s} in {r}"),
            };
            let code = gap.error.code.as_deref().unwrap_or("error");
            lines.push(format!(
                "not collected: account `{id}`, {place}: {} failed with {code}: {}",
                gap.error.operation, gap.error.message
            ));
        }
    }
    lines
}

/// The exit decision: an incomplete snapshot is an error unless `allow_partial`.
pub fn check_complete(snapshot: &Snapshot, allow_partial: bool) -> anyhow::Result<()> {
    let gaps: usize = snapshot.accounts.values().map(|a| a.gaps().len()).sum();
    if gaps == 0 || allow_partial {
        return Ok(());
    }
    let accounts = snapshot
        .accounts
        .values()
        .filter(|a| !a.gaps().is_empty())
        .count();
    bail!(
        "collection incomplete: {gaps} gap(s) in {accounts} account(s), listed above and recorded in the snapshot; pass --allow-partial to accept a partial snapshot"
    )
}
