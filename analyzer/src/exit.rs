//! The exit codes of `analyze`, documented in `--help` and the README.

/// The analysis ran and wrote its outputs.
pub const SUCCESS: u8 = 0;
/// A runtime failure: an output could not be written.
pub const RUNTIME_ERROR: u8 = 1;
/// A usage or input error: bad flags, bad configuration, unreadable or unsupported snapshot.
pub const INPUT_ERROR: u8 = 2;

/// The text appended to `--help`.
pub const HELP: &str = "Exit codes: 0 success; 1 runtime error (an output could not be written); \
2 usage or input error (bad flags, bad config, unreadable or unsupported snapshot).";
