//! The YAML configuration on any text: never a panic, and every error is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = headroom_schemas::config::Config::from_yaml(text, "c.yaml".as_ref())
    {
        let line = headroom_schemas::text::escape_invisible(&e.to_string());
        assert!(!line.contains('\n'));
    }
});
