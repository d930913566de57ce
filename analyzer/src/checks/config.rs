//! The `checks` section of the configuration: every key names a check or an alias, a check is
//! configured once, `enabled` and `require_allowlist` are booleans, `activity` is `block` or
//! `warn`, and every other key is one of the check's own options (validated by the check's
//! typed options).

use std::collections::BTreeMap;

use super::registry::{ALL, find};
use crate::model::ActivityMode;
use crate::{AnalyzeError, Settings};

/// A check's resolved configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckConfig {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `require_allowlist` (default false): refuse placements whose allowlist is empty.
    pub require_allowlist: bool,
    /// `activity` (default `block`): what a recent event the guardrail would deny does.
    pub activity: ActivityMode,
    /// The check's own options, `enabled`, `require_allowlist` and `activity` removed.
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// Resolves and validates `checks` from the configuration: every key must name a check or an
/// alias, a check may be configured once, `enabled` must be a boolean and every other key
/// must be one of the check's options.
pub fn resolve_config(
    settings: &Settings,
) -> Result<BTreeMap<&'static str, CheckConfig>, AnalyzeError> {
    let mut resolved: BTreeMap<&'static str, (String, CheckConfig)> = BTreeMap::new();
    for (key, value) in &settings.checks {
        let Some(check) = find(key) else {
            let known: Vec<&str> = ALL.iter().map(|c| c.meta().id).collect();
            return Err(AnalyzeError::Settings(format!(
                "unknown check `{key}` in `checks` (known checks: {})",
                known.join(", ")
            )));
        };
        let id = check.meta().id;
        let mut options = match value {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                return Err(AnalyzeError::Settings(format!(
                    "checks.{key}: expected a map of options, found {other}"
                )));
            }
        };
        let enabled = match options.remove("enabled") {
            None => true,
            Some(serde_json::Value::Bool(b)) => b,
            Some(other) => {
                return Err(AnalyzeError::Settings(format!(
                    "checks.{key}.enabled: expected true or false, found {other}"
                )));
            }
        };
        let require_allowlist = match options.remove("require_allowlist") {
            None => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(other) => {
                return Err(AnalyzeError::Settings(format!(
                    "checks.{key}.require_allowlist: expected true or false, found {other}"
                )));
            }
        };
        let activity = match options.remove("activity") {
            None => ActivityMode::Block,
            Some(serde_json::Value::String(s)) if s == "block" => ActivityMode::Block,
            Some(serde_json::Value::String(s)) if s == "warn" => ActivityMode::Warn,
            Some(other) => {
                return Err(AnalyzeError::Settings(format!(
                    "checks.{key}.activity: expected `block` or `warn`, found {other}"
                )));
            }
        };
        if require_allowlist && check.meta().empty_allowlist.is_none() {
            return Err(AnalyzeError::Settings(format!(
                "checks.{key}.require_allowlist: `{id}` has no allowlist to require"
            )));
        }
        check.validate_options(&options).map_err(|e| {
            AnalyzeError::Settings(e.replacen(&format!("checks.{id}"), &format!("checks.{key}"), 1))
        })?;
        if let Some((previous, _)) = resolved.get(id) {
            return Err(AnalyzeError::Settings(format!(
                "check `{id}` is configured twice in `checks` (as `{previous}` and `{key}`)"
            )));
        }
        resolved.insert(
            id,
            (
                key.clone(),
                CheckConfig {
                    enabled,
                    require_allowlist,
                    activity,
                    options,
                },
            ),
        );
    }
    Ok(ALL
        .iter()
        .map(|c| {
            let id = c.meta().id;
            let config = resolved.remove(id).map_or(
                CheckConfig {
                    enabled: true,
                    require_allowlist: false,
                    activity: ActivityMode::Block,
                    options: serde_json::Map::new(),
                },
                |(_, config)| config,
            );
            (id, config)
        })
        .collect())
}
