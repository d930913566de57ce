//! The command line: flags, configuration, the run, the summary and the exit decision.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
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

use crate::credentials::{AssumeOptions, AwsClientFactory, RoleChain};
use crate::engine::{self, DEFAULT_CONCURRENCY, Plan};
use crate::exit::{self, InputError};
use crate::progress::{Mode, Progress};

/// Attempts per call (first try plus retries) under the adaptive retry mode.
pub const MAX_ATTEMPTS: u32 = 10;

/// `--version`: the build, the snapshot format it writes and the formats it reads.
pub fn version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (writes snapshot format {}; analyze of this build reads {} to {})",
            env!("CARGO_PKG_VERSION"),
            headroom_schemas::SNAPSHOT_FORMAT_VERSION,
            headroom_schemas::OLDEST_READABLE,
            headroom_schemas::SNAPSHOT_FORMAT_VERSION,
        )
    })
}

/// How progress, warnings and the summary are written on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// A progress bar on a terminal, plain lines otherwise.
    #[default]
    Text,
    /// One JSON object per line and event (for schedulers and log pipelines).
    Json,
}

/// Command-line arguments of `collect`.
#[derive(Debug, Default, Parser)]
#[command(
    name = "collect",
    version = version(),
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
    /// Read the organization through the organization reader role in this delegated
    /// administrator account instead of the management account (overrides
    /// `delegated_admin_account_id`).
    #[arg(long, value_name = "ID")]
    pub delegated_admin_account_id: Option<String>,
    /// Regions to collect, comma-separated (overrides `regions`) [default: every region
    /// enabled in each account].
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Option<Vec<String>>,
    /// API requests in flight at once, shared by every account, region and service
    /// (overrides `concurrency`) [default: 32].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<NonZeroUsize>,
    /// Exit 0 even when some account, region or service could not be collected (the gaps
    /// are recorded in the snapshot either way).
    #[arg(long)]
    pub allow_partial: bool,
    /// Also read the organization's CloudTrail activity of the last N days (1 to 365, ending
    /// today, UTC) from the source the config's `activity` section names (overrides
    /// `activity.days`) [default: off].
    #[arg(long, value_name = "N")]
    pub activity_days: Option<u32>,
    /// Print errors only: no progress, no warnings, no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Log every step (tracing spans per account, region and service) on stderr.
    #[arg(short, long)]
    pub verbose: bool,
    /// `text`: a progress bar on a terminal, plain lines otherwise; `json`: one JSON object
    /// per line and event on stderr, the error line included (for schedulers).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Runs `collect`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let setup = Setup::from_args(args)?;
    if args.verbose {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::DEBUG);
        match args.log_format {
            LogFormat::Text => subscriber.try_init().ok(),
            LogFormat::Json => subscriber.json().try_init().ok(),
        };
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
    delegated_admin_account_id: Option<AccountId>,
    org_reader_role: String,
    account_reader_role: String,
    options: AssumeOptions,
    activity: Option<crate::activity::Plan>,
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
        let delegated_admin_account_id = match &args.delegated_admin_account_id {
            Some(flag) => Some(account_id(flag, "--delegated-admin-account-id")?),
            None => config.delegated_admin_account_id.clone(),
        };
        if delegated_admin_account_id.as_ref() == Some(&management_account_id) {
            return Err(InputError(
                "delegated_admin_account_id names the management account: leave it unset to read the organization there".into(),
            )
            .into());
        }
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
        let activity = activity_plan(args, &config, &collected_at, concurrency)?;
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
            delegated_admin_account_id,
            org_reader_role: config.role_names.org_reader.clone(),
            account_reader_role: config.role_names.account_reader.clone(),
            options: AssumeOptions {
                external_id: config.external_id.clone(),
                duration_seconds: config.session_duration.and_then(|s| i32::try_from(s).ok()),
            },
            activity,
        })
    }
}

/// What `--activity-days` (or `activity.days`) asks to read, checked against the `activity`
/// section before any AWS call.
fn activity_plan(
    args: &Args,
    config: &Config,
    collected_at: &str,
    concurrency: usize,
) -> Result<Option<crate::activity::Plan>, InputError> {
    let days = args
        .activity_days
        .or(config.activity.as_ref().and_then(|a| a.days));
    let Some(days) = days else {
        return Ok(None);
    };
    let Some(activity) = &config.activity else {
        return Err(InputError(
            "--activity-days needs the config's `activity` section: `activity.bucket` (the organization trail's bucket), or `activity.source: athena` with `activity.athena`".into(),
        ));
    };
    if let Some(problem) = activity.problem(days) {
        return Err(InputError(problem));
    }
    let today = collected_at.get(..10).unwrap_or_default();
    Ok(Some(crate::activity::Plan {
        days: headroom_schemas::activity::days_ending(today, days),
        config: activity.clone(),
        objects_in_flight: concurrency.saturating_mul(2).max(8),
    }))
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
        .retry_config(RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS))
        // A request waiting for the request budget has not started its body: upload stall
        // protection would count that wait as a stalled upload and retry the call (every
        // request body collect sends is a few hundred bytes). Downloads stay protected.
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
                .upload_enabled(false)
                .build(),
        );
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
    // One request budget for every client made from this configuration (crate::budget).
    let http = sdk_config
        .http_client()
        .unwrap_or_else(crate::budget::default_https_client);
    let sdk_config = sdk_config
        .into_builder()
        .http_client(crate::budget::Budgeted::new(http, setup.plan.concurrency).shared())
        .build();
    let progress = Progress::new(Mode::detect(args.quiet, args.log_format == LogFormat::Json));
    let caller = crate::credentials::caller_identity(&sdk_config)
        .await
        .context("failed to identify the caller (are AWS credentials configured?)")?;
    let chain = RoleChain {
        partition: engine::partition_of(&caller.arn).to_owned(),
        security_analysis_account_id: setup.security_analysis_account_id.clone(),
        organization_reader_account_id: setup
            .delegated_admin_account_id
            .clone()
            .unwrap_or_else(|| setup.plan.management_account_id.clone()),
        org_reader_role: setup.org_reader_role.clone(),
        account_reader_role: setup.account_reader_role.clone(),
        options: setup.options.clone(),
    };
    let factory = AwsClientFactory::new(sdk_config, chain, caller, Some(progress.interceptor()))
        .await
        .context("failed to enter the security analysis account")?;
    let factory = Arc::new(factory);
    let mut snapshot =
        engine::collect(Arc::clone(&factory), &setup.plan, Arc::clone(&progress)).await?;
    if let Some(plan) = &setup.activity {
        let access = crate::activity::Access {
            session: factory.session(),
            path_style: factory.s3_path_style(),
            interceptor: factory.interceptor(),
        };
        snapshot.activity = Some(
            crate::activity::collect(
                &access,
                plan,
                &snapshot.organization,
                &setup.plan.skip_account_ids,
                &progress,
            )
            .await,
        );
    }

    let path = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&snapshot));
    headroom_schemas::write_file(&path, &snapshot, Compression::Zstd(9))?;

    let groups = gap_groups(&snapshot, &|id| progress.name(id));
    for group in &groups {
        progress.event(&group.line(), &group.event());
    }
    if let Some(activity) = &snapshot.activity {
        for (account, line) in crate::activity::gaps(activity) {
            let event = serde_json::json!({
                "event": "activity_gap",
                "level": "warn",
                "account": account.as_ref().map(AccountId::as_str),
                "message": line,
            });
            progress.event(&format!("not read: {line}"), &event);
        }
    }
    let (lines, event) = summary(&snapshot, &progress, started.elapsed().as_secs_f64(), &path);
    progress.finish(&lines, &event);
    check_complete(&snapshot, args.allow_partial)
}

/// The closing lines (resources per service, then the one-line summary) and the same as a
/// JSON event.
fn summary(
    snapshot: &Snapshot,
    progress: &Progress,
    seconds: f64,
    path: &Path,
) -> (Vec<String>, serde_json::Value) {
    let collected = snapshot
        .accounts
        .values()
        .filter(|a| matches!(a, headroom_schemas::AccountInventory::Collected { .. }))
        .count();
    let gaps: usize = snapshot.accounts.values().map(|a| a.gaps().len()).sum();
    let not_offered: usize = snapshot
        .accounts
        .values()
        .map(|a| a.not_offered().len())
        .sum();
    let not_enabled: usize = snapshot
        .accounts
        .values()
        .map(|a| a.regions_not_enabled().len())
        .sum();
    let resources = progress.resources();
    let mut lines = Vec::new();
    if !resources.is_empty() {
        lines.push(format!(
            "resources: {}",
            resources
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(activity) = &snapshot.activity {
        lines.push(format!(
            "activity: {} event(s) kept from {} to {}, {} part(s) not read",
            activity.events.len(),
            activity.window.first_day,
            activity.window.last_day,
            crate::activity::gaps(activity).len()
        ));
    }
    let mut absences = String::new();
    if not_offered > 0 {
        let _ = write!(
            absences,
            ", {not_offered} service-region(s) not offered by AWS"
        );
    }
    if not_enabled > 0 {
        let _ = write!(absences, ", {not_enabled} opt-in region(s) not enabled");
    }
    lines.push(format!(
        "collected {collected} of {} accounts with {gaps} gap(s){absences}: {} API calls, {} retries in {seconds:.1}s; wrote `{}`",
        snapshot.accounts.len(),
        progress.calls(),
        progress.retries(),
        path.display()
    ));
    let event = serde_json::json!({
        "event": "summary",
        "accounts": snapshot.accounts.len(),
        "collected": collected,
        "gaps": gaps,
        "not_offered": not_offered,
        "regions_not_enabled": not_enabled,
        "resources": resources,
        "calls": progress.calls(),
        "retries": progress.retries(),
        "activity_events": snapshot.activity.as_ref().map(|a| a.events.len()),
        "seconds": seconds,
        "output": path.display().to_string(),
    });
    (lines, event)
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

/// Identical gaps, grouped: one failed operation with one error code, and where it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapGroup {
    /// The IAM action that failed.
    pub operation: String,
    /// AWS's error code, if any.
    pub code: Option<String>,
    /// The service key; `None` when whole accounts could not be entered.
    pub service: Option<&'static str>,
    /// Whether the service is global (IAM, S3).
    pub global: bool,
    /// The accounts, with their names.
    pub accounts: BTreeMap<AccountId, String>,
    /// The regions (empty for global services and whole accounts).
    pub regions: BTreeSet<String>,
    /// How many (account, region, service) gaps the group holds.
    pub places: usize,
    /// The first gap's account, region and message, as an example.
    pub example: (AccountId, Option<String>, String),
}

impl GapGroup {
    /// `lambda:ListFunctions failed with AccessDenied in 7 accounts x 2 regions; e.g. ...`.
    pub fn line(&self) -> String {
        let what = match &self.code {
            Some(code) => format!("{} failed with {code}", self.operation),
            None => format!("{} failed", self.operation),
        };
        let accounts = plural(self.accounts.len(), "account");
        let place = if self.service.is_none() {
            let mut named: Vec<String> = self
                .accounts
                .iter()
                .take(5)
                .map(|(id, name)| crate::progress::label(id, name))
                .collect();
            if self.accounts.len() > 5 {
                named.push(format!("and {} more", self.accounts.len() - 5));
            }
            format!("for {accounts}, not collected at all: {}", named.join(", "))
        } else if self.global {
            format!(
                "in {accounts} ({} global)",
                self.service.unwrap_or_default()
            )
        } else if self.places == self.accounts.len() * self.regions.len() {
            format!("in {accounts} x {}", plural(self.regions.len(), "region"))
        } else {
            format!(
                "in {} ({accounts}, {})",
                plural(self.places, "account-region"),
                plural(self.regions.len(), "region")
            )
        };
        let (id, region, message) = &self.example;
        let name = self.accounts.get(id).map_or("", String::as_str);
        let at = match region {
            Some(r) => format!("{}, {r}", crate::progress::label(id, name)),
            None => crate::progress::label(id, name),
        };
        format!("not collected: {what} {place}; e.g. {at}: {message}")
    }

    /// The group as a JSON `gaps` event.
    pub fn event(&self) -> serde_json::Value {
        serde_json::json!({
            "event": "gaps",
            "level": "warn",
            "operation": self.operation,
            "code": self.code,
            "service": self.service,
            "accounts": self.accounts.keys().map(AccountId::as_str).collect::<Vec<_>>(),
            "regions": self.regions,
            "count": self.places,
            "example": {
                "account": self.example.0.as_str(),
                "region": self.example.1,
                "message": self.example.2,
            },
        })
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The snapshot's gaps grouped by (operation, error code, service), in that order; `name`
/// gives account names. The raw detail stays in the snapshot.
pub fn gap_groups(snapshot: &Snapshot, name: &dyn Fn(&AccountId) -> String) -> Vec<GapGroup> {
    let mut groups: BTreeMap<(String, Option<String>, Option<&'static str>), GapGroup> =
        BTreeMap::new();
    for (id, inventory) in &snapshot.accounts {
        for gap in inventory.gaps() {
            let key = (
                gap.error.operation.clone(),
                gap.error.code.clone(),
                gap.service,
            );
            let group = groups.entry(key).or_insert_with(|| GapGroup {
                operation: gap.error.operation.clone(),
                code: gap.error.code.clone(),
                service: gap.service,
                global: gap.service.is_some() && gap.region.is_none(),
                accounts: BTreeMap::new(),
                regions: BTreeSet::new(),
                places: 0,
                example: (
                    id.clone(),
                    gap.region.map(str::to_owned),
                    gap.error.message.clone(),
                ),
            });
            let account_name = snapshot
                .organization
                .accounts
                .get(id)
                .map_or_else(|| name(id), |a| a.name.clone());
            group.accounts.insert(id.clone(), account_name);
            if let Some(region) = gap.region {
                group.regions.insert(region.to_owned());
            }
            group.places += 1;
        }
    }
    groups.into_values().collect()
}

/// The exit decision: an incomplete snapshot (an inventory gap, or a part of the activity
/// window that could not be read) is an error unless `allow_partial`.
pub fn check_complete(snapshot: &Snapshot, allow_partial: bool) -> anyhow::Result<()> {
    let gaps: usize = snapshot.accounts.values().map(|a| a.gaps().len()).sum();
    let activity_gaps = snapshot
        .activity
        .as_ref()
        .map_or(0, |a| crate::activity::gaps(a).len());
    if (gaps == 0 && activity_gaps == 0) || allow_partial {
        return Ok(());
    }
    if gaps == 0 {
        bail!(
            "activity incomplete: {activity_gaps} part(s) of the window could not be read, listed above and recorded in the snapshot; pass --allow-partial to accept a partial snapshot"
        );
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
