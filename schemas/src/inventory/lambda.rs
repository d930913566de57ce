//! Lambda functions and function URLs (`lambda:ListFunctions`, `ListFunctionUrlConfigs`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Lambda inventory of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaInventory {
    /// Every function, sorted by name.
    pub functions: Vec<Function>,
}

/// One Lambda function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Function {
    /// The function name.
    pub function_name: String,
    /// The unqualified function ARN.
    pub function_arn: String,
    /// Every function URL of the function and its aliases (all pages), sorted by function ARN.
    pub url_configs: Vec<FunctionUrlConfig>,
}

/// One function URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionUrlConfig {
    /// The URL.
    pub function_url: String,
    /// The (possibly alias-qualified) function ARN the URL invokes.
    pub function_arn: String,
    /// `NONE` (public) or `AWS_IAM`.
    pub auth_type: String,
}
