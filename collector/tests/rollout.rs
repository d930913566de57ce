//! The rollout loop against moto with the real `terraform` CLI: collect → analyze →
//! `terraform apply` → collect → analyze must be a fixed point (the Terraform files byte for
//! byte the same, and `terraform plan -detailed-exitcode` finding nothing to do).
//!
//! The organization is built so that the bug this guards against shows: the OU `Workloads`
//! already holds four foreign SCPs (`FullAWSAccess` and three others), and a SAML provider in `sandbox` keeps the SAML check off
//! the root, so that check lands on `Workloads` as its fifth SCP. Counting Headroom's own
//! policy against the limit on the next run would call the OU full and move the check to its
//! accounts.
//!
//! Needs `terraform` (1.5 or later) on the `PATH` and a local mirror of the hashicorp/aws
//! provider (`terraform init -plugin-dir`): `HEADROOM_TERRAFORM_PLUGIN_DIR`, else the first of
//! `/opt/tf-plugins`, `~/.terraform.d/plugins` and `/usr/share/terraform/plugins` holding it.
//! No network is used.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::too_many_lines,
    reason = "test code: seeding and the loop are long, failures panic, the terraform output is printed for the record"
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_credential_types::Credentials;
use moto_common::{Moto, create_account, create_headroom_role, member_config, sdk_config};

mod moto_common;

const MANAGEMENT: &str = "123456789012";

/// The seeded organization: the root, OU and account IDs by name.
struct Seeded {
    root: String,
    ous: BTreeMap<&'static str, String>,
    accounts: BTreeMap<&'static str, String>,
}

async fn seed(url: &str) -> Seeded {
    use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
    let mgmt = sdk_config(
        url,
        Credentials::new("testing", "testing", None, None, "test"),
    )
    .await;
    let org = aws_sdk_organizations::Client::new(&mgmt);
    org.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    for t in [
        PolicyType::ServiceControlPolicy,
        PolicyType::ResourceControlPolicy,
    ] {
        org.enable_policy_type()
            .root_id(&root)
            .policy_type(t)
            .send()
            .await
            .unwrap();
    }
    let mut ous = BTreeMap::new();
    for name in ["Workloads", "Sandbox"] {
        let out = org
            .create_organizational_unit()
            .parent_id(&root)
            .name(name)
            .send()
            .await
            .unwrap();
        ous.insert(
            name,
            out.organizational_unit().unwrap().id().unwrap().to_owned(),
        );
    }
    let mut accounts = BTreeMap::new();
    for (name, ou) in [
        ("app-one", "Workloads"),
        ("app-two", "Workloads"),
        ("sandbox", "Sandbox"),
    ] {
        let id = create_account(&org, name).await;
        org.move_account()
            .account_id(&id)
            .source_parent_id(&root)
            .destination_parent_id(&ous[ou])
            .send()
            .await
            .unwrap();
        accounts.insert(name, id);
    }
    // Four foreign SCPs on Workloads: AWS attaches FullAWSAccess to every new OU (moto too),
    // and three of the platform team's. The OU has exactly one slot left.
    for n in 1..=3 {
        let created = org
            .create_policy()
            .name(format!("platform-guardrail-{n}"))
            .description("the platform team's")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Sid": format!("Platform{n}"), "Effect": "Deny",
                    "Action": format!("platform{n}:*"), "Resource": "*"
                }]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        let id = created
            .policy()
            .unwrap()
            .policy_summary()
            .unwrap()
            .id()
            .unwrap()
            .to_owned();
        org.attach_policy()
            .policy_id(id)
            .target_id(&ous["Workloads"])
            .send()
            .await
            .unwrap();
    }
    for (name, id) in &accounts {
        let config = member_config(url, &mgmt, id).await;
        create_headroom_role(&config, MANAGEMENT).await;
        if *name == "sandbox" {
            // Not AWS IAM Identity Center's: the SAML check cannot go to the root.
            aws_sdk_iam::Client::new(&config)
                .create_saml_provider()
                .name("LegacyIdP")
                .saml_metadata_document("<EntityDescriptor>legacy</EntityDescriptor>".repeat(30))
                .send()
                .await
                .unwrap();
        }
    }
    Seeded {
        root,
        ous,
        accounts,
    }
}

fn run_collect(moto: &Moto, config: &Path, out: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_collect"))
        .arg("--config")
        .arg(config)
        .arg("-o")
        .arg(out)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "collect failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run_analyze(snapshot: &Path, config: &Path, out: &Path) {
    use clap::Parser as _;
    let args = headroom_analyzer::cli::Args::parse_from([
        "analyze".as_ref(),
        snapshot.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    if let Err(e) = headroom_analyzer::cli::run(&args) {
        panic!("analyze failed: {:#}", e.error());
    }
}

/// The directory holding `registry.terraform.io/hashicorp/aws/<version>/<os_arch>/`.
fn plugin_dir() -> PathBuf {
    let has_aws = |dir: &Path| dir.join("registry.terraform.io/hashicorp/aws").is_dir();
    if let Some(dir) = std::env::var_os("HEADROOM_TERRAFORM_PLUGIN_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            has_aws(&dir),
            "HEADROOM_TERRAFORM_PLUGIN_DIR `{}` holds no registry.terraform.io/hashicorp/aws provider",
            dir.display()
        );
        return dir;
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    [
        PathBuf::from("/opt/tf-plugins"),
        home.join(".terraform.d/plugins"),
        PathBuf::from("/usr/share/terraform/plugins"),
    ]
    .into_iter()
    .find(|d| has_aws(d))
    .unwrap_or_else(|| {
        panic!(
            "the rollout test needs a local mirror of the hashicorp/aws provider: set HEADROOM_TERRAFORM_PLUGIN_DIR to a directory holding registry.terraform.io/hashicorp/aws"
        )
    })
}

fn terraform(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new("terraform")
        .arg(format!("-chdir={}", dir.display()))
        .args(args)
        .env("TF_IN_AUTOMATION", "1")
        .env("TF_INPUT", "0")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_CLI_CONFIG_FILE")
        .output()
        .unwrap_or_else(|e| {
            panic!("the rollout test needs the `terraform` CLI (1.5 or later) on the PATH: {e}")
        });
    eprintln!(
        "$ terraform {} ({})\n{}{}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn terraform_ok(dir: &Path, args: &[&str]) -> String {
    let output = terraform(dir, args);
    assert!(
        output.status.success(),
        "terraform {} failed in {}",
        args.join(" "),
        dir.display()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The user's own provider block (Headroom writes none), pointed at moto.
fn write_provider(dir: &Path, url: &str) {
    fs::write(
        dir.join("provider.tf"),
        format!(
            r#"provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  endpoints {{
    iam           = "{url}"
    organizations = "{url}"
    sts           = "{url}"
  }}
}}
"#
        ),
    )
    .unwrap();
}

/// The `.tf` files Headroom wrote in `dir`, by name.
fn generated(dir: &Path) -> BTreeMap<String, String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read_to_string(&p).unwrap(),
            )
        })
        .filter(|(_, text)| text.starts_with(headroom_analyzer::render::GENERATED_HEADER))
        .collect()
}

/// Where the summary places `check`: target IDs.
fn targets_of(summary: &serde_json::Value, check: &str) -> Vec<String> {
    summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_id"] == check)
        .unwrap()["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// One week of the loop: collect, then analyze into `out` (where the Terraform state lives).
fn collect_and_analyze(moto: &Moto, work: &Path, config: &Path, name: &str) -> serde_json::Value {
    let snapshot = work.join(format!("{name}.snapshot.json.zst"));
    run_collect(moto, config, &snapshot);
    let out = work.join("headroom-out");
    run_analyze(&snapshot, config, &out);
    serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// `terraform init` (first time) and `apply` in both directories.
fn apply(out: &Path, url: &str, plugins: &Path) {
    for kind in ["scps", "rcps"] {
        let dir = out.join(kind);
        if !dir.join(".terraform").is_dir() {
            write_provider(&dir, url);
            terraform_ok(
                &dir,
                &[
                    "init",
                    "-no-color",
                    &format!("-plugin-dir={}", plugins.display()),
                ],
            );
        }
        terraform_ok(&dir, &["apply", "-auto-approve", "-no-color"]);
    }
}

/// The generated files of both directories.
fn generated_both(out: &Path) -> BTreeMap<&'static str, BTreeMap<String, String>> {
    ["scps", "rcps"]
        .into_iter()
        .map(|kind| (kind, generated(&out.join(kind))))
        .collect()
}

/// After an apply: collect and analyze again, and nothing may change.
fn assert_settled(
    moto: &Moto,
    work: &Path,
    config: &Path,
    name: &str,
    before: &BTreeMap<&'static str, BTreeMap<String, String>>,
) {
    let summary = collect_and_analyze(moto, work, config, name);
    let out = work.join("headroom-out");
    let after = generated_both(&out);
    for (kind, files) in before {
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            after[kind].keys().collect::<Vec<_>>(),
            "{name} {kind}: the run after the apply wrote other files"
        );
        for (file, text) in files {
            assert_eq!(
                text, &after[kind][file],
                "{name} {kind}/{file} changed after the apply"
            );
        }
        // The user's provider, the lock file and the state are still there.
        let dir = out.join(kind);
        assert!(dir.join("provider.tf").is_file() && dir.join("terraform.tfstate").is_file());
        let plan = terraform(&dir, &["plan", "-detailed-exitcode", "-no-color"]);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "{name} {kind}: terraform plan wants changes after one cycle"
        );
        assert!(
            String::from_utf8_lossy(&plan.stdout).contains("No changes."),
            "{name} {kind}: plan output"
        );
    }
    assert_eq!(
        summary["removals"].as_array().map(Vec::len),
        Some(0),
        "{name}: nothing is removed: {}",
        summary["removals"]
    );
}

fn recommendation<'a>(summary: &'a serde_json::Value, check: &str) -> &'a serde_json::Value {
    &summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_id"] == check)
        .unwrap()["recommendations"][0]
}

#[test]
fn the_rollout_loop_converges_against_moto_with_terraform() {
    const SAML: &str = "deny_iam_saml_provider_not_aws_sso";
    let plugins = plugin_dir();
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seeded = runtime.block_on(seed(&moto.url));
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let config = work.join("headroom.yaml");
    let out = work.join("headroom-out");
    let workloads = &seeded.ous["Workloads"];
    let sandbox = &seeded.accounts["sandbox"];

    // Strict placement: the SAML SCP lands on Workloads as its fifth SCP.
    fs::write(
        &config,
        format!(
            "management_account_id: '{MANAGEMENT}'\nregions: [us-east-1]\nplacement: {{strategy: strict}}\n"
        ),
    )
    .unwrap();
    let summary = collect_and_analyze(&moto, work, &config, "strict-1");
    assert_eq!(
        targets_of(&summary, SAML),
        std::slice::from_ref(workloads),
        "the SAML SCP lands on Workloads, beside its four foreign SCPs"
    );
    let saml = summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_id"] == SAML)
        .unwrap();
    assert_eq!(saml["blocking_accounts"][0]["id"], sandbox.as_str());
    let workloads_target = summary["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "scp" && t["target"]["id"] == workloads.as_str())
        .unwrap();
    assert_eq!(workloads_target["existing_policies"], 4);
    let before = generated_both(&out);
    apply(&out, &moto.url, &plugins);
    let snapshot = fs::read(work.join("strict-1.snapshot.json.zst")).unwrap();
    assert!(
        headroom_schemas::read(&snapshot)
            .unwrap()
            .policies
            .scps
            .values()
            .all(|p| !p.name.starts_with("Headroom-")),
        "the first snapshot predates the apply"
    );
    assert_settled(&moto, work, &config, "strict-2", &before);

    // Carve-out, the default, on the same organization: the SAML SCP moves up to the root with
    // sandbox exempted; the Workloads attachment goes, and the run says so.
    fs::write(
        &config,
        format!("management_account_id: '{MANAGEMENT}'\nregions: [us-east-1]\n"),
    )
    .unwrap();
    let summary = collect_and_analyze(&moto, work, &config, "carve-1");
    let saml = recommendation(&summary, SAML);
    assert_eq!(saml["target"]["id"], seeded.root.as_str());
    assert_eq!(saml["carved_out"][0]["id"], sandbox.as_str());
    let removed = summary["removals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_id"] == SAML)
        .unwrap();
    assert_eq!(removed["removals"][0]["target_id"], workloads.as_str());
    assert_eq!(removed["removals"][0]["covered_by"], seeded.root.as_str());
    let root_tf = fs::read_to_string(out.join("scps/root_scps.tf")).unwrap();
    assert!(
        root_tf.contains(&format!("\"aws:PrincipalAccount\" = \"{sandbox}\"")),
        "{root_tf}"
    );
    let before = generated_both(&out);
    apply(&out, &moto.url, &plugins);
    assert_settled(&moto, work, &config, "carve-2", &before);

    // The policy-type guard: with RCPs disabled on the root, the plan stops before any change.
    runtime.block_on(async {
        let mgmt = sdk_config(
            &moto.url,
            Credentials::new("testing", "testing", None, None, "test"),
        )
        .await;
        aws_sdk_organizations::Client::new(&mgmt)
            .disable_policy_type()
            .root_id(&seeded.root)
            .policy_type(aws_sdk_organizations::types::PolicyType::ResourceControlPolicy)
            .send()
            .await
            .unwrap();
    });
    let plan = terraform(&out.join("rcps"), &["plan", "-no-color"]);
    assert!(!plan.status.success(), "the plan must stop");
    // Terraform wraps its messages in a box: join the words again.
    let stderr = String::from_utf8_lossy(&plan.stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        stderr.contains("are not enabled on the root of this organization"),
        "{stderr}"
    );
}
