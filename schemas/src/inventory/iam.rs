//! IAM users, roles and SAML providers (`iam:ListUsers`, `ListRoles`, `ListRoleTags`,
//! `ListSAMLProviders`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The IAM inventory of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IamInventory {
    /// Every user, sorted by ARN.
    pub users: Vec<User>,
    /// Every role, sorted by ARN.
    pub roles: Vec<Role>,
    /// Every SAML identity provider, sorted by ARN.
    pub saml_providers: Vec<SamlProvider>,
}

/// One IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The user name.
    pub user_name: String,
    /// The user ARN.
    pub arn: String,
    /// The user's path (`/`, `/contractors/`).
    pub path: String,
    /// When the user was created (RFC 3339, UTC).
    pub create_date: Option<String>,
}

/// One IAM role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// The role name.
    pub role_name: String,
    /// The role ARN.
    pub arn: String,
    /// The role's path (`/`, `/aws-service-role/...`).
    pub path: String,
    /// The trust policy, URL-decoded: the raw JSON text.
    pub assume_role_policy_document: Option<String>,
    /// The role's tags.
    pub tags: crate::Tags,
}

/// One SAML identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SamlProvider {
    /// The provider ARN (`arn:aws:iam::111111111111:saml-provider/NAME`).
    pub arn: String,
    /// When the provider was created (RFC 3339, UTC).
    pub create_date: Option<String>,
    /// When the provider's metadata expires (RFC 3339, UTC).
    pub valid_until: Option<String>,
}
