//! `analyze`: reads a snapshot, runs the checks, decides placement, and returns every report,
//! summary and Terraform file as data.
//!
//! The core is pure: [`analyze`] takes a parsed snapshot and settings and returns [`Outputs`]
//! (path -> bytes, plus the text for stdout). It reads no file, clock or environment variable
//! and uses no network; only `io.rs` touches the disk. Same snapshot and settings give
//! byte-identical outputs at any thread count.
#![warn(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "the analysis is pure and deterministic: IO lives in io.rs, maps are ordered"
)]

pub mod checks;
pub mod cli;
pub mod exit;
mod io;
pub mod model;
pub mod output;
pub mod overview;
pub mod placement;
pub mod policies;
pub mod policy_document;
pub mod render;
pub mod report;
pub mod settings;
pub mod summary;

use headroom_schemas::Snapshot;

pub use crate::output::{Area, OutputFile, Outputs};
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
    /// A Terraform template failed to render.
    #[error(transparent)]
    Render(#[from] render::RenderError),
}

/// Analyzes a snapshot. Pure: the result depends only on the arguments.
pub fn analyze(snapshot: &Snapshot, settings: &Settings) -> Result<Outputs, AnalyzeError> {
    settings.validate_against(snapshot)?;
    let mut outputs = Outputs::default();
    let checks = checks::run_checks(snapshot, settings)?;
    outputs.files.extend(checks.files);
    let statements = checks::statement_source(snapshot, settings)?;
    let placed = summary::outputs(snapshot, settings, &checks.runs, &statements)?;
    outputs.files.extend(placed.files);
    outputs.stdout = placed.stdout;
    Ok(outputs)
}
