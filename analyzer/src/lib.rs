//! `analyze`: reads a snapshot, runs the checks, decides placement, and returns every report,
//! summary and Terraform file as data.
//!
//! The core is pure: [`analyze`] takes a parsed snapshot and settings and returns [`Outputs`]
//! (path -> bytes, plus the text for stdout); [`analyze_into`] hands each file to a [`Sink`] as
//! soon as it is made instead, which is how the binary streams a large organization's reports
//! to disk. It reads no file, clock or environment variable and uses no network; only `io.rs`
//! touches the disk. Same snapshot and settings give
//! byte-identical outputs at any thread count.
#![warn(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "the analysis is pure and deterministic: IO lives in io.rs, maps are ordered"
)]

pub mod activity;
pub mod checks;
pub mod cli;
mod escape;
pub mod exit;
mod io;
pub mod managed;
pub mod model;
pub mod output;
pub mod overview;
pub mod placement;
pub mod policies;
pub mod policy_document;
pub mod render;
pub mod report;
pub mod rollout;
pub mod settings;
pub mod summary;

use headroom_schemas::{ReadError, Snapshot};

pub use crate::output::{Area, Collect, OutputFile, Outputs, Sink, SinkError};
pub use crate::settings::Settings;

/// The demo snapshot bundled into the binary: `fixtures/snapshots/demo.json`.
pub const DEMO_SNAPSHOT: &[u8] = include_bytes!("../../fixtures/snapshots/demo.json");
/// The configuration the demo runs with: `fixtures/config/demo.yaml`.
pub const DEMO_CONFIG: &str = include_str!("../../fixtures/config/demo.yaml");

/// An analysis that cannot proceed because of its input (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The settings do not fit the snapshot or the checks.
    #[error("{0}")]
    Settings(String),
    /// A policy cannot be built within the configured limits.
    #[error(transparent)]
    Policy(#[from] policies::PolicyError),
    /// The plan would exceed an organization quota.
    #[error(transparent)]
    Quota(#[from] placement::QuotaError),
    /// A Terraform template failed to render.
    #[error(transparent)]
    Render(#[from] render::RenderError),
    /// The sink could not take an output (exit code 1: the input was fine).
    #[error(transparent)]
    Output(#[from] output::SinkError),
}

/// Analyzes a snapshot, gathering every output in memory. Pure: the result depends only on the
/// arguments.
pub fn analyze(snapshot: &Snapshot, settings: &Settings) -> Result<Outputs, AnalyzeError> {
    let sink = Collect::default();
    let stdout = analyze_into(snapshot, settings, &sink)?;
    Ok(Outputs {
        files: sink.into_files(),
        stdout,
    })
}

/// Analyzes a snapshot, putting each file into `sink` as soon as it is made, and returns the
/// text for stdout. The files and the text depend only on `snapshot` and `settings`.
///
/// Every input error (settings that contradict the snapshot, unknown check options) is found
/// before the first file is put.
pub fn analyze_into(
    snapshot: &Snapshot,
    settings: &Settings,
    sink: &dyn Sink,
) -> Result<String, AnalyzeError> {
    settings.validate_against(&snapshot.organization)?;
    let statements = checks::statement_source(snapshot, settings)?;
    let runs = checks::run_checks_into(snapshot, settings, sink)?;
    summary::outputs_into(snapshot, settings, &runs, &statements, sink)
}

impl From<placement::PlacementError> for AnalyzeError {
    fn from(e: placement::PlacementError) -> Self {
        match e {
            placement::PlacementError::Policy(e) => Self::Policy(e),
            placement::PlacementError::Quota(e) => Self::Quota(e),
        }
    }
}

/// Why [`analyze_bytes_into`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeBytesError {
    /// The snapshot cannot be read (exit code 2).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The analysis cannot proceed or its output cannot be written.
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
}

/// Reads a snapshot from `bytes` (zstd or JSON) and analyzes it, putting each file into `sink`;
/// returns the text for stdout. The same files and text as [`analyze_into`] on
/// [`headroom_schemas::read_with`]`(bytes, &settings.read_limits)`, and the same errors.
///
/// The parse of a large snapshot is single-threaded, so instead of waiting for it this runs the
/// checks on each account as soon as the parser (on a thread of its own) has read it, on the
/// rayon workers, and drops the account's inventory once it has been evaluated. Nothing reaches
/// `sink` before the whole document is known to be valid: reports made meanwhile are held and
/// handed over once the parser has succeeded (and thrown away if it fails).
pub fn analyze_bytes_into(
    bytes: &[u8],
    settings: &Settings,
    sink: &dyn Sink,
) -> Result<String, AnalyzeBytesError> {
    use headroom_schemas::Streamed;

    // Enough accounts in flight to keep every worker busy, few enough to bound memory.
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Streamed>(64);
    let holding = &output::Held::new(sink);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            headroom_schemas::read_streaming_with(bytes, &settings.read_limits, &mut |event| {
                // The receiver hangs up only when the analysis failed; the parse goes on to
                // find the snapshot's own error, if any, which comes first.
                let _ = sender.send(event);
            })
        });
        let mut events = receiver.into_iter();
        let head = match events.next() {
            Some(Streamed::Head(head)) => Some(head),
            _ => None,
        };
        // Consumes `events`: once it is dropped (done, or stopped by an error) the parser's
        // sends fail and it runs to its end without handing anything over.
        let evaluated = head.as_deref().map(move |head| -> Result<_, AnalyzeError> {
            settings.validate_against(&head.organization)?;
            let checker = checks::Checker::new(&head.organization, &head.meta, settings)?;
            let verdicts = check_as_read(events, &checker, holding)?;
            checker.runs(verdicts, holding)
        });
        // The snapshot's own error comes first.
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read?;
        let (Some(head), Some(evaluated)) = (head, evaluated) else {
            return Err(AnalyzeError::Settings(
                "the snapshot reader succeeded without handing over the organization".into(),
            )
            .into());
        };
        let runs = evaluated?;
        // Placement and the rest read only the organization, the policies and the metadata.
        let head = std::sync::Arc::try_unwrap(head).unwrap_or_else(|shared| (*shared).clone());
        let snapshot = head.into_snapshot_without_inventories();
        let statements = checks::statement_source(&snapshot, settings)?;
        // The reports held during the parse go out while placement runs.
        let (released, stdout) = rayon::join(
            || holding.release(),
            || summary::outputs_into(&snapshot, settings, &runs, &statements, holding),
        );
        released.map_err(AnalyzeError::from)?;
        Ok(stdout?)
    })
}

/// Runs the checks on each account handed over by the parser, on the rayon workers, while the
/// parser reads on. The calling thread receives (sleeping while the parser works, so a core is
/// left to it) and hands each account to a worker; when `2 x workers` accounts are already
/// waiting, it checks the account itself, which also stops it receiving, so the parser waits
/// instead of piling up inventories in memory.
fn check_as_read(
    events: impl Iterator<Item = headroom_schemas::Streamed> + Send,
    checker: &checks::Checker<'_>,
    sink: &dyn Sink,
) -> Result<Vec<checks::AccountVerdicts>, AnalyzeError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let limit = 2 * rayon::current_num_threads();
    let waiting = AtomicUsize::new(0);
    let verdicts = Mutex::new(Vec::new());
    let failure: Mutex<Option<AnalyzeError>> = Mutex::new(None);
    let check = |id: &headroom_schemas::AccountId,
                 inventory: &headroom_schemas::AccountInventory| {
        let failed = failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some();
        if failed {
            return; // keep draining so the parser can finish; its error comes first
        }
        match checker.account(id, Some(inventory), sink) {
            Ok(Some(account)) => verdicts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(account),
            Ok(None) => {}
            Err(e) => {
                failure
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get_or_insert(e);
            }
        }
    };
    rayon::scope(|scope| {
        for event in events {
            let headroom_schemas::Streamed::Account(id, inventory) = event else {
                continue;
            };
            if waiting.load(Ordering::Acquire) >= limit {
                check(&id, &inventory);
            } else {
                waiting.fetch_add(1, Ordering::AcqRel);
                let (check, waiting) = (&check, &waiting);
                scope.spawn(move |_| {
                    check(&id, &inventory);
                    waiting.fetch_sub(1, Ordering::AcqRel);
                });
            }
        }
    });
    if let Some(e) = failure
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(e);
    }
    Ok(verdicts
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}
