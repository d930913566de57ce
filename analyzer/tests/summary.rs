//! The whole pipeline on the demo and hostile fixtures: insta snapshots of every Terraform file,
//! `summary.json`, `summary.md` and the stdout summary; the summary's schema is fresh; output is
//! byte-identical at any thread count; exclude mode redacts; stale files are removed.
#![expect(clippy::unwrap_used, reason = "test code")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use headroom_analyzer::output::{Area, Outputs};
use headroom_analyzer::{DEMO_CONFIG, DEMO_SNAPSHOT, Settings, analyze, render, summary};
use headroom_schemas::Snapshot;
use headroom_schemas::config::Config;

/// The demo configuration: carve-out placement, the default.
fn demo_settings() -> Settings {
    Settings::from_config(&Config::from_yaml(DEMO_CONFIG, Path::new("demo.yaml")).unwrap())
}

/// The demo configuration with `placement.strategy: strict`.
fn strict_demo_settings() -> Settings {
    Settings {
        strategy: headroom_schemas::config::Strategy::Strict,
        ..demo_settings()
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/snapshots")
        .join(name)
}

fn load(name: &str) -> Snapshot {
    headroom_schemas::read_file(&fixture(name)).unwrap()
}

fn run_in_pool(snapshot: &Snapshot, settings: &Settings, threads: usize) -> Outputs {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| analyze(snapshot, settings))
        .unwrap()
}

fn text(outputs: &Outputs, area: Area, path: &str) -> String {
    let file = headroom_analyzer::OutputFile::new(area, path);
    String::from_utf8(outputs.files[&file].clone()).unwrap()
}

/// Snapshots the placement outputs of one fixture: stdout, summary.json, summary.md, every
/// `.tf` (report.html is held to its properties in `tests/reports.rs` and opened in Chromium
/// by `browser_tests`).
fn snapshot_outputs(prefix: &str, outputs: &Outputs) {
    insta::assert_snapshot!(format!("{prefix}_stdout"), outputs.stdout);
    insta::assert_snapshot!(
        format!("{prefix}_summary.md"),
        text(
            outputs,
            Area::Out,
            headroom_analyzer::markdown::SUMMARY_MD_FILE
        )
    );
    insta::assert_snapshot!(
        format!("{prefix}_summary.json"),
        text(outputs, Area::Out, summary::SUMMARY_FILE)
    );
    let mut seen = 0;
    for (file, contents) in &outputs.files {
        let dir = match file.area {
            Area::Scps => "scps",
            Area::Rcps => "rcps",
            Area::Out | Area::Results => continue,
        };
        seen += 1;
        insta::assert_snapshot!(
            format!("{prefix}_{dir}_{}", file.path),
            String::from_utf8(contents.clone()).unwrap()
        );
    }
    assert!(seen > 0);
}

/// Strict placement writes, byte for byte, what it wrote before carve-out placement existed:
/// the `demo_*` and `hostile_*` snapshots predate it.
#[test]
fn demo_placement_outputs() {
    let outputs = run_in_pool(
        &headroom_schemas::read(DEMO_SNAPSHOT).unwrap(),
        &strict_demo_settings(),
        2,
    );
    snapshot_outputs("demo", &outputs);
}

/// Carve-out placement, the default: the demo as `analyze` shows it with no arguments.
#[test]
fn demo_carve_out_outputs() {
    let outputs = run_in_pool(
        &headroom_schemas::read(DEMO_SNAPSHOT).unwrap(),
        &demo_settings(),
        2,
    );
    snapshot_outputs("demo_carve_out", &outputs);
}

#[test]
fn hostile_placement_outputs() {
    for (prefix, settings) in [
        ("hostile", strict_demo_settings()),
        ("hostile_carve_out", demo_settings()),
    ] {
        let outputs = run_in_pool(&load("hostile.json"), &settings, 2);
        hostile_outputs_are_inert(prefix, &outputs);
    }
}

/// Hostile names: snapshots, and no name can add a block or forge a stdout line.
fn hostile_outputs_are_inert(prefix: &str, outputs: &Outputs) {
    snapshot_outputs(prefix, outputs);
    // Terraform file names stay plain, and names only appear escaped.
    for file in outputs
        .files
        .keys()
        .filter(|f| matches!(f.area, Area::Scps | Area::Rcps))
    {
        assert!(
            file.path
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'),
            "{}",
            file.path
        );
        let text = text(outputs, file.area, &file.path);
        let body: hcl::Body = hcl::parse(&text).unwrap();
        for block in body.blocks() {
            assert!(
                matches!(
                    block.identifier(),
                    "locals" | "data" | "check" | "resource" | "terraform"
                ),
                "{}: {block:?}",
                file.path
            );
            if block.identifier() == "resource" {
                let kind = block.labels()[0].as_str();
                assert!(
                    kind == "aws_organizations_policy"
                        || kind == "aws_organizations_policy_attachment",
                    "{}: {kind}",
                    file.path
                );
            }
        }
    }
    // The stdout summary cannot be forged by a name either.
    assert!(
        !outputs.stdout.contains("\nlocals { pwn"),
        "{}",
        outputs.stdout
    );
}

#[test]
fn demo_writes_terraform_for_every_check_with_a_safe_placement() {
    let snapshot = headroom_schemas::read(DEMO_SNAPSHOT).unwrap();
    let outputs = run_in_pool(&snapshot, &strict_demo_settings(), 2);
    let summary: serde_json::Value =
        serde_json::from_str(&text(&outputs, Area::Out, summary::SUMMARY_FILE)).unwrap();
    let checks = summary["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 16, "every check has a placement entry");
    let mut ou_files = BTreeSet::new();
    for check in checks {
        for rec in check["recommendations"].as_array().unwrap() {
            let dir = if check["kind"] == "scp" {
                Area::Scps
            } else {
                Area::Rcps
            };
            let file = rec["terraform_file"].as_str().unwrap();
            let tf = text(&outputs, dir, file);
            assert!(!rec["policies"].as_array().unwrap().is_empty());
            for name in rec["policies"].as_array().unwrap() {
                assert!(
                    tf.contains(&format!("name        = \"{}\"", name.as_str().unwrap())),
                    "{file}"
                );
            }
            if rec["level"] == "ou" {
                ou_files.insert(file.to_owned());
            }
        }
    }
    // Nested OUs get their own files, and account-level files really enable policies.
    assert!(
        ou_files.contains("workloads_production_ou_scps.tf"),
        "{ou_files:?}"
    );
    let account_tf = text(&outputs, Area::Scps, "payments_prod_scps.tf");
    assert!(account_tf.contains("resource \"aws_organizations_policy_attachment\""));
    assert!(account_tf.contains("\"Deny\""));
    // Every policy fits, and the sizes add up.
    for target in summary["targets"].as_array().unwrap() {
        let existing = target["existing_policies"].as_u64().unwrap();
        let new = target["policies"].as_array().unwrap().len() as u64;
        assert!(
            existing + new <= target["max_policies"].as_u64().unwrap(),
            "{target}"
        );
        for policy in target["policies"].as_array().unwrap() {
            assert!(policy["size"].as_u64().unwrap() <= policy["max_size"].as_u64().unwrap());
        }
    }
    // The Payments OU already holds 5 SCPs: nothing new is attached to it.
    assert!(
        !summary["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "scp" && t["target"]["id"] == "ou-aaaa-44444444")
    );
}

#[test]
fn output_is_identical_at_any_thread_count() {
    for name in ["demo.json", "hostile.json"] {
        let snapshot = load(name);
        for settings in [demo_settings(), strict_demo_settings()] {
            let one = run_in_pool(&snapshot, &settings, 1);
            let four = run_in_pool(&snapshot, &settings, 4);
            assert_eq!(one, four, "{name}");
        }
    }
}

/// Neither stdout nor summary.md nor report.html holds the account ID `id` (as a whole
/// number: a resource ID such as `i-44444444444444441` is not an account ID).
fn assert_redacted(outputs: &Outputs, id: &str) {
    let runs = |text: &str| -> bool {
        text.split(|c: char| !c.is_ascii_digit())
            .any(|run| run == id)
    };
    assert!(!runs(&outputs.stdout), "stdout leaks {id}");
    for file in [
        headroom_analyzer::markdown::SUMMARY_MD_FILE,
        headroom_analyzer::html::REPORT_HTML_FILE,
    ] {
        assert!(!runs(&text(outputs, Area::Out, file)), "{file} leaks {id}");
    }
}

#[test]
fn exclude_mode_redacts_summary_and_stdout_but_not_terraform() {
    let snapshot = headroom_schemas::read(DEMO_SNAPSHOT).unwrap();
    let mut settings = strict_demo_settings();
    settings.exclude_account_ids = true;
    let outputs = run_in_pool(&snapshot, &settings, 2);
    let members: Vec<String> = snapshot
        .organization
        .accounts
        .keys()
        .map(ToString::to_string)
        .collect();
    let summary = text(&outputs, Area::Out, summary::SUMMARY_FILE);
    for id in &members {
        assert!(!summary.contains(id.as_str()), "summary.json leaks {id}");
        assert_redacted(&outputs, id);
    }
    assert!(summary.contains("REDACTED"));
    // Third parties stay reviewable; Terraform keeps the real targets it must attach to.
    assert!(summary.contains("121212121212"));
    let org_info = text(&outputs, Area::Scps, render::ORG_INFO_FILE);
    assert!(org_info.contains("\"101010101010\""), "{org_info}");
    // Carve-out: the exempted accounts are redacted from the summary and stdout, and stay in
    // the conditions of the Terraform, which must name them to exempt them.
    settings.strategy = headroom_schemas::config::Strategy::CarveOut;
    let outputs = run_in_pool(&snapshot, &settings, 2);
    let summary = text(&outputs, Area::Out, summary::SUMMARY_FILE);
    assert!(summary.contains("\"carved_out\""));
    for id in &members {
        assert!(!summary.contains(id.as_str()), "summary.json leaks {id}");
        assert_redacted(&outputs, id);
    }
    let root = text(&outputs, Area::Scps, "root_scps.tf");
    assert!(
        root.contains("\"aws:PrincipalAccount\" = \"555555555555\""),
        "{root}"
    );
}

#[test]
fn summary_schema_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../documentation/summary.schema.json");
    let generated = summary::json_schema();
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "documentation/summary.schema.json is stale; regenerate it with\n  UPDATE_GENERATED=1 cargo test -p headroom-analyzer --test summary summary_schema_is_fresh"
    );
}

#[test]
fn stale_generated_files_are_removed_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let scps = out.join("scps");
    std::fs::create_dir_all(&scps).unwrap();
    let header = render::GENERATED_HEADER;
    std::fs::write(scps.join("old_ou_scps.tf"), format!("{header}\n# stale\n")).unwrap();
    std::fs::write(scps.join("main.tf"), "terraform {}\n").unwrap();
    std::fs::write(scps.join("notes.txt"), format!("{header}\n")).unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_analyze"))
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !scps.join("old_ou_scps.tf").exists(),
        "stale generated file kept"
    );
    assert!(scps.join("main.tf").exists() && scps.join("notes.txt").exists());
    assert!(scps.join("grab_org_info.tf").exists());
    assert!(out.join("summary.json").exists());

    // The same directory for SCPs and RCPs would mix two configurations: refused as a usage
    // error before anything is written.
    let fresh = dir.path().join("fresh");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_analyze"))
        .arg("--out")
        .arg(&fresh)
        .args([
            "--scps-dir",
            scps.to_str().unwrap(),
            "--rcps-dir",
            scps.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&status.stderr).contains("are the same directory"));
    assert!(!fresh.exists(), "outputs written despite the refusal");
}

/// How long placement, Terraform and the summaries take on a large snapshot, next to the
/// checks: `HEADROOM_BENCH_SNAPSHOT=synthetic-10000.snapshot.json.zst cargo test --release
/// -p headroom-analyzer --test summary -- --ignored --nocapture placement_timing`.
#[test]
#[ignore = "needs a large snapshot in HEADROOM_BENCH_SNAPSHOT"]
#[expect(clippy::print_stderr, reason = "a timing report")]
fn placement_timing() {
    let path = PathBuf::from(std::env::var("HEADROOM_BENCH_SNAPSHOT").unwrap());
    let t = std::time::Instant::now();
    let snapshot = headroom_schemas::read_file(&path).unwrap();
    let settings = Settings::default();
    let load = t.elapsed();
    let t = std::time::Instant::now();
    let checks = headroom_analyzer::checks::run_checks(&snapshot, &settings).unwrap();
    let check_time = t.elapsed();
    let statements = headroom_analyzer::checks::statement_source(&snapshot, &settings).unwrap();
    let t = std::time::Instant::now();
    let plan = headroom_analyzer::placement::place(
        &snapshot.organization,
        &snapshot.policies,
        &settings,
        &checks.runs,
        &statements,
    )
    .unwrap();
    let place_time = t.elapsed();
    let names = render::names(&plan);
    let facts = render::SnapshotFacts {
        org_id: "o",
        root_id: "r",
        collected_at: "t",
        policy_types: &[],
    };
    let t = std::time::Instant::now();
    let files = render::render(&plan, &names, facts).unwrap();
    let render_time = t.elapsed();
    let t = std::time::Instant::now();
    let quotas =
        headroom_analyzer::placement::quota_use(&plan, &snapshot.policies, &settings.limits);
    let sum = summary::summary(&plan, &names, facts, &settings.limits, quotas);
    let summary_time = t.elapsed();
    let t = std::time::Instant::now();
    let json = summary::to_json(&sum, false, &|_| false).unwrap();
    let json_time = t.elapsed();
    let t = std::time::Instant::now();
    let view =
        headroom_analyzer::view::build(&sum, &checks.runs, &snapshot.organization, &settings);
    let text = headroom_analyzer::text::render(&view);
    let html = headroom_analyzer::html::render(&view).unwrap();
    let stdout_time = t.elapsed();
    eprintln!(
        "place {place_time:?}, render {render_time:?} ({} files), summary {summary_time:?}, json {json_time:?} ({} bytes), stdout and report.html {stdout_time:?} ({} and {} bytes)",
        files.len(),
        json.len(),
        text.len(),
        html.len()
    );
    let t = std::time::Instant::now();
    let sink = headroom_analyzer::Collect::default();
    let stdout =
        summary::outputs_into(&snapshot, &settings, &checks.runs, &statements, None, &sink)
            .unwrap()
            .text;
    let placement_time = t.elapsed();
    let files = sink.into_files();
    let bytes: usize = files.values().map(Vec::len).sum();
    eprintln!(
        "load {load:?}, checks {check_time:?}, placement+terraform+summary {placement_time:?} ({} files, {bytes} bytes, stdout {} bytes)",
        files.len(),
        stdout.len()
    );
}

/// Every block of `documentation/EXAMPLES.md` marked `<!-- from: X -->` is, verbatim, part of
/// the demo's output `X` (`stdout`, `summary.json`, `scps/<file>` or `rcps/<file>`; prefixed
/// `strict/` for the demo with `placement.strategy: strict`).
#[test]
fn examples_match_the_demo_output() {
    let snapshot = headroom_schemas::read(DEMO_SNAPSHOT).unwrap();
    let carve_out = run_in_pool(&snapshot, &demo_settings(), 2);
    let strict = run_in_pool(&snapshot, &strict_demo_settings(), 2);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../documentation/EXAMPLES.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let mut checked = 0;
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(source) = line
            .strip_prefix("<!-- from: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        assert!(
            lines.next().is_some_and(|fence| fence.starts_with("```")),
            "{source}: no code block"
        );
        let mut block = String::new();
        for line in lines.by_ref() {
            if line == "```" {
                break;
            }
            block.push_str(line);
            block.push('\n');
        }
        let block = block.trim_end_matches('\n');
        // `strict/<output>`: the demo with `placement.strategy: strict`.
        let (outputs, source) = match source.strip_prefix("strict/") {
            Some(rest) => (&strict, rest),
            None => (&carve_out, source),
        };
        let output = match source {
            "stdout" => outputs.stdout.clone(),
            "summary.json" => text(outputs, Area::Out, summary::SUMMARY_FILE),
            other => {
                let (dir, file) = other.split_once('/').unwrap();
                let area = if dir == "scps" {
                    Area::Scps
                } else {
                    Area::Rcps
                };
                text(outputs, area, file)
            }
        };
        assert!(
            output.contains(block),
            "documentation/EXAMPLES.md: a block from `{source}` is no longer in the demo's output; update it from `cargo run -p headroom-analyzer -- --out headroom-out`:\n{block}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} checked blocks");
}
