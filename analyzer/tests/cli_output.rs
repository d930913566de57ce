//! Writing the output tree: what lands on disk is the pure output, and a re-run replaces it.

#![expect(clippy::unwrap_used, reason = "test code")]

use std::path::Path;
use std::process::Command;

fn analyze(out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_analyze"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn a_rerun_gives_the_same_tree_and_refuses_a_summary_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    assert!(analyze(dir.path()).status.success());
    let first = tree(dir.path());
    // An unchanged report is staged as a link to the previous one: its timestamp stays.
    let report = dir
        .path()
        .join("results/scps/deny_ec2_imds_v1/dev-sandbox_666666666666.json");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&report)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert!(analyze(dir.path()).status.success());
    assert_eq!(tree(dir.path()), first, "a re-run writes the same tree");
    assert_eq!(std::fs::metadata(&report).unwrap().modified().unwrap(), old);

    let summary = dir.path().join("summary.json");
    std::fs::write(&summary, b"tampered").unwrap();
    let output = analyze(dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!(
            "error: refusing to replace `{}`: it is a file that Headroom did not write; move it away or choose another --out\n",
            summary.display()
        )
    );
    assert_eq!(std::fs::read(&summary).unwrap(), b"tampered");
    std::fs::remove_file(&summary).unwrap();
    assert!(analyze(dir.path()).status.success());
    assert_eq!(tree(dir.path()), first);
}

/// Every file under `root`, as `/`-separated relative paths with their contents.
fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
                out.insert(relative.replace('\\', "/"), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The binary streams files to disk as they are made; what lands there is exactly what the
/// pure `analyze` returns, file for file, and stdout is its text.
#[test]
fn the_streamed_tree_is_the_pure_outputs() {
    use headroom_analyzer::{Area, DEMO_CONFIG, DEMO_SNAPSHOT, Settings};
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());

    let snapshot = headroom_schemas::read(DEMO_SNAPSHOT).unwrap();
    let config =
        headroom_schemas::config::Config::from_yaml(DEMO_CONFIG, Path::new("demo.yaml")).unwrap();
    let expected = headroom_analyzer::analyze(&snapshot, &Settings::from_config(&config)).unwrap();
    let expected: std::collections::BTreeMap<String, Vec<u8>> = expected
        .files
        .into_iter()
        .map(|(file, bytes)| {
            let dir = match file.area {
                Area::Out => String::new(),
                Area::Results => "results/".to_owned(),
                Area::Scps => "scps/".to_owned(),
                Area::Rcps => "rcps/".to_owned(),
            };
            (format!("{dir}{}", file.path), bytes)
        })
        .collect();
    let written = tree(dir.path());
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &expected {
        assert!(written[path] == *bytes, "{path} differs");
    }
    let pure = headroom_analyzer::analyze(&snapshot, &Settings::from_config(&config)).unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let footer = stdout
        .strip_prefix(&pure.stdout)
        .expect("stdout is the pure text, then where the outputs went");
    for file in ["report.html", "summary.md", "summary.json"] {
        assert!(
            footer.contains(&dir.path().join(file).display().to_string()),
            "{footer}"
        );
    }
    assert!(footer.contains("\nNext: "), "{footer}");
}

/// An output that cannot be written is a runtime error (exit 1) with one line naming it.
#[test]
fn an_unwritable_output_is_a_runtime_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"a file where a directory should be").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .arg("--out")
        .arg(blocker.join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot create directory") && stderr.contains("not-a-dir"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no summary after a failed write");
}
