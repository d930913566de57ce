//! The parts of the shared configuration that `analyze` uses, resolved once.

use std::collections::{BTreeMap, BTreeSet};

use headroom_schemas::config::{Config, Limits, Strategy};
use headroom_schemas::org::{Account, Organization};
use headroom_schemas::{AccountId, ReadLimits};

use crate::AnalyzeError;

/// What the analysis depends on besides the snapshot. Output directories are not here: they
/// concern IO, not analysis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Privacy mode: account IDs are redacted from reports and report file names.
    pub exclude_account_ids: bool,
    /// Accounts that never block placement.
    pub skip_account_ids: BTreeSet<AccountId>,
    /// Take account names from a tag.
    pub use_account_name_from_tags: bool,
    /// The tag holding the account name.
    pub account_name_tag: String,
    /// Raw per-check options by check ID or alias; the check registry validates them.
    pub checks: BTreeMap<String, serde_json::Value>,
    /// AWS quotas.
    pub limits: Limits,
    /// `placement.strategy`: carve-out (default) or strict.
    pub strategy: Strategy,
    /// The management account the configuration names, if any.
    pub management_account_id: Option<AccountId>,
    /// Bounds on the snapshot read (its decompressed size, its longest string).
    pub read_limits: ReadLimits,
}

impl Settings {
    /// The settings a configuration file gives.
    pub fn from_config(config: &Config) -> Self {
        Self {
            exclude_account_ids: config.exclude_account_ids,
            skip_account_ids: config.skip_account_ids.iter().cloned().collect(),
            use_account_name_from_tags: config.use_account_name_from_tags,
            account_name_tag: config.account_tag_layout.name.clone(),
            checks: config.checks.clone(),
            limits: config.limits,
            strategy: config.placement.strategy,
            management_account_id: config.management_account_id.clone(),
            read_limits: config.snapshot_limits,
        }
    }

    /// Rejects settings that contradict the snapshot: a management account other than the
    /// organization's, or skip entries naming accounts outside the organization (an entry
    /// matching nothing means the account meant to be skipped is not the one skipped).
    pub fn validate_against(&self, org: &Organization) -> Result<(), AnalyzeError> {
        if let Some(id) = &self.management_account_id
            && *id != org.management_account_id
        {
            return Err(AnalyzeError::Settings(format!(
                "config names management account `{id}` but the snapshot's organization is managed by `{}`",
                org.management_account_id
            )));
        }
        let unknown: Vec<&str> = self
            .skip_account_ids
            .iter()
            .filter(|id| !org.accounts.contains_key(*id))
            .map(AccountId::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(AnalyzeError::Settings(format!(
                "skip_account_ids names {} account(s) not in the organization: {}",
                unknown.len(),
                unknown.join(", ")
            )));
        }
        Ok(())
    }

    /// The name reports use for `account`: the name tag when configured (falling back to the
    /// account ID, as the original tool did), else the Organizations name (or the ID if empty).
    pub fn account_name(&self, account: &Account) -> String {
        let from_tag = self
            .use_account_name_from_tags
            .then(|| account.tags.get(&self.account_name_tag))
            .flatten()
            .filter(|name| !name.is_empty());
        match from_tag {
            Some(name) => name.clone(),
            None if self.use_account_name_from_tags => account.id.to_string(),
            None if account.name.is_empty() => account.id.to_string(),
            None => account.name.clone(),
        }
    }
}
