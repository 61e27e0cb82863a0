//! Any bytes: container parsing, blob search and decoding must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = goshift_binary::read_build_info_from_bytes(data) {
        // Whatever was read must render.
        let _ = info.go_version_m("fuzz");
    }
});
