//! Reading the organization trail through Amazon Athena: one query for the whole window,
//! generated from the catalog, started, polled until done, and its results paged.
//!
//! The query runs against a table created with AWS's documented DDL for CloudTrail logs (the
//! columns `eventtime`, `eventsource`, `eventname`, `useridentity`, `requestparameters`, ...).
//! Its `WHERE` clause keeps a superset of what the catalog selects (the organization's
//! membership cannot be written into SQL for 50,000 accounts): calls from outside the
//! caller's own account stand for calls from outside the organization. Each row is then
//! rebuilt as a CloudTrail record and read through the same reader as the S3 path, which
//! applies the catalog exactly, so both sources keep the same events.
//!
//! With `activity.athena.date_partition` (the `timestamp` column of AWS's partition
//! projection table, `YYYY/MM/DD`), the query reads the window's partitions only: Athena
//! bills by the data it scans.

use std::fmt::Write as _;
use std::time::Duration;

use headroom_schemas::activity::catalog::{Principals, SELECTORS, Selector};
use headroom_schemas::activity::cloudtrail::{Filter, read_log_file};
use headroom_schemas::activity::config::AthenaConfig;
use headroom_schemas::activity::{Event, Read};
use serde_json::{Value, json};

use crate::actions;
use crate::error::ApiError;

/// The columns the query selects, in order.
pub const COLUMNS: [&str; 16] = [
    "eventtime",
    "eventid",
    "recipientaccountid",
    "awsregion",
    "eventsource",
    "eventname",
    "errorcode",
    "principal_type",
    "principal_arn",
    "principal_account",
    "invoked_by",
    "issuer_arn",
    "ec2_role_delivery",
    "requestparameters",
    "responseelements",
    "resource_arns",
];

/// How long a query may run before `collect` gives up on it (Athena's own default limit
/// for DML queries is 30 minutes).
const MAX_WAIT: Duration = Duration::from_secs(2 * 60 * 60);

/// Rows per `GetQueryResults` page (Athena's maximum).
const PAGE_ROWS: i32 = 1000;

/// The query for `days` (oldest first) over `table`.
pub fn query_text(table: &AthenaConfig, first_day: &str, last_day: &str) -> String {
    let mut sql = String::from(
        "-- headroom collect --activity-days: the CloudTrail events the checks' Deny statements could deny\n\
         SELECT\n  \
           eventtime,\n  \
           eventid,\n  \
           recipientaccountid,\n  \
           awsregion,\n  \
           eventsource,\n  \
           eventname,\n  \
           errorcode,\n  \
           useridentity.type AS principal_type,\n  \
           useridentity.arn AS principal_arn,\n  \
           useridentity.accountid AS principal_account,\n  \
           useridentity.invokedby AS invoked_by,\n  \
           useridentity.sessioncontext.sessionissuer.arn AS issuer_arn,\n  \
           useridentity.sessioncontext.ec2roledelivery AS ec2_role_delivery,\n  \
           requestparameters,\n  \
           responseelements,\n  \
           array_join(transform(resources, r -> r.arn), ' ') AS resource_arns\n",
    );
    let _ = writeln!(
        sql,
        "FROM \"{}\".\"{}\"\nWHERE substr(eventtime, 1, 10) BETWEEN '{first_day}' AND '{last_day}'",
        table.database, table.table
    );
    if let Some(column) = &table.date_partition {
        let _ = writeln!(
            sql,
            "  AND \"{column}\" BETWEEN '{}' AND '{}'",
            first_day.replace('-', "/"),
            last_day.replace('-', "/")
        );
    }
    let outside = "useridentity.type IS DISTINCT FROM 'AWSService' AND useridentity.accountid IS DISTINCT FROM recipientaccountid";
    let mut clauses: Vec<String> = Vec::new();
    // Calls of named actions, grouped by source and by whose calls they keep.
    let mut groups: std::collections::BTreeMap<(&str, bool), Vec<&str>> =
        std::collections::BTreeMap::new();
    for selector in SELECTORS {
        match selector {
            Selector {
                source: Some(source),
                names,
                principals,
                ..
            } if !names.is_empty() => {
                groups
                    .entry((source, *principals == Principals::OutsideOrganization))
                    .or_default()
                    .extend(names.iter().copied());
            }
            Selector {
                source: Some(source),
                principals: Principals::OutsideOrganization,
                ..
            } => clauses.push(format!("(eventsource = '{source}' AND {outside})")),
            Selector {
                principals: Principals::Ec2RoleDeliveryBelow2,
                ..
            } => clauses.push(
                "coalesce(try_cast(useridentity.sessioncontext.ec2roledelivery AS double) < 2.0, useridentity.sessioncontext.ec2roledelivery IS NOT NULL)"
                    .to_owned(),
            ),
            _ => {}
        }
    }
    for ((source, from_outside), mut names) in groups {
        names.sort_unstable();
        names.dedup();
        // An API version suffix (Lambda's `20211031`, `20150331v2`) may follow the name.
        let mut clause = format!(
            "(eventsource = '{source}' AND regexp_like(eventname, '^({})([0-9]{{8}}(v[0-9]+)?)?$')",
            names.join("|")
        );
        if from_outside {
            let _ = write!(clause, " AND {outside}");
        }
        clause.push(')');
        clauses.push(clause);
    }
    clauses.sort();
    sql.push_str("  AND (\n    ");
    sql.push_str(&clauses.join("\n    OR "));
    sql.push_str("\n  )\n");
    sql
}

/// Runs the query and reads its rows: the query's outcome and the events kept.
pub async fn read(
    client: &aws_sdk_athena::Client,
    table: &AthenaConfig,
    days: &[String],
    filter: &Filter,
) -> (Read, Vec<Event>) {
    let (first, last) = (
        days.first().map_or("", String::as_str),
        days.last().map_or("", String::as_str),
    );
    match run(client, table, &query_text(table, first, last), filter).await {
        Ok((rows, events)) => {
            let kept = events.len() as u64;
            (
                Read::Complete {
                    objects: None,
                    records: rows,
                    events: kept,
                },
                events,
            )
        }
        Err(e) => (Read::Failed { error: e.into() }, Vec::new()),
    }
}

async fn run(
    client: &aws_sdk_athena::Client,
    table: &AthenaConfig,
    query: &str,
    filter: &Filter,
) -> Result<(u64, Vec<Event>), ApiError> {
    let id = start(client, table, query).await?;
    wait(client, &id).await?;
    rows(client, &id, filter).await
}

/// Starts the query; returns its execution ID.
async fn start(
    client: &aws_sdk_athena::Client,
    table: &AthenaConfig,
    query: &str,
) -> Result<String, ApiError> {
    use aws_sdk_athena::types::{QueryExecutionContext, ResultConfiguration};
    let mut start = client
        .start_query_execution()
        .query_string(query)
        .work_group(&table.workgroup)
        .query_execution_context(
            QueryExecutionContext::builder()
                .database(&table.database)
                .build(),
        );
    if let Some(location) = &table.output_location {
        start = start.result_configuration(
            ResultConfiguration::builder()
                .output_location(location)
                .build(),
        );
    }
    let started = start
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(actions::ATHENA_START_QUERY_EXECUTION, &e))?;
    started
        .query_execution_id()
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::other(
                actions::ATHENA_START_QUERY_EXECUTION,
                "Athena returned no query execution ID",
            )
        })
}

/// Polls until the query ends: every half second at first, every 5 s at most, for at most
/// [`MAX_WAIT`].
async fn wait(client: &aws_sdk_athena::Client, id: &str) -> Result<(), ApiError> {
    use aws_sdk_athena::types::QueryExecutionState;
    let mut wait = Duration::from_millis(500);
    let mut waited = Duration::ZERO;
    loop {
        let out = client
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk(actions::ATHENA_GET_QUERY_EXECUTION, &e))?;
        let status = out.query_execution().and_then(|q| q.status());
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => return Ok(()),
            Some(state @ (QueryExecutionState::Failed | QueryExecutionState::Cancelled)) => {
                let reason = status
                    .and_then(|s| s.state_change_reason())
                    .unwrap_or("no reason given");
                return Err(ApiError::other(
                    actions::ATHENA_GET_QUERY_EXECUTION,
                    format!("Athena query `{id}` ended {}: {reason}", state.as_str()),
                ));
            }
            _ => {}
        }
        if waited >= MAX_WAIT {
            return Err(ApiError::other(
                actions::ATHENA_GET_QUERY_EXECUTION,
                format!(
                    "Athena query `{id}` still runs after {} minutes; collect stopped waiting",
                    MAX_WAIT.as_secs() / 60
                ),
            ));
        }
        tokio::time::sleep(wait).await;
        waited += wait;
        wait = (wait * 3 / 2).min(Duration::from_secs(5));
    }
}

/// Pages the results of a finished query: (rows, events kept).
async fn rows(
    client: &aws_sdk_athena::Client,
    id: &str,
    filter: &Filter,
) -> Result<(u64, Vec<Event>), ApiError> {
    let mut rows = 0u64;
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    let mut first_page = true;
    loop {
        let page = client
            .get_query_results()
            .query_execution_id(id)
            .max_results(PAGE_ROWS)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| ApiError::from_sdk(actions::ATHENA_GET_QUERY_RESULTS, &e))?;
        let mut records = Vec::new();
        for (i, row) in page
            .result_set()
            .map(|r| r.rows())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let cells: Vec<Option<&str>> = row.data().iter().map(|d| d.var_char_value()).collect();
            // Athena repeats the column names as the first row of a SELECT's first page.
            if first_page && i == 0 && cells.first().copied().flatten() == Some(COLUMNS[0]) {
                continue;
            }
            rows += 1;
            records.push(record(&cells).map_err(|m| {
                ApiError::other(
                    actions::ATHENA_GET_QUERY_RESULTS,
                    format!("row {rows} of Athena query `{id}`: {m}"),
                )
            })?);
        }
        first_page = false;
        // Serializing `Value`s cannot fail.
        let text = serde_json::to_vec(&json!({ "Records": records })).unwrap_or_default();
        read_log_file(&text, filter, None, &mut events).map_err(|e| {
            ApiError::other(
                actions::ATHENA_GET_QUERY_RESULTS,
                format!("the rows of Athena query `{id}`: {e}"),
            )
        })?;
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok((rows, events))
}

/// A CloudTrail record rebuilt from one row (cells in [`COLUMNS`] order; `None` is SQL NULL).
pub fn record(cells: &[Option<&str>]) -> Result<Value, String> {
    if cells.len() != COLUMNS.len() {
        return Err(format!(
            "{} columns where the query selects {}",
            cells.len(),
            COLUMNS.len()
        ));
    }
    let cell = |i: usize| cells[i].filter(|s| !s.is_empty());
    let text = |i: usize| cell(i).map_or(Value::Null, |s| Value::String(s.to_owned()));
    let parsed = |i: usize| -> Result<Value, String> {
        match cell(i) {
            None => Ok(Value::Null),
            Some(s) => {
                serde_json::from_str(s).map_err(|e| format!("`{}` is not JSON: {e}", COLUMNS[i]))
            }
        }
    };
    let mut identity = serde_json::Map::new();
    for (key, i) in [("type", 7), ("arn", 8), ("accountId", 9), ("invokedBy", 10)] {
        if let Some(v) = cell(i) {
            identity.insert(key.into(), v.into());
        }
    }
    let mut session = serde_json::Map::new();
    if let Some(issuer) = cell(11) {
        session.insert("sessionIssuer".into(), json!({ "arn": issuer }));
    }
    if let Some(delivery) = cell(12) {
        session.insert("ec2RoleDelivery".into(), delivery.into());
    }
    if !session.is_empty() {
        identity.insert("sessionContext".into(), Value::Object(session));
    }
    let resources: Vec<Value> = cell(15)
        .map(|arns| {
            arns.split(' ')
                .filter(|a| !a.is_empty())
                .map(|arn| json!({ "ARN": arn }))
                .collect()
        })
        .unwrap_or_default();
    let mut record = json!({
        "eventTime": text(0),
        "eventID": text(1),
        "recipientAccountId": text(2),
        "awsRegion": text(3),
        "eventSource": text(4),
        "eventName": text(5),
        "userIdentity": Value::Object(identity),
        "requestParameters": parsed(13)?,
        "responseElements": parsed(14)?,
        "resources": resources,
    });
    if let Some(code) = cell(6) {
        record["errorCode"] = code.into();
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(date_partition: Option<&str>) -> AthenaConfig {
        AthenaConfig {
            workgroup: "primary".into(),
            database: "security_lake".into(),
            table: "org_cloudtrail".into(),
            output_location: None,
            date_partition: date_partition.map(str::to_owned),
        }
    }

    #[test]
    fn the_query_is_generated_from_the_catalog() {
        insta::assert_snapshot!(query_text(
            &table(Some("timestamp")),
            "2026-01-01",
            "2026-01-30"
        ));
        assert!(!query_text(&table(None), "2026-01-01", "2026-01-30").contains("timestamp"));
    }

    #[test]
    fn rows_become_records() {
        let cells = [
            Some("2026-01-10T10:00:00Z"),
            Some("e1"),
            Some("111111111111"),
            Some("eu-west-1"),
            Some("kms.amazonaws.com"),
            Some("Decrypt"),
            None,
            Some("AWSAccount"),
            None,
            Some("999999999999"),
            None,
            None,
            None,
            Some(r#"{"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#),
            None,
            Some(
                "arn:aws:kms:eu-west-1:111111111111:key/k arn:aws:kms:eu-west-1:111111111111:alias/a",
            ),
        ];
        let record = record(&cells).unwrap();
        assert_eq!(record["userIdentity"]["accountId"], "999999999999");
        assert_eq!(
            record["resources"][1]["ARN"],
            "arn:aws:kms:eu-west-1:111111111111:alias/a"
        );
        assert_eq!(
            record["requestParameters"]["encryptionAlgorithm"],
            "SYMMETRIC_DEFAULT"
        );
        assert!(record.get("errorCode").is_none());
        let mut bad = cells;
        bad[13] = Some("{not json");
        assert!(
            super::record(&bad)
                .unwrap_err()
                .contains("`requestparameters` is not JSON")
        );
        assert!(
            super::record(&cells[..3])
                .unwrap_err()
                .contains("3 columns")
        );
    }
}
