//! Reading and writing snapshots: zstd detection, the version probe, clear errors, atomic files.
#![expect(
    clippy::disallowed_methods,
    reason = "the one module of this crate that touches files"
)]

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Snapshot;
use crate::limits::{Guard, ReadLimits, check_declared_size};
use crate::validate::{InconsistentError, validate};
use crate::version::{FormatVersion, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, VersionError};

/// The four bytes every zstd frame starts with.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Whether snapshot file bytes are zstd-compressed (by their magic bytes, never the name).
pub fn is_zstd(bytes: &[u8]) -> bool {
    bytes.starts_with(&ZSTD_MAGIC)
}

/// How to encode a snapshot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain, pretty-printed JSON.
    None,
    /// zstd-compressed JSON at the given level (1 to 22; 3 is zstd's default).
    Zstd(i32),
}

/// A snapshot that cannot be read. Every message is one line that names the problem.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read snapshot `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file starts like zstd but does not decompress.
    #[error("snapshot is not valid zstd (truncated or corrupt)")]
    Zstd(#[source] io::Error),
    /// The (decompressed) text is not JSON.
    #[error("snapshot is not valid JSON: {message} at line {line} column {column}")]
    Json {
        /// What the parser expected.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The JSON is not a Headroom snapshot.
    #[error("not a headroom snapshot: {0}")]
    NotASnapshot(String),
    /// The snapshot's version is not readable by this build.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// The JSON does not have the shape of this format version (unknown or missing field,
    /// wrong type).
    #[error("snapshot does not match format {version}: {message} at {} (line {line} column {column})",
        if path == "." { "the top level".to_owned() } else { format!("`{path}`") })]
    Shape {
        /// The version the file declared.
        version: FormatVersion,
        /// Where in the document, as a dotted path.
        path: String,
        /// What is wrong.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The parts of the snapshot contradict each other.
    #[error(transparent)]
    Inconsistent(#[from] InconsistentError),
    /// The JSON text (decompressed) is larger than [`ReadLimits::max_bytes`].
    #[error(
        "snapshot holds more than {limit} bytes of JSON text (snapshot_limits.max_bytes); raise the limit if this is a real organization"
    )]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The decompressed text does not fit in memory.
    #[error(
        "not enough memory to hold the snapshot's JSON text; lower snapshot_limits.max_bytes or free memory"
    )]
    NoMemory,
    /// A string is longer than [`ReadLimits::max_string_bytes`].
    #[error(
        "snapshot holds a string longer than {limit} bytes (snapshot_limits.max_string_bytes) at byte {offset} of its JSON text"
    )]
    StringTooLong {
        /// The limit.
        limit: u64,
        /// Where the string starts (its opening quote), in the decompressed text.
        offset: u64,
    },
}

/// A snapshot that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Writing, syncing or renaming failed.
    #[error("cannot write snapshot `{}`", path.display())]
    Io {
        /// The destination.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The part of a snapshot read before anything else, tolerant of every other field.
/// Unknown fields are ignored here on purpose: the probe must read any version's header.
#[derive(Deserialize)]
struct Probe {
    format: Option<serde_json::Value>,
    format_version: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ProbeVersion {
    major: u32,
    minor: u32,
}

/// Reads a snapshot from its file bytes: zstd (detected by magic bytes) or plain JSON, within
/// the default [`ReadLimits`].
///
/// The order of checks is: decompress (within the limits), parse as JSON, check `format` and
/// `format_version`, parse the full shape, check consistency. So a newer version reports
/// "unsupported version", never a confusing field error.
pub fn read(bytes: &[u8]) -> Result<Snapshot, ReadError> {
    read_with(bytes, &ReadLimits::default())
}

/// [`read`] within `limits`.
pub fn read_with(bytes: &[u8], limits: &ReadLimits) -> Result<Snapshot, ReadError> {
    let json = text(bytes, limits)?;
    read_json(&json)
}

/// Reads and validates the snapshot at `path`.
pub fn read_file(path: &Path) -> Result<Snapshot, ReadError> {
    let bytes = fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    read(&bytes)
}

/// The JSON text of snapshot file bytes, decompressed if they are zstd, checked against
/// `limits` in document order.
pub(crate) fn text<'b>(
    bytes: &'b [u8],
    limits: &ReadLimits,
) -> Result<std::borrow::Cow<'b, [u8]>, ReadError> {
    if is_zstd(bytes) {
        decompress(bytes, limits).map(std::borrow::Cow::Owned)
    } else {
        let mut guard = Guard::new(*limits);
        for chunk in bytes.chunks(CHUNK) {
            guard.feed(chunk)?;
        }
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// Decompressed bytes handed to the [`Guard`] at a time.
const CHUNK: usize = 1 << 20;

/// Decompresses a zstd snapshot whole, stopping at the first bound of `limits` crossed.
fn decompress(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<u8>, ReadError> {
    check_declared_size(bytes, limits)?;
    let declared = zstd::zstd_safe::get_frame_content_size(bytes)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok());
    let mut out = Vec::new();
    if let Some(n) = declared {
        out.try_reserve_exact(n).map_err(|_| ReadError::NoMemory)?;
    }
    let mut guard = Guard::new(*limits);
    let mut decoder = zstd::stream::read::Decoder::new(bytes).map_err(ReadError::Zstd)?;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match decoder.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Zstd(e)),
        };
        guard.feed(&chunk[..n])?;
        out.try_reserve(n).map_err(|_| ReadError::NoMemory)?;
        out.extend_from_slice(&chunk[..n]);
    }
}

fn json_error(e: &serde_json::Error) -> ReadError {
    ReadError::Json {
        message: strip_location(&e.to_string()),
        line: e.line(),
        column: e.column(),
    }
}

/// `serde_json` appends " at line L column C"; the error types carry those separately.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

pub(crate) fn read_json(json: &[u8]) -> Result<Snapshot, ReadError> {
    // A valid document is parsed once. Only a failure runs the probe, so that a wrong format
    // or a newer version is reported as such rather than as the field error it causes.
    let parsed = if is_object(json) {
        serde_json::from_slice::<Snapshot>(json).ok()
    } else {
        None
    };
    let snapshot = if let Some(snapshot) = parsed {
        // A newer minor without new fields parses; it is still refused.
        snapshot
            .format_version
            .check_readable_by(SNAPSHOT_FORMAT_VERSION)?;
        snapshot
    } else {
        let version = probe(json)?;
        match serde_json::from_slice(json) {
            Ok(snapshot) => snapshot,
            Err(e) => return Err(shape_error(json, version, &e)),
        }
    };
    validate(&snapshot)?;
    Ok(snapshot)
}

/// Whether the document starts as an object (serde would also fill a struct from an array).
pub(crate) fn is_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Checks that `json` is a snapshot of a version this reader accepts, and returns the version.
/// One pass over the whole document: it also finds any JSON syntax error.
pub(crate) fn probe(json: &[u8]) -> Result<FormatVersion, ReadError> {
    let probe: Probe = match serde_json::from_slice(json) {
        Ok(probe) => probe,
        Err(e) if e.is_data() => {
            return Err(ReadError::NotASnapshot(
                "the document is not a JSON object with `format` and `format_version`".into(),
            ));
        }
        Err(e) => return Err(json_error(&e)),
    };
    // serde also fills a struct from a JSON array; only an object can be a snapshot.
    if !is_object(json) {
        return Err(ReadError::NotASnapshot(
            "the document is not a JSON object with `format` and `format_version`".into(),
        ));
    }
    match probe.format {
        Some(serde_json::Value::String(ref s)) if s == SNAPSHOT_FORMAT => {}
        Some(other) => {
            return Err(ReadError::NotASnapshot(format!(
                "`format` is {other}, expected \"{SNAPSHOT_FORMAT}\""
            )));
        }
        None => {
            return Err(ReadError::NotASnapshot(
                "the `format` field is missing".into(),
            ));
        }
    }
    let Some(raw_version) = probe.format_version else {
        return Err(ReadError::NotASnapshot(
            "the `format_version` field is missing".into(),
        ));
    };
    let Ok(ProbeVersion { major, minor }) = serde_json::from_value(raw_version.clone()) else {
        return Err(ReadError::NotASnapshot(format!(
            "`format_version` is {raw_version}, expected {{\"major\": N, \"minor\": N}}"
        )));
    };
    let version = FormatVersion { major, minor };
    version.check_readable_by(SNAPSHOT_FORMAT_VERSION)?;
    Ok(version)
}

/// Re-parses a document that failed, tracking the path, to say where the problem is. Only
/// the failure path pays for path tracking.
fn shape_error(json: &[u8], version: FormatVersion, first: &serde_json::Error) -> ReadError {
    if !first.is_data() {
        return json_error(first);
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, Snapshot>(&mut de) {
        Err(e) => {
            let inner = e.inner();
            ReadError::Shape {
                version,
                path: e.path().to_string(),
                message: strip_location(&inner.to_string()),
                line: inner.line(),
                column: inner.column(),
            }
        }
        Ok(_) => ReadError::Shape {
            version,
            path: ".".into(),
            message: strip_location(&first.to_string()),
            line: first.line(),
            column: first.column(),
        },
    }
}

/// The snapshot as pretty-printed JSON with a trailing newline: the canonical text, stable
/// byte for byte for the same snapshot.
pub fn to_json(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    // Serializing these types cannot fail: every map key is a string.
    if serde_json::to_writer_pretty(&mut out, snapshot).is_ok() {
        out.push(b'\n');
    }
    out
}

/// Writes the snapshot to `out`, streaming through zstd when asked. The zstd frame is
/// finished explicitly: a dropped encoder would truncate silently.
pub fn write(snapshot: &Snapshot, out: impl Write, compression: Compression) -> io::Result<()> {
    match compression {
        Compression::None => {
            let mut out = io::BufWriter::new(out);
            serde_json::to_writer_pretty(&mut out, snapshot)?;
            out.write_all(b"\n")?;
            out.flush()
        }
        Compression::Zstd(level) => {
            let mut encoder = zstd::stream::write::Encoder::new(out, level)?;
            {
                let mut buffered = io::BufWriter::new(&mut encoder);
                serde_json::to_writer_pretty(&mut buffered, snapshot)?;
                buffered.write_all(b"\n")?;
                buffered.flush()?;
            }
            encoder.finish()?.flush()
        }
    }
}

/// Writes the snapshot to `path` atomically: a temporary file in the same directory, fsync,
/// mode 0600, rename. A crash never leaves a half-written file under `path`.
pub fn write_file(
    path: &Path,
    snapshot: &Snapshot,
    compression: Compression,
) -> Result<(), WriteError> {
    write_atomic(path, |file| write(snapshot, file, compression))
}

/// Writes any content to `path` atomically with mode 0600 (see [`write_file`]).
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> io::Result<()>,
) -> Result<(), WriteError> {
    let err = |source| WriteError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates the file with mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".headroom-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    fill(tmp.as_file_mut()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = fs::File::open(dir) {
        d.sync_all().ok();
    }
    Ok(())
}
