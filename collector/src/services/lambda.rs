//! Lambda: functions and every function URL of each (all pages).

use aws_sdk_lambda::Client;
use headroom_schemas::inventory::lambda::{Function, FunctionUrlConfig, LambdaInventory};

use crate::actions;
use crate::error::ApiError;
use crate::services::for_each;

/// Every function in the region with its URL configurations.
pub async fn collect(client: &Client) -> Result<LambdaInventory, ApiError> {
    let pages: Vec<_> = client
        .list_functions()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::LAMBDA_LIST_FUNCTIONS, &e))?;
    let listed: Vec<(String, String)> = pages
        .iter()
        .flat_map(|p| p.functions())
        .map(|f| {
            (
                f.function_name().unwrap_or_default().to_owned(),
                f.function_arn().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut functions = for_each(listed, |(name, arn)| async move {
        let pages: Result<Vec<_>, _> = client
            .list_function_url_configs()
            .function_name(&name)
            .into_paginator()
            .send()
            .try_collect()
            .await;
        let pages = match pages {
            Ok(p) => p,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(ApiError::from_sdk(
                    actions::LAMBDA_LIST_FUNCTION_URL_CONFIGS,
                    &e,
                ));
            }
        };
        let mut url_configs: Vec<FunctionUrlConfig> = pages
            .iter()
            .flat_map(|p| p.function_url_configs())
            .map(|u| FunctionUrlConfig {
                function_url: u.function_url().to_owned(),
                function_arn: u.function_arn().to_owned(),
                auth_type: u.auth_type().as_str().to_owned(),
            })
            .collect();
        url_configs.sort_by(|a, b| {
            (&a.function_arn, &a.function_url).cmp(&(&b.function_arn, &b.function_url))
        });
        Ok(Some(Function {
            function_name: name,
            function_arn: arn,
            url_configs,
        }))
    })
    .await?;
    functions.sort_by(|a, b| a.function_name.cmp(&b.function_name));
    Ok(LambdaInventory { functions })
}
