//! Snapshot format version: the compatibility rule and its changelog.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The snapshot format this build writes and the newest it reads.
///
/// This combines a major version (for breaking changes) and a minor version (for additive
/// changes). A reader accepts its own major version and any minor version up to its own; see
/// [`FormatVersion::check_readable_by`].
///
/// Changelog:
///
/// - 1.0: First release: organization, existing SCPs and RCPs, per-account global and regional
///   inventories for the sixteen checks, per (account, region, service) collection status.
/// - 1.1: Addition of the `not_offered` service status, `regions_not_enabled` on collected
///   accounts and `meta.service_availability` (no false gaps where AWS offers no service or
///   an account has not enabled an opt-in region), and of `detail` on collection errors.
/// - 1.2: Addition of the optional top-level `activity` section: the CloudTrail events of a
///   window of days relevant to the checks, and how completely each part was read.
pub const SNAPSHOT_FORMAT_VERSION: FormatVersion = FormatVersion { major: 1, minor: 2 };

/// The oldest snapshot format this build reads.
pub const OLDEST_READABLE: FormatVersion = FormatVersion {
    major: SNAPSHOT_FORMAT_VERSION.major,
    minor: 0,
};

/// The value of the top-level `format` field of every snapshot.
pub const SNAPSHOT_FORMAT: &str = "headroom-snapshot";

/// A snapshot format version: `major` for breaking changes, `minor` for additive ones.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct FormatVersion {
    /// Bumped when a change of meaning or a removal breaks older readers.
    pub major: u32,
    /// Bumped when an optional field is added; older readers of the same major reject it.
    pub minor: u32,
}

impl FormatVersion {
    /// Whether a reader of version `reader` can read a snapshot of this version: same major,
    /// and a minor no newer than the reader's.
    pub fn check_readable_by(self, reader: FormatVersion) -> Result<(), VersionError> {
        if self.major != reader.major {
            return Err(VersionError::Major {
                found: self,
                supported: reader,
            });
        }
        if self.minor > reader.minor {
            return Err(VersionError::Minor {
                found: self,
                supported: reader,
            });
        }
        Ok(())
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A snapshot this build cannot read because of its version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// A different major version, older or newer.
    #[error(
        "snapshot format version {found} is not supported: this build reads {}.0 to {supported}{}",
        supported.major,
        if found.major > supported.major { "; upgrade headroom" } else { "" }
    )]
    Major {
        /// The version in the file.
        found: FormatVersion,
        /// The newest version this build reads.
        supported: FormatVersion,
    },
    /// Same major version, newer minor version.
    #[error(
        "snapshot format version {found} is newer than this build supports ({supported}); upgrade headroom"
    )]
    Minor {
        /// The version in the file.
        found: FormatVersion,
        /// The newest version this build reads.
        supported: FormatVersion,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn v(major: u32, minor: u32) -> FormatVersion {
        FormatVersion { major, minor }
    }

    #[test]
    fn same_major_older_or_equal_minor_is_readable() {
        assert!(v(1, 0).check_readable_by(v(1, 0)).is_ok());
        assert!(v(1, 0).check_readable_by(v(1, 3)).is_ok());
        assert!(v(1, 3).check_readable_by(v(1, 3)).is_ok());
    }

    #[test]
    fn newer_minor_names_both_versions() {
        let err = v(1, 4).check_readable_by(v(1, 3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "snapshot format version 1.4 is newer than this build supports (1.3); upgrade headroom"
        );
    }

    #[test]
    fn other_major_names_both_versions() {
        let err = v(2, 0).check_readable_by(v(1, 3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "snapshot format version 2.0 is not supported: this build reads 1.0 to 1.3; upgrade headroom"
        );
        let err = v(0, 9).check_readable_by(v(1, 3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "snapshot format version 0.9 is not supported: this build reads 1.0 to 1.3"
        );
    }
}
