//! The organization overview of the demo: OU tree, account counts, collection status.

use headroom_analyzer::{DEMO_SNAPSHOT, Settings, overview};

#[test]
fn demo_overview() {
    let snapshot = headroom_schemas::read(DEMO_SNAPSHOT).unwrap();
    insta::assert_snapshot!(overview::render(&snapshot, &Settings::default()));
}

#[test]
fn hostile_names_cannot_forge_lines() {
    let mut snapshot = headroom_schemas::read(DEMO_SNAPSHOT).unwrap();
    let ou = snapshot
        .organization
        .organizational_units
        .get_mut("ou-aaaa-11111111")
        .unwrap();
    ou.name = "Security\nRoot (r-fake): 0 accounts\x1b[2J".into();
    let text = overview::render(&snapshot, &Settings::default());
    assert!(
        text.contains("Security\\nRoot (r-fake): 0 accounts\\u{1b}[2J"),
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("Root (")).count(), 1);
}
