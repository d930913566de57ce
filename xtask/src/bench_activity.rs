//! `cargo xtask bench-activity`: `collect`'s CloudTrail log-file reader against its floor.
//!
//! It generates (once, then reuses) about `--mib` MiB of CloudTrail log files with
//! `headroom_schemas::activity::synthetic::bulk` (the record format, gzip, the organization
//! trail's key layout) under `target/bench/`, loads the compressed files into memory, and then
//! measures, alternating, `--runs` runs of
//! - the floor: gunzip each file and parse its JSON into nothing (serde's `IgnoredAny`), the
//!   least any reader of these files must do;
//! - the reader: `read_gzip_log_file`, what `collect` runs on every log file it downloads
//!   (gunzip, parse, keep the records the catalog selects, reduce them to events);
//!
//! both on `--threads` threads taking files one at a time, as `collect`'s blocking pool does.
//! It prints records per second of both and their ratio (medians), measured in this one run.
//! Downloads are not measured: on the S3 path they overlap with the parsing of files already
//! downloaded, and their speed is the network's. Run from a debug build, it rebuilds itself in
//! release (no AWS SDK is linked) and runs that.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use clap::Args as ClapArgs;
use headroom_schemas::activity::cloudtrail::{Filter, read_gzip_log_file};
use headroom_schemas::activity::synthetic::{Bulk, bulk};
use std::io::{Read as _, Write as _};

use crate::bench::{eprintln_status, target_dir};

/// Flags of `cargo xtask bench-activity`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Uncompressed JSON to generate, in MiB.
    #[arg(long, default_value_t = 1024)]
    pub mib: u64,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Threads reading files (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the generated logs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The synthetic organization whose trail is generated.
fn spec() -> Bulk {
    Bulk {
        organization_id: "o-aaaa11111111".into(),
        members: (0..20).map(|i| format!("1111111111{i:02}")).collect(),
        outsiders: vec!["999999999999".into(), "888888888888".into()],
        regions: vec!["us-east-1".into(), "eu-west-1".into(), "us-west-2".into()],
        days: (1..=7).map(|d| format!("2026-01-{d:02}")).collect(),
        records_per_file: 500,
        relevant_per_mille: 20,
    }
}

/// Generates the log files under `dir` unless a complete earlier generation is there.
fn generate(dir: &Path, args: &Args) -> anyhow::Result<()> {
    let marker = dir.join(".complete");
    if marker.exists() {
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    eprintln_status(&format!(
        "generating {} MiB of CloudTrail logs under {}",
        args.mib,
        dir.display()
    ));
    let mut failure = None;
    let (files, records) = bulk(&spec(), args.seed, args.mib << 20, &mut |key, json| {
        if failure.is_some() {
            return;
        }
        let path = dir.join(&key);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                let mut gz = flate2::write::GzEncoder::new(
                    std::fs::File::create(&path)?,
                    flate2::Compression::default(),
                );
                gz.write_all(&json)?;
                gz.finish()?.sync_all()
            });
        if let Err(e) = written {
            failure =
                Some(anyhow::Error::new(e).context(format!("cannot write {}", path.display())));
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    std::fs::write(&marker, format!("{files} files, {records} records\n"))?;
    Ok(())
}

/// Every `.json.gz` file under `dir`, sorted by path.
fn log_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(".json.gz") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// What is timed on each file: returns two counts, summed over the files.
type Work<'a> = dyn Fn(&[u8]) -> anyhow::Result<(u64, u64)> + Sync + 'a;

/// Runs `work` over every file on `threads` threads, files handed out one at a time; returns
/// the wall time and the sums of what `work` returned.
fn timed(files: &[Vec<u8>], threads: usize, work: &Work<'_>) -> anyhow::Result<(f64, u64, u64)> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<anyhow::Result<(u64, u64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut sum = (0u64, 0u64);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(i) else {
                            return Ok(sum);
                        };
                        let (a, b) = work(file)?;
                        sum = (sum.0 + a, sum.1 + b);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker panicked")))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut total = (0, 0);
    for r in results {
        let (a, b) = r?;
        total = (total.0 + a, total.1 + b);
    }
    Ok((seconds, total.0, total.1))
}

/// The floor: gunzip and parse into nothing. Returns (JSON bytes, 0).
fn floor(compressed: &[u8]) -> anyhow::Result<(u64, u64)> {
    let mut json = Vec::with_capacity(compressed.len().saturating_mul(10));
    flate2::read::MultiGzDecoder::new(compressed).read_to_end(&mut json)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(&json)?;
    Ok((json.len() as u64, 0))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Rebuilds xtask in release and runs this command there.
fn rerun_in_release(args: &Args) -> anyhow::Result<()> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "xtask"])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("release build failed");
    }
    let mut command = Command::new(target_dir().join("release").join("xtask"));
    command.args([
        "bench-activity",
        "--mib",
        &args.mib.to_string(),
        "--runs",
        &args.runs.to_string(),
        "--seed",
        &args.seed.to_string(),
    ]);
    if let Some(threads) = args.threads {
        command.args(["--threads", &threads.to_string()]);
    }
    let status = command.status().context("cannot run the release xtask")?;
    ensure!(status.success(), "the release benchmark failed");
    Ok(())
}

/// Runs the benchmark and prints the table.
#[expect(
    clippy::print_stdout,
    reason = "the benchmark table is this command's output"
)]
#[expect(clippy::cast_precision_loss, reason = "rates and sizes for display")]
pub fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(args.runs >= 1, "--runs must be at least 1");
    ensure!(args.mib >= 1, "--mib must be at least 1");
    if cfg!(debug_assertions) {
        return rerun_in_release(args);
    }
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    ensure!(threads >= 1, "--threads must be at least 1");
    let dir = target_dir()
        .join("bench")
        .join(format!("activity-v2-{}-{}mib", args.seed, args.mib));
    generate(&dir, args)?;
    let paths = log_files(&dir)?;
    ensure!(!paths.is_empty(), "no log files under {}", dir.display());
    let files = paths
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
        .collect::<anyhow::Result<Vec<Vec<u8>>>>()?;
    let gz_bytes: u64 = files.iter().map(|f| f.len() as u64).sum();
    let spec = spec();
    let filter = Filter::new(spec.members.iter().cloned());
    let reader = |compressed: &[u8]| -> anyhow::Result<(u64, u64)> {
        let mut events = Vec::new();
        let stats = read_gzip_log_file(compressed, &filter, None, &mut events)?;
        Ok((stats.records, events.len() as u64))
    };
    eprintln_status(&format!(
        "{} files, {:.0} MiB compressed; {} run(s) of each on {threads} thread(s)",
        files.len(),
        gz_bytes as f64 / 1_048_576.0,
        args.runs
    ));
    let (mut floor_s, mut reader_s) = (Vec::new(), Vec::new());
    let (mut json_bytes, mut records, mut kept) = (0, 0, 0);
    for _ in 0..args.runs {
        let (s, bytes, _) = timed(&files, threads, &floor)?;
        floor_s.push(s);
        json_bytes = bytes;
        let (s, r, k) = timed(&files, threads, &reader)?;
        reader_s.push(s);
        (records, kept) = (r, k);
    }
    let (floor_s, reader_s) = (median(floor_s), median(reader_s));
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| files | gzip MiB | json MiB | records | kept | threads | floor s | reader s | floor records/s | reader records/s | reader/floor |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        table,
        "| {} | {:.0} | {:.0} | {records} | {kept} | {threads} | {floor_s:.2} | {reader_s:.2} | {:.0} | {:.0} | {:.0}% |",
        files.len(),
        gz_bytes as f64 / 1_048_576.0,
        json_bytes as f64 / 1_048_576.0,
        records as f64 / floor_s,
        records as f64 / reader_s,
        100.0 * floor_s / reader_s,
    );
    print!("{table}");
    Ok(())
}
