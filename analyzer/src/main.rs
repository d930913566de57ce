//! The `analyze` binary: parse flags, run, print one error line, exit with a documented code.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use headroom_analyzer::cli::{Args, error_line, run, usage_error_line};
use headroom_analyzer::exit;

/// mimalloc: at 10,000 accounts the analysis makes and frees tens of millions of small
/// objects, many freed on another thread than the one that made them (the parser allocates
/// inventories, the workers drop them); glibc's allocator spent a third of the run there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            // `--help` and `--version`: clap prints them on stdout.
            return match e.print() {
                Ok(()) => ExitCode::from(exit::SUCCESS),
                Err(_) => ExitCode::from(exit::RUNTIME_ERROR),
            };
        }
        Err(e) => {
            print_error(&usage_error_line(&e));
            return ExitCode::from(exit::INPUT_ERROR);
        }
    };
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            print_error(&error_line(failure.error()));
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The binary's one error line: already escaped, so it is one line whatever it quotes.
fn print_error(line: &str) {
    #[expect(clippy::print_stderr, reason = "the binary's one error line")]
    {
        eprintln!("error: {line}");
    }
}
