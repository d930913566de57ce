//! The `collect` binary: parse flags, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use headroom_collector::cli::LogFormat;
use headroom_collector::exit;

fn main() -> ExitCode {
    let args = headroom_collector::Args::parse();
    match headroom_collector::run(&args) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(err) => {
            let line = format!("{err:#}").replace('\n', " ");
            let line = match args.log_format {
                LogFormat::Text => format!("error: {line}"),
                LogFormat::Json => headroom_collector::progress::json_error(&line),
            };
            #[expect(clippy::print_stderr, reason = "the one error line of the binary")]
            {
                eprintln!("{line}");
            }
            ExitCode::from(exit::code_for(&err))
        }
    }
}
