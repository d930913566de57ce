//! Collector throughput against moto server: seed an organization of `MEMBERS` accounts with a
//! few resources each (two regions), run `collect` at `--concurrency 1` and at the default, and
//! print the wall time and API calls of each. A benchmark, not a test: it asserts nothing about
//! time, and is `#[ignore]`d. Run it with
//! `cargo test -p headroom-collector --test bench_collect -- --ignored --nocapture`.
//!
//! moto is a single Python process, so it serialises much of the work the collector does in
//! parallel; the speed-up measured here is a lower bound of the one against AWS.
#![expect(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test code: failures unwrap, the table is printed"
)]

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use moto_common::{Moto, sdk_config};

mod moto_common;

const MANAGEMENT: &str = "123456789012";
const MEMBERS: usize = 32;
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

/// Credentials of `OrganizationAccountAccessRole` in `account`.
async fn member_config(url: &str, mgmt: &SdkConfig, account: &str) -> SdkConfig {
    let out = aws_sdk_sts::Client::new(mgmt)
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("seed")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    sdk_config(
        url,
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "seed",
        ),
    )
    .await
}

/// Seeds the organization; returns the member account IDs, the first being the security
/// account.
async fn seed(url: &str) -> Vec<String> {
    let mgmt = sdk_config(
        url,
        Credentials::new("testing", "testing", None, None, "test"),
    )
    .await;
    let org = aws_sdk_organizations::Client::new(&mgmt);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let reader = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../test_environment/policies/account_reader.json"),
    )
    .unwrap();
    let mut accounts = Vec::new();
    for n in 0..MEMBERS {
        let out = org
            .create_account()
            .account_name(format!("member-{n:02}"))
            .email(format!("member-{n:02}@example.com"))
            .send()
            .await
            .unwrap();
        let id = out
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_owned();
        accounts.push(id);
    }
    let security = accounts[0].clone();
    for id in &accounts {
        let config = member_config(url, &mgmt, id).await;
        let iam = aws_sdk_iam::Client::new(&config);
        iam.create_role()
            .role_name("Headroom")
            .assume_role_policy_document(
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{security}:root")},
                    "Action": "sts:AssumeRole"
                }]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name("Headroom")
            .policy_name("HeadroomReadInventories")
            .policy_document(&reader)
            .send()
            .await
            .unwrap();
        aws_sdk_s3::Client::new(&config)
            .create_bucket()
            .bucket(format!("bench-{id}"))
            .send()
            .await
            .unwrap();
        for region in REGIONS {
            let regional = config
                .to_builder()
                .region(Region::new(region.to_owned()))
                .build();
            aws_sdk_sqs::Client::new(&regional)
                .create_queue()
                .queue_name(format!("jobs-{region}"))
                .send()
                .await
                .unwrap();
            aws_sdk_secretsmanager::Client::new(&regional)
                .create_secret()
                .name(format!("app-{region}"))
                .secret_string("bench")
                .send()
                .await
                .unwrap();
            aws_sdk_kms::Client::new(&regional)
                .create_key()
                .description("bench")
                .send()
                .await
                .unwrap();
        }
    }
    accounts
}

/// Wall time in seconds and the API calls from `collect`'s summary line.
fn run_collect(
    moto: &Moto,
    dir: &Path,
    config: &Path,
    name: &str,
    extra: &[&str],
) -> (f64, String) {
    let out = dir.join(name);
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_collect"))
        .arg("--config")
        .arg(config)
        .arg("-o")
        .arg(&out)
        .args(extra)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "collect failed:\n{stderr}");
    // "collected N of M accounts with G gap(s): C API calls, R retries in S.Ss; wrote `…`"
    let summary = stderr.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with(&format!(
            "collected {MEMBERS} of {} accounts with 0 gap(s)",
            MEMBERS + 1
        )),
        "{stderr}"
    );
    let calls = summary
        .split_once(": ")
        .and_then(|(_, rest)| rest.split_once(" API calls"))
        .map_or_else(|| "?".to_owned(), |(calls, _)| calls.to_owned());
    (seconds, calls)
}

#[test]
#[ignore = "benchmark: seeds a large moto organization; run with --ignored --nocapture"]
fn bench_collect_against_moto() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seeding = Instant::now();
    let accounts = runtime.block_on(seed(&moto.url));
    let seeded_in = seeding.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("headroom.yaml");
    fs::write(
        &config,
        format!(
            "management_account_id: '{MANAGEMENT}'\nsecurity_analysis_account_id: '{}'\nuse_account_name_from_tags: false\nregions: [{}]\n",
            accounts[0],
            REGIONS.join(", ")
        ),
    )
    .unwrap();

    let (one, one_calls) = run_collect(
        &moto,
        dir.path(),
        &config,
        "one.json.zst",
        &["--concurrency", "1"],
    );
    let (default, default_calls) = run_collect(&moto, dir.path(), &config, "default.json.zst", &[]);
    eprintln!(
        "\ncollect against moto: {MEMBERS} member accounts, {} regions (seeded in {seeded_in:.1}s)",
        REGIONS.len()
    );
    eprintln!(
        "{:<16} {:>10} {:>10}",
        "concurrency", "wall (s)", "API calls"
    );
    eprintln!("{:<16} {one:>10.2} {one_calls:>10}", "1");
    eprintln!("{:<16} {default:>10.2} {default_calls:>10}", "default");
    eprintln!("ratio concurrency-1 / default: {:.2}", one / default);
}
