//! The reports a person reads and the flags around them: `report.html` is self-contained and a
//! hostile name in it is inert text; `--format json`, `--quiet`, `--tree`, `--fail-on`; and
//! `analyze diff` (insta snapshots of its three formats, its exit codes, its bad input).
//! `browser_tests` opens the page in Chromium.
#![expect(clippy::unwrap_used, reason = "test code")]

use std::path::{Path, PathBuf};
use std::process::Command;

use headroom_analyzer::output::Area;
use headroom_analyzer::{DEMO_CONFIG, DEMO_SNAPSHOT, OutputFile, Settings, analyze};
use headroom_schemas::config::Config;

fn demo_settings() -> Settings {
    Settings::from_config(&Config::from_yaml(DEMO_CONFIG, Path::new("demo.yaml")).unwrap())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/snapshots")
        .join(name)
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn run(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// The hostile fixture with markup in its names, as a page would meet them.
fn hostile_with_markup() -> serde_json::Value {
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("hostile.json")).unwrap()).unwrap();
    doc["organization"]["accounts"]["666666666666"]["name"] =
        "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">".into();
    doc["organization"]["organizational_units"]["ou-aaaa-66666666"]["name"] =
        "</script><!-- <b>bold</b> & &amp; \u{2028}".into();
    doc
}

fn html_of(outputs: &headroom_analyzer::Outputs) -> String {
    String::from_utf8(
        outputs.files[&OutputFile::new(Area::Out, headroom_analyzer::html::REPORT_HTML_FILE)]
            .clone(),
    )
    .unwrap()
}

#[test]
fn report_html_is_self_contained_and_names_are_inert() {
    let doc = hostile_with_markup();
    let snapshot = headroom_schemas::read(doc.to_string().as_bytes()).unwrap();
    let html = html_of(&analyze(&snapshot, &demo_settings()).unwrap());
    assert!(html.starts_with(headroom_analyzer::html::HEADER));
    // Exactly the page's own two script elements, and nothing that loads or sends anything.
    assert_eq!(html.matches("<script").count(), 2, "{html}");
    assert_eq!(html.matches("</script>").count(), 2);
    for needle in [
        "<img",
        "<b>",
        "href=",
        "http://",
        "https://",
        "//cdn",
        "<link",
        "@import",
        "url(",
        "<iframe",
        "fetch(",
        "XMLHttpRequest",
        "WebSocket",
    ] {
        assert!(!html.contains(needle), "report.html holds `{needle}`");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    // The names are there, as escaped text in the HTML and as JSON escapes in the data.
    assert!(html.contains("\\u003cscript\\u003ewindow.pwned=1\\u003c/script\\u003e"));
    assert!(html.contains("\\u003c/script\\u003e\\u003c!-- \\u003cb\\u003ebold"));
    assert!(!html.contains("<!-- <b>"));
    // The data block parses back to the names as they were.
    let start = html
        .find("<script type=\"application/json\" id=\"data\">")
        .unwrap();
    let rest = &html[start..];
    let json = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    let data: serde_json::Value = serde_json::from_str(json).unwrap();
    let names: Vec<&str> = data["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[1].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">")
    );
    // The script draws with textContent only (the browser test shows the CSP lets it run).
    let script_start = html.rfind("<script>").unwrap() + "<script>".len();
    let script = &html[script_start..html.rfind("</script>").unwrap()];
    assert!(script.contains("textContent") && !script.contains("innerHTML"));
}

#[test]
fn summary_md_escapes_markup() {
    let doc = hostile_with_markup();
    let snapshot = headroom_schemas::read(doc.to_string().as_bytes()).unwrap();
    let outputs = analyze(&snapshot, &demo_settings()).unwrap();
    let md = String::from_utf8(
        outputs.files[&OutputFile::new(Area::Out, headroom_analyzer::markdown::SUMMARY_MD_FILE)]
            .clone(),
    )
    .unwrap();
    // Every `<` but the header comment's is escaped: no tag, comment or entity can form.
    let body = md
        .strip_prefix(headroom_analyzer::markdown::HEADER)
        .unwrap();
    for (at, _) in body.match_indices('<') {
        assert_eq!(&body[at - 1..at], "\\", "an unescaped `<` at {at}: {body}");
    }
    assert!(
        md.contains("\\<script\\>window.pwned=1\\</script\\>"),
        "{md}"
    );
}

#[test]
fn long_lists_are_cut_with_counts() {
    // Every account of a synthetic organization blocks: stdout and summary.md stay short.
    let mut doc: serde_json::Value = serde_json::from_slice(DEMO_SNAPSHOT).unwrap();
    let template = doc["accounts"]["666666666666"].clone();
    let account = doc["organization"]["accounts"]["666666666666"].clone();
    for n in 0..40 {
        let id = format!("9000000000{n:02}");
        let mut a = account.clone();
        a["id"] = id.clone().into();
        a["name"] = format!("sandbox-{n:02}").into();
        a["arn"] =
            format!("arn:aws:organizations::111111111111:account/o-aaaa11111111/{id}").into();
        doc["organization"]["accounts"][&id] = a;
        doc["accounts"][&id] = template.clone();
    }
    let snapshot = headroom_schemas::read(doc.to_string().as_bytes()).unwrap();
    let outputs = analyze(&snapshot, &demo_settings()).unwrap();
    assert!(
        outputs
            .stdout
            .contains("more (every blocker is in summary.md and report.html)"),
        "{}",
        outputs.stdout
    );
    assert!(outputs.stdout.lines().count() < 90, "{}", outputs.stdout);
    let md = String::from_utf8(
        outputs.files[&OutputFile::new(Area::Out, headroom_analyzer::markdown::SUMMARY_MD_FILE)]
            .clone(),
    )
    .unwrap();
    assert!(md.contains("more blocking resources or accounts"), "{md}");
    assert!(md.len() < 64 * 1024, "summary.md is {} bytes", md.len());
}

#[test]
fn format_json_quiet_and_tree() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(&[os("--out"), out.as_os_str(), os("--format"), os("json")]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(
        stdout,
        std::fs::read_to_string(out.join("summary.json")).unwrap()
    );

    let (code, stdout, stderr) = run(&[os("--out"), out.as_os_str(), os("--quiet")]);
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    assert!(out.join("report.html").is_file() && out.join("summary.md").is_file());

    let elsewhere = dir.path().join("never");
    let (code, stdout, _) = run(&[os("--tree"), os("--out"), elsewhere.as_os_str()]);
    assert_eq!(code, 0);
    let snapshot = headroom_schemas::read(DEMO_SNAPSHOT).unwrap();
    assert_eq!(
        stdout,
        headroom_analyzer::overview::render(&snapshot, &demo_settings())
    );
    assert!(!elsewhere.exists(), "--tree writes nothing");
}

#[test]
fn fail_on_exits_3_after_writing_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The demo has blockers and a collection gap.
    for what in ["blocked", "gaps", "any"] {
        let (code, _, stderr) = run(&[
            os("--out"),
            out.as_os_str(),
            os("--fail-on"),
            os(what),
            os("-q"),
        ]);
        assert_eq!((code, stderr.as_str()), (3, ""), "--fail-on {what}");
        assert!(out.join("summary.json").is_file());
    }
    // A configuration with only a check nothing blocks, on the hostile-free demo: exit 0.
    let config = dir.path().join("clean.yaml");
    let mut yaml = DEMO_CONFIG.to_owned();
    yaml.push_str("  deny_ec2_public_ip: {enabled: false}\n");
    std::fs::write(&config, &yaml).unwrap();
    let snapshot = fixture("demo.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&snapshot).unwrap()).unwrap();
    // Drop the account with the collection gap: no gaps left, blockers remain.
    doc["organization"]["accounts"]
        .as_object_mut()
        .unwrap()
        .remove("777777777777");
    doc["accounts"]
        .as_object_mut()
        .unwrap()
        .remove("777777777777");
    for kind in ["scps", "rcps"] {
        if let Some(policies) = doc["policies"][kind].as_object_mut() {
            for policy in policies.values_mut() {
                policy["targets"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|t| t["target_id"] != "777777777777");
            }
        }
    }
    let no_gap = dir.path().join("no_gap.json");
    std::fs::write(&no_gap, doc.to_string()).unwrap();
    let (code, _, stderr) = run(&[
        no_gap.as_os_str(),
        os("--config"),
        config.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--fail-on"),
        os("gaps"),
        os("-q"),
    ]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let (code, _, _) = run(&[
        no_gap.as_os_str(),
        os("--config"),
        config.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--fail-on"),
        os("blocked"),
        os("-q"),
    ]);
    assert_eq!(code, 3);
}

/// The demo a week later: acme-co left, a new account joined Security, web-prod's public IP
/// instance is gone.
fn demo_next_week(dir: &Path) -> PathBuf {
    let mut doc: serde_json::Value = serde_json::from_slice(DEMO_SNAPSHOT).unwrap();
    doc["meta"]["collected_at"] = "2026-11-27T09:00:00Z".into();
    let org = &mut doc["organization"]["accounts"];
    org.as_object_mut().unwrap().remove("888888888888");
    let mut joined = org["222222222222"].clone();
    joined["id"] = "141414141414".into();
    joined["name"] = "new-workload".into();
    joined["arn"] =
        "arn:aws:organizations::111111111111:account/o-aaaa11111111/141414141414".into();
    org["141414141414"] = joined;
    let inventories = doc["accounts"].as_object_mut().unwrap();
    inventories.remove("888888888888");
    let copy = inventories["222222222222"].clone();
    inventories.insert("141414141414".into(), copy);
    for kind in ["scps", "rcps"] {
        if let Some(policies) = doc["policies"][kind].as_object_mut() {
            for policy in policies.values_mut() {
                policy["targets"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|t| t["target_id"] != "888888888888");
            }
        }
    }
    let path = dir.join("next_week.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

#[test]
fn diff_of_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old");
    let (code, _, stderr) = run(&[os("--out"), old.as_os_str(), os("-q")]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let next = demo_next_week(dir.path());
    let config = dir.path().join("strict.yaml");
    std::fs::write(
        &config,
        format!(
            "{DEMO_CONFIG}  deny_ec2_ami_owner: {{allowed_owners: ['aws-marketplace']}}\nplacement: {{strategy: strict}}\n"
        ),
    )
    .unwrap();

    // An output directory against a snapshot (analyzed in memory).
    let mut outputs = Vec::new();
    for format in ["text", "markdown", "json"] {
        let (code, stdout, stderr) = run(&[
            os("diff"),
            old.as_os_str(),
            next.as_os_str(),
            os("--config"),
            config.as_os_str(),
            os("--format"),
            os(format),
        ]);
        assert_eq!((code, stderr.as_str()), (4, ""), "{format}");
        insta::assert_snapshot!(format!("diff_{format}"), stdout);
        outputs.push(stdout);
    }
    let json: serde_json::Value = serde_json::from_str(&outputs[2]).unwrap();
    assert_eq!(json["accounts_added"][0]["id"], "141414141414");
    assert_eq!(json["accounts_removed"][0]["id"], "888888888888");
    assert!(!json["resolved_blockers"].as_array().unwrap().is_empty());
    assert!(
        json["moved"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["direction"] == "down")
    );
    assert_eq!(json["allowlist_added"][0]["entry"], "aws-marketplace");

    // The same run twice, as a directory and as its summary.json: no change, exit 0.
    let (code, stdout, _) = run(&[
        os("diff"),
        old.as_os_str(),
        old.join("summary.json").as_os_str(),
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains(": no change\n"), "{stdout}");
    let (code, stdout, _) = run(&[os("diff"), old.as_os_str(), old.as_os_str(), os("-q")]);
    assert_eq!((code, stdout.as_str()), (0, ""));
}

#[test]
fn diff_bad_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not json").unwrap();
    let other = dir.path().join("other.json");
    std::fs::write(&other, r#"{"format": "something-else"}"#).unwrap();
    let missing = dir.path().join("missing");
    let demo = fixture("demo.json");
    for (path, want) in [
        (&text, "is not JSON: expected ident at line 1 column 2"),
        (
            &other,
            "is neither a Headroom snapshot nor a summary.json (its format is `something-else`)",
        ),
        (&missing, "cannot read snapshot"),
    ] {
        let (code, stdout, stderr) = run(&[os("diff"), demo.as_os_str(), path.as_os_str()]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(want),
            "{stderr}"
        );
    }
    let (code, _, stderr) = run(&[
        demo.as_os_str(),
        os("diff"),
        demo.as_os_str(),
        demo.as_os_str(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("write `analyze diff OLD NEW`"), "{stderr}");
}
