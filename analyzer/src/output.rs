//! What `analyze` produces: files by output area and relative path, plus stdout text.

use std::collections::BTreeMap;

/// The output tree as data: file contents by destination, and the text for stdout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Every file to write, in a fixed order.
    pub files: BTreeMap<OutputFile, Vec<u8>>,
    /// The text printed on stdout (the placement summary).
    pub stdout: String,
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
