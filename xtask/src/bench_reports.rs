//! The reports a person reads, at each benchmark size: the bytes of `report.html` against its
//! budget (`headroom_analyzer::html::SIZE_BUDGET_BASE` plus `SIZE_BUDGET_PER_ACCOUNT` per
//! account), of `summary.md` and of stdout, and the time headless Chromium takes to load
//! `report.html` and run its script (`--dump-dom`, which returns after the load event; the
//! page draws its tree before that), minus the time it takes for an empty page, median of the
//! benchmark's runs. Chromium is found as `chromium` (or `HEADROOM_CHROMIUM`); without it the
//! load time reads "no chromium" and the sizes are still measured.
//!
//! `cargo xtask bench` fails after printing its tables when a `report.html` is over budget.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, ensure};

/// One size's row.
#[derive(Debug, Clone, Copy)]
pub struct ReportRow {
    /// `report.html` bytes.
    pub html: u64,
    /// Its budget.
    pub budget: u64,
    /// `summary.md` bytes.
    pub markdown: u64,
    /// stdout bytes and lines.
    pub stdout: (usize, usize),
    /// Load time in seconds (page minus empty page), if Chromium is there.
    pub load: Option<f64>,
}

/// The table, and the sizes whose page is over budget.
#[derive(Debug, Default)]
pub struct Reports {
    table: String,
    over_budget: Vec<String>,
}

impl Reports {
    /// Measures the reports at `size` and adds its row.
    pub fn add(
        &mut self,
        size: usize,
        analyze: &Path,
        snap: &str,
        out_parent: &Path,
        runs: usize,
    ) -> anyhow::Result<()> {
        let measured = measure(size, analyze, snap, out_parent, runs)?;
        row(&mut self.table, size, &measured);
        if measured.html > measured.budget {
            self.over_budget.push(format!(
                "{size} accounts: {} > {} bytes",
                measured.html, measured.budget
            ));
        }
        Ok(())
    }

    /// Prints the table; an error when a page is over budget.
    #[expect(
        clippy::print_stdout,
        reason = "the benchmark table is this command's output"
    )]
    pub fn print(&self) -> anyhow::Result<()> {
        print!("\n{HEADER}{}", self.table);
        ensure!(
            self.over_budget.is_empty(),
            "report.html over its size budget: {}",
            self.over_budget.join("; ")
        );
        Ok(())
    }
}

/// The table's header.
pub const HEADER: &str = "| accounts | report.html KiB | budget KiB | within budget | Chromium load s | summary.md KiB | stdout lines (KiB) |\n|---:|---:|---:|---|---:|---:|---:|\n";

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HEADROOM_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Seconds for headless Chromium to load `page` and dump its DOM; the DOM must show the page's
/// script finished (`data-ready`), unless `expect_ready` is false (the empty page).
fn chromium_load(chromium: &Path, page: &Path, expect_ready: bool) -> anyhow::Result<f64> {
    let profile = tempfile::tempdir()?;
    let start = Instant::now();
    let output = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .with_context(|| format!("cannot run `{}`", chromium.display()))?;
    let seconds = start.elapsed().as_secs_f64();
    ensure!(
        output.status.success(),
        "chromium failed on {}",
        page.display()
    );
    if expect_ready {
        let dom = String::from_utf8_lossy(&output.stdout);
        ensure!(
            dom.contains("data-ready=\"true\""),
            "report.html did not finish drawing in Chromium"
        );
    }
    Ok(seconds)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs `analyze` once more at `size` and measures its human-facing reports.
pub fn measure(
    size: usize,
    analyze: &Path,
    snap: &str,
    out_parent: &Path,
    runs: usize,
) -> anyhow::Result<ReportRow> {
    let out = tempfile::Builder::new()
        .prefix("headroom-bench-")
        .tempdir_in(out_parent)?;
    let output = Command::new(analyze)
        .arg(snap)
        .arg("--out")
        .arg(out.path())
        .output()?;
    ensure!(output.status.success(), "analyze failed at {size} accounts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let html_path = out.path().join("report.html");
    let html = std::fs::metadata(&html_path)?.len();
    let markdown = std::fs::metadata(out.path().join("summary.md"))?.len();
    let budget = (headroom_analyzer::html::SIZE_BUDGET_BASE
        + headroom_analyzer::html::SIZE_BUDGET_PER_ACCOUNT * size) as u64;
    let load = match chromium() {
        Some(chromium) => {
            let blank = out.path().join("blank.html");
            std::fs::write(&blank, "<!DOCTYPE html><title>blank</title>")?;
            let mut page = Vec::new();
            let mut empty = Vec::new();
            for _ in 0..runs {
                empty.push(chromium_load(&chromium, &blank, false)?);
                page.push(chromium_load(&chromium, &html_path, true)?);
            }
            Some((median(page) - median(empty)).max(0.0))
        }
        None => None,
    };
    Ok(ReportRow {
        html,
        budget,
        markdown,
        stdout: (stdout.len(), stdout.lines().count()),
        load,
    })
}

/// Appends the row of `size` to `table`.
#[expect(clippy::cast_precision_loss, reason = "sizes in KiB for display")]
pub fn row(table: &mut String, size: usize, row: &ReportRow) {
    let kib = |bytes: u64| bytes as f64 / 1024.0;
    let _ = writeln!(
        table,
        "| {size} | {:.0} | {:.0} | {} | {} | {:.1} | {} ({:.1}) |",
        kib(row.html),
        kib(row.budget),
        if row.html <= row.budget { "yes" } else { "NO" },
        row.load
            .map_or_else(|| "no chromium".to_owned(), |s| format!("{s:.2}")),
        kib(row.markdown),
        row.stdout.1,
        kib(row.stdout.0 as u64),
    );
}
