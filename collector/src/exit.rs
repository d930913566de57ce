//! Exit codes of `collect`, and the error type that selects the usage/input code.

/// Everything was collected and the snapshot was written.
pub const SUCCESS: u8 = 0;
/// A runtime error: AWS could not be reached, the organization could not be read, the file
/// could not be written, or the collection is incomplete and `--allow-partial` was not given
/// (the snapshot is written all the same).
pub const RUNTIME_ERROR: u8 = 1;
/// A usage or input error: bad flags, a bad configuration file, a missing setting.
pub const USAGE_ERROR: u8 = 2;

/// The exit codes as `--help` lists them.
pub const HELP: &str = "Exit codes:\n  0  success: every account, region and service was collected\n  1  runtime error, or an incomplete collection without --allow-partial (the snapshot is still written)\n  2  usage or input error (bad flags or configuration)";

/// An error in what the user gave `collect` (flags, configuration): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// The exit code for an error returned by [`crate::cli::run`].
pub fn code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| {
        e.downcast_ref::<InputError>().is_some()
            || e.downcast_ref::<headroom_schemas::config::ConfigError>()
                .is_some()
    }) {
        USAGE_ERROR
    } else {
        RUNTIME_ERROR
    }
}
