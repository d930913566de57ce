//! The `collect` binary: parse flags, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use headroom_collector::exit;

fn main() -> ExitCode {
    let args = headroom_collector::Args::parse();
    match headroom_collector::run(&args) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(err) => {
            let line = format!("{err:#}").replace('\n', " ");
            #[expect(clippy::print_stderr, reason = "the one error line of the binary")]
            {
                eprintln!("error: {line}");
            }
            ExitCode::from(exit::code_for(&err))
        }
    }
}
