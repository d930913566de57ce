//! The checked-in JSON Schema matches the Rust types; `UPDATE_GENERATED=1` rewrites it.

use std::path::Path;

#[test]
fn snapshot_schema_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshot.schema.json");
    let generated = headroom_schemas::json_schema();
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != generated {
        let diff = similar::TextDiff::from_lines(&checked_in, &generated)
            .unified_diff()
            .header("checked in", "generated")
            .to_string();
        panic!(
            "schemas/snapshot.schema.json is stale; regenerate it with\n  UPDATE_GENERATED=1 cargo test -p headroom-schemas --test generated\n{diff}"
        );
    }
}
