//! The only module of the analyzer that touches the disk: read the snapshot, write outputs.
//!
//! # The output transaction
//!
//! `analyze` writes four areas, each of which configuration can move: `summary.json` in
//! `--out`, the reports under `results_dir`, and the Terraform of `scps_dir` and `rcps_dir`.
//! A run either replaces the previous output as a whole or leaves it byte-identical:
//!
//! 1. **Begin** ([`Transaction::begin`]): every area directory is created if missing (each
//!    directory this run creates is recorded, and removed again if the run fails); the
//!    directories are compared by file identity (device and inode, so `tf`, `./tf`,
//!    `tf/../tf` and a symbolic link to `tf` are one directory), and overlapping areas are
//!    refused (see [`check_overlaps`]); what is already there is checked to be Headroom's
//!    (below); and each area gets a fresh staging directory with a random name, created
//!    exclusively (`mkdir` never follows or reuses an existing entry). The Terraform areas and
//!    `--out` stage inside their own directory (`.headroom-XXXXXX/`), so that each staged file
//!    is one `rename` from its place; the results area stages beside its directory
//!    (`.results.headroom-XXXXXX/`), since it is swapped whole.
//! 2. **Build**: the analysis puts every file into its area's staging directory, from the
//!    worker threads, each file created with `O_CREAT | O_EXCL` (a name that exists, a
//!    symbolic link included, is an error, never followed).
//! 3. **Verify** ([`Transaction::commit`]): every put succeeded, `summary.json` is staged,
//!    and each staging directory is still the one this run created (same identity).
//! 4. **Swap**: the results directory is replaced whole (renamed aside, the staged one renamed
//!    into place); each staged Terraform file and `summary.json` is renamed over its
//!    destination after the file there, if any, is moved into the staging directory's
//!    `.replaced/`; generated Terraform files of earlier runs that this run did not produce
//!    are moved there too. `rename` replaces a symbolic link, never writes through it.
//!    Every step is recorded; if one fails, the steps done are undone in reverse order and
//!    the previous output is back, byte for byte.
//! 5. **Clean up**: the moved-aside previous results and `.replaced/` files are deleted
//!    (`remove_dir_all` does not follow links) along with the staging directories.
//!
//! **Only Headroom's files are replaced or deleted.** A Terraform file is Headroom's when it
//! is a regular file starting with the generated-file header; `summary.json` when it is a
//! regular file starting with its `"format": "headroom-summary"` line; the results directory
//! when it holds nothing but `{scps,rcps}/<check>/*.json` regular files (the layout only
//! Headroom writes there). Anything else in the way (a hand-written `grab_org_info.tf`, a
//! symbolic link, a user's file in the results directory) refuses the run before anything is
//! touched, naming it. A user's own files beside the Terraform (`main.tf`, providers, state)
//! are never touched.
//!
//! What the transaction does not cover: a crash of the machine or a `kill -9` in the swap
//! (a few renames) can leave the previous results in `.results.headroom-old-XXXXXX/` beside
//! the new ones; and files are not fsynced (the outputs can be made again from the snapshot).
//! A re-run stages a report identical to the previous run's as a hard link to that file (read,
//! compared, never written): no inode is made or freed for it, and it keeps its timestamps.
//! Terraform files and `summary.json` are always written anew. `cargo xtask bench` measures
//! the re-run.
#![expect(
    clippy::disallowed_methods,
    reason = "the analyzer's one IO module: everything else is pure"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// The configuration name of each area, for messages.
fn area_name(area: Area) -> &'static str {
    match area {
        Area::Out => "out",
        Area::Results => "results_dir",
        Area::Scps => "scps_dir",
        Area::Rcps => "rcps_dir",
    }
}

const AREAS: [Area; 4] = [Area::Out, Area::Results, Area::Scps, Area::Rcps];

/// Reads a snapshot file's bytes (parsed by `analyze_bytes_into`), refusing a file larger
/// than `max_bytes` before reading it.
pub fn read_bytes(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let len = fs::metadata(path).map_err(io)?.len();
    if len > max_bytes {
        return Err(ReadError::TooLarge { limit: max_bytes });
    }
    fs::read(path).map_err(io)
}

/// An output layout or an existing file that makes `analyze` refuse to write (exit code 2):
/// overlapping directories, or a file in the way that Headroom did not write.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// One area of the transaction.
#[derive(Debug)]
struct Stage {
    area: Area,
    /// The area's directory, as configured.
    dest: PathBuf,
    /// Where its files are built.
    staging: PathBuf,
    /// The identity of `staging` when it was created.
    staging_id: FileId,
}

/// The sink of the binary: an output transaction (see the module documentation). Files go
/// into staging directories as `analyze` makes them; [`Transaction::commit`] swaps them into
/// place, and dropping an uncommitted transaction removes everything it made.
#[derive(Debug)]
pub struct Transaction {
    stages: Vec<Stage>,
    /// Directories this run created for the areas, outermost first.
    created: Vec<PathBuf>,
    /// The results directory of an earlier run, if there is one: a report identical to the
    /// one there is linked into staging instead of written again.
    previous_results: Option<PathBuf>,
    /// Every file put outside the results area (Terraform and `summary.json`), by area and
    /// relative path.
    files: Mutex<BTreeSet<(Area, String)>>,
    /// Directories known to exist in staging, by area.
    dirs: Mutex<BTreeSet<(Area, String)>>,
    /// A put failed: the transaction cannot commit.
    failed: AtomicBool,
    /// Committed or rolled back: nothing left to clean up on drop.
    finished: bool,
}

impl Transaction {
    /// Prepares the output directories: creates missing ones, refuses overlapping ones and
    /// ones holding files in the way that Headroom did not write ([`Refused`]), and creates
    /// the staging directories. Nothing that existed is changed.
    pub fn begin(dirs: &OutputDirs) -> anyhow::Result<Self> {
        let mut tx = Transaction {
            stages: Vec::new(),
            created: Vec::new(),
            previous_results: None,
            files: Mutex::new(BTreeSet::new()),
            dirs: Mutex::new(BTreeSet::new()),
            failed: AtomicBool::new(false),
            finished: false,
        };
        // On an error, dropping `tx` removes what it created.
        let results = dirs.dir(Area::Results);
        if fs::symlink_metadata(results).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Refused(format!(
                "results_dir `{}` is a symbolic link: analyze replaces that directory whole, so point results_dir at the directory itself",
                results.display()
            ))
            .into());
        }
        for area in AREAS {
            tx.create_dir(dirs.dir(area))?;
        }
        check_overlaps(dirs)?;
        for area in [Area::Scps, Area::Rcps] {
            check_terraform_dir(dirs.dir(area))?;
        }
        for (name, _) in OUT_FILES {
            check_out_file(&dirs.dir(Area::Out).join(name), name)?;
        }
        check_results_dir(results)?;
        if fs::read_dir(results).is_ok_and(|mut entries| entries.next().is_some()) {
            tx.previous_results = Some(results.to_owned());
        }
        for area in AREAS {
            let dest = dirs.dir(area).to_owned();
            let (parent, prefix) = if area == Area::Results {
                let name = dest
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "results".to_owned());
                let parent = parent_of(&dest)?;
                (parent, format!(".{name}.headroom-"))
            } else {
                (dest.clone(), ".headroom-".to_owned())
            };
            let mut builder = tempfile::Builder::new();
            builder.prefix(&prefix).disable_cleanup(true);
            #[cfg(unix)]
            {
                // `mkdir`'s usual mode under the umask, not tempfile's private 0700: the
                // results directory is this directory once swapped into place.
                use std::os::unix::fs::PermissionsExt as _;
                builder.permissions(fs::Permissions::from_mode(0o777));
            }
            let staging = builder
                .tempdir_in(&parent)
                .with_context(|| {
                    format!(
                        "cannot create a staging directory in `{}`",
                        parent.display()
                    )
                })?
                .keep();
            let staging_id = FileId::of(&staging)?;
            tx.stages.push(Stage {
                area,
                dest,
                staging,
                staging_id,
            });
        }
        Ok(tx)
    }

    /// Creates `dir` and its missing ancestors, recording each one created.
    fn create_dir(&mut self, dir: &Path) -> anyhow::Result<()> {
        let mut missing = Vec::new();
        let mut cursor = Some(dir);
        while let Some(path) = cursor {
            if path.as_os_str().is_empty() || fs::metadata(path).is_ok() {
                break;
            }
            missing.push(path.to_owned());
            cursor = path.parent();
        }
        for path in missing.into_iter().rev() {
            match fs::create_dir(&path) {
                Ok(()) => self.created.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot create directory `{}`", path.display()));
                }
            }
        }
        if !fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
            return Err(Refused(format!(
                "output directory `{}` is not a directory",
                dir.display()
            ))
            .into());
        }
        Ok(())
    }

    fn stage(&self, area: Area) -> Result<&Stage, SinkError> {
        self.stages
            .iter()
            .find(|s| s.area == area)
            .ok_or_else(|| SinkError(anyhow::anyhow!("no staging directory for {area:?}")))
    }

    /// The staged path of `file`, its directories created.
    fn staged_path(&self, file: &OutputFile) -> Result<PathBuf, SinkError> {
        let relative = Path::new(&file.path);
        let normal = relative.is_relative()
            && relative
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        // Only reports live in subdirectories; the other areas' files sit at the top.
        let flat = file.area == Area::Results || relative.components().count() == 1;
        if !normal || !flat || file.path.starts_with('.') {
            return Err(SinkError(anyhow::anyhow!(
                "refusing to write output outside its directory: `{}`",
                file.path
            )));
        }
        let stage = self.stage(file.area)?;
        let path = stage.staging.join(relative);
        if let Some((dir, _)) = file.path.rsplit_once('/') {
            let known = lock(&self.dirs).contains(&(file.area, dir.to_owned()));
            if !known {
                // Inside this run's own staging directory: nothing else creates entries there.
                fs::create_dir_all(stage.staging.join(dir))
                    .with_context(|| format!("cannot create directory for `{}`", file.path))
                    .map_err(SinkError)?;
                lock(&self.dirs).insert((file.area, dir.to_owned()));
            }
        }
        // Reports (nearly every file) are not listed: `create_new` already refuses a second one
        // at the same path, and the results directory is swapped whole.
        let fresh =
            file.area == Area::Results || lock(&self.files).insert((file.area, file.path.clone()));
        if !fresh {
            return Err(SinkError(anyhow::anyhow!(
                "two outputs at the same path `{}`",
                file.path
            )));
        }
        Ok(path)
    }

    fn write_new(
        &self,
        file: &OutputFile,
        contents: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), SinkError> {
        let written = self.staged_path(file).and_then(|path| {
            (|| -> std::io::Result<()> {
                // `create_new`: O_CREAT | O_EXCL, which never follows a link.
                let created = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                let mut out = std::io::BufWriter::with_capacity(64 << 10, created);
                contents(&mut out)?;
                out.flush()
            })()
            .with_context(|| format!("cannot write `{}`", path.display()))
            .map_err(SinkError)
        });
        if written.is_err() {
            self.failed.store(true, Ordering::Release);
        }
        written
    }

    /// Puts a report that is byte for byte the one of the previous run as a hard link to that
    /// file, and says whether it did. A re-run of a large organization thus allocates no
    /// inode for its unchanged reports (on some file systems creating ~170,000 files right
    /// after deleting as many costs tens of seconds, see the README), and they keep their
    /// timestamps, as they did when outputs were rewritten in place. The previous file is only
    /// read; anything but a regular file with those exact bytes is written anew instead.
    fn link_unchanged(&self, previous: &Path, file: &OutputFile, contents: &[u8]) -> bool {
        use std::io::Read as _;
        let old = previous.join(&file.path);
        // Opened without following a link, then measured and read through the handle.
        let same = open_nofollow(&old).is_ok_and(|mut handle| {
            handle
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() == contents.len() as u64)
                && {
                    let mut bytes = Vec::with_capacity(contents.len());
                    handle.read_to_end(&mut bytes).is_ok() && bytes == contents
                }
        });
        if !same {
            return false;
        }
        let Ok(staged) = self.staged_path(file) else {
            return false;
        };
        // `link` creates the new name exclusively and never follows a link at `old`: if `old`
        // was swapped for a link since it was read, the output holds that link (which the next
        // run refuses), never anything written through it.
        fs::hard_link(&old, &staged).is_ok()
    }

    /// Verifies the staged output and swaps it into place; on any failure the previous output
    /// is restored and the staged one removed.
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.verify()?;
        self.check_destinations()?;
        let mut done = Vec::new();
        let swapped = self.swap(&mut done);
        self.finished = true;
        match swapped {
            Ok(()) => {
                // The previous output, now replaced: deleting it cannot harm the new one.
                for step in &done {
                    if let Step::Swapped { old: Some(old), .. } = step {
                        remove_tree(old);
                    }
                }
                for stage in &self.stages {
                    if stage.area != Area::Results {
                        let _ = fs::remove_dir_all(&stage.staging);
                    }
                }
                Ok(())
            }
            Err(e) => {
                let undone = undo(done);
                self.remove_staging_and_created();
                match undone {
                    Ok(()) => Err(e),
                    Err(u) => Err(e.context(format!(
                        "and restoring the previous output failed too ({u:#})"
                    ))),
                }
            }
        }
    }

    fn verify(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.failed.load(Ordering::Acquire),
            "an output could not be written"
        );
        anyhow::ensure!(
            lock(&self.files).contains(&(Area::Out, crate::summary::SUMMARY_FILE.to_owned())),
            "the analysis made no `{}`",
            crate::summary::SUMMARY_FILE
        );
        for stage in &self.stages {
            let now = FileId::of(&stage.staging)?;
            anyhow::ensure!(
                now == stage.staging_id,
                "staging directory `{}` was replaced while analyze ran; nothing was changed",
                stage.staging.display()
            );
        }
        Ok(())
    }

    /// Refuses, before anything is moved, if a destination holds a file Headroom did not
    /// write.
    fn check_destinations(&self) -> anyhow::Result<()> {
        let files = lock(&self.files).clone();
        for (area, name) in &files {
            let Ok(stage) = self.stage(*area) else {
                continue;
            };
            match area {
                Area::Out => check_out_file(&stage.dest.join(name), name)?,
                Area::Scps | Area::Rcps if fs::symlink_metadata(stage.dest.join(name)).is_ok() => {
                    check_generated(&stage.dest.join(name))?;
                }
                _ => {}
            }
        }
        check_results_dir(&self.stage(Area::Results).map_err(|e| e.0)?.dest)
    }

    /// The swap itself, recording each step in `done`.
    fn swap(&self, done: &mut Vec<Step>) -> anyhow::Result<()> {
        let files = lock(&self.files).clone();
        for stage in &self.stages {
            let produced: BTreeSet<&str> = files
                .iter()
                .filter(|(a, _)| *a == stage.area)
                .map(|(_, p)| p.as_str())
                .collect();
            match stage.area {
                Area::Results => swap_dir(stage, done)?,
                Area::Out => {
                    for name in &produced {
                        check_out_file(&stage.dest.join(name), name)?;
                        place(stage, name, done)?;
                    }
                }
                Area::Scps | Area::Rcps => {
                    check_terraform_dir(&stage.dest)?;
                    for name in &produced {
                        place(stage, name, done)?;
                    }
                    for name in stale_terraform(&stage.dest, &produced)? {
                        let dest = stage.dest.join(&name);
                        let backup = backup_path(stage, &name)?;
                        fs::rename(&dest, &backup).with_context(|| {
                            format!("cannot remove stale generated file `{}`", dest.display())
                        })?;
                        done.push(Step::Removed { dest, backup });
                    }
                }
            }
        }
        Ok(())
    }

    fn remove_staging_and_created(&mut self) {
        for stage in &self.stages {
            let _ = fs::remove_dir_all(&stage.staging);
        }
        // Innermost first; `remove_dir` removes only empty directories.
        for dir in self.created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        self.finished = true;
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.finished {
            self.remove_staging_and_created();
        }
    }
}

impl Sink for Transaction {
    fn put(&self, file: OutputFile, contents: Vec<u8>) -> Result<(), SinkError> {
        if file.area == Area::Results
            && let Some(previous) = &self.previous_results
            && self.link_unchanged(previous, &file, &contents)
        {
            return Ok(());
        }
        self.write_new(&file, &mut |out| out.write_all(&contents))
    }

    fn put_written(
        &self,
        file: OutputFile,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), SinkError> {
        self.write_new(&file, write)
    }
}

/// One step of the swap, and how to undo it.
#[derive(Debug)]
enum Step {
    /// A staged file was renamed to `dest`; the file that was there is at `backup`.
    Placed {
        dest: PathBuf,
        backup: Option<PathBuf>,
    },
    /// A stale generated file was moved from `dest` to `backup`.
    Removed { dest: PathBuf, backup: PathBuf },
    /// The results directory: the previous one moved to `old`, the staged one to `dest`
    /// (from `staging`).
    Swapped {
        dest: PathBuf,
        staging: PathBuf,
        old: Option<PathBuf>,
    },
}

/// Undoes `done` in reverse order; the first failure is returned after trying the rest.
fn undo(done: Vec<Step>) -> anyhow::Result<()> {
    let mut first = None;
    for step in done.into_iter().rev() {
        let result = match step {
            Step::Placed {
                dest,
                backup: Some(backup),
            }
            | Step::Removed { dest, backup } => fs::rename(&backup, &dest)
                .with_context(|| format!("cannot restore `{}`", dest.display())),
            Step::Placed { dest, backup: None } => fs::remove_file(&dest)
                .with_context(|| format!("cannot remove `{}`", dest.display())),
            Step::Swapped { dest, staging, old } => fs::rename(&dest, &staging)
                .and_then(|()| old.map_or(Ok(()), |old| fs::rename(old, &dest)))
                .with_context(|| format!("cannot restore `{}`", dest.display())),
        };
        if let Err(e) = result {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Renames the staged `name` over `stage.dest/name`, first moving the file there (checked to
/// be Headroom's) into `.replaced/`.
fn place(stage: &Stage, name: &str, done: &mut Vec<Step>) -> anyhow::Result<()> {
    let dest = stage.dest.join(name);
    let backup = match fs::symlink_metadata(&dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot inspect `{}`", dest.display())),
        Ok(_) => {
            // Checked again here, just before the replace: the check at the start of the run
            // is what refuses early, this one what holds.
            if stage.area == Area::Out {
                check_out_file(&dest, name)?;
            } else {
                check_generated(&dest)?;
            }
            let backup = backup_path(stage, name)?;
            fs::rename(&dest, &backup)
                .with_context(|| format!("cannot replace `{}`", dest.display()))?;
            Some(backup)
        }
    };
    let moved = fs::rename(stage.staging.join(name), &dest)
        .with_context(|| format!("cannot write `{}`", dest.display()));
    if let Err(e) = moved {
        if let Some(backup) = backup {
            done.push(Step::Removed { dest, backup });
        }
        return Err(e);
    }
    done.push(Step::Placed { dest, backup });
    Ok(())
}

/// Where the file `name` replaced in `stage` is kept until the swap has succeeded.
fn backup_path(stage: &Stage, name: &str) -> anyhow::Result<PathBuf> {
    let dir = stage.staging.join(".replaced");
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create `{}`", dir.display())),
    }
    Ok(dir.join(name))
}

/// Swaps the staged results directory into place.
fn swap_dir(stage: &Stage, done: &mut Vec<Step>) -> anyhow::Result<()> {
    check_results_dir(&stage.dest)?;
    let empty = fs::read_dir(&stage.dest).is_ok_and(|mut entries| entries.next().is_none());
    let old = if empty {
        // `rename` replaces an empty directory in one step.
        None
    } else {
        let parent = parent_of(&stage.dest)?;
        let name = stage
            .staging
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let old = parent.join(format!("{name}-old"));
        fs::rename(&stage.dest, &old)
            .with_context(|| format!("cannot replace `{}`", stage.dest.display()))?;
        Some(old)
    };
    if let Err(e) = fs::rename(&stage.staging, &stage.dest) {
        if let Some(old) = &old {
            let _ = fs::rename(old, &stage.dest);
        }
        return Err(e).with_context(|| format!("cannot replace `{}`", stage.dest.display()));
    }
    #[cfg(unix)]
    if let Some(old) = &old {
        // The new directory keeps the permissions of the one it replaces.
        if let Ok(meta) = fs::metadata(old) {
            let _ = fs::set_permissions(&stage.dest, meta.permissions());
        }
    }
    done.push(Step::Swapped {
        dest: stage.dest.clone(),
        staging: stage.staging.clone(),
        old,
    });
    Ok(())
}

/// Deletes the previous results tree (~170,000 files for a large organization), one check
/// directory per worker; `remove_dir_all` never follows a link. Best effort: what cannot be
/// deleted stays beside the output under its `.results.headroom-*-old` name.
fn remove_tree(old: &Path) {
    use rayon::iter::{IntoParallelIterator as _, ParallelIterator as _};
    let checks: Vec<PathBuf> = ["scps", "rcps"]
        .iter()
        .filter_map(|kind| fs::read_dir(old.join(kind)).ok())
        .flat_map(|entries| entries.filter_map(Result::ok).map(|e| e.path()))
        .collect();
    checks.into_par_iter().for_each(|dir| {
        let _ = fs::remove_dir_all(dir);
    });
    let _ = fs::remove_dir_all(old);
}

/// The parent directory of `dir` (`.` for a bare name).
fn parent_of(dir: &Path) -> anyhow::Result<PathBuf> {
    let absolute = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", dir.display()))?;
    absolute
        .parent()
        .map(Path::to_owned)
        .with_context(|| format!("`{}` has no parent directory", dir.display()))
}

/// A directory's identity: device and inode where the platform has them, else its canonical
/// path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FileId {
    #[cfg(unix)]
    id: (u64, u64),
    #[cfg(not(unix))]
    id: PathBuf,
}

impl FileId {
    fn of(path: &Path) -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let meta = fs::metadata(path)
                .with_context(|| format!("cannot inspect `{}`", path.display()))?;
            Ok(Self {
                id: (meta.dev(), meta.ino()),
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {
                id: path
                    .canonicalize()
                    .with_context(|| format!("cannot resolve `{}`", path.display()))?,
            })
        }
    }

    /// The identities of `dir` and of every directory above it.
    fn with_ancestors(dir: &Path) -> anyhow::Result<Vec<Self>> {
        let absolute = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve `{}`", dir.display()))?;
        absolute.ancestors().map(Self::of).collect()
    }
}

/// Refuses layouts where two areas would touch the same files, comparing directories by
/// identity (whatever the spelling): the SCP and RCP Terraform in one directory (each is a
/// Terraform configuration of its own, with its own `grab_org_info.tf`), or any other area's
/// directory equal to or inside the results directory (which is replaced whole). Everything
/// else may nest: the default layout keeps every area under `--out`.
fn check_overlaps(dirs: &OutputDirs) -> anyhow::Result<()> {
    let ids = AREAS
        .iter()
        .map(|area| Ok((*area, FileId::with_ancestors(dirs.dir(*area))?)))
        .collect::<anyhow::Result<BTreeMap<Area, Vec<FileId>>>>()?;
    let shown = |area: Area| format!("{} `{}`", area_name(area), dirs.dir(area).display());
    if ids[&Area::Scps][0] == ids[&Area::Rcps][0] {
        return Err(Refused(format!(
            "{} and {} are the same directory: each holds its own Terraform configuration (with its own grab_org_info.tf), so they must differ",
            shown(Area::Scps),
            shown(Area::Rcps)
        ))
        .into());
    }
    let results = &ids[&Area::Results][0];
    for area in [Area::Out, Area::Scps, Area::Rcps] {
        let chain = &ids[&area];
        if chain[0] == *results {
            return Err(Refused(format!(
                "{} and {} are the same directory: analyze replaces the results directory whole, so it must hold nothing else",
                shown(Area::Results),
                shown(area)
            ))
            .into());
        }
        if chain[1..].contains(results) {
            return Err(Refused(format!(
                "{} is inside {}: analyze replaces the results directory whole, so it must hold nothing else",
                shown(area),
                shown(Area::Results)
            ))
            .into());
        }
    }
    Ok(())
}

/// The generated-file header line every Terraform file of Headroom's starts with.
fn generated_header() -> String {
    format!("{}\n", crate::render::GENERATED_HEADER)
}

/// What `summary.json` starts with.
const SUMMARY_START: &str = "{\n  \"format\": \"headroom-summary\"";

/// The files `analyze` writes into `--out` itself, each with what it starts with: a file of
/// that name there that starts otherwise is not Headroom's and is never replaced.
const OUT_FILES: [(&str, &str); 3] = [
    (crate::summary::SUMMARY_FILE, SUMMARY_START),
    (crate::markdown::SUMMARY_MD_FILE, crate::markdown::HEADER),
    (crate::html::REPORT_HTML_FILE, crate::html::HEADER),
];

/// Whether the regular file at `path` starts with `prefix`; never follows a link.
fn starts_with(path: &Path, prefix: &[u8]) -> anyhow::Result<bool> {
    use std::io::Read as _;
    let meta = fs::symlink_metadata(path)
        .with_context(|| format!("cannot inspect `{}`", path.display()))?;
    if !meta.file_type().is_file() {
        return Ok(false);
    }
    let file = open_nofollow(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut head = Vec::with_capacity(prefix.len());
    file.take(prefix.len() as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(head == prefix)
}

/// Opens `path` for reading; on Unix a link there is an error (`O_NOFOLLOW`).
fn open_nofollow(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed());
    }
    options.open(path)
}

fn kind_of(path: &Path) -> &'static str {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => "a symbolic link",
        Ok(m) if m.is_dir() => "a directory",
        Ok(m) if m.is_file() => "a file",
        _ => "not a regular file",
    }
}

/// Refuses unless the file at `path` is a generated Terraform file (regular, with the header).
fn check_generated(path: &Path) -> anyhow::Result<()> {
    if starts_with(path, generated_header().as_bytes())? {
        return Ok(());
    }
    Err(Refused(format!(
        "refusing to replace `{}`: it is {} that Headroom did not write (no generated-file header); move it away or choose another directory",
        path.display(),
        kind_of(path)
    ))
    .into())
}

/// Refuses a file of `--out` (`summary.json`, `summary.md`, `report.html`) that is there but
/// not Headroom's; a name `analyze` does not write there is a bug, refused too.
fn check_out_file(path: &Path, name: &str) -> anyhow::Result<()> {
    let start = OUT_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, start)| *start)
        .with_context(|| format!("analyze does not write `{name}` into --out"))?;
    if fs::symlink_metadata(path).is_err() || starts_with(path, start.as_bytes())? {
        return Ok(());
    }
    Err(Refused(format!(
        "refusing to replace `{}`: it is {} that Headroom did not write; move it away or choose another --out",
        path.display(),
        kind_of(path)
    ))
    .into())
}

/// Refuses a Terraform directory where a file this run could write exists and is not
/// Headroom's. The names this run writes are not known yet: every `*.tf` that starts like a
/// Headroom file name is checked when it is replaced; here, the one name every run writes.
fn check_terraform_dir(dir: &Path) -> anyhow::Result<()> {
    let org_info = dir.join(crate::render::ORG_INFO_FILE);
    if fs::symlink_metadata(&org_info).is_ok() {
        check_generated(&org_info)?;
    }
    Ok(())
}

/// The generated Terraform files directly in `dir` that this run did not produce: regular
/// `*.tf` files starting with the header. Anything else is never touched.
fn stale_terraform(dir: &Path, produced: &BTreeSet<&str>) -> anyhow::Result<Vec<String>> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list `{}`", dir.display()))?;
    let header = generated_header();
    let mut stale = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_tf = Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tf"));
        if !is_tf || produced.contains(name) || name.starts_with('.') {
            continue;
        }
        // Not following links: a symlink is never ours.
        if entry.file_type().is_ok_and(|t| t.is_file())
            && starts_with(&entry.path(), header.as_bytes())?
        {
            stale.push(name.to_owned());
        }
    }
    stale.sort();
    Ok(stale)
}

/// Refuses a results directory holding anything but an earlier run's reports
/// (`{scps,rcps}/<check>/*.json` regular files): it is replaced whole.
fn check_results_dir(dir: &Path) -> anyhow::Result<()> {
    let refuse = |path: &Path| -> anyhow::Error {
        Refused(format!(
            "refusing to replace results_dir `{}`: `{}` is {} that Headroom did not write there; move it away or choose another results_dir",
            dir.display(),
            path.display(),
            kind_of(path)
        ))
        .into()
    };
    let list = |dir: &Path| -> anyhow::Result<Vec<fs::DirEntry>> {
        match fs::read_dir(dir) {
            Ok(entries) => entries
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("cannot list `{}`", dir.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("cannot list `{}`", dir.display())),
        }
    };
    let is_dir = |e: &fs::DirEntry| e.file_type().is_ok_and(|t| t.is_dir());
    for kind in list(dir)? {
        let name = kind.file_name();
        if !matches!(name.to_str(), Some("scps" | "rcps")) || !is_dir(&kind) {
            return Err(refuse(&kind.path()));
        }
        for check in list(&kind.path())? {
            let plain = check.file_name().to_str().is_some_and(|n| {
                n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            });
            if !plain || !is_dir(&check) {
                return Err(refuse(&check.path()));
            }
            for report in list(&check.path())? {
                let json = report.file_name().to_str().is_some_and(|n| {
                    !n.starts_with('.') && Path::new(n).extension().is_some_and(|e| e == "json")
                });
                if !json || !report.file_type().is_ok_and(|t| t.is_file()) {
                    return Err(refuse(&report.path()));
                }
            }
        }
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Copies the file at `path` to `out` (`--format json` prints `summary.json` this way, without
/// holding it whole).
pub fn copy_file(path: &Path, out: &mut dyn std::io::Write) -> std::io::Result<u64> {
    let mut file = fs::File::open(path)?;
    std::io::copy(&mut file, out)
}

/// Whether `path` is a directory (following links, as a user naming it expects).
pub fn is_dir(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path.strip_prefix(root).unwrap().to_owned();
                if path.is_dir() {
                    out.insert(rel, Vec::new());
                    stack.push(path);
                } else {
                    out.insert(rel, fs::read(&path).unwrap());
                }
            }
        }
        out
    }

    fn run(dirs: &OutputDirs, version: &str) -> Transaction {
        let tx = Transaction::begin(dirs).unwrap();
        let header = generated_header();
        tx.put(
            OutputFile::new(Area::Out, "summary.json"),
            format!("{SUMMARY_START},\n  \"v\": \"{version}\"\n}}\n").into_bytes(),
        )
        .unwrap();
        tx.put(
            OutputFile::new(Area::Results, format!("scps/deny_x/a_{version}.json")),
            version.as_bytes().to_vec(),
        )
        .unwrap();
        for area in [Area::Scps, Area::Rcps] {
            for name in ["grab_org_info.tf", &format!("t_{version}.tf")] {
                tx.put(
                    OutputFile::new(area, name),
                    format!("{header}# {version}\n").into_bytes(),
                )
                .unwrap();
            }
        }
        tx
    }

    #[test]
    fn a_failure_in_the_middle_of_the_swap_restores_the_previous_output() {
        let root = tempfile::tempdir().unwrap();
        let dirs = OutputDirs::new(&root.path().join("out"), None, None, None);
        run(&dirs, "one").commit().unwrap();
        let before = tree(root.path());
        assert!(before.contains_key(Path::new("out/scps/t_one.tf")));
        let tx = run(&dirs, "two");
        // The last step of the swap fails: every earlier step must be undone.
        let rcps = tx.stage(Area::Rcps).unwrap().staging.clone();
        fs::remove_file(rcps.join("t_two.tf")).unwrap();
        let err = tx.commit().unwrap_err();
        assert!(format!("{err:#}").contains("t_two.tf"), "{err:#}");
        assert_eq!(tree(root.path()), before);
        // And a run that goes through replaces everything, stale files included.
        run(&dirs, "three").commit().unwrap();
        let after = tree(root.path());
        assert!(after.contains_key(Path::new("out/rcps/t_three.tf")));
        assert!(!after.contains_key(Path::new("out/rcps/t_one.tf")));
        assert!(!after.contains_key(Path::new("out/results/scps/deny_x/a_one.json")));
        assert!(
            after
                .keys()
                .all(|p| !p.to_string_lossy().contains(".headroom-")),
            "{:?}",
            after.keys()
        );
    }

    #[test]
    fn unchanged_reports_are_linked_to_the_previous_ones() {
        use std::os::unix::fs::MetadataExt as _;
        let root = tempfile::tempdir().unwrap();
        let dirs = OutputDirs::new(&root.path().join("out"), None, None, None);
        let report = |tx: &Transaction, name: &str, text: &str| {
            tx.put(
                OutputFile::new(Area::Results, format!("scps/deny_x/{name}")),
                text.as_bytes().to_vec(),
            )
            .unwrap();
        };
        let summary = format!("{SUMMARY_START}\n}}\n").into_bytes();
        let tx = Transaction::begin(&dirs).unwrap();
        tx.put(OutputFile::new(Area::Out, "summary.json"), summary.clone())
            .unwrap();
        report(&tx, "same.json", "same");
        report(&tx, "changed.json", "one");
        tx.commit().unwrap();
        let results = root.path().join("out/results/scps/deny_x");
        let inode = |name: &str| fs::metadata(results.join(name)).unwrap().ino();
        let (same, changed) = (inode("same.json"), inode("changed.json"));
        let tx = Transaction::begin(&dirs).unwrap();
        tx.put(OutputFile::new(Area::Out, "summary.json"), summary)
            .unwrap();
        report(&tx, "same.json", "same");
        report(&tx, "changed.json", "two");
        tx.commit().unwrap();
        assert_eq!(inode("same.json"), same);
        assert_ne!(inode("changed.json"), changed);
        assert_eq!(fs::read(results.join("changed.json")).unwrap(), b"two");
        assert_eq!(fs::metadata(results.join("same.json")).unwrap().nlink(), 1);
    }

    #[test]
    fn a_staging_directory_swapped_during_the_run_stops_the_commit() {
        let root = tempfile::tempdir().unwrap();
        let dirs = OutputDirs::new(&root.path().join("out"), None, None, None);
        let tx = run(&dirs, "one");
        let staging = tx.stage(Area::Scps).unwrap().staging.clone();
        // Someone else's directory under the same name: its content must never be swapped in.
        fs::rename(&staging, root.path().join("moved")).unwrap();
        fs::create_dir(&staging).unwrap();
        fs::write(staging.join("t_one.tf"), "planted").unwrap();
        let err = tx.commit().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "staging directory `{}` was replaced while analyze ran; nothing was changed",
                staging.display()
            )
        );
        assert!(!root.path().join("out/scps/t_one.tf").exists());
    }

    #[test]
    fn an_abandoned_transaction_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let dirs = OutputDirs::new(&root.path().join("a/b/out"), None, None, None);
        drop(run(&dirs, "one"));
        assert!(tree(root.path()).is_empty());
    }
}
