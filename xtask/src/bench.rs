//! `cargo xtask bench`: `analyze` against its load floor at several organization sizes.
//!
//! For each size it generates (or reuses) a deterministic synthetic snapshot, then measures,
//! as separate release-built processes under `/usr/bin/time`, the median of several runs of
//! - the load floor: read + zstd-decode + deserialize the snapshot, nothing else
//!   (`xtask load-floor FILE`);
//! - for reference, the same load through the streaming reader `analyze` uses, which overlaps
//!   decompression with the parse (`xtask load-floor --streaming FILE`);
//! - the full `analyze` with every core and pinned to one core (`taskset`), writing everything
//!   to a fresh temporary directory (on `/dev/shm` by default, see `--out-parent`);
//! - the full `analyze` on every core run again over the output of an identical earlier run
//!   (what a user re-running on the same directory pays);
//!
//! with wall time and peak resident memory of each, and prints one table. Ratios come from one
//! run of this command, on one machine, never from timed tests.
//!
//! A second table compares the placement strategies at each size (one more `analyze` run per
//! strategy, not timed, with the organization quotas lifted so that both can be counted): the
//! policies each creates, the (check, target) attachments, and whether the organization stays
//! within AWS's default quotas (10,000 SCPs, 1,000 RCPs, existing policies counted).
//!
//! A third table measures the reports a person reads (see [`crate::bench_reports`]):
//! `report.html` against its size budget and its load time in headless Chromium, `summary.md`
//! and stdout. The command fails, after printing, when a `report.html` is over budget.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};
use clap::Args as ClapArgs;

/// Flags of `cargo xtask bench`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Member-account counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    pub sizes: Vec<usize>,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Resources per account in the synthetic snapshots.
    #[arg(long, default_value_t = 100)]
    pub resources: usize,
    /// Seed of the synthetic snapshots.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A/B comparison instead of the tables: `NAME=PATH` of `analyze` binaries, timed in
    /// turn (round-robin, `--runs` rounds) on the largest size's snapshot, with every core.
    /// The first is the reference of the ratios. Used to decide whether hand-written code
    /// earns its keep (see the complexity budget in the README).
    #[arg(long, value_delimiter = ',', value_name = "NAME=PATH")]
    pub compare: Vec<String>,
    /// Where `analyze` writes its outputs (a fresh directory per run). Default: `/dev/shm` when
    /// it exists, else `target/bench`. A memory file system measures `analyze` itself; a disk
    /// adds the file system's cost of creating ~177,000 files, which on some virtual machines
    /// dwarfs everything else (see the README).
    #[arg(long, value_name = "DIR")]
    pub out_parent: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    seconds: f64,
    peak_kib: u64,
}

fn median(mut samples: Vec<Sample>) -> Sample {
    samples.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let seconds = samples[samples.len() / 2].seconds;
    samples.sort_by_key(|s| s.peak_kib);
    Sample {
        seconds,
        peak_kib: samples[samples.len() / 2].peak_kib,
    }
}

/// Runs `program args` under `/usr/bin/time` and returns its wall time and peak RSS.
fn measure(program: &Path, args: &[&str]) -> anyhow::Result<Sample> {
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("HEADROOM_BENCH %e %M")
        .arg(program)
        .args(args)
        .output()
        .context("cannot run /usr/bin/time (install GNU time: apt-get install time)")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "`{} {}` failed: {}",
        program.display(),
        args.join(" "),
        stderr.trim()
    );
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("HEADROOM_BENCH "))
        .context("no timing line from /usr/bin/time")?;
    let mut parts = line.split_whitespace().skip(1);
    let seconds: f64 = parts.next().context("no time")?.parse()?;
    let peak_kib: u64 = parts.next().context("no peak RSS")?.parse()?;
    Ok(Sample { seconds, peak_kib })
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}

/// The medians of `runs` runs of the load floor, the streaming load, and `analyze` on every
/// core and on one.
fn samples(
    xtask: &Path,
    analyze: &Path,
    snap: &str,
    out_parent: &Path,
    runs: usize,
) -> anyhow::Result<[Sample; 5]> {
    let mut floor = Vec::new();
    let mut streaming = Vec::new();
    let mut full = Vec::new();
    let mut single = Vec::new();
    let mut rerun = Vec::new();
    for _ in 0..runs {
        floor.push(measure(xtask, &["load-floor", snap])?);
        streaming.push(measure(xtask, &["load-floor", "--streaming", snap])?);
        // A fresh output directory per run: the first run into a directory writes every
        // file (a re-run writes only what changed), and the first run is what we promise.
        for (one_core, samples) in [(false, &mut full), (true, &mut single)] {
            let out = tempfile::Builder::new()
                .prefix("headroom-bench-")
                .tempdir_in(out_parent)?;
            let out_dir = out.path().to_str().context("non-UTF-8 path")?;
            let analyze = analyze.to_str().context("non-UTF-8 path")?;
            // One core, not one worker: `analyze` parses on a thread of its own beside its
            // workers, so `--threads 1` alone would still use two cores.
            let mut command = Vec::new();
            if one_core {
                command.extend(["taskset", "--cpu-list", "0"]);
            }
            command.extend([analyze, snap, "--out", out_dir]);
            if one_core {
                command.extend(["--threads", "1"]);
            }
            samples.push(measure(Path::new(command[0]), &command[1..])?);
        }
        // A re-run over the output of an identical run: the output exists and is unchanged.
        let out = tempfile::Builder::new()
            .prefix("headroom-bench-")
            .tempdir_in(out_parent)?;
        let out_dir = out.path().to_str().context("non-UTF-8 path")?;
        measure(analyze, &[snap, "--out", out_dir])?;
        rerun.push(measure(analyze, &[snap, "--out", out_dir])?);
    }
    Ok([
        median(floor),
        median(streaming),
        median(full),
        median(single),
        median(rerun),
    ])
}

/// Runs the benchmark and prints the table.
#[expect(
    clippy::print_stdout,
    reason = "the benchmark table is this command's output"
)]
#[expect(clippy::cast_precision_loss, reason = "sizes in MiB for display")]
pub fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(args.runs >= 1, "--runs must be at least 1");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "xtask",
            "-p",
            "headroom-analyzer",
        ])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("release build failed");
    }
    let release = target_dir().join("release");
    let xtask = release.join("xtask");
    let analyze = release.join("analyze");
    let work = target_dir().join("bench");
    std::fs::create_dir_all(&work)?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let out_parent = args.out_parent.clone().unwrap_or_else(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            shm.to_owned()
        } else {
            work.clone()
        }
    });
    eprintln_status(&format!("outputs go under {}", out_parent.display()));
    if !args.compare.is_empty() {
        let size = args.sizes.iter().copied().max().context("no --sizes")?;
        let snapshot = synthetic(&work, size, args)?;
        return compare(&args.compare, &snapshot, &out_parent, args.runs);
    }

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| accounts | snapshot zst MiB | json MiB | load floor s | streaming load s | analyze s ({cores} cores) | analyze s (1 core) | re-run s ({cores} cores) | analyze/floor | floor peak MiB | analyze peak MiB | peak/json |"
    );
    let _ = writeln!(
        table,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut strategies = String::from(
        "| accounts | strategy | SCPs | RCPs | SCP attachments | RCP attachments | within AWS default quotas |\n|---:|---|---:|---:|---:|---:|---|\n",
    );
    let mut reports = crate::bench_reports::Reports::default();
    let mut last_ratio = None;
    for &size in &args.sizes {
        let snapshot = synthetic(&work, size, args)?;
        let compressed = std::fs::metadata(&snapshot)?.len();
        let json = uncompressed_len(&snapshot)?;
        let snap = snapshot.to_str().context("non-UTF-8 path")?;

        eprintln_status(&format!("measuring {size} accounts"));
        let [floor, streaming, full, single, rerun] =
            samples(&xtask, &analyze, snap, &out_parent, args.runs)?;
        let ratio = full.seconds / floor.seconds.max(0.001);
        let mib = |bytes: u64| bytes as f64 / 1_048_576.0;
        let _ = writeln!(
            table,
            "| {size} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} |",
            mib(compressed),
            mib(json),
            floor.seconds,
            streaming.seconds,
            full.seconds,
            single.seconds,
            rerun.seconds,
            ratio,
            full_kib_to_mib(floor.peak_kib),
            full_kib_to_mib(full.peak_kib),
            (full.peak_kib as f64 * 1024.0) / json as f64,
        );
        last_ratio = Some((size, ratio));
        strategy_rows(&mut strategies, size, &analyze, snap, &work, &out_parent)?;
        eprintln_status(&format!("measuring the reports at {size} accounts"));
        reports.add(size, &analyze, snap, &out_parent, args.runs)?;
    }
    println!("outputs written under {}\n", out_parent.display());
    print!("{table}");
    println!();
    print!("{strategies}");
    if let Some((size, ratio)) = last_ratio {
        println!("\nanalyze/floor at {size} accounts: {ratio:.2}");
    }
    reports.print()
}

/// The synthetic snapshot of `size` accounts, generated once under `work`.
fn synthetic(work: &Path, size: usize, args: &Args) -> anyhow::Result<PathBuf> {
    let snapshot = work.join(format!(
        "synthetic-{size}-r{}-s{}.snapshot.json.zst",
        args.resources, args.seed
    ));
    if !snapshot.exists() {
        eprintln_status(&format!("generating {}", snapshot.display()));
        let s = super::synth::generate(size, args.resources, 2, args.seed);
        headroom_schemas::write_file(&snapshot, &s, headroom_schemas::Compression::Zstd(3))?;
    }
    Ok(snapshot)
}

/// Times each `NAME=PATH` binary in turn, `runs` rounds, and prints the medians and the
/// ratios to the first.
#[expect(
    clippy::print_stdout,
    reason = "the comparison table is this command's output"
)]
fn compare(
    binaries: &[String],
    snapshot: &Path,
    out_parent: &Path,
    runs: usize,
) -> anyhow::Result<()> {
    let binaries: Vec<(&str, &Path)> = binaries
        .iter()
        .map(|b| {
            b.split_once('=')
                .map(|(name, path)| (name, Path::new(path)))
                .with_context(|| format!("--compare expects NAME=PATH, found `{b}`"))
        })
        .collect::<anyhow::Result<_>>()?;
    let snap = snapshot.to_str().context("non-UTF-8 path")?;
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); binaries.len()];
    for round in 0..runs {
        eprintln_status(&format!("round {} of {runs}", round + 1));
        for ((_, binary), samples) in binaries.iter().zip(&mut samples) {
            let out = tempfile::Builder::new()
                .prefix("headroom-bench-")
                .tempdir_in(out_parent)?;
            let out_dir = out.path().to_str().context("non-UTF-8 path")?;
            samples.push(measure(binary, &[snap, "--out", out_dir])?);
        }
    }
    let medians: Vec<Sample> = samples.into_iter().map(median).collect();
    let reference = medians[0].seconds.max(0.001);
    println!("{snap}, median of {runs} rounds, every core\n");
    println!("| binary | analyze s | vs {} | peak MiB |", binaries[0].0);
    println!("|---|---:|---:|---:|");
    for ((name, _), sample) in binaries.iter().zip(&medians) {
        println!(
            "| {name} | {:.2} | {:+.1}% | {:.0} |",
            sample.seconds,
            (sample.seconds / reference - 1.0) * 100.0,
            full_kib_to_mib(sample.peak_kib)
        );
    }
    Ok(())
}

/// The rows of the strategy table for one size.
fn strategy_rows(
    table: &mut String,
    size: usize,
    analyze: &Path,
    snap: &str,
    work: &Path,
    out_parent: &Path,
) -> anyhow::Result<()> {
    for strategy in ["strict", "carve_out"] {
        let counts = placement_counts(analyze, snap, work, out_parent, strategy)?;
        let _ = writeln!(
            table,
            "| {size} | {strategy} | {} | {} | {} | {} | {} |",
            counts.policies[0],
            counts.policies[1],
            counts.attachments[0],
            counts.attachments[1],
            if counts.within_default_quotas {
                "yes"
            } else {
                "no"
            },
        );
    }
    Ok(())
}

/// What one strategy places, from `summary.json`: SCP and RCP counts.
struct PlacementCounts {
    policies: [u64; 2],
    attachments: [usize; 2],
    within_default_quotas: bool,
}

/// Runs `analyze` once with `placement.strategy: <strategy>` and the organization quotas
/// lifted, and counts what it placed.
fn placement_counts(
    analyze: &Path,
    snap: &str,
    work: &Path,
    out_parent: &Path,
    strategy: &str,
) -> anyhow::Result<PlacementCounts> {
    let config = work.join(format!("bench-{strategy}.yaml"));
    std::fs::write(
        &config,
        format!(
            "placement: {{strategy: {strategy}}}\nlimits: {{max_scps_per_organization: 1000000, max_rcps_per_organization: 1000000}}\n"
        ),
    )?;
    let out = tempfile::Builder::new()
        .prefix("headroom-bench-")
        .tempdir_in(out_parent)?;
    let status = Command::new(analyze)
        .arg(snap)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(out.path())
        .stdout(std::process::Stdio::null())
        .status()?;
    ensure!(status.success(), "analyze with strategy {strategy} failed");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json"))?)?;
    let mut counts = PlacementCounts {
        policies: [0; 2],
        attachments: [0; 2],
        within_default_quotas: true,
    };
    for (i, (kind, quota)) in [("scp", 10_000), ("rcp", 1_000)].into_iter().enumerate() {
        let used = summary["organization_quotas"]
            .as_array()
            .and_then(|q| q.iter().find(|q| q["kind"] == kind))
            .context("summary.json without organization_quotas")?;
        let new = used["new_policies"].as_u64().unwrap_or_default();
        let existing = used["existing_policies"].as_u64().unwrap_or_default();
        counts.policies[i] = new;
        counts.within_default_quotas &= new + existing <= quota;
        counts.attachments[i] = summary["checks"]
            .as_array()
            .context("summary.json without checks")?
            .iter()
            .filter(|c| c["kind"] == kind)
            .map(|c| c["recommendations"].as_array().map_or(0, Vec::len))
            .sum();
    }
    Ok(counts)
}

#[expect(clippy::cast_precision_loss, reason = "sizes in MiB for display")]
fn full_kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[expect(clippy::print_stderr, reason = "progress of a developer command")]
pub(crate) fn eprintln_status(message: &str) {
    eprintln!("bench: {message}");
}

fn uncompressed_len(path: &Path) -> anyhow::Result<u64> {
    let file = std::fs::File::open(path)?;
    let mut decoder = zstd::stream::read::Decoder::new(file)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = decoder.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// The load floor: read, decompress and deserialize the snapshot, nothing else. Freeing it is
/// not part of that, so it is left for the process exit to reclaim (`analyze` frees each
/// inventory on its workers once checked, and pays for that).
///
/// `streaming` loads with `headroom_schemas::read_streaming`, as `analyze` does: a zstd
/// snapshot is decompressed on a second thread while the parse runs. The parts are kept, like
/// the floor's snapshot.
pub fn load_floor(path: &Path, streaming: bool) -> anyhow::Result<()> {
    if streaming {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let mut parts = Vec::new();
        headroom_schemas::read_streaming(&bytes, &mut |part| parts.push(part))?;
        std::hint::black_box(&parts);
        std::mem::forget(parts);
    } else {
        let snapshot = headroom_schemas::read_file(path)?;
        std::hint::black_box(&snapshot);
        std::mem::forget(snapshot);
    }
    Ok(())
}
