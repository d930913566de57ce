//! The generated Terraform: it parses as HCL, contains only the blocks we generate (even with
//! hostile names), embeds policies whose size we computed exactly, and is `terraform fmt`
//! canonical.
#![expect(clippy::unwrap_used, reason = "test code")]
#![expect(clippy::panic, reason = "test helpers fail naming the file at fault")]
#![expect(
    clippy::print_stderr,
    reason = "says why the terraform fmt test did not run"
)]

mod placement_common;

use std::collections::{BTreeMap, BTreeSet};

use hcl::eval::{Context, Evaluate};
use hcl::{Body, Expression};
use headroom_analyzer::Settings;
use headroom_analyzer::model::{CheckKind, CheckRun};
use headroom_analyzer::output::Area;
use headroom_analyzer::placement::{Plan, place};
use headroom_analyzer::policies;
use headroom_analyzer::render::{
    self, GENERATED_HEADER, ORG_INFO_FILE, SnapshotFacts, VERSIONS_FILE,
};
use placement_common::*;
use proptest::prelude::*;

const FACTS: SnapshotFacts<'static> = SnapshotFacts {
    org_id: "o-test",
    root_id: ROOT,
    collected_at: "2026-11-20T10:00:00Z",
    policy_types: &[],
};

/// A plan exercising every shape: root, nested OU, full OU, root-level and nested accounts,
/// SCP and RCP allowlists.
fn rich(org: &Org) -> Vec<CheckRun> {
    let mut iam = run(
        org,
        "deny_iam_user_creation",
        CheckKind::Scp,
        &[
            (
                "200000000001",
                clean_with(&["arn:aws:iam::200000000001:user/ci"]),
            ),
            (
                "300000000001",
                clean_with(&["arn:aws:iam::300000000001:user/deploy"]),
            ),
            ("400000000001", violating("user_not_allowlisted")),
        ],
    );
    iam.configured_allowlist
        .insert("arn:aws:iam::*:user/break-glass".to_owned());
    let mut rcp = run(
        org,
        "deny_sts_third_party_assumerole",
        CheckKind::Rcp,
        &[
            ("200000000001", clean_with(&["121212121212"])),
            ("300000000002", clean_with(&["343434343434"])),
            ("400000000002", violating("wildcard_principal")),
        ],
    );
    rcp.configured_allowlist.insert("565656565656".to_owned());
    vec![
        run(
            org,
            "deny_ec2_imds_v1",
            CheckKind::Scp,
            &[("400000000001", violating("imds_v1_allowed"))],
        ),
        run(org, "deny_rds_unencrypted", CheckKind::Scp, &[]),
        run(
            org,
            "deny_ec2_public_ip",
            CheckKind::Scp,
            &[("300000000001", violating("public_ip"))],
        ),
        iam,
        rcp,
        run(org, "deny_s3_third_party_access", CheckKind::Rcp, &[]),
    ]
}

fn plan_of(org: &Org, runs: &[CheckRun]) -> Plan {
    place(
        &org.org,
        &org.policies,
        &strict_settings(),
        runs,
        &statements,
    )
    .unwrap()
}

fn render_all(plan: &Plan) -> Vec<(CheckKind, String, String)> {
    render::render(plan, &render::names(plan), FACTS).unwrap()
}

/// The blocks Headroom may generate, by (type, first label).
fn allowed_block(block: &hcl::Block) -> bool {
    let labels: Vec<&str> = block.labels().iter().map(hcl::BlockLabel::as_str).collect();
    match block.identifier() {
        "locals" | "terraform" => labels.is_empty(),
        "data" => labels.first() == Some(&"aws_organizations_organization"),
        "check" => labels == ["headroom_snapshot_organization"],
        "resource" => matches!(
            labels.first(),
            Some(&"aws_organizations_policy" | &"aws_organizations_policy_attachment")
        ),
        _ => false,
    }
}

/// Every `locals` attribute of every file of one directory, evaluated.
fn locals(files: &[(CheckKind, String, String)], kind: CheckKind) -> hcl::Map<String, hcl::Value> {
    let ctx = Context::new();
    let mut out = hcl::Map::new();
    for (_, _, text) in files.iter().filter(|f| f.0 == kind) {
        let body: Body = hcl::parse(text).unwrap();
        for block in body.blocks().filter(|b| b.identifier() == "locals") {
            for attr in block.body().attributes() {
                let value = attr.expr().evaluate(&ctx).unwrap();
                assert!(
                    out.insert(attr.key().to_owned(), value).is_none(),
                    "local {} twice",
                    attr.key()
                );
            }
        }
    }
    out
}

/// What Terraform's `jsonencode` writes, computed independently of the analyzer: `serde_json`'s
/// compact output with Go's HTML-safe escapes applied.
fn independent_jsonencode(value: &serde_json::Value) -> String {
    serde_json::to_string(&headroom_schemas::canonical::Canonical(value))
        .unwrap()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Checks one rendered tree: headers, parsing, allowed blocks, and that each policy's
/// `content` evaluates to the planned document of exactly the planned size.
fn check_files(plan: &Plan, files: &[(CheckKind, String, String)]) {
    let names = render::names(plan);
    for kind in [CheckKind::Scp, CheckKind::Rcp] {
        let mut ctx = Context::new();
        ctx.declare_var("local", hcl::Value::Object(locals(files, kind)));
        let mut policies_seen = 0;
        for (_, file, text) in files.iter().filter(|f| f.0 == kind) {
            assert!(text.starts_with(&format!("{GENERATED_HEADER}\n")), "{file}");
            assert!(text.ends_with("}\n") && !text.ends_with("\n\n"), "{file}");
            assert!(!text.contains("\n\n\n"), "{file}");
            assert!(
                !text.lines().any(|l| l.ends_with(' ')),
                "{file}: trailing space"
            );
            let body: Body = hcl::parse(text).unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
            assert_eq!(body.attributes().count(), 0, "{file}");
            for block in body.blocks() {
                assert!(allowed_block(block), "{file}: unexpected block {block:?}");
            }
            let Some((target, target_names)) = plan
                .targets
                .iter()
                .zip(&names)
                .find(|(t, n)| t.kind == kind && n.file == *file)
            else {
                assert!(file == ORG_INFO_FILE || file == VERSIONS_FILE, "{file}");
                continue;
            };
            let policy_blocks: Vec<&hcl::Block> = body
                .blocks()
                .filter(|b| {
                    b.labels().first().map(hcl::BlockLabel::as_str)
                        == Some("aws_organizations_policy")
                })
                .collect();
            assert_eq!(policy_blocks.len(), target.policies.len(), "{file}");
            for ((block, policy), policy_names) in policy_blocks
                .iter()
                .zip(&target.policies)
                .zip(&target_names.policies)
            {
                policies_seen += 1;
                assert_eq!(block.labels()[1].as_str(), policy_names.resource);
                let content = block
                    .body()
                    .attributes()
                    .find(|a| a.key() == "content")
                    .unwrap();
                let Expression::FuncCall(call) = content.expr() else {
                    panic!("{file}: content is not jsonencode(...)")
                };
                assert_eq!(call.name.to_string(), "jsonencode");
                let value: serde_json::Value =
                    serde_json::to_value(call.args[0].evaluate(&ctx).unwrap()).unwrap();
                let expected =
                    policies::document_value(target.statements_of(policy).map(|(_, s)| s));
                assert_eq!(value, expected, "{file}: content differs from the plan");
                let text = independent_jsonencode(&value);
                assert_eq!(
                    text,
                    policies::document_text(target.statements_of(policy).map(|(_, s)| s))
                );
                assert_eq!(text.len(), policy.size, "{file}: size accounting");
                let limit = policies::limit_for(kind, &Settings::default().limits);
                assert!(policy.size <= limit);
                let name = block
                    .body()
                    .attributes()
                    .find(|a| a.key() == "name")
                    .unwrap();
                assert_eq!(
                    name.expr().evaluate(&ctx).unwrap(),
                    hcl::Value::from(policy_names.name.clone())
                );
            }
            // Attachments point at the target's local, defined in grab_org_info.tf.
            let attachments = body
                .blocks()
                .filter(|b| {
                    b.labels().first().map(hcl::BlockLabel::as_str)
                        == Some("aws_organizations_policy_attachment")
                })
                .count();
            assert_eq!(attachments, target.policies.len());
            let target_id = ctx_local(&ctx, &target_names.target_local);
            assert_eq!(target_id, target.target.id, "{file}");
        }
        let planned: usize = plan
            .targets
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.policies.len())
            .sum();
        assert_eq!(policies_seen, planned);
    }
}

fn ctx_local(ctx: &Context, name: &str) -> String {
    let expr: Expression = hcl::from_str::<hcl::Body>(&format!("x = local.{name}\n"))
        .unwrap()
        .attributes()
        .next()
        .unwrap()
        .expr()
        .clone();
    match expr.evaluate(ctx).unwrap() {
        hcl::Value::String(s) => s,
        other => panic!("local.{name} is {other:?}"),
    }
}

#[test]
fn every_generated_file_parses_and_embeds_the_planned_policies() {
    let org = sample().existing(CheckKind::Scp, "ou-pay", 5);
    let plan = plan_of(&org, &rich(&org));
    let files = render_all(&plan);
    let file_names: BTreeSet<(CheckKind, &str)> =
        files.iter().map(|(k, f, _)| (*k, f.as_str())).collect();
    // Nested OUs get their path, root-level and nested accounts their name.
    for expected in [
        (CheckKind::Scp, "root_scps.tf"),
        (CheckKind::Scp, "security_ou_scps.tf"),
        (CheckKind::Scp, "workloads_prod_ou_scps.tf"),
        (CheckKind::Scp, "pay1_scps.tf"),
        (CheckKind::Scp, "shared_scps.tf"),
        (CheckKind::Scp, "grab_org_info.tf"),
        (CheckKind::Rcp, "root_rcps.tf"),
        (CheckKind::Rcp, "grab_org_info.tf"),
    ] {
        assert!(
            file_names.contains(&expected),
            "{expected:?} missing from {file_names:?}"
        );
    }
    check_files(&plan, &files);
    // Allowlists are reviewable locals referenced from the statements.
    let root_rcp = &files
        .iter()
        .find(|(k, f, _)| *k == CheckKind::Rcp && f == "workloads_prod_ou_rcps.tf")
        .unwrap()
        .2;
    assert!(
        root_rcp.contains("local.workloads_prod_ou_allowlists.deny_sts_third_party_assumerole"),
        "{root_rcp}"
    );
}

#[test]
fn allowlists_are_referenced_not_copied() {
    let org = sample();
    let plan = plan_of(&org, &rich(&org));
    let files = render_all(&plan);
    let sec = &files
        .iter()
        .find(|(k, f, _)| *k == CheckKind::Scp && f == "security_ou_scps.tf")
        .unwrap()
        .2;
    assert_eq!(
        sec.matches("arn:aws:iam::200000000001:user/ci").count(),
        1,
        "{sec}"
    );
    assert!(
        sec.contains("NotResource = local.security_ou_allowlists.deny_iam_user_creation"),
        "{sec}"
    );
    // A one-entry allowlist is a string local; a statement's one-element list keeps its shape.
    let shared = &files
        .iter()
        .find(|(k, f, _)| *k == CheckKind::Rcp && f == "shared_rcps.tf")
        .unwrap()
        .2;
    assert!(
        shared.contains("deny_sts_third_party_assumerole = \"565656565656\""),
        "{shared}"
    );
    assert!(
        shared.contains(
            "\"aws:PrincipalAccount\" = [local.shared_allowlists.deny_sts_third_party_assumerole]"
        ),
        "{shared}"
    );
}

fn hostile_org() -> Org {
    Org::new()
        .ou(
            "ou-evil",
            "x\" } resource \"null_resource\" \"pwn\" { #",
            ROOT,
        )
        .ou(
            "ou-tmpl",
            "${file(\"/etc/passwd\")} %{ if true }x%{ endif }",
            "ou-evil",
        )
        .ou(
            "ou-nl",
            "line1\nresource \"null_resource\" \"nl\" {}\n#",
            ROOT,
        )
        .ou("ou-uni", "財務 \u{202e}evil\u{202c} \u{1F600}", ROOT)
        .ou("ou-same", "Same", ROOT)
        .ou("ou-same2", "same", ROOT)
        .account("200000000001", "a\\\"b${x}", "ou-tmpl")
        .account("200000000011", "bad2", "ou-evil")
        .ou("ou-r", "r", ROOT)
        .account("200000000002", "root", "ou-r")
        .account("200000000003", "\r\n}\nlocals { pwn = 1 }", "ou-nl")
        .account("200000000004", "v", "ou-nl")
        .account("200000000005", "ok", "ou-uni")
        .account("200000000006", "", ROOT)
        .account("200000000007", "same_ou", ROOT)
        .account("200000000008", "s1", "ou-same")
        .account("200000000009", "s2", "ou-same2")
        .account("200000000010", "bad", "ou-r")
}

fn hostile_runs(org: &Org) -> Vec<CheckRun> {
    let mut runs = Vec::new();
    for (check, kind) in [("deny_a", CheckKind::Scp), ("deny_r", CheckKind::Rcp)] {
        let mut r = run(
            org,
            check,
            kind,
            &[
                ("200000000004", violating("x")),
                ("200000000009", violating("x")),
                ("200000000010", violating("x")),
                ("200000000011", violating("x")),
                (
                    "200000000001",
                    clean_with(&["${evil}\"]", "%{ for x in y }"]),
                ),
            ],
        );
        r.configured_allowlist.insert("\u{202e}\n\"".to_owned());
        runs.push(r);
    }
    runs
}

#[test]
fn hostile_names_cannot_inject_hcl() {
    let org = hostile_org();
    let plan = plan_of(&org, &hostile_runs(&org));
    let files = render_all(&plan);
    check_files(&plan, &files);
    let names: BTreeSet<&str> = files.iter().map(|(_, f, _)| f.as_str()).collect();
    for name in &names {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'),
            "{name}"
        );
    }
    // Collisions get the target ID, never overwrite: `Same`/`same`, `root` the account.
    for expected in [
        "same_ou_ou_same_scps.tf",
        "same_ou_200000000007_scps.tf",
        "root_200000000002_scps.tf",
        "x_resource_null_resource_pwn_file_etc_passwd_if_true_x_endif_ou_scps.tf",
        "account_200000000006_scps.tf",
    ] {
        assert!(names.contains(expected), "{expected} not in {names:?}");
    }
    assert!(
        !names.contains("same_ou_scps.tf") && !names.contains("root_scps.tf"),
        "{names:?}"
    );
    assert_eq!(
        files.len(),
        names.len() + files.iter().filter(|f| f.1 == ORG_INFO_FILE).count() - 1
            + files.iter().filter(|f| f.1 == VERSIONS_FILE).count()
            - 1
    );
    // Names survive exactly inside strings: the descriptions evaluate to the raw labels.
    let ctx = Context::new();
    let mut descriptions = Vec::new();
    for (_, _, text) in &files {
        let body: Body = hcl::parse(text).unwrap();
        for block in body.blocks() {
            if let Some(d) = block.body().attributes().find(|a| a.key() == "description") {
                descriptions.push(
                    d.expr()
                        .evaluate(&ctx)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            // No interpolation or directive survives anywhere: the only templates are literal.
            for attr in block.body().attributes() {
                if let Expression::TemplateExpr(t) = attr.expr() {
                    panic!("template expression in {}: {t:?}", attr.key());
                }
            }
        }
    }
    assert!(
        descriptions.iter().any(|d| d.contains("x\" } resource \"null_resource\" \"pwn\" { #/${file(\"/etc/passwd\")} %{ if true }x%{ endif }")),
        "{descriptions:#?}"
    );
    assert!(
        descriptions
            .iter()
            .any(|d| d.contains("財務 \u{202e}evil\u{202c} \u{1F600}")),
        "{descriptions:#?}"
    );
    assert!(
        descriptions
            .iter()
            .any(|d| d.contains("account '\r\n}\nlocals { pwn = 1 }' (200000000003)")),
        "{descriptions:#?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/terraform.txt"))),
        ..ProptestConfig::default()
    })]

    /// Any names at all: the output parses, holds only our blocks, and evaluates to the plan.
    #[test]
    fn arbitrary_names_render_safely(
        ou_names in proptest::collection::vec(any::<String>(), 3),
        account_names in proptest::collection::vec(any::<String>(), 4),
        extra in any::<String>(),
    ) {
        let mut org = Org::new()
            .ou("ou-1", &ou_names[0], ROOT)
            .ou("ou-2", &ou_names[1], "ou-1")
            .ou("ou-3", &ou_names[2], ROOT);
        for (i, (name, parent)) in account_names.iter().zip(["ou-1", "ou-2", "ou-3", ROOT]).enumerate() {
            org = org.account(&format!("20000000000{i}"), name, parent);
        }
        let mut runs = Vec::new();
        for (check, kind) in [("deny_a", CheckKind::Scp), ("deny_r", CheckKind::Rcp)] {
            let mut r = run(&org, check, kind, &[("200000000000", violating("x"))]);
            r.configured_allowlist.insert(extra.clone());
            runs.push(r);
        }
        let plan = plan_of(&org, &runs);
        let files = render_all(&plan);
        check_files(&plan, &files);
    }
}

#[test]
#[ignore = "writes the rendered files to $HEADROOM_DUMP for eyeballing"]
fn dump() {
    let dir = std::path::PathBuf::from(std::env::var("HEADROOM_DUMP").unwrap());
    for (name, org, runs) in [
        ("rich", sample().existing(CheckKind::Scp, "ou-pay", 5), 0),
        ("hostile", hostile_org(), 1),
    ] {
        let runs = if runs == 1 {
            hostile_runs(&org)
        } else {
            rich(&org)
        };
        for (kind, file, text) in render_all(&plan_of(&org, &runs)) {
            let sub = dir.join(name).join(kind.dir());
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(file), text).unwrap();
        }
    }
}

#[test]
fn names_are_stable_and_distinct() {
    let org = hostile_org();
    let plan = plan_of(&org, &hostile_runs(&org));
    let names = render::names(&plan);
    let mut seen: BTreeMap<(CheckKind, String), usize> = BTreeMap::new();
    for (t, n) in plan.targets.iter().zip(&names) {
        *seen.entry((t.kind, n.file.clone())).or_default() += 1;
        for p in &n.policies {
            assert!(p.name.len() <= 128);
            assert!(p.resource.starts_with(&n.stem));
        }
    }
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    assert_eq!(names, render::names(&plan));
}

/// The Terraform `analyze` writes for a fixture snapshot with the demo configuration, as
/// (kind, file, text), plus `summary.json`.
fn pipeline(fixture: &str) -> (Vec<(CheckKind, String, String)>, serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/snapshots")
        .join(fixture);
    let snapshot = headroom_schemas::read_file(&path).unwrap();
    let config = headroom_schemas::config::Config::from_yaml(
        headroom_analyzer::DEMO_CONFIG,
        std::path::Path::new("demo.yaml"),
    )
    .unwrap();
    let outputs = headroom_analyzer::analyze(&snapshot, &Settings::from_config(&config)).unwrap();
    let mut files = Vec::new();
    let mut summary = serde_json::Value::Null;
    for (file, bytes) in &outputs.files {
        let text = String::from_utf8(bytes.clone()).unwrap();
        match file.area {
            Area::Scps => files.push((CheckKind::Scp, file.path.clone(), text)),
            Area::Rcps => files.push((CheckKind::Rcp, file.path.clone(), text)),
            Area::Out if file.path == "summary.json" => {
                summary = serde_json::from_str(&text).unwrap();
            }
            _ => {}
        }
    }
    (files, summary)
}

#[test]
fn fixture_policies_are_sized_exactly() {
    for fixture in ["demo.json", "hostile.json"] {
        let (files, summary) = pipeline(fixture);
        for kind in [CheckKind::Scp, CheckKind::Rcp] {
            let sizes: BTreeMap<String, u64> = summary["targets"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kind"] == kind.dir().trim_end_matches('s'))
                .flat_map(|t| t["policies"].as_array().unwrap().iter())
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_owned(),
                        p["size"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert!(!sizes.is_empty(), "{fixture}: no {kind:?} policy");
            let mut ctx = Context::new();
            ctx.declare_var("local", hcl::Value::Object(locals(&files, kind)));
            let mut seen = BTreeSet::new();
            for (_, file, text) in files.iter().filter(|f| f.0 == kind) {
                let body: Body = hcl::parse(text).unwrap();
                for block in body.blocks() {
                    assert!(allowed_block(block), "{fixture} {file}: {block:?}");
                    if block.labels().first().map(hcl::BlockLabel::as_str)
                        != Some("aws_organizations_policy")
                    {
                        continue;
                    }
                    let attr = |key: &str| {
                        block
                            .body()
                            .attributes()
                            .find(|a| a.key() == key)
                            .unwrap()
                            .expr()
                            .clone()
                    };
                    let name = attr("name")
                        .evaluate(&ctx)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned();
                    let Expression::FuncCall(call) = attr("content") else {
                        panic!("{file}")
                    };
                    let value = serde_json::to_value(call.args[0].evaluate(&ctx).unwrap()).unwrap();
                    let size = independent_jsonencode(&value).len() as u64;
                    assert_eq!(
                        Some(&size),
                        sizes.get(&name),
                        "{fixture} {file} {name}: size accounting"
                    );
                    assert!(size <= 5120);
                    seen.insert(name);
                }
            }
            assert_eq!(
                seen.len(),
                sizes.len(),
                "{fixture}: every policy of summary.json is in the Terraform"
            );
        }
    }
}

/// `terraform fmt` must leave every file unchanged. Runs where `terraform` is installed (it is
/// on the development machines); elsewhere it says so and passes, since CI images may lack it.
#[test]
fn terraform_fmt_leaves_the_output_unchanged() {
    let Ok(version) = std::process::Command::new("terraform")
        .arg("version")
        .output()
    else {
        eprintln!("terraform is not installed: skipping the `terraform fmt -check` comparison");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    for (org, runs) in [
        (sample().existing(CheckKind::Scp, "ou-pay", 5), None),
        (hostile_org(), Some(())),
    ] {
        let runs = if runs.is_some() {
            hostile_runs(&org)
        } else {
            rich(&org)
        };
        let plan = plan_of(&org, &runs);
        for (kind, file, text) in render_all(&plan) {
            let sub = dir.path().join(format!(
                "{}-{}",
                org.org.organizational_units.len(),
                kind.dir()
            ));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(file), text).unwrap();
        }
    }
    for fixture in ["demo.json", "hostile.json"] {
        for (kind, file, text) in pipeline(fixture).0 {
            let sub = dir.path().join(format!("{fixture}-{}", kind.dir()));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(file), text).unwrap();
        }
    }
    let out = std::process::Command::new("terraform")
        .args(["fmt", "-check", "-recursive", "-diff"])
        .arg(dir.path())
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "terraform fmt would change:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
