//! `collect`: walks an AWS Organization with read-only roles and writes one snapshot.
//!
//! Not implemented yet: the command exits 1 with a message saying so.

use std::path::PathBuf;

use clap::Parser;

/// Command-line arguments of `collect`.
#[derive(Debug, Parser)]
#[command(name = "collect", version, about = "Snapshot an AWS Organization for Headroom")]
pub struct Args {
    /// The YAML configuration shared with `analyze`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to write the snapshot.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `collect`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`collect` is not implemented yet; analyze a snapshot with `analyze SNAPSHOT`")
}
