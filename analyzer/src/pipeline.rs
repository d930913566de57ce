//! What `analyze` runs on a snapshot's bytes: the parse, the checks and the outputs overlapped
//! on every core, with memory bounded by what is in flight rather than by the snapshot.
//!
//! The threads:
//! - the **parser** (a thread of its own) reads the snapshot with
//!   [`headroom_schemas::read_streaming_with`], which decompresses a zstd snapshot on one more
//!   thread just ahead of it; it hands over the head (organization, policies, metadata) and
//!   then one account's inventory at a time, through a bounded channel;
//! - the **calling thread** receives them and gives each account to a rayon worker, which runs
//!   every enabled check on it, keeps the small verdicts, puts the reports into a holding sink
//!   and drops the inventory; when `2 x workers` accounts already wait, it checks one itself,
//!   which stops it receiving, so the parser waits instead of piling up inventories;
//! - once the parser has accepted the whole document, the held reports are released to the
//!   real sink while placement, Terraform and `summary.json` are made (`rayon::join`).
//!
//! Memory: the decompressed text is dropped as it is parsed, so the whole document is never
//! held; at most the channel's 64 accounts plus the `2 x workers` being checked are in memory
//! at once, besides the verdicts and the reports (which wait until the document is known to
//! be valid, so that nothing of a bad input is ever written).
//!
//! Guard: `analyzer/tests/summary.rs` and `analyzer/tests/determinism.rs` compare this path
//! with [`crate::analyze_into`] on [`headroom_schemas::read`], and the benchmark
//! (`cargo xtask bench`) measures it against the load floor.
//!
//! **Why not read the whole snapshot, then analyze it** (the complexity budget: the streaming
//! reader in `schemas/src/stream.rs` and its decompression thread in `stream/pipelined.rs` are
//! hand-written): measured with `cargo xtask bench --compare` at 10,000 accounts (median of 5
//! round-robin rounds, every core, one run), `headroom_schemas::read` followed by
//! [`crate::analyze_into`] made the whole `analyze` 44.4% slower (3.58 s to 5.17 s) and its
//! peak memory 2.4 times larger (678 to 1,599 MiB); streaming without the decompression thread
//! (decompress whole, then parse account by account) 40.5% slower (5.03 s, 1,245 MiB).

use headroom_schemas::ReadError;
use headroom_schemas::activity::Activity;
use headroom_schemas::version::FormatVersion;

use crate::activity::facts::Facts;
use crate::activity::placed::Replay;
use crate::{AnalyzeError, Settings, Sink, checks, output, summary};

/// The first snapshot format that can hold an `activity` section.
const ACTIVITY_SINCE: FormatVersion = FormatVersion { major: 1, minor: 2 };

/// What [`check_as_read`] gathered.
struct Read {
    verdicts: Vec<checks::AccountVerdicts>,
    /// The `activity` section, if the snapshot has one.
    activity: Option<Box<Activity>>,
    /// The inventories' facts for the replay (empty unless asked for).
    facts: Facts,
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
) -> Result<crate::Printed, AnalyzeBytesError> {
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
            // Only a snapshot of format 1.2 or later can hold activity, which comes after the
            // inventories: keep the few facts the replay reads while they pass.
            let facts =
                (head.format_version >= ACTIVITY_SINCE).then_some(head.meta.partition.as_str());
            let read = check_as_read(events, &checker, facts, holding)?;
            Ok((
                checker.runs(read.verdicts, holding)?,
                read.activity,
                read.facts,
            ))
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
        let (runs, activity, facts) = evaluated?;
        // Placement and the rest read only the organization, the policies and the metadata.
        let head = std::sync::Arc::try_unwrap(head).unwrap_or_else(|shared| (*shared).clone());
        let snapshot = head.into_snapshot_without_inventories();
        let statements = checks::statement_source(&snapshot, settings)?;
        let replay = activity.as_deref().map(|activity| Replay {
            activity,
            facts: &facts,
            partition: &snapshot.meta.partition,
        });
        // The reports held during the parse go out while placement runs.
        let (released, stdout) = rayon::join(
            || holding.release(),
            || summary::outputs_into(&snapshot, settings, &runs, &statements, replay, holding),
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
///
/// With `facts` (the partition), it also keeps the facts of each inventory the activity
/// replay reads ([`Facts`]); it keeps the `activity` section whenever it comes.
fn check_as_read(
    events: impl Iterator<Item = headroom_schemas::Streamed> + Send,
    checker: &checks::Checker<'_>,
    facts: Option<&str>,
    sink: &dyn Sink,
) -> Result<Read, AnalyzeError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let limit = 2 * rayon::current_num_threads();
    let waiting = AtomicUsize::new(0);
    let verdicts = Mutex::new(Vec::new());
    let gathered = Mutex::new(Facts::default());
    let mut activity = None;
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
        if let Some(partition) = facts {
            let mut one = Facts::default();
            one.add_account(partition, id, inventory);
            gathered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .merge(one);
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
            let (id, inventory) = match event {
                headroom_schemas::Streamed::Account(id, inventory) => (id, inventory),
                headroom_schemas::Streamed::Activity(section) => {
                    activity = Some(section);
                    continue;
                }
                headroom_schemas::Streamed::Head(_) => continue,
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
    Ok(Read {
        verdicts: verdicts
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        activity,
        facts: gathered
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    })
}
