//! `documentation/CHECKS.md` and the report JSON Schemas, generated from the registry: each
//! check's doc comment, options and report type are its documentation.

use std::fmt::Write as _;

use super::common;
use super::registry::{ALL, CheckMeta};

/// The doc comment of a check without the one leading space of each line.
pub fn doc_text(meta: &CheckMeta) -> String {
    let mut out = String::new();
    for line in meta.doc.lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line));
        out.push('\n');
    }
    out
}

/// `documentation/CHECKS.md`, generated from the registry.
pub fn checks_markdown() -> String {
    let mut out = String::from(
        "# Checks\n\n<!-- Generated from the checks' doc comments by `checks_markdown()`; do not edit.\n     Regenerate with `UPDATE_GENERATED=1 cargo test -p headroom-analyzer --test checks generated_documentation_is_fresh`. -->\n\n",
    );
    out.push_str("Every check reads the snapshot only. Each resource is a violation (with a reason code), an\nexemption (with the tag that exempts it) or compliant. Reports are written to\n`<results>/{scps,rcps}/<check>/<account_name>_<account_id>.json`; their JSON Schemas are in\n`documentation/reports/`.\n\n");
    out.push_str("| Check | Kind | Service | Reads | Violation reasons | Aliases |\n|---|---|---|---|---|---|\n");
    for check in ALL {
        let m = check.meta();
        let _ = writeln!(
            out,
            "| [`{id}`](#{id}) | {kind} | {service} | {reads} | {reasons} | {aliases} |",
            id = m.id,
            kind = m.kind.dir().trim_end_matches('s').to_uppercase(),
            service = m.service,
            reads = m
                .reads
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", "),
            reasons = m
                .reasons
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", "),
            aliases = if m.aliases.is_empty() {
                String::new()
            } else {
                m.aliases
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
    }
    out.push_str("\n## How the RCP checks read resource policies\n\n");
    out.push_str(crate::policy_document::condition::RULES);
    for check in ALL {
        let m = check.meta();
        let _ = write!(out, "\n## {}\n\n", m.id);
        let doc = doc_text(m);
        // Check docs use `##` sections; nest them under the check's heading.
        for line in doc.lines() {
            if line.starts_with('#') {
                let _ = writeln!(out, "#{line}");
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
        let _ = write!(
            out,
            "\n### Options\n\nUnder `checks.{}` in the configuration",
            m.id
        );
        if !m.aliases.is_empty() {
            let _ = write!(
                out,
                " (or {})",
                m.aliases
                    .iter()
                    .map(|a| format!("`checks.{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out.push_str(":\n\n| Key | Type | Default | Description |\n|---|---|---|---|\n");
        common_options(&mut out, m);
        let schema = check.options_schema();
        for (key, prop) in common::schema_properties(&schema) {
            let _ = writeln!(
                out,
                "| `{key}` | {ty} | {default} | {desc} |",
                ty = common::schema_type(&prop),
                default = prop.get("default").map_or_else(
                    || "none".to_owned(),
                    |d| format!("`{}`", headroom_schemas::canonical::to_string(d)),
                ),
                desc = prop
                    .get("description")
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .replace('\n', " "),
            );
        }
        let _ = write!(
            out,
            "\nSource: `{}`. Report schema: `documentation/reports/{}.schema.json`.\n",
            m.source, m.id
        );
    }
    out
}

/// Every check's report JSON Schema: (check ID, pretty JSON with a trailing newline).
pub fn report_schemas() -> Vec<(&'static str, String)> {
    ALL.iter()
        .map(|c| {
            let schema = c.report_schema();
            let mut text = headroom_schemas::canonical::to_string_pretty(schema.as_value());
            text.push('\n');
            (c.meta().id, text)
        })
        .collect()
}

/// The options every check has: `enabled`, `activity`, and `require_allowlist` for a check
/// with an allowlist.
fn common_options(out: &mut String, m: &CheckMeta) {
    out.push_str("| `enabled` | boolean | `true` | Run the check and generate its policies. |\n");
    out.push_str(
        "| `activity` | `block` or `warn` | `block` | With a snapshot holding activity: `block` makes an account where the planned guardrail would have denied a recent event block it like a violating resource (reason `denied_recent_activity`), and an account whose activity window was not read completely block it like one not fully collected; `warn` only reports them. See `ACTIVITY.md`. |\n",
    );
    if let Some(effect) = m.empty_allowlist {
        let _ = writeln!(
            out,
            "| `require_allowlist` | boolean | `false` | Never attach the guardrail where its allowlist would be empty (there, {effect}); the accounts stay uncovered, with the reason. |"
        );
    }
}
