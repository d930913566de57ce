//! Every bad input gets one clear line on stderr and exit code 2; nothing panics.

#![expect(clippy::unwrap_used, reason = "test helpers")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

/// Runs `analyze` with `args` in a scratch directory; returns (exit code, stderr, stdout).
fn analyze(args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn bad_snapshot(name: &str) -> String {
    let path = fixture(&format!("bad_input/{name}"));
    let (code, stderr, stdout) = analyze(&[path.to_str().unwrap()]);
    assert_eq!(code, 2, "{name}: {stderr}");
    assert!(stdout.is_empty(), "{name}: nothing on stdout");
    assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
    stderr.trim_end().to_owned()
}

fn bad_config(name: &str) -> String {
    let config = fixture(&format!("bad_input/{name}"));
    let demo = fixture("snapshots/demo.json");
    let (code, stderr, _) =
        analyze(&["--config", config.to_str().unwrap(), demo.to_str().unwrap()]);
    assert_eq!(code, 2, "{name}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
    // The path is machine-specific: keep the message from the file name on.
    let line = stderr.trim_end();
    line.replace(fixture("bad_input/").to_str().unwrap(), "")
}

#[test]
fn missing_file() {
    let (code, stderr, _) = analyze(&["does-not-exist.json"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: cannot read snapshot `does-not-exist.json`: No such file or directory (os error 2)\n"
    );
}

#[test]
fn truncated_zstd() {
    assert_eq!(
        bad_snapshot("truncated.snapshot.json.zst"),
        "error: snapshot is not valid zstd (truncated or corrupt): incomplete frame"
    );
}

#[test]
fn corrupt_zstd() {
    assert!(
        bad_snapshot("corrupt.snapshot.json.zst")
            .starts_with("error: snapshot is not valid zstd (truncated or corrupt): ")
    );
}

#[test]
fn invalid_json_with_line_and_column() {
    assert_eq!(
        bad_snapshot("invalid_json.json"),
        "error: snapshot is not valid JSON: key must be a string at line 4 column 12"
    );
}

#[test]
fn wrong_format() {
    assert_eq!(
        bad_snapshot("wrong_format.json"),
        "error: not a headroom snapshot: `format` is \"terraform-state\", expected \"headroom-snapshot\""
    );
}

#[test]
fn newer_major_version() {
    assert_eq!(
        bad_snapshot("newer_major.json"),
        "error: snapshot format version 2.0 is not supported: this build reads 1.0 to 1.1; upgrade headroom"
    );
}

#[test]
fn newer_minor_version() {
    assert_eq!(
        bad_snapshot("newer_minor.json"),
        "error: snapshot format version 1.9 is newer than this build supports (1.1); upgrade headroom"
    );
}

#[test]
fn unknown_field() {
    assert_eq!(
        bad_snapshot("unknown_field.json"),
        "error: snapshot does not match format 1.0: unknown field `surprise`, expected one of `format`, `format_version`, `meta`, `organization`, `policies`, `accounts` at `surprise` (line 1 column 86)"
    );
}

#[test]
fn missing_field() {
    assert_eq!(
        bad_snapshot("missing_field.json"),
        "error: snapshot does not match format 1.0: missing field `meta` at the top level (line 1 column 75)"
    );
}

#[test]
fn unknown_config_key() {
    let line = bad_config("unknown_config_key.yaml");
    assert!(
        line.starts_with(
            "error: invalid config `unknown_config_key.yaml`: unknown field `management_acount_id`, expected one of `management_account_id`"
        ),
        "{line}"
    );
    assert!(line.ends_with("at line 2 column 1"), "{line}");
}

#[test]
fn account_id_that_lost_its_leading_zero() {
    assert_eq!(
        bad_config("lost_zeros.yaml"),
        "error: invalid config `lost_zeros.yaml`: skip_account_ids[0]: account ID `12345678901` is a YAML number with 11 digits, not 12; quote account IDs (for example '012345678901') so leading zeros survive at line 3 column 5"
    );
}

#[test]
fn invalid_yaml() {
    assert_eq!(
        bad_config("invalid_yaml.yaml"),
        "error: invalid config `invalid_yaml.yaml`: did not find expected ',' or ']' at line 2 column 1, while parsing a flow sequence at line 1 column 10"
    );
}

#[test]
fn config_that_contradicts_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    std::fs::write(&config, "skip_account_ids: ['123412341234']\n").unwrap();
    let demo = fixture("snapshots/demo.json");
    let (code, stderr, _) =
        analyze(&["--config", config.to_str().unwrap(), demo.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: skip_account_ids names 1 account(s) not in the organization: 123412341234\n"
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let (code, stderr, _) = analyze(&["--bogus"]);
    assert_eq!(code, 2);
    assert!(stderr.starts_with("error: unexpected argument '--bogus' found"));
}

#[test]
fn help_and_version_succeed() {
    let (code, _, stdout) = analyze(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Exit codes: 0 success; 1 runtime error"));
    let (code, _, stdout) = analyze(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        format!(
            "analyze {} (reads snapshot format 1.0 to 1.1)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn the_demo_runs_with_no_arguments() {
    let (code, stderr, stdout) = analyze(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("o-aaaa11111111"), "{stdout}");
}

#[test]
fn compressed_and_plain_snapshots_give_the_same_output() {
    let dir = tempfile::tempdir().unwrap();
    let demo = fixture("snapshots/demo.json");
    let snapshot = headroom_schemas::read_file(&demo).unwrap();
    let zst = dir.path().join("demo.snapshot"); // no extension: detection is by content
    headroom_schemas::write_file(&zst, &snapshot, headroom_schemas::Compression::Zstd(3)).unwrap();
    let plain = analyze(&[demo.to_str().unwrap()]);
    let compressed = analyze(&[zst.to_str().unwrap()]);
    assert_eq!(plain.0, 0);
    assert_eq!(plain, compressed);
}
