//! The whole analysis on any snapshot the reader accepts: never a panic.
#![no_main]

use headroom_schemas::ReadLimits;
use libfuzzer_sys::fuzz_target;

const LIMITS: ReadLimits = ReadLimits {
    max_bytes: 8 << 20,
    max_string_bytes: 64 << 10,
};

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = headroom_schemas::read_with(data, &LIMITS) else {
        return;
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
});
