//! Validated identifiers shared by the snapshot and the configuration.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// A 12-digit AWS account ID, kept as text so leading zeros survive.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(transparent)]
pub struct AccountId(#[schemars(regex(pattern = r"^[0-9]{12}$"))] String);

/// Text that is not a 12-digit account ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a 12-digit AWS account ID")]
pub struct InvalidAccountId(pub String);

impl AccountId {
    /// Parses and validates a 12-digit account ID.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidAccountId> {
        let value = value.into();
        if is_account_id(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidAccountId(value))
        }
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `s` is exactly twelve ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountId {
    type Err = InvalidAccountId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for AccountId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for AccountId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        AccountId::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_twelve_digits_with_leading_zeros() {
        assert_eq!(
            AccountId::new("012345678901").unwrap().as_str(),
            "012345678901"
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            " 12345678901",
        ] {
            assert!(AccountId::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            AccountId::new("123").unwrap_err().to_string(),
            "`123` is not a 12-digit AWS account ID"
        );
    }

    #[test]
    fn deserializing_validates() {
        let err = serde_json::from_str::<AccountId>("\"abc\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("`abc` is not a 12-digit AWS account ID")
        );
    }
}
