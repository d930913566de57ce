//! `analyze`: reads a snapshot, runs the checks, decides placement, and returns every report,
//! summary and Terraform file as data.
//!
//! The API, from the outside in:
//! - [`analyze`] takes a parsed snapshot and [`Settings`] and returns [`Outputs`] (area and
//!   relative path -> bytes, plus the text for stdout);
//! - [`analyze_into`] is the same analysis handing each file to a [`Sink`] as soon as it is
//!   made;
//! - [`analyze_bytes_into`] is what the binary runs: it reads the snapshot's bytes and checks
//!   accounts while the parser is still reading ([`pipeline`] explains the threads and the
//!   memory bound), with exactly the outputs and errors of [`analyze_into`] on
//!   [`headroom_schemas::read`].
//!
//! The analysis is pure: it reads no file, clock or environment variable and uses no network
//! (only `io.rs` touches the disk), and the same snapshot and settings give byte-identical
//! outputs at any thread count.
//!
//! The modules, by concern: [`checks`] (the sixteen checks, their registry, configuration,
//! runner and generated documentation), [`policy_document`] (the IAM policy model of the RCP
//! checks), [`model`] (what a check tells placement), [`placement`] (where each guardrail
//! goes), [`managed`] (Headroom's own policies in a snapshot), [`policies`] (policy documents,
//! sizes and packing), [`render`] (Terraform through the templates), [`report`] (per-account
//! reports), [`summary`] (`summary.json` and stdout), [`output`] (the sink), [`cli`] and
//! [`exit`] (the binary), [`rollout`] (a model of `terraform apply`, for tests),
//! [`overview`] (a plain-text OU tree), and the reports a person reads: [`view`] (their one
//! model), [`findings`] (violating resources read from the reports), [`text`] (stdout),
//! [`markdown`] (`summary.md`), [`html`] (`report.html`), [`diff`] (`analyze diff`).
#![warn(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "the analysis is pure and deterministic: IO lives in io.rs, maps are ordered"
)]

pub mod activity;
pub mod checks;
pub mod cli;
pub mod diff;
mod escape;
pub mod exit;
pub mod findings;
pub mod html;
mod io;
pub mod managed;
pub mod markdown;
pub mod model;
pub mod output;
pub mod overview;
pub mod pipeline;
pub mod placement;
pub mod policies;
pub mod policy_document;
pub mod pretty;
pub mod render;
pub mod report;
pub mod rollout;
pub mod settings;
pub mod summary;
pub mod text;
pub mod view;

use headroom_schemas::Snapshot;

pub use crate::output::{Area, Collect, OutputFile, Outputs, Printed, Sink, SinkError};
pub use crate::pipeline::{AnalyzeBytesError, analyze_bytes_into};
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
    /// A report template (`summary.md`, `report.html`) failed to render.
    #[error("cannot render `{file}`")]
    Report {
        /// The output file.
        file: &'static str,
        /// The cause.
        #[source]
        source: minijinja::Error,
    },
    /// The sink could not take an output (exit code 1: the input was fine).
    #[error(transparent)]
    Output(#[from] output::SinkError),
}

/// Analyzes a snapshot, gathering every output in memory. Pure: the result depends only on the
/// arguments.
pub fn analyze(snapshot: &Snapshot, settings: &Settings) -> Result<Outputs, AnalyzeError> {
    let sink = Collect::default();
    let printed = analyze_into(snapshot, settings, &sink)?;
    Ok(Outputs {
        files: sink.into_files(),
        stdout: printed.text,
        totals: printed.totals,
    })
}

/// Analyzes a snapshot, putting each file into `sink` as soon as it is made, and returns the
/// text for stdout and the headline numbers. The files and the text depend only on `snapshot` and `settings`.
///
/// Every input error (settings that contradict the snapshot, unknown check options) is found
/// before the first file is put.
pub fn analyze_into(
    snapshot: &Snapshot,
    settings: &Settings,
    sink: &dyn Sink,
) -> Result<Printed, AnalyzeError> {
    settings.validate_against(&snapshot.organization)?;
    let statements = checks::statement_source(snapshot, settings)?;
    let runs = checks::run_checks_into(snapshot, settings, sink)?;
    let facts = snapshot
        .activity
        .as_ref()
        .map(|_| activity::facts::Facts::from_snapshot(snapshot));
    let replay = snapshot
        .activity
        .as_ref()
        .zip(facts.as_ref())
        .map(|(activity, facts)| activity::placed::Replay {
            activity,
            facts,
            partition: &snapshot.meta.partition,
        });
    summary::outputs_into(snapshot, settings, &runs, &statements, replay, sink)
}

/// Analyzes a snapshot's bytes and returns its `summary.json` alone (`analyze diff`): every
/// other output is made and dropped, nothing is written.
pub fn summary_json_of(bytes: &[u8], settings: &Settings) -> Result<Vec<u8>, AnalyzeBytesError> {
    let sink = output::KeepOne::new(OutputFile::new(Area::Out, summary::SUMMARY_FILE));
    analyze_bytes_into(bytes, settings, &sink)?;
    sink.into_kept()
        .ok_or_else(|| AnalyzeError::Settings("the analysis made no summary.json".into()).into())
}

impl From<placement::PlacementError> for AnalyzeError {
    fn from(e: placement::PlacementError) -> Self {
        match e {
            placement::PlacementError::Policy(e) => Self::Policy(e),
            placement::PlacementError::Quota(e) => Self::Quota(e),
        }
    }
}
