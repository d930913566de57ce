//! The command line of `analyze`: flags, configuration, the demo default, exit codes.

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Parser;
use headroom_schemas::config::Config;

use crate::io::{OutputDirs, Refused, Transaction};
use crate::output::Area;
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
    /// `diff`: compare two runs instead of analyzing one.
    #[command(subcommand)]
    pub command: Option<Command>,
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
    /// What to print on stdout: `text`, a summary for a person, or `json`, the content of
    /// summary.json. The files written are the same either way.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    pub format: Format,
    /// Print nothing on stdout (errors still go to stderr; the exit code still tells).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the snapshot's OU tree with account counts and collection status, and stop:
    /// nothing is analyzed or written.
    #[arg(long)]
    pub tree: bool,
    /// Exit with code 3 once the outputs are written if the analysis finds this: `blocked`
    /// (an account blocks a guardrail for a reason other than a collection gap), `gaps` (a
    /// service a check reads was not collected), or `any` (either).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,
}

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Compare two runs: blockers new and resolved, guardrails moving up or down the tree,
    /// allowlist entries and accounts added or removed. Exits 4 when they differ.
    Diff(DiffArgs),
}

/// Arguments of `analyze diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier run: a snapshot, a summary.json, or an output directory holding one.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The later run, in any of the same forms.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// The configuration to analyze snapshots with (ignored for summary.json).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `text`, `markdown` or `json`.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Print nothing; only the exit code tells (0 same, 4 changed).
    #[arg(long, short)]
    pub quiet: bool,
}

/// What `analyze` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The placement summary for a person.
    Text,
    /// The content of summary.json.
    Json,
}

/// What `analyze diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// For a terminal.
    Text,
    /// For a pull request or a ticket.
    Markdown,
    /// For a program.
    Json,
}

/// What `--fail-on` fails on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// An account blocks a guardrail (other than by a collection gap).
    Blocked,
    /// A collection gap in a service a check reads.
    Gaps,
    /// Either.
    Any,
}

impl FailOn {
    /// Whether the analysis found what the user asked to fail on.
    pub fn matches(self, totals: &crate::view::Totals) -> bool {
        let blocked = totals.blocked > 0;
        let gaps = totals.gaps > 0;
        match self {
            FailOn::Blocked => blocked,
            FailOn::Gaps => gaps,
            FailOn::Any => blocked || gaps,
        }
    }
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

/// How a run that did not fail ended: the exit code to return.
pub type Outcome = u8;

/// Runs `analyze` with parsed arguments; returns the exit code of a run that did not fail
/// ([`exit::SUCCESS`], or [`exit::FOUND`] for `--fail-on`, [`exit::CHANGED`] for `diff`).
pub fn run(args: &Args) -> Result<Outcome, Failure> {
    if let Some(Command::Diff(diff)) = &args.command {
        if let Some(snapshot) = &args.snapshot {
            return Err(Failure::Input(anyhow::anyhow!(
                "`diff` compares two runs and analyzes nothing: write `analyze diff OLD NEW`, not `analyze {} diff ...`",
                snapshot.display()
            )));
        }
        return run_diff(diff);
    }
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
    if args.tree {
        let snapshot = headroom_schemas::read_with(&bytes, &settings.read_limits)
            .map_err(|e| Failure::Input(e.into()))?;
        if !args.quiet {
            print_stdout(&crate::overview::render(&snapshot, &settings))
                .map_err(Failure::Runtime)?;
        }
        return Ok(exit::SUCCESS);
    }

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
    let printed = pool
        .install(|| crate::analyze_bytes_into(&bytes, &settings, &transaction))
        .map_err(|e| match e {
            AnalyzeBytesError::Analyze(AnalyzeError::Output(e)) => Failure::Runtime(e.0),
            AnalyzeBytesError::Read(e) if args.snapshot.is_none() => {
                Failure::Input(anyhow::Error::new(e).context("bundled demo snapshot"))
            }
            e => Failure::Input(e.into()),
        })?;
    transaction.commit().map_err(output_failure)?;
    if !args.quiet {
        match args.format {
            Format::Text => {
                let mut text = printed.text;
                text.push_str(&next_steps(&dirs, printed.totals.checks > 0));
                print_stdout(&text).map_err(Failure::Runtime)?;
            }
            Format::Json => {
                let path = dirs.dir(Area::Out).join(crate::summary::SUMMARY_FILE);
                let mut stdout = std::io::stdout().lock();
                match crate::io::copy_file(&path, &mut stdout).and_then(|_| stdout.flush()) {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    other => {
                        other
                            .with_context(|| format!("cannot print `{}`", path.display()))
                            .map_err(Failure::Runtime)?;
                    }
                }
            }
        }
    }
    Ok(match args.fail_on {
        Some(fail_on) if fail_on.matches(&printed.totals) => exit::FOUND,
        _ => exit::SUCCESS,
    })
}

/// The end of the text on stdout: where every output went and what to do next.
fn next_steps(dirs: &OutputDirs, any_check: bool) -> String {
    let show = |path: &Path| headroom_schemas::text::escape_invisible(&path.display().to_string());
    let out = dirs.dir(Area::Out);
    let mut text = format!(
        "\nWrote:\n  {}  open in a browser: the OU tree, every blocker by resource, filters and search\n  {}  paste into a pull request or a ticket\n  {}  the machine-readable placement (its schema: documentation/summary.schema.json)\n  {}/, {}/  the Terraform, one file per target\n  {}/  per check and account, every resource and its verdict\n",
        show(&out.join(crate::html::REPORT_HTML_FILE)),
        show(&out.join(crate::markdown::SUMMARY_MD_FILE)),
        show(&out.join(crate::summary::SUMMARY_FILE)),
        show(dirs.dir(Area::Scps)),
        show(dirs.dir(Area::Rcps)),
        show(dirs.dir(Area::Results)),
    );
    if any_check {
        text.push_str(
            "Next: review report.html, fix or exempt the blockers you can, then apply the Terraform (documentation/APPLY.md); collect and analyze again, and `analyze diff OLD NEW` shows what moved.\n",
        );
    } else {
        text.push_str("Next: no check is enabled; see `checks` in the configuration.\n");
    }
    text
}

/// `analyze diff OLD NEW`.
fn run_diff(args: &DiffArgs) -> Result<Outcome, Failure> {
    let config = match &args.config {
        Some(path) => Config::load(path).map_err(|e| Failure::Input(e.into()))?,
        None => Config::default(),
    };
    let old = load_summary(&args.old, &config).map_err(Failure::Input)?;
    let new = load_summary(&args.new, &config).map_err(Failure::Input)?;
    let diff = crate::diff::compare(&old, &new);
    if !args.quiet {
        let text = match args.format {
            DiffFormat::Text => crate::diff::text(&diff),
            DiffFormat::Markdown => crate::diff::markdown(&diff)
                .context("cannot render the diff")
                .map_err(Failure::Runtime)?,
            DiffFormat::Json => crate::diff::json(&diff),
        };
        print_stdout(&text).map_err(Failure::Runtime)?;
    }
    Ok(if diff.changed() {
        exit::CHANGED
    } else {
        exit::SUCCESS
    })
}

/// One side of a diff: an output directory's `summary.json`, a `summary.json`, or a snapshot
/// analyzed in memory (nothing written).
fn load_summary(path: &Path, config: &Config) -> anyhow::Result<crate::diff::SummaryDoc> {
    let file = if crate::io::is_dir(path) {
        path.join(crate::summary::SUMMARY_FILE)
    } else {
        path.to_owned()
    };
    let bytes = crate::io::read_bytes(&file, config.snapshot_limits.max_bytes)?;
    let is_zstd = bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let format = if is_zstd {
        None
    } else {
        #[derive(serde::Deserialize)]
        struct Probe {
            format: Option<String>,
        }
        let probe: Probe = serde_json::from_slice(&bytes)
            .with_context(|| format!("`{}` is not JSON", file.display()))?;
        probe.format
    };
    let summary_bytes = match format.as_deref() {
        Some(crate::summary::SUMMARY_FORMAT) => bytes,
        None | Some(headroom_schemas::SNAPSHOT_FORMAT) => {
            let settings = Settings::from_config(config);
            crate::summary_json_of(&bytes, &settings)
                .with_context(|| format!("cannot analyze `{}`", file.display()))?
        }
        Some(other) => anyhow::bail!(
            "`{}` is neither a Headroom snapshot nor a summary.json (its format is `{other}`)",
            file.display()
        ),
    };
    let doc: crate::diff::SummaryDoc = serde_json::from_slice(&summary_bytes)
        .with_context(|| format!("`{}` is not a valid summary.json", file.display()))?;
    anyhow::ensure!(
        doc.format_version.major == 1,
        "`{}` is summary format {}.{}; this analyze reads 1.x",
        file.display(),
        doc.format_version.major,
        doc.format_version.minor
    );
    Ok(doc)
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
