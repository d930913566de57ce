//! Progress on stderr, in one of four modes: a bar on a terminal (accounts done/total, API
//! calls, retries, ETA), plain lines otherwise (one per finished account, with its name, its
//! resources per service and an ETA), JSON lines for schedulers (`--log-format json`: one
//! object per event), or nothing but errors (`--quiet`). Also the interceptor that counts calls.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use headroom_schemas::AccountId;
use headroom_schemas::inventory::AccountInventory;
use headroom_schemas::status::Collected;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A progress bar (stderr is a terminal).
    Bar,
    /// One plain line per finished account.
    Lines,
    /// One JSON object per line and event (`--log-format json`).
    Json,
    /// Errors only.
    Quiet,
}

impl Mode {
    /// The mode for this process: quiet if asked, JSON lines if asked, a bar on a terminal,
    /// plain lines otherwise.
    pub fn detect(quiet: bool, json: bool) -> Self {
        if quiet {
            Mode::Quiet
        } else if json {
            Mode::Json
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// Counters and the display of one run.
#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    calls: AtomicU64,
    attempts: AtomicU64,
    accounts_done: AtomicU64,
    accounts_total: AtomicU64,
    state: Mutex<State>,
    bar: Option<ProgressBar>,
}

#[derive(Debug, Default)]
struct State {
    /// Account names, for messages.
    names: BTreeMap<AccountId, String>,
    /// When the member accounts started.
    started: Option<Instant>,
    /// Resources collected so far, per service.
    resources: BTreeMap<&'static str, u64>,
}

impl Progress {
    /// A new display.
    pub fn new(mode: Mode) -> Arc<Self> {
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} accounts {pos}/{len} [{bar:30}] {msg} ({elapsed}, ETA {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Arc::new(Self {
            mode,
            calls: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            accounts_done: AtomicU64::new(0),
            accounts_total: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            bar,
        })
    }

    /// How progress is shown.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The interceptor that counts this run's API calls and retries.
    pub fn interceptor(self: &Arc<Self>) -> SharedInterceptor {
        SharedInterceptor::new(CallCounter(Arc::clone(self)))
    }

    /// API calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Retried attempts so far.
    pub fn retries(&self) -> u64 {
        self.attempts
            .load(Ordering::Relaxed)
            .saturating_sub(self.calls())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The name of an account, as the organization lists it (empty if unknown).
    pub fn name(&self, id: &AccountId) -> String {
        self.state().names.get(id).cloned().unwrap_or_default()
    }

    /// `111111111111 (prod-app)`, or the bare ID when the account has no name.
    pub fn label(&self, id: &AccountId) -> String {
        label(id, &self.name(id))
    }

    /// Resources collected so far, per service.
    pub fn resources(&self) -> BTreeMap<&'static str, u64> {
        self.state().resources.clone()
    }

    /// Sets the accounts that will be collected, with their names.
    pub fn start_accounts(&self, accounts: Vec<(AccountId, String)>) {
        let total = u64::try_from(accounts.len()).unwrap_or(u64::MAX);
        self.accounts_total.store(total, Ordering::Relaxed);
        {
            let mut state = self.state();
            state.names.extend(accounts);
            state.started = Some(Instant::now());
        }
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.reset_eta();
        }
        if self.mode == Mode::Json {
            json_line(&json!({"event": "start", "accounts": total}));
        }
    }

    /// A status line (plain mode), the bar's message, or a JSON `status` event.
    pub fn status(&self, message: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.set_message(message.to_owned()),
            (None, Mode::Lines) => line(message),
            (None, Mode::Json) => json_line(&json!({"event": "status", "message": message})),
            _ => {}
        }
    }

    /// The estimated time left: the mean time per finished account so far, times the
    /// accounts left. `None` before the first account finishes.
    fn eta(&self, done: u64, total: u64) -> Option<Duration> {
        let started = self.state().started?;
        if done == 0 {
            return None;
        }
        let left = u32::try_from(total.saturating_sub(done)).ok()?;
        let per_account = started.elapsed() / u32::try_from(done).ok()?;
        Some(per_account * left)
    }

    /// One account finished.
    pub fn account_done(&self, id: &AccountId, inventory: &AccountInventory) {
        let done = self.accounts_done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.accounts_total.load(Ordering::Relaxed);
        let counts = resource_counts(inventory);
        let name = {
            let mut state = self.state();
            for (service, n) in &counts {
                *state.resources.entry(service).or_default() += *n;
            }
            state.names.get(id).cloned().unwrap_or_default()
        };
        let gaps = inventory.gaps().len();
        let outcome = match inventory {
            AccountInventory::Failed { .. } => "failed",
            _ if gaps > 0 => "incomplete",
            _ => "complete",
        };
        let eta = self.eta(done, total);
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(done);
                    bar.set_message(format!(
                        "{} calls, {} retries; last: {}",
                        self.calls(),
                        self.retries(),
                        label(id, &name)
                    ));
                }
            }
            Mode::Lines => {
                let mut text = format!("account {}: {outcome}", label(id, &name));
                if gaps > 0 {
                    let _ = write!(text, " ({gaps} gap(s))");
                }
                let resources = counts
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(s, n)| format!("{s} {n}"))
                    .collect::<Vec<_>>();
                if !resources.is_empty() {
                    text.push_str("; ");
                    text.push_str(&resources.join(", "));
                }
                let _ = write!(
                    text,
                    " [{done}/{total}; {} calls, {} retries",
                    self.calls(),
                    self.retries()
                );
                if let Some(eta) = eta {
                    let _ = write!(text, "; ETA {}", human(eta));
                }
                text.push(']');
                line(&text);
            }
            Mode::Json => json_line(&json!({
                "event": "account_done",
                "account": id.as_str(),
                "name": name,
                "outcome": outcome,
                "gaps": gaps,
                "not_offered": inventory.not_offered().len(),
                "regions_not_enabled": inventory.regions_not_enabled(),
                "resources": counts,
                "done": done,
                "total": total,
                "calls": self.calls(),
                "retries": self.retries(),
                "eta_seconds": eta.map(|d| d.as_secs()),
            })),
            Mode::Quiet => {}
        }
    }

    /// A warning, shown in every mode but quiet.
    pub fn warn(&self, message: &str) {
        let text = format!("warning: {message}");
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.suspend(|| line(&text)),
            (None, Mode::Lines) => line(&text),
            (None, Mode::Json) => json_line(&json!({
                "event": "warning",
                "level": "warn",
                "message": message,
            })),
            _ => {}
        }
    }

    /// A structured event: printed as JSON in JSON mode, as `text` (a warning) otherwise.
    pub fn event(&self, text: &str, event: &serde_json::Value) {
        if self.mode == Mode::Json {
            json_line(event);
        } else {
            self.warn(text);
        }
    }

    /// Removes the bar and prints the final summary (not in quiet mode): `lines` as text, or
    /// `event` as one JSON object.
    pub fn finish(&self, lines: &[String], event: &serde_json::Value) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => json_line(event),
            Mode::Bar | Mode::Lines => {
                for text in lines {
                    line(text);
                }
            }
        }
    }
}

impl Drop for Progress {
    /// A run that ends early (an error) leaves no half-drawn bar above its error line.
    fn drop(&mut self) {
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.finish_and_clear();
        }
    }
}

/// `111111111111 (prod-app)`, or the bare ID when `name` is empty.
pub fn label(id: &AccountId, name: &str) -> String {
    if name.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({})", printable(name))
    }
}

/// Control characters escaped, so that an account name cannot forge terminal output.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `2h05m`, `3m20s` or `12s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The resources of each service of an account: IAM users, roles and SAML providers, S3
/// buckets, and per region instances, clusters, functions, DB instances and clusters,
/// repositories, keys, secrets, queues and access policies.
pub fn resource_counts(inventory: &AccountInventory) -> BTreeMap<&'static str, u64> {
    fn n<T>(c: &Collected<T>, count: impl Fn(&T) -> usize) -> u64 {
        c.data()
            .map_or(0, |d| u64::try_from(count(d)).unwrap_or(u64::MAX))
    }
    let mut out = BTreeMap::new();
    let AccountInventory::Collected {
        global, regions, ..
    } = inventory
    else {
        return out;
    };
    out.insert(
        "iam",
        n(&global.iam, |d| {
            d.users.len() + d.roles.len() + d.saml_providers.len()
        }),
    );
    out.insert("s3", n(&global.s3, |d| d.buckets.len()));
    for r in regions.values() {
        for (service, count) in [
            ("ec2", n(&r.ec2, |d| d.instances.len())),
            ("eks", n(&r.eks, |d| d.clusters.len())),
            ("lambda", n(&r.lambda, |d| d.functions.len())),
            (
                "rds",
                n(&r.rds, |d| d.db_instances.len() + d.db_clusters.len()),
            ),
            ("ecr", n(&r.ecr, |d| d.repositories.len())),
            ("kms", n(&r.kms, |d| d.keys.len())),
            ("secretsmanager", n(&r.secretsmanager, |d| d.secrets.len())),
            ("sqs", n(&r.sqs, |d| d.queues.len())),
            ("aoss", n(&r.aoss, |d| d.access_policies.len())),
        ] {
            *out.entry(service).or_default() += count;
        }
    }
    out
}

/// The time now as RFC 3339 UTC text, for JSON events.
fn now() -> String {
    aws_smithy_types::DateTime::from(SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// One JSON event on stderr, with its time.
fn json_line(event: &serde_json::Value) {
    let mut event = event.clone();
    if let Some(map) = event.as_object_mut() {
        map.insert("time".into(), now().into());
        map.entry("level").or_insert_with(|| "info".into());
    }
    line(&event.to_string());
}

/// The one error line of a failed run, as `--log-format json` prints it.
pub fn json_error(message: &str) -> String {
    let mut event = json!({"event": "error", "level": "error", "message": message});
    if let Some(map) = event.as_object_mut() {
        map.insert("time".into(), now().into());
    }
    event.to_string()
}

#[expect(clippy::print_stderr, reason = "progress and the summary go to stderr")]
fn line(text: &str) {
    eprintln!("{text}");
}

/// Counts executions (API calls) and attempts (calls plus retries).
#[derive(Debug)]
struct CallCounter(Arc<Progress>);

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "HeadroomCallCounter"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.calls.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(human(Duration::from_secs(12)), "12s");
        assert_eq!(human(Duration::from_secs(200)), "3m20s");
        assert_eq!(human(Duration::from_secs(7500)), "2h05m");
    }

    #[test]
    fn names_cannot_forge_lines() {
        let id = AccountId::new("111111111111").unwrap();
        assert_eq!(label(&id, ""), "111111111111");
        assert_eq!(label(&id, "prod's app"), "111111111111 (prod's app)");
        assert_eq!(label(&id, "a\nb\u{1b}"), "111111111111 (a\\nb\\u{1b})");
    }
}
