//! OpenSearch Serverless: data access policies, stored as canonical JSON text.

use aws_sdk_opensearchserverless::Client;
use aws_sdk_opensearchserverless::types::AccessPolicyType;
use aws_smithy_types::{Document, Number};
use headroom_schemas::inventory::aoss::{AccessPolicy, AossInventory};

use crate::actions;
use crate::error::ApiError;
use crate::services::for_each;

/// Every data access policy in the region.
pub async fn collect(client: &Client) -> Result<AossInventory, ApiError> {
    let pages: Vec<_> = client
        .list_access_policies()
        .r#type(AccessPolicyType::Data)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::AOSS_LIST_ACCESS_POLICIES, &e))?;
    let names: Vec<String> = pages
        .iter()
        .flat_map(|p| p.access_policy_summaries())
        .filter_map(|s| s.name().map(str::to_owned))
        .collect();
    let mut access_policies = for_each(names, |name| async move {
        let out = match client
            .get_access_policy()
            .name(&name)
            .r#type(AccessPolicyType::Data)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(ApiError::from_sdk(actions::AOSS_GET_ACCESS_POLICY, &e)),
        };
        let Some(detail) = out.access_policy_detail() else {
            return Ok(None);
        };
        Ok(Some(AccessPolicy {
            name: detail.name().unwrap_or(&name).to_owned(),
            policy_type: detail
                .r#type()
                .map_or_else(|| "data".to_owned(), |t| t.as_str().to_owned()),
            policy_version: detail.policy_version().map(str::to_owned),
            description: detail.description().map(str::to_owned),
            policy: detail.policy().map(canonical_json).unwrap_or_default(),
        }))
    })
    .await?;
    access_policies.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(AossInventory { access_policies })
}

/// A document as compact JSON text with sorted object keys (whatever `serde_json`'s
/// features: see `headroom_schemas::canonical`).
pub fn canonical_json(doc: &Document) -> String {
    headroom_schemas::canonical::to_string(&to_value(doc))
}

fn to_value(doc: &Document) -> serde_json::Value {
    use serde_json::Value;
    match doc {
        Document::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
        }
        Document::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Document::Number(Number::PosInt(n)) => Value::from(*n),
        Document::Number(Number::NegInt(n)) => Value::from(*n),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Bool(b) => Value::Bool(*b),
        Document::Null => Value::Null,
    }
}
