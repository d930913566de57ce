//! Bounds on what a snapshot reader accepts: the size of the JSON text (after decompression)
//! and of any single string in it.
//!
//! A zstd file can expand a thousandfold and more (1.3 MB of zstd can hold 40 GiB of text),
//! and serde allocates every string whole, so without bounds a small hostile file makes
//! `analyze` decompress for minutes or abort on a failed allocation. Both readers (the
//! whole-document one and the streaming one) feed the text through one [`Guard`], chunk by
//! chunk in document order, so they stop at the same place with the same one-line error. See
//! `documentation/SNAPSHOT_FORMAT.md` for why the defaults are what they are.

use serde::{Deserialize, Serialize};

use crate::io::ReadError;

/// The bounds a snapshot reader enforces (configuration key `snapshot_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadLimits {
    /// The most bytes of JSON text a snapshot may hold once decompressed.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// The most bytes any one JSON string may hold, as written (escapes counted as written).
    #[serde(default = "default_max_string_bytes")]
    pub max_string_bytes: u64,
}

/// 64 GiB: some twenty times the text of an organization of 50,000 accounts (AWS's largest)
/// with a hundred resources each (0.55 GiB per 10,000 such accounts).
const fn default_max_bytes() -> u64 {
    64 << 30
}

/// 16 MiB: the longest strings of a snapshot are policy documents, which AWS caps at 20 KB
/// (S3 bucket policies) to 32 KB (KMS key policies).
const fn default_max_string_bytes() -> u64 {
    16 << 20
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_bytes: default_max_bytes(),
            max_string_bytes: default_max_string_bytes(),
        }
    }
}

/// Watches the JSON text go by, chunk by chunk, and stops it at the first bound it crosses.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    limits: ReadLimits,
    /// Bytes seen so far.
    seen: u64,
    /// Inside a string: where it started (the byte after its quote).
    string_start: Option<u64>,
    /// The previous byte inside a string was a backslash.
    escaped: bool,
}

impl Guard {
    pub(crate) fn new(limits: ReadLimits) -> Self {
        Self {
            limits,
            seen: 0,
            string_start: None,
            escaped: false,
        }
    }

    /// Takes the next chunk of text; an error at the first bound crossed.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<(), ReadError> {
        let offset = self.seen;
        self.seen += chunk.len() as u64;
        if self.seen > self.limits.max_bytes {
            return Err(ReadError::TooLarge {
                limit: self.limits.max_bytes,
            });
        }
        let mut at = 0;
        while at < chunk.len() {
            if let Some(start) = self.string_start {
                if self.escaped {
                    self.escaped = false;
                    at += 1;
                    continue;
                }
                if let Some(i) = memchr::memchr2(b'"', b'\\', &chunk[at..]) {
                    at += i;
                    if chunk[at] == b'\\' {
                        self.escaped = true;
                    } else {
                        self.check_string(start, offset + at as u64)?;
                        self.string_start = None;
                    }
                    at += 1;
                } else {
                    self.check_string(start, offset + chunk.len() as u64)?;
                    at = chunk.len();
                }
            } else if let Some(i) = memchr::memchr(b'"', &chunk[at..]) {
                at += i + 1;
                self.string_start = Some(offset + at as u64);
            } else {
                at = chunk.len();
            }
        }
        Ok(())
    }

    /// Fails if the string that started at `start` is already longer than allowed at `now`.
    fn check_string(&self, start: u64, now: u64) -> Result<(), ReadError> {
        if now - start > self.limits.max_string_bytes {
            return Err(ReadError::StringTooLong {
                limit: self.limits.max_string_bytes,
                offset: start.saturating_sub(1),
            });
        }
        Ok(())
    }
}

/// Fails early when a zstd frame declares more content than the limit allows.
pub(crate) fn check_declared_size(bytes: &[u8], limits: &ReadLimits) -> Result<(), ReadError> {
    if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(bytes)
        && size > limits.max_bytes
    {
        return Err(ReadError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(limits: ReadLimits, chunks: &[&[u8]]) -> Result<(), String> {
        let mut guard = Guard::new(limits);
        for chunk in chunks {
            guard.feed(chunk).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    const SMALL: ReadLimits = ReadLimits {
        max_bytes: 100,
        max_string_bytes: 5,
    };

    #[test]
    fn strings_are_measured_across_chunks_and_escapes() {
        assert!(run(SMALL, &[br#"{"abcde": "12345"}"#]).is_ok());
        assert!(run(SMALL, &[br#"{"a\"\\": 1}"#]).is_ok());
        // Cut anywhere, the same answer.
        let long = br#"{"ok": "12\"456"}"#;
        for cut in 0..long.len() {
            let err = run(SMALL, &[&long[..cut], &long[cut..]]).unwrap_err();
            assert_eq!(
                err,
                "snapshot holds a string longer than 5 bytes (snapshot_limits.max_string_bytes) at byte 7 of its JSON text",
                "{cut}"
            );
        }
        // An escaped quote does not end the string; an escaped backslash does not escape it.
        assert!(run(SMALL, &[br#"["\\", "\\\\", "\""]"#]).is_ok());
    }

    #[test]
    fn the_text_is_bounded() {
        let err = run(SMALL, &[&[b' '; 60], &[b' '; 41]]).unwrap_err();
        assert_eq!(
            err,
            "snapshot holds more than 100 bytes of JSON text (snapshot_limits.max_bytes); raise the limit if this is a real organization"
        );
    }

    #[test]
    fn a_declared_frame_size_is_checked_before_decompressing() {
        let bomb = zstd::bulk::compress(&[b' '; 1000], 19).unwrap();
        assert!(matches!(
            check_declared_size(&bomb, &SMALL),
            Err(ReadError::TooLarge { limit: 100 })
        ));
    }
}
