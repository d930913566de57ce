//! Replays every input the fuzzers found a failure with (`fuzz/regressions/<target>/`) through
//! the same checks as the fuzz targets, in every test run, without the fuzzing toolchain.

#![expect(clippy::unwrap_used, reason = "test helpers")]

use std::path::{Path, PathBuf};

use headroom_schemas::{ReadLimits, Streamed};

const LIMITS: ReadLimits = ReadLimits {
    max_bytes: 8 << 20,
    max_string_bytes: 64 << 10,
};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != ".gitkeep"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn snapshot_readers_agree_on_every_regression() {
    for (path, data) in inputs("snapshot").into_iter().chain(inputs("analyze")) {
        let whole = headroom_schemas::read_with(&data, &LIMITS);
        let mut accounts = 0usize;
        let streamed = headroom_schemas::read_streaming_with(&data, &LIMITS, &mut |event| {
            if let Streamed::Account(..) = event {
                accounts += 1;
            }
        });
        match (&whole, &streamed) {
            (Ok(snapshot), Ok(())) => assert_eq!(snapshot.accounts.len(), accounts),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{}", path.display()),
            _ => panic!("{}: the readers disagree", path.display()),
        }
    }
}

#[test]
fn analysis_never_panics_on_a_regression() {
    for (_, data) in inputs("analyze").into_iter().chain(inputs("snapshot")) {
        let Ok(snapshot) = headroom_schemas::read_with(&data, &LIMITS) else {
            continue;
        };
        for exclude in [false, true] {
            let settings = headroom_analyzer::Settings {
                exclude_account_ids: exclude,
                use_account_name_from_tags: exclude,
                account_name_tag: "Name".to_owned(),
                ..headroom_analyzer::Settings::default()
            };
            let _ = headroom_analyzer::analyze(&snapshot, &settings);
        }
    }
}

#[test]
fn policy_documents_and_configs_never_panic() {
    for (_, data) in inputs("policy_document") {
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = headroom_analyzer::policy_document::parse(text);
        }
    }
    for (_, data) in inputs("config") {
        if let Ok(text) = std::str::from_utf8(&data)
            && let Err(e) = headroom_schemas::config::Config::from_yaml(text, "c.yaml".as_ref())
        {
            let line = headroom_schemas::text::escape_invisible(&e.to_string());
            assert!(!line.contains('\n'));
        }
    }
}
