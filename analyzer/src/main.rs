//! The `analyze` binary: parse flags, run, print one error line, exit with a documented code.

use std::process::ExitCode;

use clap::Parser;
use headroom_analyzer::cli::{Args, run};

/// mimalloc: at 10,000 accounts the analysis makes and frees tens of millions of small
/// objects, many freed on another thread than the one that made them (the parser allocates
/// inventories, the workers drop them); glibc's allocator spent a third of the run there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::from(headroom_analyzer::exit::SUCCESS),
        Err(failure) => {
            #[expect(clippy::print_stderr, reason = "the binary's one error line")]
            {
                eprintln!("error: {:#}", failure.error());
            }
            ExitCode::from(failure.exit_code())
        }
    }
}
