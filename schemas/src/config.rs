//! The YAML configuration shared by `collect` and `analyze`.
//!
//! One file serves both binaries; each reads the keys it needs. Unknown keys are rejected with
//! a message naming the key. The original Headroom's configuration files are accepted
//! unchanged.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, is_account_id};

/// The configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Organizations management account (required by `collect`).
    #[serde(default, deserialize_with = "opt_account_id")]
    pub management_account_id: Option<AccountId>,
    /// If set, `collect` first assumes `OrganizationAccountAccessRole` in this account.
    #[serde(default, deserialize_with = "opt_account_id")]
    pub security_analysis_account_id: Option<AccountId>,
    /// Privacy mode: redact account IDs from reports and report file names.
    #[serde(default)]
    pub exclude_account_ids: bool,
    /// Accounts never collected. They do not block placement, and recommendations list the
    /// skipped accounts they cover.
    #[serde(default, deserialize_with = "account_id_list")]
    pub skip_account_ids: Vec<AccountId>,
    /// Take account names from the tag named by `account_tag_layout.name`.
    #[serde(default)]
    pub use_account_name_from_tags: bool,
    /// Tag keys read from Organizations account tags.
    #[serde(default)]
    pub account_tag_layout: AccountTagLayout,
    /// Where JSON reports go (default `<out>/results`).
    pub results_dir: Option<PathBuf>,
    /// Where SCP Terraform goes (default `<out>/scps`).
    pub scps_dir: Option<PathBuf>,
    /// Where RCP Terraform goes (default `<out>/rcps`).
    pub rcps_dir: Option<PathBuf>,
    /// Regions to collect; default every region enabled in each account.
    pub regions: Option<Vec<String>>,
    /// The role names of the role chain.
    #[serde(default)]
    pub role_names: RoleNames,
    /// Per check ID (or alias): `enabled` plus the check's own options. Parsed and validated
    /// by the analyzer, which knows each check's options.
    #[serde(default, deserialize_with = "crate::unique::value_map")]
    pub checks: BTreeMap<String, serde_json::Value>,
    /// AWS quotas, as data.
    #[serde(default)]
    pub limits: Limits,
    /// How `analyze` places guardrails.
    #[serde(default)]
    pub placement: Placement,
    /// Bounds on the snapshot `analyze` reads: its decompressed size and its longest string.
    #[serde(default)]
    pub snapshot_limits: crate::limits::ReadLimits,
    /// `collect`'s request budget: API requests in flight at once, shared by every account,
    /// region and service (default 32).
    pub concurrency: Option<NonZeroUsize>,
    /// `collect`: the `sts:ExternalId` sent when assuming both reader roles (required by their
    /// trust policies when set there). 2 to 1,224 characters of `A-Za-z0-9+=,.@:/_-`.
    pub external_id: Option<String>,
    /// `collect`: how long each reader-role session lasts, in seconds (900 to 43,200; AWS's
    /// default of 3,600 when unset). AWS caps sessions assumed from another role's session
    /// (role chaining, such as the security analysis hop) at 3,600 seconds, and each role's
    /// own `MaxSessionDuration` applies. `collect` renews credentials before they expire.
    pub session_duration: Option<u32>,
    /// `collect`: read the organization through the organization reader role in this
    /// delegated administrator account instead of the management account.
    #[serde(default, deserialize_with = "opt_account_id")]
    pub delegated_admin_account_id: Option<AccountId>,
    /// `collect`: where to read the organization's CloudTrail activity (read only with
    /// `activity.days` or `--activity-days`).
    #[serde(default)]
    pub activity: Option<crate::activity::config::ActivityConfig>,
}

/// The longest `external_id` STS accepts.
pub const EXTERNAL_ID_MAX: usize = 1224;
/// The shortest and longest `session_duration` STS accepts, in seconds.
pub const SESSION_DURATION_RANGE: std::ops::RangeInclusive<u32> = 900..=43_200;

/// Why an external ID is not one STS accepts.
fn external_id_problem(id: &str) -> Option<String> {
    if !(2..=EXTERNAL_ID_MAX).contains(&id.chars().count()) {
        return Some(format!(
            "external_id must be 2 to {EXTERNAL_ID_MAX} characters, found {}",
            id.chars().count()
        ));
    }
    id.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@:/_-".contains(*c)))
        .map(|c| {
            format!(
                "external_id may hold only letters, digits and `+=,.@:/_-`, found `{}`",
                c.escape_default()
            )
        })
}

/// How `analyze` places guardrails (`placement` in the configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// `carve_out` (default) or `strict`.
    #[serde(default)]
    pub strategy: Strategy,
}

/// Where a guardrail may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The highest nodes with no blocking account beneath them, or, where blocking accounts
    /// are few enough, a higher node with those accounts exempted by condition: new accounts
    /// added beneath it later are protected too.
    #[default]
    CarveOut,
    /// Only the highest nodes with no blocking account beneath them.
    Strict,
}

/// Tag keys read from Organizations account tags (the original tool's `account_tag_layout`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountTagLayout {
    /// Tag holding the environment.
    pub environment: String,
    /// Tag holding the account name (with `use_account_name_from_tags`).
    pub name: String,
    /// Tag holding the owner.
    pub owner: String,
}

impl Default for AccountTagLayout {
    fn default() -> Self {
        Self {
            environment: "Environment".into(),
            name: "Name".into(),
            owner: "Owner".into(),
        }
    }
}

/// The role names `collect` assumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleNames {
    /// The role in the management account that reads the organization.
    #[serde(default = "default_org_reader")]
    pub org_reader: String,
    /// The role in each member account that reads inventories.
    #[serde(default = "default_account_reader")]
    pub account_reader: String,
}

fn default_org_reader() -> String {
    "OrgAndAccountInfoReader".into()
}

fn default_account_reader() -> String {
    "Headroom".into()
}

impl Default for RoleNames {
    fn default() -> Self {
        Self {
            org_reader: default_org_reader(),
            account_reader: default_account_reader(),
        }
    }
}

/// AWS Organizations quotas, as data. The defaults are the long-standing quotas; raise them
/// where AWS has raised yours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Maximum characters of one SCP document.
    #[serde(default = "default_max_chars")]
    pub scp_max_chars: usize,
    /// Maximum characters of one RCP document.
    #[serde(default = "default_max_chars")]
    pub rcp_max_chars: usize,
    /// Maximum policies of one type attached directly to one target.
    #[serde(default = "default_max_policies")]
    pub max_policies_per_target: usize,
    /// Maximum SCPs in the organization (AWS's default quota: 10,000).
    #[serde(default = "default_max_scps")]
    pub max_scps_per_organization: usize,
    /// Maximum RCPs in the organization (AWS's default quota: 1,000).
    #[serde(default = "default_max_rcps")]
    pub max_rcps_per_organization: usize,
}

fn default_max_scps() -> usize {
    10_000
}

fn default_max_rcps() -> usize {
    1_000
}

fn default_max_chars() -> usize {
    5120
}

fn default_max_policies() -> usize {
    5
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            scp_max_chars: default_max_chars(),
            rcp_max_chars: default_max_chars(),
            max_policies_per_target: default_max_policies(),
            max_scps_per_organization: default_max_scps(),
            max_rcps_per_organization: default_max_rcps(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or does not match the configuration.
    #[error("invalid config `{}`: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its location.
        message: String,
    },
}

impl Config {
    /// Parses configuration text; `path` only names the file in errors. An empty document is
    /// the default configuration.
    pub fn from_yaml(text: &str, path: &std::path::Path) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config =
            serde_yaml_ng::from_str(text).map_err(|e| invalid(e.to_string().replace('\n', " ")))?;
        for (key, value) in &config.checks {
            if !value.is_object() && !value.is_null() {
                return Err(invalid(format!(
                    "checks.{key}: expected a map of options, found {value}"
                )));
            }
        }
        if let Some(problem) = config.external_id.as_deref().and_then(external_id_problem) {
            return Err(invalid(problem));
        }
        if let Some(seconds) = config.session_duration
            && !SESSION_DURATION_RANGE.contains(&seconds)
        {
            return Err(invalid(format!(
                "session_duration must be {} to {} seconds, found {seconds}",
                SESSION_DURATION_RANGE.start(),
                SESSION_DURATION_RANGE.end()
            )));
        }
        if let Some(activity) = &config.activity
            && let Some(problem) = activity.problem(activity.days.unwrap_or(1))
        {
            return Err(invalid(problem));
        }
        if config.snapshot_limits.max_bytes == 0 || config.snapshot_limits.max_string_bytes == 0 {
            return Err(invalid(
                "snapshot_limits.max_bytes and snapshot_limits.max_string_bytes must be at least 1"
                    .into(),
            ));
        }
        for (key, value) in [
            (
                "max_policies_per_target",
                config.limits.max_policies_per_target,
            ),
            (
                "max_scps_per_organization",
                config.limits.max_scps_per_organization,
            ),
            (
                "max_rcps_per_organization",
                config.limits.max_rcps_per_organization,
            ),
        ] {
            if value == 0 {
                return Err(invalid(format!("limits.{key} must be at least 1")));
            }
        }
        Ok(config)
    }

    /// Reads and parses the configuration file at `path`.
    #[expect(
        clippy::disallowed_methods,
        reason = "the config is read where it is parsed"
    )]
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::from_yaml(&text, path)
    }
}

/// Reads an account ID from the scalar's text as written. Asking for the text (not "any"
/// value) keeps YAML from turning `0x19DE1D4C47`, `0o1474…` or `1_111_111_111_11` into a
/// twelve-digit number: only twelve digits as written are an account ID.
struct AccountIdVisitor;

impl Visitor<'_> for AccountIdVisitor {
    type Value = AccountId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 12-digit account ID")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AccountId, E> {
        if is_account_id(v) {
            return AccountId::new(v).map_err(E::custom);
        }
        if !v.is_empty() && v.len() < 12 && v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom(format!(
                "account ID `{v}` has {} digits, not 12; quote account IDs (for example '012345678901') so leading zeros survive",
                v.len()
            )));
        }
        Err(E::custom(crate::ids::InvalidAccountId(v.to_owned())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<AccountId, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<AccountId, E> {
        self.visit_str(&v.to_string())
    }
}

fn opt_account_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AccountId>, D::Error> {
    struct OptVisitor;
    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<AccountId>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a 12-digit account ID or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(AccountIdVisitor).map(Some)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            AccountIdVisitor.visit_str(v).map(Some)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            AccountIdVisitor.visit_u64(v).map(Some)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            AccountIdVisitor.visit_i64(v).map(Some)
        }
    }
    d.deserialize_option(OptVisitor)
}

fn account_id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AccountId>, D::Error> {
    struct Item(AccountId);
    impl<'de> Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_str(AccountIdVisitor).map(Item)
        }
    }
    let items = Option::<Vec<Item>>::deserialize(d)?;
    Ok(items.unwrap_or_default().into_iter().map(|i| i.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        Config::from_yaml(text, Path::new("c.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_the_original_sample_config_unchanged() {
        let c = parse(
            "management_account_id: '222222222222'\nsecurity_analysis_account_id: '111111111111'\nexclude_account_ids: true\nskip_account_ids: []\nuse_account_name_from_tags: false\naccount_tag_layout:\n  environment: 'Environment'\n  name: 'Name'\n  owner: 'Owner'\nresults_dir: out/results\nscps_dir: out/scps\nrcps_dir: out/rcps\n",
        )
        .unwrap();
        assert_eq!(c.management_account_id.unwrap().as_str(), "222222222222");
        assert!(c.exclude_account_ids);
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(parse("").unwrap(), Config::default());
        assert_eq!(parse("\n# nothing\n").unwrap(), Config::default());
    }

    #[test]
    fn twelve_digit_integers_are_accepted() {
        let c = parse("management_account_id: 222222222222\nskip_account_ids: [333333333333, '044444444444']\n").unwrap();
        assert_eq!(c.management_account_id.unwrap().as_str(), "222222222222");
        assert_eq!(c.skip_account_ids[1].as_str(), "044444444444");
    }

    #[test]
    fn integers_that_lost_leading_zeros_get_a_hint() {
        // YAML keeps a leading-zero number as text, so this one survives intact.
        let c = parse("skip_account_ids: [012345678901]\n").unwrap();
        assert_eq!(c.skip_account_ids[0].as_str(), "012345678901");
        let err = parse("skip_account_ids: [12345678901]\n").unwrap_err();
        assert!(err.contains("quote account IDs"), "{err}");
        let err = parse("management_account_id: 12345678901\n").unwrap_err();
        assert!(err.contains("11 digits"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn numbers_written_otherwise_than_as_twelve_digits_are_refused() {
        // 0x19DE1D4C47 is 111111111111: YAML would read it as that number.
        for (text, id) in [
            ("0x19DE1D4C47", "0x19DE1D4C47"),
            ("0o1474514543707", "0o1474514543707"),
            ("+111111111111", "+111111111111"),
            ("1.11111111111e11", "1.11111111111e11"),
        ] {
            let err = parse(&format!("management_account_id: {text}\n")).unwrap_err();
            assert!(
                err.contains(&format!("`{id}` is not a 12-digit AWS account ID")),
                "{err}"
            );
            let err = parse(&format!("skip_account_ids: [{text}]\n")).unwrap_err();
            assert!(
                err.contains(&format!("`{id}` is not a 12-digit AWS account ID")),
                "{err}"
            );
        }
    }

    #[test]
    fn snapshot_limits_are_read_and_checked() {
        let c = parse("snapshot_limits:\n  max_bytes: 1000\n").unwrap();
        assert_eq!(c.snapshot_limits.max_bytes, 1000);
        assert_eq!(c.snapshot_limits.max_string_bytes, 16 << 20);
        let err = parse("snapshot_limits:\n  max_string_bytes: 0\n").unwrap_err();
        assert_eq!(
            err,
            "invalid config `c.yaml`: snapshot_limits.max_bytes and snapshot_limits.max_string_bytes must be at least 1"
        );
        let err = parse("snapshot_limits:\n  max_byte: 1\n").unwrap_err();
        assert!(err.contains("unknown field `max_byte`"), "{err}");
    }

    #[test]
    fn repeated_keys_are_refused() {
        let err = parse("exclude_account_ids: true\nexclude_account_ids: false\n").unwrap_err();
        assert!(err.contains("exclude_account_ids"), "{err}");
        let err = parse(
            "checks:\n  deny_ec2_imds_v1: {enabled: true}\n  deny_ec2_imds_v1: {enabled: false}\n",
        )
        .unwrap_err();
        assert!(
            err.contains("key `deny_ec2_imds_v1` appears twice"),
            "{err}"
        );
        let err = parse("checks:\n  deny_ec2_imds_v1:\n    enabled: true\n    enabled: false\n")
            .unwrap_err();
        assert!(err.contains("key `enabled` appears twice"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("management_acount_id: '222222222222'\n").unwrap_err();
        assert!(
            err.contains("unknown field `management_acount_id`"),
            "{err}"
        );
        let err = parse("limits:\n  scp_max_char: 10\n").unwrap_err();
        assert!(err.contains("unknown field `scp_max_char`"), "{err}");
    }

    #[test]
    fn external_id_and_session_duration_are_validated() {
        let c = parse("external_id: 'headroom-2026:a/b'\nsession_duration: 3600\n").unwrap();
        assert_eq!(c.external_id.as_deref(), Some("headroom-2026:a/b"));
        assert_eq!(c.session_duration, Some(3600));
        let err = parse("external_id: 'a'\n").unwrap_err();
        assert!(
            err.contains("external_id must be 2 to 1224 characters, found 1"),
            "{err}"
        );
        let err = parse("external_id: 'has space'\n").unwrap_err();
        assert!(err.contains("found ` `"), "{err}");
        let err = parse("session_duration: 60\n").unwrap_err();
        assert!(
            err.contains("session_duration must be 900 to 43200 seconds, found 60"),
            "{err}"
        );
        let err = parse("session_duration: 'an hour'\n").unwrap_err();
        assert!(err.contains("session_duration"), "{err}");
        let err = parse("external_idd: 'x'\n").unwrap_err();
        assert!(err.contains("unknown field `external_idd`"), "{err}");
        let c = parse("delegated_admin_account_id: '333333333333'\n").unwrap();
        assert_eq!(
            c.delegated_admin_account_id.unwrap().as_str(),
            "333333333333"
        );
    }

    #[test]
    fn malformed_ids_are_rejected() {
        let err = parse("management_account_id: 'abc'\n").unwrap_err();
        assert!(
            err.contains("`abc` is not a 12-digit AWS account ID"),
            "{err}"
        );
    }
}
