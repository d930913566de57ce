//! The `collect` binary's usage and input errors: one `error:` line, exit code 2, no AWS.
#![expect(clippy::expect_used, reason = "test code")]

use std::process::Command;

fn collect(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_collect"))
        .args(args)
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run collect");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_flag_and_the_exit_codes() {
    let (code, stdout, _) = collect(&["--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--config",
        "--output",
        "--profile",
        "--region",
        "--management-account-id",
        "--security-analysis-account-id",
        "--delegated-admin-account-id",
        "--regions",
        "--concurrency",
        "--allow-partial",
        "--quiet",
        "--log-format",
        "Exit codes:",
    ] {
        assert!(stdout.contains(flag), "--help lacks {flag}:\n{stdout}");
    }
}

#[test]
fn version_names_the_snapshot_formats() {
    let (code, stdout, _) = collect(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim_end(),
        format!(
            "collect {} (writes snapshot format 1.2; analyze of this build reads 1.0 to 1.2)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn json_log_format_prints_the_error_as_json() {
    let (code, _, stderr) = collect(&["--log-format", "json", "--config", "/nonexistent.yaml"]);
    assert_eq!(code, 2);
    let event: serde_json::Value = serde_json::from_str(stderr.trim_end()).expect("one JSON line");
    assert_eq!(event["event"], "error");
    assert_eq!(event["level"], "error");
    assert!(
        event["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("cannot read config `/nonexistent.yaml`")),
        "{event}"
    );
}

#[test]
fn a_delegated_administrator_cannot_be_the_management_account() {
    let (code, _, stderr) = collect(&[
        "--management-account-id",
        "111111111111",
        "--delegated-admin-account-id",
        "111111111111",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: delegated_admin_account_id names the management account"),
        "{stderr}"
    );
}

#[test]
fn a_missing_management_account_is_a_usage_error() {
    let (code, stdout, stderr) = collect(&[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: no management account: set `management_account_id`"),
        "{stderr}"
    );
}

#[test]
fn a_bad_config_is_a_usage_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headroom.yaml");
    std::fs::write(
        &path,
        "management_account_id: '111111111111'\nregion: us-east-1\n",
    )
    .unwrap();
    let (code, _, stderr) = collect(&["--config", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unknown field `region`"), "{stderr}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let (code, _, stderr) = collect(&["--management-account-id", "12345"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`12345` is not a 12-digit AWS account ID"),
        "{stderr}"
    );
    let (code, _, stderr) = collect(&[
        "--management-account-id",
        "111111111111",
        "--regions",
        "US EAST",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with("error: regions:"), "{stderr}");
    let (code, _, _) = collect(&["--concurrency", "0"]);
    assert_eq!(code, 2);
}

#[test]
fn no_region_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_collect"))
        .args(["--management-account-id", "111111111111"])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", "/nonexistent/headroom-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/headroom-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run collect");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: no AWS region is configured: pass --region or set AWS_REGION"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_are_one_escaped_line() {
    let (code, stdout, stderr) = collect(&["--bogus\r\u{202e}"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert_eq!(
        stderr,
        "error: unexpected argument '--bogus\\u{d}\\u{202e}' found (try '--help')\n"
    );
}
