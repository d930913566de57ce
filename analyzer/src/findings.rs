//! The violating resources of a per-account report, read generically from its JSON shape, so
//! that the reports people read (stdout, `summary.md`, `report.html`) name each blocker by
//! resource without a line of check-specific code.
//!
//! A report's violating records are the objects, in any top-level list, whose `reason` is a
//! string (exempt and compliant records have none). A record's resource is its ARN (a key
//! `arn` or ending in `_arn`), else its ID (`*_id`), else its name (`name`, `*_name`), else its
//! URL (`*_url`); among several keys of one kind the first by name. Its region is `region`.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::model::Finding;

/// The violating resources of `report`, sorted and without duplicates (an RCP report lists a
/// violating resource in more than one list).
pub fn from_report<R: Serialize>(report: &R) -> Vec<Finding> {
    let Ok(Value::Object(document)) = serde_json::to_value(report) else {
        return Vec::new();
    };
    let mut found = BTreeSet::new();
    for value in document.values() {
        let Value::Array(records) = value else {
            continue;
        };
        for record in records {
            if let Some(finding) = finding(record) {
                found.insert(finding);
            }
        }
    }
    found.into_iter().collect()
}

fn finding(record: &Value) -> Option<Finding> {
    let Value::Object(fields) = record else {
        return None;
    };
    let reason = fields.get("reason")?.as_str()?;
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let by_kind = |matches: &dyn Fn(&str) -> bool| {
        let mut keys: Vec<&String> = fields.keys().filter(|k| matches(k)).collect();
        keys.sort();
        keys.into_iter().find_map(|k| text(k))
    };
    let resource = by_kind(&|k| k == "arn" || k.ends_with("_arn"))
        .or_else(|| by_kind(&|k| k.ends_with("_id") && k != "account_id"))
        .or_else(|| by_kind(&|k| k == "name" || k.ends_with("_name")))
        .or_else(|| by_kind(&|k| k.ends_with("_url")))
        .unwrap_or("(unnamed resource)");
    Some(Finding {
        resource: resource.to_owned(),
        reason: reason.to_owned(),
        region: text("region").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_violations_from_any_list_and_prefers_the_arn() {
        let report = json!({
            "summary": {"violations": 2},
            "violations": [
                {"instance_id": "i-1", "instance_arn": "arn:aws:ec2:eu-west-1:111111111111:instance/i-1",
                 "reason": "imds_v1_allowed", "region": "eu-west-1"},
                {"policy_name": "p", "reason": "wildcard_principal", "region": null}
            ],
            "exemptions": [{"instance_id": "i-2", "reason": null, "exemption_tag": "x"}],
            "roles_with_wildcards": [{"role_name": "r", "role_arn": "arn:aws:iam::111111111111:role/r", "reason": "wildcard_principal"}],
            "roles_third_parties_can_access": [{"role_arn": "arn:aws:iam::111111111111:role/r", "reason": "wildcard_principal"}]
        });
        let found = from_report(&report);
        assert_eq!(
            found,
            vec![
                Finding {
                    resource: "arn:aws:ec2:eu-west-1:111111111111:instance/i-1".into(),
                    reason: "imds_v1_allowed".into(),
                    region: Some("eu-west-1".into()),
                },
                Finding {
                    resource: "arn:aws:iam::111111111111:role/r".into(),
                    reason: "wildcard_principal".into(),
                    region: None,
                },
                Finding {
                    resource: "p".into(),
                    reason: "wildcard_principal".into(),
                    region: None,
                },
            ]
        );
    }
}
