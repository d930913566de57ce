//! The only module of the analyzer that touches the disk: read the snapshot, write outputs.
#![expect(
    clippy::disallowed_methods,
    reason = "the analyzer's one IO module: everything else is pure"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;
use headroom_schemas::ReadError;

use crate::output::{Area, OutputFile, Sink, SinkError};

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

/// Reads a snapshot file's bytes (parsed by `analyze_bytes_into`).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
    fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The sink of the binary: writes each file as soon as `analyze` makes it, creating
/// directories as needed, and remembers the Terraform files it wrote so that
/// [`DiskSink::finish`] can remove those of earlier runs.
///
/// A large organization has ~160,000 report files: `analyze` puts them from every worker
/// thread, so the kernel's per-file cost is spread over the cores, and no report waits in
/// memory for the others.
pub struct DiskSink<'a> {
    dirs: &'a OutputDirs,
    /// Directories known to exist, and whether this run created them (then they held nothing
    /// before, and their files need no comparison with an earlier run's).
    /// Keyed by area and directory relative to it (plain strings: a sink gets ~160,000 files,
    /// and comparing `Path`s component by component showed in profiles).
    created: Mutex<BTreeMap<Area, BTreeMap<String, bool>>>,
    /// The Terraform files written, by area.
    terraform: Mutex<BTreeSet<(Area, String)>>,
}

impl<'a> DiskSink<'a> {
    /// A sink writing under `dirs`. Refuses a layout where the SCP and RCP Terraform would
    /// share a directory.
    pub fn new(dirs: &'a OutputDirs) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !same_dir(dirs.dir(Area::Scps), dirs.dir(Area::Rcps)),
            "scps_dir and rcps_dir are the same directory `{}`: each holds its own Terraform configuration (with its own grab_org_info.tf), so they must differ",
            dirs.dir(Area::Scps).display()
        );
        Ok(Self {
            dirs,
            created: Mutex::new(BTreeMap::new()),
            terraform: Mutex::new(BTreeSet::new()),
        })
    }

    /// The destination of `file`, with its directory created, and whether that directory is
    /// new in this run.
    fn destination(&self, file: &OutputFile) -> anyhow::Result<(PathBuf, bool)> {
        let relative = Path::new(&file.path);
        anyhow::ensure!(
            relative.is_relative()
                && relative
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
            "refusing to write output outside its directory: `{}`",
            file.path
        );
        let path = self.dirs.dir(file.area).join(relative);
        let parent = path.parent().unwrap_or(Path::new("."));
        let dir = file.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let known = lock(&self.created)
            .get(&file.area)
            .and_then(|dirs| dirs.get(dir))
            .copied();
        let fresh = if let Some(fresh) = known {
            fresh
        } else {
            let fresh = fs::symlink_metadata(parent).is_err();
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create directory `{}`", parent.display()))?;
            // Workers may race here: whichever answer lands first is safe (`false` only costs
            // a comparison).
            *lock(&self.created)
                .entry(file.area)
                .or_default()
                .entry(dir.to_owned())
                .or_insert(fresh)
        };
        if matches!(file.area, Area::Scps | Area::Rcps) {
            lock(&self.terraform).insert((file.area, file.path.clone()));
        }
        Ok((path, fresh))
    }

    /// Removes the generated Terraform files of earlier runs that this run did not write. Call
    /// it once the analysis has succeeded.
    pub fn finish(self) -> anyhow::Result<()> {
        let written = self
            .terraform
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for area in [Area::Scps, Area::Rcps] {
            let produced: BTreeSet<&str> = written
                .iter()
                .filter(|(a, _)| *a == area)
                .map(|(_, path)| path.as_str())
                .collect();
            remove_stale(&produced, self.dirs.dir(area))?;
        }
        Ok(())
    }
}

impl Sink for DiskSink<'_> {
    fn put(&self, file: OutputFile, contents: Vec<u8>) -> Result<(), SinkError> {
        let (path, fresh) = self.destination(&file).map_err(SinkError)?;
        if fresh {
            fs::write(&path, &contents)
                .with_context(|| format!("cannot write `{}`", path.display()))
                .map_err(SinkError)
        } else {
            write_if_changed(&path, &contents).map_err(SinkError)
        }
    }

    /// Streams into a temporary file beside the destination, then renames it into place: a
    /// failure never leaves a half-written file under the final name.
    fn put_written(
        &self,
        file: OutputFile,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), SinkError> {
        let (path, _) = self.destination(&file).map_err(SinkError)?;
        let name = path
            .file_name()
            .map_or_else(Default::default, |n| n.to_string_lossy());
        let temp = path.with_file_name(format!(".{name}.headroom-{}.tmp", std::process::id()));
        let written = (|| -> anyhow::Result<()> {
            // Created like `fs::write` would (mode under the umask).
            let file = fs::File::create(&temp)
                .with_context(|| format!("cannot create `{}`", temp.display()))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            write(&mut out)?;
            std::io::Write::flush(&mut out)?;
            drop(out);
            fs::rename(&temp, &path)?;
            Ok(())
        })();
        written
            .inspect_err(|_| {
                let _ = fs::remove_file(&temp);
            })
            .with_context(|| format!("cannot write `{}`", path.display()))
            .map_err(SinkError)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes `contents` to `path` unless the file already holds exactly that (a re-run rewrites
/// only what changed, and keeps the timestamps of the rest).
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
fn remove_stale(produced: &BTreeSet<&str>, dir: &Path) -> anyhow::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot list `{}`", dir.display()));
        }
    };
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
