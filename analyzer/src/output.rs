//! What `analyze` produces: files by output area and relative path, plus stdout text.
//!
//! Files go to a [`Sink`] as soon as they are made, so that a large organization's ~160,000
//! reports never sit in memory all at once: the binary's sink writes them to disk, and
//! [`Collect`] gathers them into [`Outputs`] for tests and library callers.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The output tree as data: file contents by destination, and the text for stdout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Every file to write, in a fixed order.
    pub files: BTreeMap<OutputFile, Vec<u8>>,
    /// The text printed on stdout (the placement summary).
    pub stdout: String,
    /// The headline numbers (what `--fail-on` reads).
    pub totals: crate::view::Totals,
}

/// What an analysis hands back besides its files: the stdout text and the headline numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Printed {
    /// The placement summary for a person.
    pub text: String,
    /// The headline numbers.
    pub totals: crate::view::Totals,
}

/// The directory an output file belongs to; each can be moved by configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    /// `--out` itself (`summary.json`).
    Out,
    /// JSON reports (`results_dir`, default `<out>/results`).
    Results,
    /// SCP Terraform (`scps_dir`, default `<out>/scps`).
    Scps,
    /// RCP Terraform (`rcps_dir`, default `<out>/rcps`).
    Rcps,
}

/// One output file: an area and a `/`-separated path relative to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutputFile {
    /// Which directory.
    pub area: Area,
    /// The relative path, `/`-separated, never absolute and never containing `..`.
    pub path: String,
}

impl OutputFile {
    /// A file in `area` at `path`.
    pub fn new(area: Area, path: impl Into<String>) -> Self {
        Self {
            area,
            path: path.into(),
        }
    }
}

impl Outputs {
    /// Adds a file; a second file at the same place is a bug in the caller.
    pub fn insert(&mut self, file: OutputFile, contents: Vec<u8>) {
        let previous = self.files.insert(file, contents);
        debug_assert!(previous.is_none(), "two outputs at the same path");
    }
}

/// A sink that could not take a file (the disk sink's write failed).
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct SinkError(pub anyhow::Error);

/// Where `analyze` puts each file as soon as it is made.
///
/// Called from worker threads in no particular order, once per path. What a file contains never
/// depends on that order, so any sink that stores by path sees the same tree at any thread
/// count.
pub trait Sink: Sync {
    /// Takes one file.
    fn put(&self, file: OutputFile, contents: Vec<u8>) -> Result<(), SinkError>;

    /// Takes one file that `write` produces piece by piece, for files too large to hold
    /// whole (`summary.json` of a large organization). By default it is gathered in memory and
    /// [`put`](Sink::put).
    fn put_written(
        &self,
        file: OutputFile,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), SinkError> {
        let mut contents = Vec::new();
        write(&mut contents).map_err(|e| {
            SinkError(anyhow::Error::new(e).context(format!("cannot produce `{}`", file.path)))
        })?;
        self.put(file, contents)
    }
}

/// A sink that keeps every file in memory, ordered by path.
#[derive(Debug, Default)]
pub struct Collect {
    outputs: Mutex<Outputs>,
}

impl Collect {
    /// The files put so far.
    pub fn into_files(self) -> BTreeMap<OutputFile, Vec<u8>> {
        self.outputs
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .files
    }
}

impl Sink for Collect {
    fn put(&self, file: OutputFile, contents: Vec<u8>) -> Result<(), SinkError> {
        self.outputs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(file, contents);
        Ok(())
    }
}

/// A sink that keeps one file and drops every other (`analyze diff` analyzes a snapshot for
/// its `summary.json` alone).
#[derive(Debug)]
pub struct KeepOne {
    file: OutputFile,
    kept: Mutex<Option<Vec<u8>>>,
}

impl KeepOne {
    /// Keeps `file`.
    pub fn new(file: OutputFile) -> Self {
        Self {
            file,
            kept: Mutex::new(None),
        }
    }

    /// The file, if it was put.
    pub fn into_kept(self) -> Option<Vec<u8>> {
        self.kept
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Sink for KeepOne {
    fn put(&self, file: OutputFile, contents: Vec<u8>) -> Result<(), SinkError> {
        if file == self.file {
            *self
                .kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(contents);
        }
        Ok(())
    }
}

/// A file waiting in [`Held`].
type HeldFile = (OutputFile, Vec<u8>);

/// A sink that holds what it is given until [`Held::release`], then passes everything through
/// to the sink beneath. What is held is lost if it is never released.
#[derive(Debug)]
pub(crate) struct Held<'s> {
    sink: &'s dyn Sink,
    /// `Some` until released.
    held: Mutex<Option<Vec<HeldFile>>>,
}

impl std::fmt::Debug for dyn Sink + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

impl<'s> Held<'s> {
    /// Holds everything until released.
    pub(crate) fn new(sink: &'s dyn Sink) -> Self {
        Self {
            sink,
            held: Mutex::new(Some(Vec::new())),
        }
    }

    /// Hands everything held to the sink beneath (from the worker threads), and from now on
    /// passes each file straight through.
    pub(crate) fn release(&self) -> Result<(), SinkError> {
        use rayon::iter::{IntoParallelIterator as _, ParallelIterator as _};
        let held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        held.into_par_iter()
            .try_for_each(|(file, contents)| self.sink.put(file, contents))
    }
}

impl Sink for Held<'_> {
    fn put(&self, file: OutputFile, contents: Vec<u8>) -> Result<(), SinkError> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(files) = held.as_mut() {
            files.push((file, contents));
            return Ok(());
        }
        drop(held);
        self.sink.put(file, contents)
    }

    fn put_written(
        &self,
        file: OutputFile,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), SinkError> {
        let released = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none();
        if released {
            self.sink.put_written(file, write)
        } else {
            let mut contents = Vec::new();
            write(&mut contents).map_err(|e| SinkError(e.into()))?;
            self.put(file, contents)
        }
    }
}
