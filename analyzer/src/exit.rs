//! The exit codes of `analyze`, documented in `--help` and the README.

/// The analysis ran and wrote its outputs.
pub const SUCCESS: u8 = 0;
/// A runtime failure: an output could not be written.
pub const RUNTIME_ERROR: u8 = 1;
/// A usage or input error: bad flags, bad configuration, unreadable or unsupported snapshot.
pub const INPUT_ERROR: u8 = 2;

/// `--fail-on`: the outputs were written and the analysis found what the user asked to fail
/// on (blocked guardrails, collection gaps, or either).
pub const FOUND: u8 = 3;
/// `analyze diff`: the two runs differ.
pub const CHANGED: u8 = 4;

/// The text appended to `--help`.
pub const HELP: &str = "Exit codes: 0 success; 1 runtime error (an output could not be written); \
2 usage or input error (bad flags, bad config, unreadable or unsupported snapshot or summary); \
3 `--fail-on` matched (the outputs were written); 4 `analyze diff` found a change (0 when none).";
