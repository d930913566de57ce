//! Collector throughput against moto server with injected latency (SPEC §10: `collect` is I/O
//! bound, so with N requests in flight its wall time should approach calls x latency / N).
//! Seeds an organization of `MEMBERS` accounts with a few resources each (two regions), runs
//! `collect` once to warm moto up (it builds each account's backends on first use), then
//! without latency at the default request budget, and with every request delayed by
//! `HEADROOM_BENCH_LATENCY_MS` (default 500 ms) at budgets of 8, the default and 64, and
//! prints one table. A benchmark, not a test: it asserts nothing about time, and is
//! `#[ignore]`d. Run it with
//! `cargo test -p headroom-collector --test bench_collect -- --ignored --nocapture`.
//!
//! What N is: `--concurrency` is one request budget shared by every account, region and
//! service (`collector/src/budget.rs`): at most N requests on the wire. The ideal for a budget
//! N is a lower bound no scheduler can beat given the calls' dependencies:
//! `(START + max(ACCOUNT_ROUND_TRIPS, ORG_TAIL_ROUND_TRIPS, ceil((calls - START_CALLS) / N)))
//! x latency`. Before any member account can start, [`START_ROUND_TRIPS`] round trips pass
//! (identity, two role hops, the organization's description, roots and first tree level;
//! the SSM reads overlap them) making [`START_CALLS`] calls; after that every other call can
//! at best run N at a time, an account's own chain is [`ACCOUNT_ROUND_TRIPS`] deep, and the
//! account tags and policies (read meanwhile, at most 4 Organizations calls in flight) take
//! [`ORG_TAIL_ROUND_TRIPS`]. All are read off the collector's code for this seeded
//! organization: update them if its call structure changes.
//!
//! Neither side costs nothing: moto spends milliseconds of CPU per request under one
//! interpreter lock (the sleeps overlap, the work does not), and `collect` is a debug build.
//! The table prints both processes' CPU seconds (from `/proc`) and the run without latency
//! measures that floor; once the ideal falls near it, CPU, not the collector, sets the wall
//! time. That is why the benchmark uses 500 ms: at 50 ms moto's CPU is the bottleneck.
#![expect(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test code: failures unwrap, the table is printed"
)]

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use aws_config::Region;
use aws_credential_types::Credentials;
use headroom_collector::engine::DEFAULT_CONCURRENCY;
use headroom_collector::org::ORG_PARALLELISM;
use moto_common::{Moto, create_account, create_headroom_role, member_config, sdk_config};

mod moto_common;

const MANAGEMENT: &str = "123456789012";
const MEMBERS: usize = 47;
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
/// The injected latency per request when `HEADROOM_BENCH_LATENCY_MS` is unset.
const DEFAULT_LATENCY_MS: u64 = 500;
/// Organizations' page size (moto's default, as AWS's): `ListAccountsForParent` pages.
const ORG_PAGE: u64 = 20;

/// Round trips before the first member account can start: `GetCallerIdentity`, `AssumeRole`
/// into the security account and into the management account, `DescribeOrganization`,
/// `ListRoots`, then the root's `ListOrganizationalUnitsForParent` and
/// `ListAccountsForParent` at once (the latter's pages one after another). The SSM reads of
/// where each service is offered (at most 4 pages per service, all services at once) run
/// meanwhile.
const START_ROUND_TRIPS: u64 = 5 + (MEMBERS as u64 + 1).div_ceil(ORG_PAGE);
/// Calls made in those round trips: the 5 calls above, the root's `ListOrganizationalUnits
/// ForParent` and its `ListAccountsForParent` pages, and the SSM pages (39 regions at 10 per
/// page for eight services, 24 for OpenSearch Serverless, in moto's copy of the parameters).
const START_CALLS: u64 = 6 + (MEMBERS as u64 + 1).div_ceil(ORG_PAGE) + 8 * 4 + 3;
/// Round trips of one seeded account, one after another: `AssumeRole`, `DescribeRegions`,
/// then the longest chain of its services: KMS `ListKeys`, `DescribeKey`, `GetKeyPolicy`,
/// `ListResourceTags`.
const ACCOUNT_ROUND_TRIPS: u64 = 2 + 4;
/// Round trips of the account tags and policies, read while the accounts are collected: every
/// account's `ListTagsForResource` `ORG_PARALLELISM` at a time, then for SCPs and for RCPs
/// (moto has one of each) `ListPolicies`, `DescribePolicy` and `ListTargetsForPolicy`.
const ORG_TAIL_ROUND_TRIPS: u64 = (MEMBERS as u64 + 1).div_ceil(ORG_PARALLELISM as u64) + 2 * 3;

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
    let mut accounts = Vec::new();
    for n in 0..MEMBERS {
        accounts.push(create_account(&org, &format!("member-{n:02}")).await);
    }
    let security = accounts[0].clone();
    for id in &accounts {
        let config = member_config(url, &mgmt, id).await;
        create_headroom_role(&config, &security).await;
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

/// Reads moto's injected latency and traffic counters, first setting the latency (which also
/// resets the counters) when `set_ms` is given. See `headroom_moto.py`.
fn latency_control(moto: &Moto, set_ms: Option<u64>) -> serde_json::Value {
    let addr = moto.url.trim_start_matches("http://");
    let (method, body) = match set_ms {
        Some(ms) => ("POST", ms.to_string()),
        None => ("GET", String::new()),
    };
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} /moto-api/headroom-latency HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, json) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(" 200 "), "{response}");
    serde_json::from_str(json).unwrap()
}

/// CPU seconds (user + system) of process `pid` from `/proc`: its own, or with `children`
/// those of its children it has waited for. `None` where there is no `/proc`.
fn cpu_seconds(pid: &str, children: bool) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces; the first
    // is field 3 (state), so utime (14) is at 11 and cutime (16) at 13.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let first = if children { 13 } else { 11 };
    let ticks: u64 =
        fields.get(first)?.parse::<u64>().ok()? + fields.get(first + 1)?.parse::<u64>().ok()?;
    // Linux reports in USER_HZ, 100 on every architecture it supports.
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    Some(ticks as f64 / 100.0)
}

/// One `collect` run and what moto saw of it.
struct Run {
    latency_ms: u64,
    concurrency: usize,
    wall: f64,
    calls: u64,
    retries: u64,
    peak_in_flight: u64,
    /// CPU seconds of `collect` and of moto during the run.
    collect_cpu: Option<f64>,
    moto_cpu: Option<f64>,
}

impl Run {
    /// The wall time no schedule with this request budget can beat (see the module doc).
    fn ideal(&self) -> f64 {
        let after = self.calls.saturating_sub(START_CALLS);
        let budget_bound = after.div_ceil(self.concurrency as u64);
        let round_trips = START_ROUND_TRIPS
            + budget_bound
                .max(ACCOUNT_ROUND_TRIPS)
                .max(ORG_TAIL_ROUND_TRIPS);
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let round_trips = round_trips as f64;
        round_trips * self.latency()
    }

    fn latency(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let ms = self.latency_ms as f64;
        ms / 1000.0
    }

    /// calls x latency / `seconds`: the mean requests in flight over `seconds`.
    fn in_flight(&self, seconds: f64) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let calls = self.calls as f64;
        calls * self.latency() / seconds
    }
}

/// Runs `collect` with `latency_ms` injected; `None` concurrency leaves the default.
fn run_collect(
    moto: &Moto,
    dir: &Path,
    config: &Path,
    latency_ms: u64,
    concurrency: Option<usize>,
) -> Run {
    latency_control(moto, Some(latency_ms));
    let out = dir.join(format!(
        "{latency_ms}ms-{}.json.zst",
        concurrency.unwrap_or(0)
    ));
    let mut command = Command::new(env!("CARGO_BIN_EXE_collect"));
    command
        .arg("--config")
        .arg(config)
        .arg("-o")
        .arg(&out)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    if let Some(n) = concurrency {
        command.arg("--concurrency").arg(n.to_string());
    }
    let moto_pid = moto.pid().to_string();
    let cpu_before = (cpu_seconds("self", true), cpu_seconds(&moto_pid, false));
    let started = Instant::now();
    let output = command.output().unwrap();
    let wall = started.elapsed().as_secs_f64();
    let cpu_after = (cpu_seconds("self", true), cpu_seconds(&moto_pid, false));
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
    let (_, counts) = summary.split_once(": ").unwrap();
    let (calls, rest) = counts.split_once(" API calls, ").unwrap();
    let (retries, _) = rest.split_once(" retries").unwrap();
    let traffic = latency_control(moto, None);
    Run {
        latency_ms,
        concurrency: concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        wall,
        calls: calls.parse().unwrap(),
        retries: retries.parse().unwrap(),
        peak_in_flight: traffic["peak_in_flight"].as_u64().unwrap(),
        collect_cpu: cpu_after.0.zip(cpu_before.0).map(|(a, b)| a - b),
        moto_cpu: cpu_after.1.zip(cpu_before.1).map(|(a, b)| a - b),
    }
}

fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "?".to_owned(), |s| format!("{s:.2}"))
}

#[test]
#[ignore = "benchmark: seeds a large moto organization; run with --ignored --nocapture"]
fn bench_collect_against_moto() {
    let latency_ms: u64 = std::env::var("HEADROOM_BENCH_LATENCY_MS")
        .ok()
        .map_or(DEFAULT_LATENCY_MS, |v| v.parse().unwrap());
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

    // moto builds each account's and region's backends on first use: the first run pays
    // for that, so it is only a warm-up.
    let warm_up = run_collect(&moto, dir.path(), &config, 0, None);
    let runs = [
        run_collect(&moto, dir.path(), &config, 0, None),
        run_collect(&moto, dir.path(), &config, latency_ms, Some(8)),
        run_collect(&moto, dir.path(), &config, latency_ms, None),
        run_collect(&moto, dir.path(), &config, latency_ms, Some(64)),
    ];
    eprintln!(
        "\ncollect against moto: {MEMBERS} member accounts, {} regions (seeded in {seeded_in:.1}s; warm-up run without latency {:.1}s, moto CPU {}s)",
        REGIONS.len(),
        warm_up.wall,
        seconds(warm_up.moto_cpu)
    );
    eprintln!(
        "{:>7} {:>9} {:>6} {:>7} {:>7} {:>7} {:>10} | in flight: {:>5} {:>5} | CPU s: {:>7} {:>5}",
        "latency",
        "budget N",
        "calls",
        "retries",
        "ideal s",
        "wall s",
        "wall/ideal",
        "mean",
        "peak",
        "collect",
        "moto"
    );
    for run in &runs {
        let budget = if run.concurrency == DEFAULT_CONCURRENCY {
            format!("{} (dflt)", run.concurrency)
        } else {
            run.concurrency.to_string()
        };
        let (ideal, ratio, mean) = if run.latency_ms == 0 {
            ("-".to_owned(), "-".to_owned(), "-".to_owned())
        } else {
            let ideal = run.ideal();
            (
                format!("{ideal:.2}"),
                format!("{:.2}", run.wall / ideal),
                format!("{:.1}", run.in_flight(run.wall)),
            )
        };
        eprintln!(
            "{:>5}ms {budget:>9} {:>6} {:>7} {ideal:>7} {:>7.2} {ratio:>10} |            {mean:>5} {:>5} |        {:>7} {:>5}",
            run.latency_ms,
            run.calls,
            run.retries,
            run.wall,
            run.peak_in_flight,
            seconds(run.collect_cpu),
            seconds(run.moto_cpu)
        );
    }
    eprintln!(
        "ideal = ({START_ROUND_TRIPS} start round trips + max({ACCOUNT_ROUND_TRIPS} per account, {ORG_TAIL_ROUND_TRIPS} of org tags and policies, ceil((calls - {START_CALLS}) / N))) x latency"
    );
    eprintln!(
        "in flight: mean = calls x latency / wall, peak = most requests moto served at once (at most N)"
    );
}
