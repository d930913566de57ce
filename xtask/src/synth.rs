//! Placeholder replaced below.
use clap::Args as ClapArgs;
#[derive(Debug, ClapArgs)]
pub struct Args {}
pub fn run(_: &Args) -> anyhow::Result<()> { anyhow::bail!("todo") }
