//! Any text: the modinfo parser must return, and what it accepts must render back to text
//! that parses to the same value (Go's `String()`/`ParseBuildInfo` round trip).
#![no_main]

use goshift_binary::ModInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(info) = ModInfo::parse(text) {
        let rendered = info.render();
        let again = ModInfo::parse(&rendered).expect("rendered modinfo must parse");
        assert_eq!(again.render(), rendered);
    }
});
