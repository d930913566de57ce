//! The fast path of [`super::read_streaming`] for zstd snapshots: decompression on one thread,
//! parsing on the caller's, overlapped.
//!
//! The decoder thread hands over the decompressed text in chunks. The parser walks the
//! top-level object and the `accounts` map itself (keys, `:`, `,`, braces) and parses each
//! value with serde as soon as its text has arrived: a value cut off by the end of what has
//! arrived fails with an end-of-input error and is parsed again once more text is there. The
//! text before the current value is dropped as the parse goes on.
//!
//! The path follows only the layout Headroom writes (the head's fields in any order, then
//! `accounts`, then `activity` if any, then the end of the object; `activity` may also come
//! among the head's fields). On anything else it stops: [`Outcome::Declined`]
//! if it handed nothing over yet, [`Outcome::Failed`] otherwise, and the caller reads the
//! whole document the usual way for the result or the exact error.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use serde::de::DeserializeOwned;

use super::{Field, Parts, Streamed};
use crate::io::ReadError;
use crate::limits::{Guard, ReadLimits};
use crate::validate::{validate_accounts, validate_activity};
use crate::{AccountId, AccountInventory};

/// Chunks the decoder may run ahead of the parser (bounds memory, and leaves the core to
/// other work once the decoder is far enough ahead).
const CHUNKS_AHEAD: usize = 8;

/// Buffer sizes (tests use tiny ones, to cut values at every position).
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Decompressed bytes per chunk.
    chunk: usize,
    /// Parsed text kept before it is dropped from the front of the buffer.
    drop_after: usize,
}

const SIZES: Sizes = Sizes {
    chunk: 2 << 20,
    drop_after: 16 << 20,
};

/// How the pipelined read ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The text crossed a bound of the [`ReadLimits`]: the error the whole-document reader
    /// gives too (it checks the text in the same order), without decompressing it again.
    Refused(ReadError),
    /// The document was valid and everything was handed over.
    Read,
    /// Stopped before handing anything over: read the document the usual way.
    Declined,
    /// Stopped after handing something over: the document is not valid, or not in a layout
    /// this path follows; the usual reader gives the result.
    Failed,
}

/// Reads the zstd snapshot `bytes`, handing its parts to `emit` as [`super::read_streaming`]
/// does.
pub(super) fn read(bytes: &[u8], limits: &ReadLimits, emit: &mut dyn FnMut(Streamed)) -> Outcome {
    read_in(bytes, limits, emit, SIZES)
}

fn read_in(
    bytes: &[u8],
    limits: &ReadLimits,
    emit: &mut dyn FnMut(Streamed),
    sizes: Sizes,
) -> Outcome {
    let (chunks, received) = sync_channel::<Vec<u8>>(CHUNKS_AHEAD);
    let (spent, reusable) = channel::<Vec<u8>>();
    let guard = Guard::new(*limits);
    std::thread::scope(|scope| {
        let decoding = scope.spawn(move || decode(bytes, sizes.chunk, guard, &chunks, &reusable));
        let mut text = Text {
            buffer: Vec::new(),
            at: 0,
            chunks: received,
            spent,
            ended: false,
            drop_after: sizes.drop_after,
        };
        let mut emitted = false;
        let parsed = parse(&mut text, &mut |event| {
            emitted = true;
            emit(event);
        });
        // Stops the decoder if the parse stopped early.
        drop(text);
        let decoded = decoding
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match (parsed, decoded, emitted) {
            (_, Err(Stop::Refused(e)), _) => Outcome::Refused(e),
            (true, Ok(()), _) => Outcome::Read,
            (_, _, false) => Outcome::Declined,
            _ => Outcome::Failed,
        }
    })
}

/// Why the decoder stopped early.
#[derive(Debug)]
enum Stop {
    /// The compressed data is corrupt or truncated.
    Corrupt,
    /// The text crossed a bound.
    Refused(ReadError),
}

/// Decompresses `bytes` into chunks sent to the parser, reusing the chunks it sends back,
/// each checked by `guard` before it is sent. Stops early, without error, when the parser
/// hangs up.
fn decode(
    bytes: &[u8],
    size: usize,
    mut guard: Guard,
    chunks: &SyncSender<Vec<u8>>,
    reusable: &Receiver<Vec<u8>>,
) -> Result<(), Stop> {
    let mut decoder = zstd::stream::read::Decoder::with_buffer(bytes).map_err(|_| Stop::Corrupt)?;
    loop {
        let mut chunk = reusable
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(size));
        chunk.clear();
        let read = (&mut decoder)
            .take(size as u64)
            .read_to_end(&mut chunk)
            .map_err(|_| Stop::Corrupt)?;
        guard.feed(&chunk).map_err(Stop::Refused)?;
        if read == 0 || chunks.send(chunk).is_err() {
            return Ok(());
        }
    }
}

/// The decompressed text from the current position on, refilled from the decoder on demand.
struct Text {
    buffer: Vec<u8>,
    /// The current position in `buffer`; everything before it has been parsed.
    at: usize,
    chunks: Receiver<Vec<u8>>,
    spent: Sender<Vec<u8>>,
    /// The decoder has sent its last chunk.
    ended: bool,
    drop_after: usize,
}

impl Text {
    /// Appends the next chunk, first dropping parsed text once there is enough of it.
    /// `false` at the end of the text.
    fn more(&mut self) -> bool {
        if self.ended {
            return false;
        }
        let Ok(chunk) = self.chunks.recv() else {
            self.ended = true;
            return false;
        };
        if self.at >= self.drop_after {
            self.buffer.drain(..self.at);
            self.at = 0;
        }
        self.buffer.extend_from_slice(&chunk);
        let _ = self.spent.send(chunk);
        true
    }

    /// The next byte that is not JSON whitespace, without consuming it; `None` at the end.
    fn peek(&mut self) -> Option<u8> {
        loop {
            while let Some(&byte) = self.buffer.get(self.at) {
                if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                    return Some(byte);
                }
                self.at += 1;
            }
            if !self.more() {
                return None;
            }
        }
    }

    /// Consumes `byte` if it comes next (after whitespace).
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        if next {
            self.at += 1;
        }
        next
    }

    /// Parses the next value as `T` and consumes it; `None` if it is not a valid `T`.
    fn value<T: DeserializeOwned>(&mut self) -> Option<T> {
        self.peek()?;
        loop {
            let available = self.buffer.len() - self.at;
            let mut values =
                serde_json::Deserializer::from_slice(&self.buffer[self.at..]).into_iter::<T>();
            match values.next() {
                Some(Ok(value)) => {
                    self.at += values.byte_offset();
                    return Some(value);
                }
                // Cut off by the end of what has arrived. Waits for twice as much text (or the
                // end), so that a large value is not parsed again for every chunk.
                Some(Err(e)) if e.is_eof() => {
                    let mut grew = false;
                    while self.buffer.len() - self.at < 2 * available && self.more() {
                        grew = true;
                    }
                    if !grew {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }

    /// Parses the next object key as `T`. Keys are strings: unlike [`Text::value`], this
    /// refuses any other JSON value.
    fn key<T: DeserializeOwned>(&mut self) -> Option<T> {
        if self.peek()? == b'"' {
            self.value()
        } else {
            None
        }
    }
}

/// Parses the whole document from `text`, emitting the head, then each account. `false` when
/// the document is invalid or not in the layout this path follows.
fn parse(text: &mut Text, emit: &mut dyn FnMut(Streamed)) -> bool {
    if !text.eat(b'{') {
        return false;
    }
    let mut parts = Parts::default();
    loop {
        let Some(field) = text.key::<Field>() else {
            return false;
        };
        if !text.eat(b':') {
            return false;
        }
        let parsed = match field {
            Field::Format if parts.format.is_none() => text.value().map(|v| parts.format = Some(v)),
            Field::FormatVersion if parts.format_version.is_none() => {
                text.value().map(|v| parts.format_version = Some(v))
            }
            Field::Meta if parts.meta.is_none() => text.value().map(|v| parts.meta = Some(v)),
            Field::Organization if parts.organization.is_none() => {
                text.value().map(|v| parts.organization = Some(v))
            }
            Field::Policies if parts.policies.is_none() => {
                text.value().map(|v| parts.policies = Some(v))
            }
            Field::Activity if !parts.activity_seen => text.value().map(|v| {
                parts.activity = Some(v);
                parts.activity_seen = true;
            }),
            // `accounts` once the head is complete: stream it, then at most `activity`, then
            // the document must end.
            Field::Accounts if parts.is_complete() => {
                let Some(head) = parts.head() else {
                    return false;
                };
                emit(Streamed::Head(Arc::clone(&head)));
                let Some(ids) = accounts(text, emit) else {
                    return false;
                };
                if !text.eat(b'}') {
                    let late = text.eat(b',')
                        && !parts.activity_seen
                        && matches!(text.key::<Field>(), Some(Field::Activity))
                        && text.eat(b':');
                    let Some(activity) = late.then(|| text.value()).flatten() else {
                        return false;
                    };
                    parts.activity = Some(activity);
                    if !text.eat(b'}') {
                        return false;
                    }
                }
                let valid = text.peek().is_none()
                    && validate_accounts(&head.organization, &ids).is_ok()
                    && parts
                        .activity
                        .as_ref()
                        .is_none_or(|a| validate_activity(&head.organization, a).is_ok());
                if valid && let Some(activity) = parts.activity.take() {
                    emit(Streamed::Activity(Box::new(activity)));
                }
                return valid;
            }
            // A repeated field, or `accounts` before the rest of the head.
            _ => None,
        };
        if parsed.is_none() || !text.eat(b',') {
            return false;
        }
    }
}

/// Streams the `accounts` map; its value is the set of IDs seen. An account listed twice is
/// refused, as by the whole-document reader.
fn accounts(text: &mut Text, emit: &mut dyn FnMut(Streamed)) -> Option<BTreeSet<AccountId>> {
    let mut ids = BTreeSet::new();
    if !text.eat(b'{') {
        return None;
    }
    if text.eat(b'}') {
        return Some(ids);
    }
    loop {
        let id: AccountId = text.key()?;
        if !text.eat(b':') {
            return None;
        }
        let inventory: AccountInventory = text.value()?;
        if !ids.insert(id.clone()) {
            return None;
        }
        emit(Streamed::Account(id, Box::new(inventory)));
        if text.eat(b'}') {
            return Some(ids);
        }
        if !text.eat(b',') {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Compression, read, write};

    const FIXTURES: [&[u8]; 3] = [
        include_bytes!("../../../fixtures/snapshots/demo.json"),
        include_bytes!("../../../fixtures/snapshots/hostile.json"),
        include_bytes!("../../../fixtures/snapshots/frozen/v1.0.json"),
    ];

    fn zstd(json: &[u8]) -> Vec<u8> {
        zstd::encode_all(json, 3).unwrap()
    }

    /// The events as comparable text, and the outcome.
    fn events(bytes: &[u8], sizes: Sizes) -> (Outcome, Vec<String>) {
        let mut seen = Vec::new();
        let outcome = read_in(
            bytes,
            &ReadLimits::default(),
            &mut |event| {
                seen.push(match event {
                    Streamed::Head(head) => format!("{head:?}"),
                    Streamed::Account(id, inventory) => format!("{id}: {inventory:?}"),
                    Streamed::Activity(activity) => format!("{activity:?}"),
                });
            },
            sizes,
        );
        (outcome, seen)
    }

    fn tiny_sizes() -> impl Iterator<Item = Sizes> {
        [
            (1, 0),
            (2, 5),
            (3, 1 << 30),
            (7, 0),
            (64, 5),
            (1000, 1 << 10),
            (1 << 20, 1 << 30),
        ]
        .into_iter()
        .map(|(chunk, drop_after)| Sizes { chunk, drop_after })
    }

    #[test]
    fn values_cut_anywhere_read_the_same_as_the_whole_document() {
        for json in FIXTURES {
            let snapshot = read(json).unwrap();
            let mut written = Vec::new();
            write(&snapshot, &mut written, Compression::Zstd(1)).unwrap();
            // Compact and pretty text: the cuts fall in different places.
            for bytes in [written, zstd(&serde_json::to_vec(&snapshot).unwrap())] {
                let mut whole = Vec::new();
                super::super::read_json_streaming(
                    &crate::io::text(&bytes, &ReadLimits::default()).unwrap(),
                    &mut |e| {
                        whole.push(match e {
                            Streamed::Head(head) => format!("{head:?}"),
                            Streamed::Account(id, inventory) => format!("{id}: {inventory:?}"),
                            Streamed::Activity(activity) => format!("{activity:?}"),
                        });
                    },
                )
                .unwrap();
                for sizes in tiny_sizes() {
                    let (outcome, seen) = events(&bytes, sizes);
                    assert!(matches!(outcome, Outcome::Read), "{sizes:?}");
                    assert!(seen == whole, "{sizes:?}: different events");
                }
            }
        }
    }

    #[test]
    fn other_layouts_are_declined_and_bad_documents_never_read() {
        let demo = FIXTURES[0];
        let text = std::str::from_utf8(demo).unwrap();
        let value: serde_json::Value = serde_json::from_slice(demo).unwrap();
        let accounts_first = format!(
            "{{\"accounts\": {}, \"format\": {}, \"format_version\": {}, \"meta\": {}, \"organization\": {}, \"policies\": {}}}",
            value["accounts"],
            value["format"],
            value["format_version"],
            value["meta"],
            value["organization"],
            value["policies"]
        );
        for sizes in [
            SIZES,
            Sizes {
                chunk: 3,
                drop_after: 0,
            },
        ] {
            assert!(matches!(
                events(&zstd(accounts_first.as_bytes()), sizes).0,
                Outcome::Declined
            ));
            for bad in [
                String::new(),
                "[]".to_owned(),
                "{}".to_owned(),
                text.replacen("\"format\"", "\"formats\"", 1),
                text.replacen("\"accounts\": {", "\"accounts\": {\"x\": 1, ", 1),
                text.replacen("\"accounts\": {", "\"accounts\": {111111111111: {}, ", 1),
                format!("{text}{{}}"),
                text[..text.len() - 3].to_owned(),
                text.replacen("\"policies\"", "\"policies\": {}, \"policies\"", 1),
            ] {
                let (outcome, _) = events(&zstd(bad.as_bytes()), sizes);
                assert!(
                    !matches!(outcome, Outcome::Read),
                    "{sizes:?} {}",
                    &bad[..bad.len().min(80)]
                );
            }
            // Corrupt compressed data after a valid start.
            let mut corrupt = zstd(demo);
            let at = corrupt.len() - 8;
            corrupt[at] ^= 0xff;
            assert!(!matches!(events(&corrupt, sizes).0, Outcome::Read));
            let whole = zstd(demo);
            assert!(!matches!(
                events(&whole[..whole.len() - 1], sizes).0,
                Outcome::Read
            ));
        }
    }
}
