//! The only module of the analyzer that touches the disk: read the snapshot, write outputs.
#![expect(
    clippy::disallowed_methods,
    reason = "the analyzer's one IO module: everything else is pure"
)]

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use headroom_schemas::{ReadError, Snapshot};
use rayon::prelude::*;

use crate::output::{Area, Outputs};

/// Where each output area goes.
#[derive(Debug, Clone)]
pub struct OutputDirs {
    out: PathBuf,
    results: PathBuf,
    scps: PathBuf,
    rcps: PathBuf,
}

impl OutputDirs {
    /// `out` plus the optional overrides of each area.
    pub fn new(
        out: &Path,
        results: Option<&Path>,
        scps: Option<&Path>,
        rcps: Option<&Path>,
    ) -> Self {
        Self {
            out: out.to_owned(),
            results: results.map_or_else(|| out.join("results"), Path::to_owned),
            scps: scps.map_or_else(|| out.join("scps"), Path::to_owned),
            rcps: rcps.map_or_else(|| out.join("rcps"), Path::to_owned),
        }
    }

    /// The directory of `area`.
    pub fn dir(&self, area: Area) -> &Path {
        match area {
            Area::Out => &self.out,
            Area::Results => &self.results,
            Area::Scps => &self.scps,
            Area::Rcps => &self.rcps,
        }
    }
}

/// Reads and validates a snapshot file.
pub fn read_snapshot(path: &Path) -> Result<Snapshot, ReadError> {
    headroom_schemas::read_file(path)
}

/// Writes every output file, creating directories as needed, then removes the generated
/// Terraform files of earlier runs that this run did not produce.
pub fn write_outputs(outputs: &Outputs, dirs: &OutputDirs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !same_dir(dirs.dir(Area::Scps), dirs.dir(Area::Rcps)),
        "scps_dir and rcps_dir are the same directory `{}`: each holds its own Terraform configuration (with its own grab_org_info.tf), so they must differ",
        dirs.dir(Area::Scps).display()
    );
    let mut paths = Vec::with_capacity(outputs.files.len());
    let mut parents = std::collections::BTreeSet::new();
    for (file, contents) in &outputs.files {
        let relative = Path::new(&file.path);
        anyhow::ensure!(
            relative.is_relative()
                && relative
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
            "refusing to write output outside its directory: `{}`",
            file.path
        );
        let path = dirs.dir(file.area).join(relative);
        if let Some(parent) = path.parent() {
            parents.insert(parent.to_owned());
        }
        paths.push((path, contents));
    }
    for parent in &parents {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create directory `{}`", parent.display()))?;
    }
    // A large organization has ~160,000 report files: the kernel's per-file cost dominates, so
    // spread it over the worker threads, and leave files whose content is already right alone
    // (a re-run rewrites only what changed, and keeps their timestamps).
    paths
        .par_iter()
        .try_for_each(|(path, contents)| write_if_changed(path, contents))?;
    for area in [Area::Scps, Area::Rcps] {
        remove_stale(outputs, area, dirs.dir(area))?;
    }
    Ok(())
}

/// Writes `contents` to `path` unless the file already holds exactly that.
fn write_if_changed(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let unchanged = fs::symlink_metadata(path).is_ok_and(|m| {
        m.file_type().is_file()
            && m.len() == contents.len() as u64
            && fs::read(path).is_ok_and(|existing| existing == contents)
    });
    if unchanged {
        return Ok(());
    }
    fs::write(path, contents).with_context(|| format!("cannot write `{}`", path.display()))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// Deletes the regular `*.tf` files directly in `dir` that start with Headroom's generated-file
/// header and that this run did not produce. Files without the header (a user's own `main.tf`,
/// providers, backends) and anything else are never touched.
fn remove_stale(outputs: &Outputs, area: Area, dir: &Path) -> anyhow::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot list `{}`", dir.display()));
        }
    };
    let produced: std::collections::BTreeSet<&str> = outputs
        .files
        .keys()
        .filter(|f| f.area == area)
        .map(|f| f.path.as_str())
        .collect();
    let header = format!("{}\n", crate::render::GENERATED_HEADER);
    let mut stale = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_tf = Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tf"));
        if !is_tf || produced.contains(name) {
            continue;
        }
        let path = entry.path();
        // Not following links: a symlink is never ours.
        let is_file = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if is_file && starts_with(&path, header.as_bytes())? {
            stale.push(path);
        }
    }
    stale.sort();
    for path in stale {
        fs::remove_file(&path)
            .with_context(|| format!("cannot remove stale generated file `{}`", path.display()))?;
    }
    Ok(())
}

fn starts_with(path: &Path, prefix: &[u8]) -> anyhow::Result<bool> {
    use std::io::Read as _;
    let file = fs::File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut head = Vec::with_capacity(prefix.len());
    file.take(prefix.len() as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(head == prefix)
}
