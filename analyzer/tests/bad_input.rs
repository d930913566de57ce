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
        "error: snapshot format version 2.0 is not supported: this build reads 1.0 to 1.2; upgrade headroom"
    );
}

#[test]
fn newer_minor_version() {
    assert_eq!(
        bad_snapshot("newer_minor.json"),
        "error: snapshot format version 1.9 is newer than this build supports (1.2); upgrade headroom"
    );
}

#[test]
fn unknown_field() {
    assert_eq!(
        bad_snapshot("unknown_field.json"),
        "error: snapshot does not match format 1.0: unknown field `surprise`, expected one of `format`, `format_version`, `meta`, `organization`, `policies`, `accounts`, `activity` at `surprise` (line 1 column 86)"
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
        "error: invalid config `lost_zeros.yaml`: skip_account_ids[0]: account ID `12345678901` has 11 digits, not 12; quote account IDs (for example '012345678901') so leading zeros survive at line 3 column 5"
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
            "analyze {} (reads snapshot format 1.0 to 1.2)\n",
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

#[test]
fn missing_grandparent_is_an_error_not_a_panic() {
    assert_eq!(
        bad_snapshot("missing_grandparent.json"),
        "error: snapshot is inconsistent: OU `ou-aaaa-55555555` has parent `ou-zzzz-99999999`, which is neither the root nor an OU"
    );
}

#[test]
fn ou_with_the_roots_id() {
    assert_eq!(
        bad_snapshot("ou_with_root_id.json"),
        "error: snapshot is inconsistent: OU `r-aaaa` has the ID of the organization root"
    );
}

#[test]
fn ous_deeper_than_aws_allows() {
    assert_eq!(
        bad_snapshot("too_deep.json"),
        "error: snapshot is inconsistent: OU `ou-aaaa-99999993` is 6 levels below the root; AWS Organizations allows at most 5"
    );
}

#[test]
fn empty_account_state() {
    assert_eq!(
        bad_snapshot("empty_account_state.json"),
        "error: snapshot does not match format 1.0: an account state cannot be empty at `organization.accounts.888888888888.state` (line 208 column 19)"
    );
}

#[test]
fn repeated_keys_in_the_snapshot() {
    for (file, want) in [
        (
            "duplicate_org_account.json",
            "error: snapshot does not match format 1.0: key `101010101010` appears twice at `organization.accounts`",
        ),
        (
            "duplicate_ou.json",
            "error: snapshot does not match format 1.0: key `ou-aaaa-11111111` appears twice at `organization.organizational_units`",
        ),
        (
            "duplicate_scp.json",
            "error: snapshot does not match format 1.0: key `p-FullAWSAccess` appears twice at `policies.scps`",
        ),
        (
            "duplicate_region.json",
            "error: snapshot does not match format 1.0: key `eu-west-1` appears twice at `accounts.101010101010.regions`",
        ),
        (
            "duplicate_key_in_tagged_object.json",
            "error: snapshot does not match format 1.0: key `role_arn` appears twice at `accounts.101010101010`",
        ),
    ] {
        let line = bad_snapshot(file);
        assert!(line.starts_with(want), "{file}: {line}");
    }
}

#[test]
fn repeated_keys_in_the_config() {
    let line = bad_config("duplicate_config_key.yaml");
    assert!(
        line.starts_with(
            "error: invalid config `duplicate_config_key.yaml`: checks: key `deny_ec2_imds_v1` appears twice"
        ),
        "{line}"
    );
}

#[test]
fn account_id_written_in_hex() {
    let line = bad_config("hex_account_id.yaml");
    assert!(
        line.starts_with(
            "error: invalid config `hex_account_id.yaml`: management_account_id: `0x19DE1D4C47` is not a 12-digit AWS account ID"
        ),
        "{line}"
    );
}

#[test]
fn threads_are_bounded() {
    let (code, stderr, _) = analyze(&["--threads", "100000"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: invalid value '100000' for '--threads <N>': must be a number from 1 to 1024 (try '--help')\n"
    );
}

#[test]
fn text_from_the_snapshot_is_escaped_in_errors() {
    assert_eq!(
        bad_snapshot("hostile_error_text.json"),
        "error: snapshot is inconsistent: account `222222222222` has parent `ou-\\u{a}\\u{1b}[2J\\u{202e}evil`, which is neither the root nor an OU"
    );
}

#[test]
fn usage_errors_are_one_escaped_line() {
    let (code, stderr, stdout) = analyze(&["--bogus"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert_eq!(
        stderr,
        "error: unexpected argument '--bogus' found; tip: to pass '--bogus' as a value, use '-- --bogus' (try '--help')\n"
    );
    // clap drops terminal escape sequences and BEL itself; the rest is escaped.
    let (code, stderr, _) = analyze(&["a", "b\r\u{7}\u{202e}\u{1b}[31m"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: unexpected argument 'b\\u{d}\\u{202e}' found (try '--help')\n"
    );
}

#[test]
fn a_string_longer_than_the_bound() {
    // 6.7 KB of zstd holding a 17 MiB string: the default bound is 16 MiB.
    assert_eq!(
        bad_snapshot("long_string.snapshot.json.zst"),
        "error: snapshot holds a string longer than 16777216 bytes (snapshot_limits.max_string_bytes) at byte 3800 of its JSON text"
    );
}
