//! Same snapshot and settings give byte-identical outputs with 1 thread or many, and whatever
//! the order of the snapshot's lists and keys.
#![expect(clippy::unwrap_used, reason = "test code")]

mod checks_common;

use checks_common::{demo, demo_settings};
use headroom_analyzer::{Outputs, Settings, analyze, checks};
use headroom_schemas::Snapshot;
use serde_json::Value;

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Reverses every list under `accounts` (instances, roles, buckets, ...) and rotates it by one,
/// and rebuilds every object with its keys in reverse order.
fn shuffle(value: &mut Value, under_accounts: bool) {
    match value {
        Value::Array(items) => {
            for item in items.iter_mut() {
                shuffle(item, under_accounts);
            }
            if under_accounts && items.len() > 1 {
                items.reverse();
                items.rotate_left(1);
            }
        }
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.reverse();
            for (key, v) in &mut entries {
                shuffle(v, under_accounts || key == "accounts");
            }
            map.extend(entries);
        }
        _ => {}
    }
}

fn shuffled(snapshot: &Snapshot) -> Snapshot {
    let mut value = serde_json::to_value(snapshot).unwrap();
    shuffle(&mut value, false);
    let text = serde_json::to_vec(&value).unwrap();
    let copy = headroom_schemas::read(&text).unwrap();
    assert_ne!(&copy, snapshot, "the shuffle must change list order");
    copy
}

fn run(snapshot: &Snapshot, settings: &Settings, threads: usize) -> Outputs {
    in_pool(threads, || analyze(snapshot, settings).unwrap())
}

fn assert_same(a: &Outputs, b: &Outputs, what: &str) {
    assert_eq!(
        a.files.keys().collect::<Vec<_>>(),
        b.files.keys().collect::<Vec<_>>(),
        "{what}: file lists differ"
    );
    for (file, bytes) in &a.files {
        assert!(b.files[file] == *bytes, "{what}: {} differs", file.path);
    }
    assert_eq!(a.stdout, b.stdout, "{what}: stdout differs");
}

#[test]
fn reports_are_identical_across_thread_counts_and_input_order() {
    let snapshot = demo();
    for exclude in [false, true] {
        let mut settings = demo_settings();
        settings.exclude_account_ids = exclude;
        let one = run(&snapshot, &settings, 1);
        assert!(
            one.files.len() >= 16 * 8,
            "every check reports every collected account"
        );
        let many = run(&snapshot, &settings, 4);
        assert_same(&one, &many, "1 thread vs 4");
        let reordered = run(&shuffled(&snapshot), &settings, 3);
        assert_same(&one, &reordered, "shuffled input");
    }
}

#[test]
fn verdicts_are_identical_across_thread_counts_and_input_order() {
    let snapshot = demo();
    let settings = demo_settings();
    let one = in_pool(1, || checks::run_checks(&snapshot, &settings).unwrap());
    let many = in_pool(4, || checks::run_checks(&snapshot, &settings).unwrap());
    let copy = shuffled(&snapshot);
    let reordered = in_pool(2, || checks::run_checks(&copy, &settings).unwrap());
    assert_eq!(one.runs, many.runs);
    assert_eq!(one.runs, reordered.runs);
    assert_eq!(one.files, reordered.files);
}
