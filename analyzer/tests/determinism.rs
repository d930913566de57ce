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

fn stream(bytes: &[u8], settings: &Settings, threads: usize) -> Result<Outputs, String> {
    let sink = headroom_analyzer::Collect::default();
    let printed = in_pool(threads, || {
        headroom_analyzer::analyze_bytes_into(bytes, settings, &sink)
    })
    .map_err(|e| e.to_string())?;
    Ok(Outputs {
        files: sink.into_files(),
        stdout: printed.text,
        totals: printed.totals,
    })
}

/// The binary's entry point, which checks accounts while the parser reads on, gives exactly
/// what `analyze` gives on the parsed snapshot: for `accounts` last (as Headroom writes it) or
/// first, at any thread count, in exclude mode too.
#[test]
fn streaming_analysis_equals_the_pure_one() {
    let snapshot = demo();
    let canonical = headroom_schemas::to_json(&snapshot);
    let mut value = serde_json::to_value(&snapshot).unwrap();
    shuffle(&mut value, false);
    let accounts = value.as_object_mut().unwrap().remove("accounts").unwrap();
    let rest = serde_json::to_string(&value).unwrap();
    let accounts_first = format!(
        "{{\"accounts\": {}, {}",
        serde_json::to_string(&accounts).unwrap(),
        &rest[1..]
    );
    for exclude in [false, true] {
        let mut settings = demo_settings();
        settings.exclude_account_ids = exclude;
        let expected = run(&snapshot, &settings, 1);
        // Compressed, as `collect` writes it: decompression then overlaps the parse.
        let compressed_last = zstd::encode_all(canonical.as_slice(), 3).unwrap();
        let compressed_first = zstd::encode_all(accounts_first.as_bytes(), 3).unwrap();
        for (what, bytes) in [
            ("accounts last", canonical.as_slice()),
            ("accounts first", accounts_first.as_bytes()),
            ("accounts last, zstd", compressed_last.as_slice()),
            ("accounts first, zstd", compressed_first.as_slice()),
        ] {
            for threads in [1, 2, 4] {
                let got = stream(bytes, &settings, threads).unwrap();
                assert_same(&expected, &got, &format!("{what}, {threads} threads"));
            }
        }
    }
}

/// A snapshot that turns out bad after its first accounts were checked, or settings that
/// contradict it, put nothing into the sink: no report of a bad run is ever written.
#[test]
fn a_late_error_puts_nothing() {
    let canonical = String::from_utf8(headroom_schemas::to_json(&demo())).unwrap();
    let at = canonical.rfind("\"inactive\"").unwrap() + "\"inactive\"".len();
    let late = format!("{}, \"nickname\": 1{}", &canonical[..at], &canonical[at..]);
    let settings = demo_settings();
    let sink = headroom_analyzer::Collect::default();
    let error = in_pool(2, || {
        headroom_analyzer::analyze_bytes_into(late.as_bytes(), &settings, &sink)
    })
    .unwrap_err()
    .to_string();
    assert_eq!(
        error,
        headroom_schemas::read(late.as_bytes())
            .unwrap_err()
            .to_string()
    );
    assert!(error.contains("nickname"), "{error}");
    assert!(sink.into_files().is_empty());
    // The same through the pipelined reader of a zstd snapshot.
    let compressed = zstd::encode_all(late.as_bytes(), 3).unwrap();
    let sink = headroom_analyzer::Collect::default();
    let compressed_error = in_pool(2, || {
        headroom_analyzer::analyze_bytes_into(&compressed, &settings, &sink)
    })
    .unwrap_err()
    .to_string();
    assert_eq!(compressed_error, error);
    assert!(sink.into_files().is_empty());

    let mut contradicting = demo_settings();
    contradicting
        .skip_account_ids
        .insert("000000000009".parse().unwrap());
    let sink = headroom_analyzer::Collect::default();
    let error = in_pool(2, || {
        headroom_analyzer::analyze_bytes_into(canonical.as_bytes(), &contradicting, &sink)
    })
    .unwrap_err()
    .to_string();
    assert!(error.contains("skip_account_ids"), "{error}");
    assert!(sink.into_files().is_empty());
}
