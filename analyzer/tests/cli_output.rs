//! Writing the output tree: a re-run rewrites only what changed.

#![expect(clippy::unwrap_used, reason = "test code")]

use std::path::Path;
use std::process::Command;

fn analyze(out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_rerun_leaves_unchanged_files_alone_and_repairs_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    analyze(dir.path());
    let report = dir
        .path()
        .join("results/scps/deny_ec2_imds_v1/dev-sandbox_666666666666.json");
    let summary = dir.path().join("summary.json");
    let original = std::fs::read(&report).unwrap();
    // Make the report's timestamp distinguishable, and damage the summary.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&report)
        .unwrap()
        .set_modified(old)
        .unwrap();
    std::fs::write(&summary, b"tampered").unwrap();

    analyze(dir.path());
    let meta = std::fs::metadata(&report).unwrap();
    assert_eq!(
        meta.modified().unwrap(),
        old,
        "an unchanged file is not rewritten"
    );
    assert_eq!(std::fs::read(&report).unwrap(), original);
    assert_ne!(
        std::fs::read(&summary).unwrap(),
        b"tampered",
        "a changed file is rewritten"
    );
}
