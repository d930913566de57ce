//! ECR repositories and their policies (`ecr:DescribeRepositories`, `GetRepositoryPolicy`,
//! `ListTagsForResource`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The ECR inventory of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EcrInventory {
    /// Every repository, sorted by name.
    pub repositories: Vec<Repository>,
}

/// One repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    /// The repository name.
    pub repository_name: String,
    /// The repository ARN.
    pub repository_arn: String,
    /// The repository policy as raw JSON text; absent when it has none
    /// (`RepositoryPolicyNotFoundException`).
    pub policy_text: Option<String>,
    /// The repository's tags.
    pub tags: crate::Tags,
}
