//! Developer commands: `cargo xtask synth` writes a synthetic snapshot, `cargo xtask bench`
//! measures `analyze`, `cargo xtask bench-activity` measures `collect`'s CloudTrail log-file
//! reader, `cargo xtask bench-replay` what the activity replay adds to `analyze`, `cargo xtask
//! converge` checks that the rollout loop settles, `cargo xtask fmt-snapshot` rewrites a
//! snapshot in canonical form, `cargo xtask completions` and `cargo xtask man` generate shell
//! completions and man pages of both binaries.

mod bench;
mod bench_activity;
mod bench_replay;
mod bench_reports;
mod cli_docs;
mod converge;
mod synth;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use headroom_schemas::Compression;

/// The allocator `analyze` uses, so that the benchmark's load floor allocates like it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Headroom developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a deterministic synthetic snapshot of a large organization.
    Synth(synth::Args),
    /// Benchmark `analyze` against its load floor at several sizes and print a table.
    Bench(bench::Args),
    /// Benchmark `collect`'s CloudTrail log-file reader against its floor (gunzip and JSON
    /// parse of the same files) on generated logs and print a table.
    BenchActivity(bench_activity::Args),
    /// Measure what the activity replay adds to `analyze` per million events.
    BenchReplay(bench_replay::Args),
    /// Analyze a synthetic organization, apply the plan (modelled), analyze again: the
    /// Terraform and the summary must not change.
    Converge(converge::Args),
    /// Read, decompress and deserialize a snapshot, nothing else (the benchmark's floor).
    LoadFloor {
        /// The snapshot.
        file: PathBuf,
        /// Load with the streaming reader `analyze` uses (decompression overlapped with the
        /// parse) instead of `headroom_schemas::read`.
        #[arg(long)]
        streaming: bool,
    },
    /// Write shell completions of `collect` and `analyze` (bash, zsh, fish, elvish,
    /// PowerShell) under <out>/completions/<shell>/.
    Completions(cli_docs::Args),
    /// Write the man pages `collect.1` and `analyze.1` under <out>/man/.
    Man(cli_docs::Args),
    /// Rewrite a snapshot in canonical form (sorted maps, two-space JSON, trailing newline).
    FmtSnapshot {
        /// The snapshot to rewrite in place (plain JSON stays plain, zstd stays zstd).
        file: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            #[expect(clippy::print_stderr, reason = "the one error line")]
            {
                eprintln!("error: {err:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// Names the files written, one per line on stderr.
#[cfg(feature = "cli-docs")]
fn report(files: &[PathBuf]) {
    for file in files {
        #[expect(clippy::print_stderr, reason = "what was written")]
        {
            eprintln!("wrote {}", file.display());
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth(args) => synth::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::BenchActivity(args) => bench_activity::run(&args),
        Command::BenchReplay(args) => bench_replay::run(&args),
        Command::Converge(args) => converge::run(&args),
        Command::LoadFloor { file, streaming } => bench::load_floor(&file, streaming),
        #[cfg(not(feature = "cli-docs"))]
        Command::Completions(_) | Command::Man(_) => cli_docs::rerun_with_feature(),
        #[cfg(feature = "cli-docs")]
        Command::Completions(args) => {
            report(&cli_docs::completions(&args)?);
            Ok(())
        }
        #[cfg(feature = "cli-docs")]
        Command::Man(args) => {
            report(&cli_docs::man(&args)?);
            Ok(())
        }
        Command::FmtSnapshot { file } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let compressed = headroom_schemas::is_zstd(&bytes);
            let snapshot = headroom_schemas::read(&bytes)?;
            let compression = if compressed {
                Compression::Zstd(19)
            } else {
                Compression::None
            };
            headroom_schemas::write_file(&file, &snapshot, compression)?;
            Ok(())
        }
    }
}
