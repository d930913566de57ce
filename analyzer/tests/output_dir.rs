//! The output transaction: what `analyze` writes, replaces and refuses on disk (issue 11).
//! Each test runs the binary in a scratch directory.

#![expect(clippy::unwrap_used, reason = "test helpers")]

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

/// Runs `analyze` with `args` in `dir`; returns (exit code, stderr, stdout). Without a
/// `--config`, placement is strict: it writes more files (account and OU targets) than
/// carve-out, which is what these tests of the file system want.
fn analyze_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_analyze"));
    command.args(args).current_dir(dir);
    if !args.contains(&"--config") {
        // Outside `dir`, whose tree the tests compare: one small file per test process,
        // written once (the tests run in parallel).
        static STRICT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        let path = STRICT.get_or_init(|| {
            let path =
                std::env::temp_dir().join(format!("headroom-strict-{}.yaml", std::process::id()));
            std::fs::write(&path, "placement: {strategy: strict}\n").unwrap();
            path
        });
        command.arg("--config").arg(path);
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn demo() -> String {
    fixture("snapshots/demo.json").to_str().unwrap().to_owned()
}

/// Every file and symbolic link under `root` (not following links), with its contents or
/// link target.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            let rel = path.strip_prefix(root).unwrap().to_owned();
            if kind.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                stack.push(path);
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn one_line(stderr: &str) -> &str {
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr.trim_end()
}

/// Item 1: a link left in an earlier output is never written through, and no file appears
/// outside the output directory.
#[test]
fn links_left_in_the_output_are_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, _) = analyze_in(dir.path(), &[&demo(), "--out", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let report = dir
        .path()
        .join("out/results/scps/deny_iam_user_creation/shared-services_101010101010.json");
    assert!(report.exists());
    for (link, target) in [
        (report.clone(), victim.clone()),
        (
            dir.path().join("out/scps/security_ou_scps.tf"),
            dir.path().join("created-through-a-dangling-link.tf"),
        ),
        (
            dir.path().join("out/summary.json"),
            dir.path().join("created-through-summary.json"),
        ),
    ] {
        let before = tree(dir.path());
        let saved = dir.path().join("saved");
        std::fs::rename(&link, &saved).unwrap();
        symlink(&target, &link).unwrap();
        let with_link = tree(dir.path());
        let (code, stderr, stdout) = analyze_in(dir.path(), &[&demo(), "--out", "out"]);
        assert_eq!(code, 2, "{}: {stderr}", link.display());
        assert!(stdout.is_empty());
        let line = one_line(&stderr);
        assert!(
            line.contains("is a symbolic link that Headroom did not write")
                || line.contains("(it is a symbolic link)")
                || line.contains("is a symbolic link"),
            "{line}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(!target.exists() || target == victim, "{}", target.display());
        // Nothing changed, nothing was left behind.
        assert_eq!(tree(dir.path()), with_link);
        std::fs::remove_file(&link).unwrap();
        std::fs::rename(&saved, &link).unwrap();
        assert_eq!(tree(dir.path()), before);
    }
    // A results directory that is a link is refused too (it would be replaced whole).
    std::fs::rename(dir.path().join("out/results"), dir.path().join("elsewhere")).unwrap();
    symlink(dir.path().join("elsewhere"), dir.path().join("out/results")).unwrap();
    let (code, stderr, _) = analyze_in(dir.path(), &[&demo(), "--out", "out"]);
    assert_eq!(code, 2);
    assert_eq!(
        one_line(&stderr),
        "error: results_dir `out/results` is a symbolic link: analyze replaces that directory whole, so point results_dir at the directory itself"
    );
}

/// Item 2: two spellings of one directory are one directory.
#[test]
fn overlapping_directories_are_refused_in_any_spelling() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("x")).unwrap();
    symlink(dir.path().join("x"), dir.path().join("link-to-x")).unwrap();
    for (scps, rcps) in [
        ("tf", "./tf"),
        ("tf", "tf/../tf"),
        ("x", "./x/"),
        ("x", "link-to-x"),
    ] {
        let (code, stderr, stdout) = analyze_in(
            dir.path(),
            &[
                &demo(),
                "--out",
                "o",
                "--scps-dir",
                scps,
                "--rcps-dir",
                rcps,
            ],
        );
        assert_eq!(code, 2, "{scps} {rcps}: {stderr}");
        assert!(stdout.is_empty());
        assert_eq!(
            one_line(&stderr),
            format!(
                "error: scps_dir `{scps}` and rcps_dir `{rcps}` are the same directory: each holds its own Terraform configuration (with its own grab_org_info.tf), so they must differ"
            )
        );
    }
    // The same through the configuration file.
    std::fs::write(dir.path().join("c.yaml"), "scps_dir: x\nrcps_dir: ./x/\n").unwrap();
    let (code, stderr, _) = analyze_in(dir.path(), &[&demo(), "--config", "c.yaml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        one_line(&stderr).contains("are the same directory"),
        "{stderr}"
    );
    // The results directory is replaced whole: nothing else may be it or be inside it.
    let (code, stderr, _) = analyze_in(
        dir.path(),
        &[&demo(), "--out", "o2", "--results-dir", "o2/."],
    );
    assert_eq!(code, 2);
    assert_eq!(
        one_line(&stderr),
        "error: results_dir `o2/.` and out `o2` are the same directory: analyze replaces the results directory whole, so it must hold nothing else"
    );
    let (code, stderr, _) = analyze_in(
        dir.path(),
        &[
            &demo(),
            "--out",
            "o3",
            "--results-dir",
            "r",
            "--scps-dir",
            "r/tf",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(
        one_line(&stderr),
        "error: scps_dir `r/tf` is inside results_dir `r`: analyze replaces the results directory whole, so it must hold nothing else"
    );
    // An output directory that is a file.
    std::fs::write(dir.path().join("file"), "").unwrap();
    let (code, stderr, _) = analyze_in(dir.path(), &[&demo(), "--out", "o4", "--scps-dir", "file"]);
    assert_eq!(code, 2);
    assert_eq!(
        one_line(&stderr),
        "error: output directory `file` is not a directory"
    );
    // A refused run leaves no directory it created behind.
    for created in ["tf", "o", "o2", "o3", "o4", "r"] {
        assert!(!dir.path().join(created).exists(), "{created}");
    }
}

/// Item 4: AWS allows 256-character names; file names stay below the file system's limit and
/// names that differ only in case never share a file.
#[test]
fn long_and_case_only_different_names_get_distinct_short_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("snapshots/demo.json")).unwrap()).unwrap();
    let accounts = &mut snapshot["organization"]["accounts"];
    let long_a = format!("a{}", "x".repeat(255));
    let long_b = format!("b{}", "x".repeat(255));
    accounts["222222222222"]["tags"]["Name"] = long_a.clone().into();
    accounts["333333333333"]["tags"]["Name"] = format!("{}y", &long_a[..255]).into();
    accounts["555555555555"]["tags"]["Name"] = long_b.into();
    accounts["666666666666"]["tags"]["Name"] = "Dev".into();
    accounts["777777777777"]["tags"]["Name"] = "dev".into();
    // An OU whose name leaves nothing for a file name, with an ID as long as a snapshot can
    // hold: its Terraform file is named after a hash of the ID.
    let ou = &mut snapshot["organization"]["organizational_units"]["ou-aaaa-66666666"];
    ou["name"] = "!!!".into();
    std::fs::write(
        dir.path().join("s.json"),
        serde_json::to_vec(&snapshot).unwrap(),
    )
    .unwrap();
    for exclude in [false, true] {
        std::fs::write(
            dir.path().join("c.yaml"),
            format!("use_account_name_from_tags: true\nexclude_account_ids: {exclude}\n"),
        )
        .unwrap();
        let (code, stderr, _) = analyze_in(
            dir.path(),
            &["s.json", "--config", "c.yaml", "--out", "out"],
        );
        assert_eq!(code, 0, "{stderr}");
        let files = tree(&dir.path().join("out"));
        let check: Vec<&PathBuf> = files
            .keys()
            .filter(|p| p.starts_with("results/scps/deny_ec2_imds_v1") && p.extension().is_some())
            .collect();
        // One report per account, whatever the case of their names.
        let folded: std::collections::BTreeSet<String> = check
            .iter()
            .map(|p| p.to_str().unwrap().to_ascii_lowercase())
            .collect();
        assert_eq!(check.len(), 8, "{check:?}");
        assert_eq!(folded.len(), check.len(), "{check:?}");
        for path in files.keys() {
            let name = path.file_name().unwrap().len();
            assert!(name <= 128, "{} is {name} bytes", path.display());
        }
    }
}

/// Item 5: a run that fails while writing leaves the previous output byte-identical. Here a
/// directory stands where the new run's report goes: writing in place failed there after
/// the Terraform, the summary and other reports were already replaced.
#[test]
fn a_failed_run_leaves_the_previous_output_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, _) = analyze_in(dir.path(), &[&demo(), "--out", "out"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::create_dir(
        dir.path()
            .join("out/results/scps/deny_ec2_public_ip/dev-sandbox.json"),
    )
    .unwrap();
    let before = tree(dir.path());
    // Exclude mode: other report names, other Terraform, another summary.
    let (code, stderr, _) = analyze_in(
        dir.path(),
        &[&demo(), "--exclude-account-ids", "--out", "out"],
    );
    assert_ne!(code, 0);
    assert_eq!(
        one_line(&stderr),
        "error: refusing to replace results_dir `out/results`: `out/results/scps/deny_ec2_public_ip/dev-sandbox.json` is a directory that Headroom did not write there; move it away or choose another results_dir"
    );
    assert_eq!(tree(dir.path()), before);
}

/// Item 6: a file Headroom did not write is never overwritten, even under a name Headroom
/// uses; the user's other files beside the Terraform are left alone.
#[test]
fn hand_written_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let tf = dir.path().join("terraform");
    std::fs::create_dir(&tf).unwrap();
    std::fs::write(tf.join("grab_org_info.tf"), "# mine\n").unwrap();
    std::fs::write(tf.join("main.tf"), "# also mine\n").unwrap();
    let before = tree(dir.path());
    let (code, stderr, _) = analyze_in(
        dir.path(),
        &[&demo(), "--out", "out", "--scps-dir", "terraform"],
    );
    assert_eq!(code, 2);
    assert_eq!(
        one_line(&stderr),
        "error: refusing to replace `terraform/grab_org_info.tf`: it is a file that Headroom did not write (no generated-file header); move it away or choose another directory"
    );
    assert_eq!(tree(dir.path()), before);
    // Another Headroom name, found only once the run knows its files.
    std::fs::remove_file(tf.join("grab_org_info.tf")).unwrap();
    std::fs::write(tf.join("security_ou_scps.tf"), "# mine too\n").unwrap();
    let before = tree(dir.path());
    let (code, stderr, _) = analyze_in(
        dir.path(),
        &[&demo(), "--out", "out", "--scps-dir", "terraform"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        one_line(&stderr),
        "error: refusing to replace `terraform/security_ou_scps.tf`: it is a file that Headroom did not write (no generated-file header); move it away or choose another directory"
    );
    assert_eq!(tree(dir.path()), before);
    // Without a conflict the run goes through, and the user's file stays.
    std::fs::remove_file(tf.join("security_ou_scps.tf")).unwrap();
    let (code, stderr, _) = analyze_in(
        dir.path(),
        &[&demo(), "--out", "out", "--scps-dir", "terraform"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(tf.join("main.tf")).unwrap(),
        "# also mine\n"
    );
    assert!(tf.join("grab_org_info.tf").exists());
    // A user's file in the results directory stops the run: it is replaced whole.
    std::fs::write(dir.path().join("out/results/notes.txt"), "mine\n").unwrap();
    let before = tree(dir.path());
    let (code, stderr, _) = analyze_in(
        dir.path(),
        &[&demo(), "--out", "out", "--scps-dir", "terraform"],
    );
    assert_eq!(code, 2);
    assert_eq!(
        one_line(&stderr),
        "error: refusing to replace results_dir `out/results`: `out/results/notes.txt` is a file that Headroom did not write there; move it away or choose another results_dir"
    );
    assert_eq!(tree(dir.path()), before);
}

/// A re-run replaces the output: stale reports and Terraform of the earlier run are gone, no
/// staging directory is left, and the result equals a run into a fresh directory.
#[test]
fn a_rerun_replaces_the_whole_output() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, _) = analyze_in(dir.path(), &[&demo(), "--out", "out"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(
        dir.path().join("c.yaml"),
        "exclude_account_ids: true\nchecks:\n  deny_ec2_imds_v1:\n    enabled: false\n",
    )
    .unwrap();
    let (code, stderr, _) =
        analyze_in(dir.path(), &[&demo(), "--config", "c.yaml", "--out", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr, _) = analyze_in(
        dir.path(),
        &[&demo(), "--config", "c.yaml", "--out", "fresh"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        tree(&dir.path().join("out")),
        tree(&dir.path().join("fresh"))
    );
}

/// Item 10: in exclude mode every Terraform file stdout and `summary.json` name exists.
#[test]
fn exclude_mode_names_only_terraform_files_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let mut snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("snapshots/demo.json")).unwrap()).unwrap();
    // An account-level target whose name is empty: its files were named after its ID.
    snapshot["organization"]["accounts"]["101010101010"]["name"] = "".into();
    std::fs::write(
        dir.path().join("s.json"),
        serde_json::to_vec(&snapshot).unwrap(),
    )
    .unwrap();
    let (code, stderr, stdout) = analyze_in(
        dir.path(),
        &["s.json", "--exclude-account-ids", "--out", "out"],
    );
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/summary.json")).unwrap())
            .unwrap();
    let mut named = Vec::new();
    for target in summary["targets"].as_array().unwrap() {
        let kind = target["kind"].as_str().unwrap().to_ascii_lowercase();
        named.push(format!(
            "{kind}s/{}",
            target["terraform_file"].as_str().unwrap()
        ));
    }
    for line in stdout.lines() {
        if let Some(files) = line.trim().strip_prefix("Terraform: ") {
            named.extend(files.split(", ").map(str::to_owned));
        }
    }
    assert!(
        named.iter().any(|n| n.contains("account_redacted")),
        "{named:?}"
    );
    for file in &named {
        assert!(
            dir.path().join("out").join(file).is_file(),
            "{file} does not exist"
        );
    }
    assert!(!stdout.contains("101010101010"));
}
