//! The only module of the analyzer that touches the disk: read the snapshot, write outputs.
#![expect(
    clippy::disallowed_methods,
    reason = "the analyzer's one IO module: everything else is pure"
)]

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use headroom_schemas::{ReadError, Snapshot};

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

/// Writes every output file, creating directories as needed.
pub fn write_outputs(outputs: &Outputs, dirs: &OutputDirs) -> anyhow::Result<()> {
    let mut created = std::collections::BTreeSet::new();
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
        if let Some(parent) = path.parent()
            && created.insert(parent.to_owned())
        {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create directory `{}`", parent.display()))?;
        }
        fs::write(&path, contents)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}
