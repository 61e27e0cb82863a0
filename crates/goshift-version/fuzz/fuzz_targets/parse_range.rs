//! Any string either fails to parse as a version range, or parses to a range whose display
//! parses back to an equal range that agrees on membership.
#![no_main]

use goshift_version::VersionRange;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(range) = VersionRange::parse(text) else {
        return;
    };
    let shown = range.to_string();
    let again = VersionRange::parse(&shown).expect("the display of a parsed range parses");
    assert_eq!(again, range, "display round-trips");
    for comparator in range.comparators() {
        assert_eq!(
            range.contains(&comparator.version),
            again.contains(&comparator.version),
            "both parses agree on membership"
        );
    }
});
