//! The `collect` binary: parse flags, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = headroom_collector::Args::parse();
    match headroom_collector::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            #[expect(clippy::print_stderr, reason = "the one error line of the binary")]
            {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(1)
        }
    }
}
