//! The `collect` binary: parse flags, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use headroom_collector::cli::LogFormat;
use headroom_collector::exit;
use headroom_schemas::text::{escape_invisible, usage_line};

fn main() -> ExitCode {
    let args = match headroom_collector::Args::try_parse() {
        Ok(args) => args,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return match e.print() {
                Ok(()) => ExitCode::from(exit::SUCCESS),
                Err(_) => ExitCode::from(exit::RUNTIME_ERROR),
            };
        }
        Err(e) => {
            print_error(&usage_line(&e.render().to_string()));
            return ExitCode::from(exit::USAGE_ERROR);
        }
    };
    match headroom_collector::run(&args) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(err) => {
            // Escaped: configuration text and AWS error messages can hold any character.
            let line = escape_invisible(&format!("{err:#}"));
            match args.log_format {
                LogFormat::Text => print_error(&line),
                LogFormat::Json => {
                    #[expect(clippy::print_stderr, reason = "the one error line of the binary")]
                    {
                        eprintln!("{}", headroom_collector::progress::json_error(&line));
                    }
                }
            }
            ExitCode::from(exit::code_for(&err))
        }
    }
}

/// The binary's one error line, already escaped.
fn print_error(line: &str) {
    #[expect(clippy::print_stderr, reason = "the one error line of the binary")]
    {
        eprintln!("error: {line}");
    }
}
