//! The organization: roots, the OU tree and every account, as AWS Organizations reports them.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::AccountId;

/// The organization as `organizations:DescribeOrganization`, `ListRoots`,
/// `ListOrganizationalUnitsForParent`, `ListAccountsForParent` and `ListTagsForResource` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// The organization ID (`o-...`), the value of `aws:PrincipalOrgID`.
    pub id: String,
    /// The organization ARN.
    pub arn: String,
    /// The management account, which SCPs and RCPs never apply to.
    pub management_account_id: AccountId,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
    /// The roots, sorted by ID. AWS organizations have exactly one today.
    pub roots: Vec<Root>,
    /// Every OU at any depth, by OU ID.
    #[serde(deserialize_with = "crate::unique::map")]
    pub organizational_units: BTreeMap<String, OrganizationalUnit>,
    /// Every account in every state, the management account included, by account ID.
    #[serde(deserialize_with = "crate::unique::map")]
    pub accounts: BTreeMap<AccountId, Account>,
}

/// An organization root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Root {
    /// The root ID (`r-...`).
    pub id: String,
    /// The root ARN.
    pub arn: String,
    /// The root name (`Root`).
    pub name: String,
    /// The policy types and their status on this root, sorted by type.
    pub policy_types: Vec<PolicyTypeSummary>,
}

/// Whether a policy type is enabled on a root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyTypeSummary {
    /// The policy type, for example `SERVICE_CONTROL_POLICY` or `RESOURCE_CONTROL_POLICY`.
    #[serde(rename = "type")]
    pub policy_type: String,
    /// `ENABLED`, `PENDING_ENABLE` or `PENDING_DISABLE`.
    pub status: String,
}

/// An organizational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationalUnit {
    /// The OU ID (`ou-...`).
    pub id: String,
    /// The OU ARN.
    pub arn: String,
    /// The OU name as AWS reports it (may contain any character).
    pub name: String,
    /// The parent: a root ID (`r-...`) or an OU ID.
    pub parent_id: String,
}

/// A member or management account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The account ID.
    pub id: AccountId,
    /// The account ARN.
    pub arn: String,
    /// The account name as AWS reports it.
    pub name: String,
    /// The account's e-mail address.
    pub email: String,
    /// The lifecycle state (`State`, or the older `Status` where AWS sent only that).
    pub state: AccountState,
    /// The direct parent: a root ID (`r-...`) or an OU ID.
    pub parent_id: String,
    /// The account's tags from `organizations:ListTagsForResource`.
    pub tags: crate::Tags,
    /// When the account joined the organization (RFC 3339, UTC).
    pub joined_timestamp: Option<String>,
    /// `INVITED` or `CREATED`.
    pub joined_method: Option<String>,
}

/// An account's lifecycle state. A state this build does not know is kept verbatim; an empty
/// one is refused (AWS always reports a state).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum AccountState {
    /// `ACTIVE`: the account works and is collected.
    Active,
    /// `SUSPENDED`.
    Suspended,
    /// `PENDING_ACTIVATION`.
    PendingActivation,
    /// `PENDING_CLOSURE`.
    PendingClosure,
    /// `CLOSED`.
    Closed,
    /// A state AWS added after this build.
    Unknown(String),
}

impl AccountState {
    /// Every state this build knows, in AWS's documented order.
    pub const KNOWN: [AccountState; 5] = [
        AccountState::PendingActivation,
        AccountState::Active,
        AccountState::Suspended,
        AccountState::PendingClosure,
        AccountState::Closed,
    ];

    /// The state as AWS spells it.
    pub fn as_str(&self) -> &str {
        match self {
            AccountState::Active => "ACTIVE",
            AccountState::Suspended => "SUSPENDED",
            AccountState::PendingActivation => "PENDING_ACTIVATION",
            AccountState::PendingClosure => "PENDING_CLOSURE",
            AccountState::Closed => "CLOSED",
            AccountState::Unknown(s) => s,
        }
    }

    /// Whether the account is active (and so collected and protected by guardrails).
    pub fn is_active(&self) -> bool {
        *self == AccountState::Active
    }
}

impl From<String> for AccountState {
    fn from(s: String) -> Self {
        match s.as_str() {
            "ACTIVE" => AccountState::Active,
            "SUSPENDED" => AccountState::Suspended,
            "PENDING_ACTIVATION" => AccountState::PendingActivation,
            "PENDING_CLOSURE" => AccountState::PendingClosure,
            "CLOSED" => AccountState::Closed,
            _ => AccountState::Unknown(s),
        }
    }
}

impl<'de> Deserialize<'de> for AccountState {
    /// Any non-blank text: AWS always reports a state, so an empty one is refused.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom("an account state cannot be empty"));
        }
        Ok(AccountState::from(s))
    }
}

impl From<AccountState> for String {
    fn from(state: AccountState) -> Self {
        match state {
            AccountState::Unknown(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for AccountState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl JsonSchema for AccountState {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AccountState".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The account lifecycle state: ACTIVE, SUSPENDED, PENDING_ACTIVATION, PENDING_CLOSURE, CLOSED, or a newer state kept verbatim.",
            "type": "string",
            "minLength": 1
        })
    }
}

impl Organization {
    /// The single root. Snapshot validation guarantees there is exactly one.
    pub fn root(&self) -> &Root {
        &self.roots[0]
    }

    /// The OU IDs whose parent is `parent_id` (a root or OU ID), sorted.
    pub fn child_ous<'a>(
        &'a self,
        parent_id: &'a str,
    ) -> impl Iterator<Item = &'a OrganizationalUnit> {
        self.organizational_units
            .values()
            .filter(move |ou| ou.parent_id == parent_id)
    }

    /// The accounts whose direct parent is `parent_id`, sorted by ID.
    pub fn child_accounts<'a>(&'a self, parent_id: &'a str) -> impl Iterator<Item = &'a Account> {
        self.accounts
            .values()
            .filter(move |a| a.parent_id == parent_id)
    }

    /// The names of the OUs from the top-level OU down to `parent_id` (empty for the root).
    pub fn ou_path(&self, parent_id: &str) -> Vec<&str> {
        let mut path = Vec::new();
        let mut cursor = parent_id;
        while let Some(ou) = self.organizational_units.get(cursor) {
            path.push(ou.name.as_str());
            cursor = &ou.parent_id;
            if path.len() > self.organizational_units.len() {
                break; // a cycle; validation rejects it, this only bounds the walk
            }
        }
        path.reverse();
        path
    }
}
