//! The snapshot readers on any bytes: never a panic or an abort, and the streaming reader
//! (what `analyze` uses) accepts exactly what the whole-document reader accepts, failing with
//! the same message.
#![no_main]

use headroom_schemas::{ReadLimits, Streamed};
use libfuzzer_sys::fuzz_target;

/// Small bounds, so that a decompression bomb ends quickly and fuzzing stays in memory.
const LIMITS: ReadLimits = ReadLimits {
    max_bytes: 8 << 20,
    max_string_bytes: 64 << 10,
};

fuzz_target!(|data: &[u8]| {
    let whole = headroom_schemas::read_with(data, &LIMITS);
    let mut accounts = 0usize;
    let streamed = headroom_schemas::read_streaming_with(data, &LIMITS, &mut |event| {
        if let Streamed::Account(..) = event {
            accounts += 1;
        }
    });
    match (&whole, &streamed) {
        (Ok(snapshot), Ok(())) => assert_eq!(snapshot.accounts.len(), accounts),
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            // As the binaries print it: one line, whatever the snapshot holds.
            let line = headroom_schemas::text::escape_invisible(&a.to_string());
            assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        }
        _ => panic!("the readers disagree: {whole:?} / {streamed:?}"),
    }
});
