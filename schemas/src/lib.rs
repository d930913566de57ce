//! The snapshot contract shared by `collect` and `analyze`.
//!
//! `collect` writes one [`Snapshot`] per run; `analyze` reads it. This crate owns the types,
//! the versioning rule ([`version`]), reading with a version probe and clear errors ([`read`]),
//! deterministic writing ([`to_json`], [`write_file`]), the shared configuration ([`config`])
//! and the generated JSON Schema (`snapshot.schema.json`, see [`json_schema`]).
//!
//! It depends on no AWS, async or analysis crate, and holds no SDK type.
#![warn(missing_docs)]
#![warn(
    clippy::disallowed_methods,
    reason = "schemas is pure: file IO lives in io.rs"
)]

pub mod activity;
pub mod canonical;
pub mod config;
pub mod ids;
pub mod inventory;
mod io;
pub mod limits;
pub mod org;
pub mod policies;
pub mod status;
mod stream;
mod tagged;
pub mod tags;
pub mod text;
mod unique;
mod validate;
pub mod version;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::activity::Activity;
pub use crate::ids::AccountId;
pub use crate::inventory::AccountInventory;
pub use crate::io::{
    Compression, ReadError, WriteError, is_zstd, read, read_file, read_with, to_json, write,
    write_file,
};
pub use crate::limits::ReadLimits;
pub use crate::org::Organization;
pub use crate::policies::Policies;
pub use crate::stream::{SnapshotHead, Streamed, read_streaming, read_streaming_with};
pub use crate::tags::Tags;
pub use crate::version::{
    FormatVersion, OLDEST_READABLE, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION,
};

/// One collection of an AWS Organization: its structure, its existing SCPs and RCPs, and the
/// raw inventories of every account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Always `headroom-snapshot`.
    pub format: FormatTag,
    /// The format version the file was written with.
    pub format_version: FormatVersion,
    /// How, when and by whom the snapshot was collected.
    pub meta: Meta,
    /// The organization's structure.
    pub organization: Organization,
    /// The SCPs and RCPs that exist today.
    pub policies: Policies,
    /// One entry per account of `organization.accounts`, by account ID.
    #[serde(deserialize_with = "unique_accounts")]
    pub accounts: BTreeMap<AccountId, AccountInventory>,
    /// The organization's recent activity, when `collect` read it (`--activity-days`; since
    /// 1.2, absent otherwise). Written after `accounts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<activity::Activity>,
}

/// `accounts` as a map that refuses an account listed twice (a plain map would keep the last
/// entry silently).
fn unique_accounts<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<AccountId, AccountInventory>, D::Error> {
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = BTreeMap<AccountId, AccountInventory>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of account IDs to inventories")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(id) = map.next_key::<AccountId>()? {
                let inventory: AccountInventory = map.next_value()?;
                if out.contains_key(&id) {
                    return Err(serde::de::Error::custom(format_args!(
                        "account `{id}` is listed twice"
                    )));
                }
                out.insert(id, inventory);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Unique)
}

/// The constant `format` tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum FormatTag {
    /// `headroom-snapshot`.
    #[default]
    #[serde(rename = "headroom-snapshot")]
    HeadroomSnapshot,
}

/// Facts about the collection run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// The version of `collect` that wrote the snapshot.
    pub collector_version: String,
    /// When collection started (RFC 3339, UTC). The only clock value `analyze` ever repeats.
    pub collected_at: String,
    /// The AWS partition: `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    /// Who ran `collect` (`sts:GetCallerIdentity`).
    pub caller_identity: CallerIdentity,
    /// The regions the configuration asked for, sorted; empty when every region enabled in
    /// each account was collected.
    pub regions: Vec<String>,
    /// `sha256:` and the hex SHA-256 of the configuration file `collect` ran with (of the
    /// empty string when it ran without one).
    pub config_digest: String,
    /// Where AWS offers each regional service, as `collect` knew it; a service is recorded
    /// `not_offered` in a region this says it is not offered in (since 1.1; absent in older
    /// snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_availability: Option<ServiceAvailability>,
}

/// The regions where AWS offers each regional service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAvailability {
    /// Where the lists come from.
    pub source: AvailabilitySource,
    /// Per service key of the regional inventory (`ec2`, ..., `aoss`): the regions offering
    /// it, sorted. A region listed for no service at all is unknown to the source (newer than
    /// it); `collect` then calls every service there rather than guess.
    pub services: BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// Where [`ServiceAvailability`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AvailabilitySource {
    /// AWS's public SSM parameters
    /// `/aws/service/global-infrastructure/services/<service>/regions`, read during the run.
    Ssm,
    /// The table built into `collect` (SSM could not be read).
    Builtin,
}

/// The identity `collect` started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallerIdentity {
    /// The account of the caller.
    pub account: AccountId,
    /// The caller's ARN.
    pub arn: String,
    /// The caller's unique ID.
    pub user_id: String,
}

/// The JSON Schema of [`Snapshot`], as checked in at `schemas/snapshot.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Snapshot);
    let mut text = canonical::to_string_pretty(schema.as_value());
    text.push('\n');
    text
}
