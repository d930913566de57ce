//! IAM: users, roles with their (URL-decoded) trust policies and tags, SAML providers.

use aws_sdk_iam::Client;
use headroom_schemas::Tags;
use headroom_schemas::inventory::iam::{IamInventory, Role, SamlProvider, User};
use percent_encoding::percent_decode_str;

use crate::actions;
use crate::error::ApiError;
use crate::services::{for_each, rfc3339, tag_map};

/// IAM returns trust policies URL-encoded (RFC 3986); this is the raw JSON text.
pub fn decode_policy(encoded: &str) -> String {
    percent_decode_str(encoded).decode_utf8_lossy().into_owned()
}

/// The account's users, roles and SAML providers.
pub async fn collect(client: &Client) -> Result<IamInventory, ApiError> {
    let pages: Vec<_> = client
        .list_users()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::IAM_LIST_USERS, &e))?;
    let mut users: Vec<User> = pages
        .iter()
        .flat_map(|p| p.users())
        .map(|u| User {
            user_name: u.user_name().to_owned(),
            arn: u.arn().to_owned(),
            path: u.path().to_owned(),
            create_date: Some(rfc3339(u.create_date())),
        })
        .collect();
    users.sort_by(|a, b| a.arn.cmp(&b.arn));

    let pages: Vec<_> = client
        .list_roles()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ApiError::from_sdk(actions::IAM_LIST_ROLES, &e))?;
    let listed: Vec<Role> = pages
        .iter()
        .flat_map(|p| p.roles())
        .map(|r| Role {
            role_name: r.role_name().to_owned(),
            arn: r.arn().to_owned(),
            path: r.path().to_owned(),
            assume_role_policy_document: r.assume_role_policy_document().map(decode_policy),
            tags: Tags::new(),
        })
        .collect();
    let mut roles = for_each(listed, |mut role| async move {
        let pages: Result<Vec<_>, _> = client
            .list_role_tags()
            .role_name(&role.role_name)
            .into_paginator()
            .send()
            .try_collect()
            .await;
        match pages {
            Ok(pages) => {
                role.tags = tag_map(
                    pages
                        .iter()
                        .flat_map(|p| p.tags())
                        .map(|t| (Some(t.key()), Some(t.value()))),
                );
                Ok(Some(role))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ApiError::from_sdk(actions::IAM_LIST_ROLE_TAGS, &e)),
        }
    })
    .await?;
    roles.sort_by(|a, b| a.arn.cmp(&b.arn));

    let out = client
        .list_saml_providers()
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(actions::IAM_LIST_SAML_PROVIDERS, &e))?;
    let mut saml_providers: Vec<SamlProvider> = out
        .saml_provider_list()
        .iter()
        .map(|p| SamlProvider {
            arn: p.arn().unwrap_or_default().to_owned(),
            create_date: p.create_date().map(rfc3339),
            valid_until: p.valid_until().map(rfc3339),
        })
        .collect();
    saml_providers.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(IamInventory {
        users,
        roles,
        saml_providers,
    })
}
