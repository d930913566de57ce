//! `collect`: walks an AWS Organization with read-only roles and writes one snapshot.
//!
//! The binary is a thin `main.rs` over [`cli::run`]. The parts, in the order data flows:
//! [`credentials`] (the role chain and the [`credentials::ClientFactory`] seam tests replace),
//! [`budget`] (one request budget shared by every client), [`availability`] (where AWS
//! offers each service), [`org`] (the organization and its SCPs/RCPs), [`services`] (one
//! module per AWS service, SDK types converted to `headroom-schemas` types), [`engine`]
//! (fan-out over accounts x regions x services), [`error`] (readable AWS errors),
//! [`progress`] and [`actions`] (every IAM action `collect` calls, the source of the
//! least-privilege policies in `test_environment/`).

#![allow(
    clippy::redundant_closure_for_method_calls,
    reason = "SDK accessors read better as closures than as fully qualified output-type paths"
)]

pub mod actions;
pub mod activity;
pub mod availability;
pub mod budget;
pub mod cli;
pub mod credentials;
pub mod engine;
pub mod error;
pub mod exit;
pub mod org;
pub mod progress;
pub mod services;

pub use cli::{Args, run};
