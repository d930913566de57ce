//! The command line of `analyze`: flags, configuration, the demo default, exit codes.

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Parser;
use headroom_schemas::config::Config;

use crate::io::{OutputDirs, Refused, Transaction};
use crate::{AnalyzeBytesError, AnalyzeError, DEMO_CONFIG, DEMO_SNAPSHOT, Settings, exit};

/// `--version`: the build and the snapshot formats it reads.
pub fn version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (reads snapshot format {} to {})",
            env!("CARGO_PKG_VERSION"),
            headroom_schemas::OLDEST_READABLE,
            headroom_schemas::SNAPSHOT_FORMAT_VERSION,
        )
    })
}

/// Command-line arguments of `analyze`.
#[derive(Debug, Parser)]
#[command(
    name = "analyze",
    version = version(),
    about = "Analyze a Headroom snapshot: what each SCP/RCP guardrail would break today, where it can be attached safely, and the Terraform to attach it",
    after_help = exit::HELP
)]
pub struct Args {
    /// The snapshot to analyze (zstd-compressed or plain JSON, detected by content). Without
    /// it, the bundled demo organization is analyzed with the bundled demo configuration.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: Option<PathBuf>,
    /// The YAML configuration shared with `collect`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The output directory: results/, scps/, rcps/ and summary.json go here.
    #[arg(long, value_name = "DIR", default_value = "headroom-out")]
    pub out: PathBuf,
    /// Write JSON reports here instead of <out>/results (overrides `results_dir`).
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Write SCP Terraform here instead of <out>/scps (overrides `scps_dir`).
    #[arg(long, value_name = "DIR")]
    pub scps_dir: Option<PathBuf>,
    /// Write RCP Terraform here instead of <out>/rcps (overrides `rcps_dir`).
    #[arg(long, value_name = "DIR")]
    pub rcps_dir: Option<PathBuf>,
    /// Redact account IDs from reports and report file names (overrides
    /// `exclude_account_ids`).
    #[arg(long)]
    pub exclude_account_ids: bool,
    /// Worker threads, 1 to 1024 (default: one per core); the snapshot is parsed on one more,
    /// while the workers check the accounts already read. Output is identical for any value.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<NonZeroUsize>,
}

/// The most worker threads `--threads` accepts: far more than any machine's cores, few
/// enough that a typo cannot spawn a hundred thousand threads.
pub const MAX_THREADS: usize = 1024;

fn parse_threads(text: &str) -> Result<NonZeroUsize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_THREADS).contains(n))
        .and_then(NonZeroUsize::new)
        .ok_or_else(|| format!("must be a number from 1 to {MAX_THREADS}"))
}

/// A command-line error from clap as one line (`error: ` and the message, clap's tips after
/// it, `(try '--help')`), escaped like every error: clap's own rendering spans up to seven
/// lines and repeats the argument as typed.
pub fn usage_error_line(error: &clap::Error) -> String {
    headroom_schemas::text::usage_line(&error.render().to_string())
}

/// The error line the binary prints for `error`, escaped so that text from the snapshot, the
/// configuration or the command line can neither break the line nor drive the terminal.
pub fn error_line(error: &anyhow::Error) -> String {
    headroom_schemas::text::escape_invisible(&format!("{error:#}"))
}

/// A failure, classified for the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad flags, configuration or snapshot: exit code 2.
    Input(anyhow::Error),
    /// Anything else, such as an output that cannot be written: exit code 1.
    Runtime(anyhow::Error),
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) => exit::INPUT_ERROR,
            Failure::Runtime(_) => exit::RUNTIME_ERROR,
        }
    }

    /// The error, for the one-line message.
    pub fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Input(e) | Failure::Runtime(e) => e,
        }
    }
}

/// Runs `analyze` with parsed arguments.
pub fn run(args: &Args) -> Result<(), Failure> {
    let demo = args.snapshot.is_none();
    let config = match (&args.config, demo) {
        (Some(path), _) => Config::load(path).map_err(|e| Failure::Input(e.into()))?,
        (None, true) => Config::from_yaml(DEMO_CONFIG, Path::new("<bundled demo config>"))
            .map_err(|e| Failure::Input(e.into()))?,
        (None, false) => Config::default(),
    };
    let bytes = match &args.snapshot {
        Some(path) => std::borrow::Cow::Owned(
            crate::io::read_bytes(path, config.snapshot_limits.max_bytes)
                .map_err(|e| Failure::Input(e.into()))?,
        ),
        None => std::borrow::Cow::Borrowed(DEMO_SNAPSHOT),
    };
    let mut settings = Settings::from_config(&config);
    settings.exclude_account_ids |= args.exclude_account_ids;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map_or(0, NonZeroUsize::get))
        .build()
        .context("cannot start worker threads")
        .map_err(Failure::Runtime)?;
    let dirs = OutputDirs::new(
        &args.out,
        args.results_dir
            .as_deref()
            .or(config.results_dir.as_deref()),
        args.scps_dir.as_deref().or(config.scps_dir.as_deref()),
        args.rcps_dir.as_deref().or(config.rcps_dir.as_deref()),
    );
    // Everything goes into staging directories and is swapped into place only once the
    // whole output is made: a failure anywhere leaves the previous output as it was.
    let transaction = Transaction::begin(&dirs).map_err(output_failure)?;
    // The parse overlaps the checks: see `analyze_bytes_into`.
    let stdout = pool
        .install(|| crate::analyze_bytes_into(&bytes, &settings, &transaction))
        .map_err(|e| match e {
            AnalyzeBytesError::Analyze(AnalyzeError::Output(e)) => Failure::Runtime(e.0),
            AnalyzeBytesError::Read(e) if args.snapshot.is_none() => {
                Failure::Input(anyhow::Error::new(e).context("bundled demo snapshot"))
            }
            e => Failure::Input(e.into()),
        })?;
    transaction.commit().map_err(output_failure)?;
    print_stdout(&stdout).map_err(Failure::Runtime)?;
    Ok(())
}

/// An output error: a refusal ([`Refused`]: overlapping directories, a file in the way) is a
/// usage error, anything else a runtime error.
fn output_failure(e: anyhow::Error) -> Failure {
    if e.downcast_ref::<Refused>().is_some() {
        Failure::Input(e)
    } else {
        Failure::Runtime(e)
    }
}

/// Prints the stdout text. A closed pipe (`analyze | head`) is not an error.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}
