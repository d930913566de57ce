//! Reading a snapshot account by account, so that a reader can work on the first inventories
//! while the parser is still reading the rest.
//!
//! [`read_streaming`] accepts exactly the documents [`crate::read`] accepts and fails exactly
//! when it fails, with the same error: on any problem it stops and lets the whole-document
//! reader produce the error. The difference is only in delivery: instead of one [`Snapshot`], a
//! [`Streamed::Head`] (everything but the inventories and the activity), then one
//! [`Streamed::Account`] per inventory, in document order, and last, if the snapshot has one,
//! [`Streamed::Activity`]. A consumer must not act on what it was handed until
//! `read_streaming` has returned `Ok`: only then is the whole document known to be valid.
//!
//! It is hand-written where `serde_json` alone would read the whole document first: what that
//! costs `analyze`, measured, is in the analyzer's `pipeline.rs`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};

use crate::io::{ReadError, is_object, is_zstd, read_json, text};
use crate::limits::{ReadLimits, check_declared_size};

mod pipelined;
use crate::activity::Activity;
use crate::policies::Policies;
use crate::validate::{validate_accounts, validate_activity, validate_head};
use crate::version::{FormatVersion, SNAPSHOT_FORMAT_VERSION};
use crate::{AccountId, AccountInventory, FormatTag, Meta, Organization, Snapshot};

/// Everything in a snapshot but the account inventories and the activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHead {
    /// The format version the file was written with.
    pub format_version: FormatVersion,
    /// How, when and by whom the snapshot was collected.
    pub meta: Meta,
    /// The organization's structure.
    pub organization: Organization,
    /// The SCPs and RCPs that exist today.
    pub policies: Policies,
}

impl SnapshotHead {
    /// A snapshot of this head without inventories (`accounts` empty) and without activity,
    /// for code that reads only the organization, the policies and the metadata.
    pub fn into_snapshot_without_inventories(self) -> Snapshot {
        Snapshot {
            format: FormatTag::HeadroomSnapshot,
            format_version: self.format_version,
            meta: self.meta,
            organization: self.organization,
            policies: self.policies,
            accounts: std::collections::BTreeMap::new(),
            activity: None,
        }
    }
}

/// What [`read_streaming`] hands over, in this order: the head once, then every inventory,
/// then the activity (once, and only if the snapshot has an `activity` section).
#[derive(Debug)]
pub enum Streamed {
    /// Everything but the inventories and the activity, shared with whoever works on them.
    Head(Arc<SnapshotHead>),
    /// One account's inventory.
    Account(AccountId, Box<AccountInventory>),
    /// The `activity` section (since 1.2), after the last inventory wherever the document
    /// puts it.
    Activity(Box<Activity>),
}

/// Reads a snapshot (zstd or plain JSON, detected by content) and hands its parts to `emit` as
/// they are parsed: [`Streamed::Head`] first, then each account, then the activity if any.
/// Snapshots written by Headroom put `accounts` after the head (and only `activity` after
/// it), so the head comes before the first inventory is parsed; a document that puts
/// `accounts` earlier is read whole first, with the same result.
///
/// Returns `Ok` only if [`crate::read`] would accept the document, and otherwise the error it
/// would give. Whatever was emitted before an error must be thrown away.
///
/// A zstd snapshot in the layout Headroom writes (`accounts` after the rest) is decompressed
/// on a thread of its own while this one parses: each part is parsed as soon as its text has
/// arrived, and the text already parsed is let go, so the decompressed document is never held
/// whole. Any other layout, and any error, is read from a whole decompression as before.
pub fn read_streaming(bytes: &[u8], emit: &mut dyn FnMut(Streamed)) -> Result<(), ReadError> {
    read_streaming_with(bytes, &ReadLimits::default(), emit)
}

/// [`read_streaming`] within `limits`: the text is checked in document order as it is
/// decompressed, so this stops where [`crate::read_with`] stops, with the same error.
pub fn read_streaming_with(
    bytes: &[u8],
    limits: &ReadLimits,
    emit: &mut dyn FnMut(Streamed),
) -> Result<(), ReadError> {
    if !is_zstd(bytes) {
        let json = text(bytes, limits)?;
        return read_json_streaming(&json, emit);
    }
    check_declared_size(bytes, limits)?;
    match pipelined::read(bytes, limits, emit) {
        pipelined::Outcome::Read => Ok(()),
        pipelined::Outcome::Refused(e) => Err(e),
        // Nothing was handed over yet: the whole-document path reads any layout.
        pipelined::Outcome::Declined => {
            let json = text(bytes, limits)?;
            read_json_streaming(&json, emit)
        }
        pipelined::Outcome::Failed => Err(match text(bytes, limits) {
            Err(e) => e,
            Ok(json) => whole_document_error(&json),
        }),
    }
}

fn read_json_streaming(json: &[u8], emit: &mut dyn FnMut(Streamed)) -> Result<(), ReadError> {
    // No probe first: on any failure below, `read_json` probes and names the error.
    if !is_object(json) {
        return Err(whole_document_error(json));
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let streamed = de::Deserializer::deserialize_map(&mut de, Top { emit })
        .and_then(|complete| de.end().map(|()| complete));
    match streamed {
        Ok(true) => Ok(()),
        // Any failure: the whole-document reader names it exactly as `read` would.
        Ok(false) | Err(_) => Err(whole_document_error(json)),
    }
}

/// The error `read` gives for a document the streaming reader refused.
fn whole_document_error(json: &[u8]) -> ReadError {
    match read_json(json) {
        Err(e) => e,
        Ok(_) => ReadError::NotASnapshot(
            "the streaming reader refused a document the whole-document reader accepts".into(),
        ),
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Format,
    FormatVersion,
    Meta,
    Organization,
    Policies,
    Accounts,
    Activity,
}

/// The top-level object. Its value is whether the document was valid and fully emitted; a
/// consistency failure is `false` (the caller asks the whole-document reader for the error).
struct Top<'e> {
    emit: &'e mut dyn FnMut(Streamed),
}

/// The head's parts as they are found.
#[derive(Default)]
struct Parts {
    format: Option<FormatTag>,
    format_version: Option<FormatVersion>,
    meta: Option<Meta>,
    organization: Option<Organization>,
    policies: Option<Policies>,
    /// `activity`, wherever it comes; handed over after the accounts.
    activity: Option<Activity>,
    /// Whether `activity` was seen (it is taken once the accounts are done).
    activity_seen: bool,
}

impl Parts {
    fn is_complete(&self) -> bool {
        self.format.is_some()
            && self.format_version.is_some()
            && self.meta.is_some()
            && self.organization.is_some()
            && self.policies.is_some()
    }

    /// The head, if every part was found and the organization and policies are consistent.
    fn head(&mut self) -> Option<Arc<SnapshotHead>> {
        let head = SnapshotHead {
            format_version: self.format_version.take()?,
            meta: self.meta.take()?,
            organization: self.organization.take()?,
            policies: self.policies.take()?,
        };
        self.format.take()?;
        head.format_version
            .check_readable_by(SNAPSHOT_FORMAT_VERSION)
            .ok()?;
        validate_head(&head.organization, &head.policies).ok()?;
        Some(Arc::new(head))
    }
}

fn duplicate<E: de::Error>(field: &'static str) -> E {
    de::Error::duplicate_field(field)
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a headroom snapshot")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let emit = self.emit;
        let mut parts = Parts::default();
        let mut head: Option<Arc<SnapshotHead>> = None;
        // Account IDs streamed so far, or the inventories read before the head was complete.
        let mut streamed: Option<BTreeSet<AccountId>> = None;
        let mut buffered: Option<std::collections::BTreeMap<AccountId, AccountInventory>> = None;
        while let Some(field) = map.next_key::<Field>()? {
            // After the head is taken, a repeated head field is a duplicate too.
            let taken = head.is_some();
            match field {
                Field::Format if parts.format.is_none() && !taken => {
                    parts.format = Some(map.next_value()?);
                }
                Field::FormatVersion if parts.format_version.is_none() && !taken => {
                    parts.format_version = Some(map.next_value()?);
                }
                Field::Meta if parts.meta.is_none() && !taken => {
                    parts.meta = Some(map.next_value()?);
                }
                Field::Organization if parts.organization.is_none() && !taken => {
                    parts.organization = Some(map.next_value()?);
                }
                Field::Policies if parts.policies.is_none() && !taken => {
                    parts.policies = Some(map.next_value()?);
                }
                Field::Activity if !parts.activity_seen => {
                    parts.activity = Some(map.next_value()?);
                    parts.activity_seen = true;
                }
                Field::Accounts if streamed.is_none() && buffered.is_none() => {
                    if parts.is_complete() {
                        let Some(h) = parts.head() else {
                            return Ok(false);
                        };
                        emit(Streamed::Head(Arc::clone(&h)));
                        head = Some(h);
                        streamed = Some(map.next_value_seed(Accounts { emit: &mut *emit })?);
                    } else {
                        buffered = Some(map.next_value_seed(Buffer)?);
                    }
                }
                Field::Format => return Err(duplicate("format")),
                Field::FormatVersion => return Err(duplicate("format_version")),
                Field::Meta => return Err(duplicate("meta")),
                Field::Organization => return Err(duplicate("organization")),
                Field::Policies => return Err(duplicate("policies")),
                Field::Accounts => return Err(duplicate("accounts")),
                Field::Activity => return Err(duplicate("activity")),
            }
        }
        let activity = parts.activity.take();
        if let Some(buffered) = buffered {
            let Some(h) = parts.head() else {
                return Ok(false);
            };
            if validate_accounts(&h.organization, buffered.keys()).is_err()
                || activity
                    .as_ref()
                    .is_some_and(|a| validate_activity(&h.organization, a).is_err())
            {
                return Ok(false);
            }
            emit(Streamed::Head(h));
            for (id, inventory) in buffered {
                emit(Streamed::Account(id, Box::new(inventory)));
            }
            if let Some(activity) = activity {
                emit(Streamed::Activity(Box::new(activity)));
            }
            return Ok(true);
        }
        match (head, streamed) {
            (Some(h), Some(ids)) => {
                if validate_accounts(&h.organization, &ids).is_err()
                    || activity
                        .as_ref()
                        .is_some_and(|a| validate_activity(&h.organization, a).is_err())
                {
                    return Ok(false);
                }
                if let Some(activity) = activity {
                    emit(Streamed::Activity(Box::new(activity)));
                }
                Ok(true)
            }
            // A missing field: the whole-document reader names it.
            _ => Ok(false),
        }
    }
}

/// The `accounts` map, emitting each inventory as soon as it is parsed; its value is the set
/// of IDs seen. An account listed twice is an error, as in [`Snapshot`].
struct Accounts<'e> {
    emit: &'e mut dyn FnMut(Streamed),
}

impl<'de> DeserializeSeed<'de> for Accounts<'_> {
    type Value = BTreeSet<AccountId>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Accounts<'_> {
    type Value = BTreeSet<AccountId>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of account IDs to inventories")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ids = BTreeSet::new();
        while let Some(id) = map.next_key::<AccountId>()? {
            let inventory: AccountInventory = map.next_value()?;
            if !ids.insert(id.clone()) {
                return Err(de::Error::custom(format_args!(
                    "account `{id}` is listed twice"
                )));
            }
            (self.emit)(Streamed::Account(id, Box::new(inventory)));
        }
        Ok(ids)
    }
}

/// The `accounts` map read whole, when it comes before the rest of the head.
struct Buffer;

impl<'de> DeserializeSeed<'de> for Buffer {
    type Value = std::collections::BTreeMap<AccountId, AccountInventory>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        crate::unique_accounts(deserializer)
    }
}
