//! Any string either fails to parse as a Go version, or parses to a version whose display
//! parses back to an equal version with the same display, and which orders equal to itself.
#![no_main]

use std::cmp::Ordering;

use goshift_version::{GoVersion, VersionRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A request is parsed from the same input: it must never panic either.
    let _ = VersionRequest::parse(text);
    let Ok(version) = GoVersion::parse(text) else {
        return;
    };
    let shown = version.to_string();
    let again = GoVersion::parse(&shown).expect("the display of a parsed version parses");
    assert_eq!(again.to_string(), shown, "display round-trips");
    assert_eq!(again, version, "the re-parsed version is equal");
    assert_eq!(
        version.cmp(&version),
        Ordering::Equal,
        "the order is reflexive"
    );
    assert_eq!(version.cmp(&again), Ordering::Equal);
    assert_eq!(again.cmp(&version), Ordering::Equal);
    // The derived forms must not panic on anything the parser accepts.
    let _ = version.to_semver();
    let _ = version.toolchain_name();
    let lang = version.lang();
    assert_eq!(
        lang.lang(),
        lang,
        "the language version is its own language version"
    );
});
