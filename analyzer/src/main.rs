//! The `analyze` binary: parse flags, run, print one error line, exit with a documented code.

use std::process::ExitCode;

use clap::Parser;
use headroom_analyzer::cli::{Args, run};

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
