//! Progress on stderr: a bar on a terminal (accounts done/total, API calls, retries), plain
//! lines otherwise, nothing but errors with `-q`. Also the interceptor that counts calls.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A progress bar (stderr is a terminal).
    Bar,
    /// One plain line per finished account.
    Lines,
    /// Errors only.
    Quiet,
}

impl Mode {
    /// The mode for this process: quiet if asked, a bar on a terminal, lines otherwise.
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Mode::Quiet
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
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A new display.
    pub fn new(mode: Mode) -> Arc<Self> {
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} accounts {pos}/{len} [{bar:30}] {msg} ({elapsed})",
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
            bar,
        })
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

    /// Sets how many accounts will be collected.
    pub fn start_accounts(&self, total: usize) {
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        self.accounts_total.store(total, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// A status line (plain mode) or the bar's message.
    pub fn status(&self, message: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.set_message(message.to_owned()),
            (None, Mode::Lines) => line(message),
            _ => {}
        }
    }

    /// One account finished, with `gaps` failed parts.
    pub fn account_done(&self, account: &str, gaps: usize) {
        let done = self.accounts_done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.accounts_total.load(Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!(
                "{} calls, {} retries",
                self.calls(),
                self.retries()
            ));
        } else if self.mode == Mode::Lines {
            let outcome = if gaps == 0 {
                "complete".to_owned()
            } else {
                format!("{gaps} gap(s)")
            };
            line(&format!(
                "account {account}: {outcome} ({done}/{total}; {} calls, {} retries)",
                self.calls(),
                self.retries()
            ));
        }
    }

    /// A warning, shown in every mode but quiet.
    pub fn warn(&self, message: &str) {
        let text = format!("warning: {message}");
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.suspend(|| line(&text)),
            (None, Mode::Lines) => line(&text),
            _ => {}
        }
    }

    /// Removes the bar and prints the final summary line (not in quiet mode).
    pub fn finish(&self, summary: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.mode != Mode::Quiet {
            line(summary);
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
