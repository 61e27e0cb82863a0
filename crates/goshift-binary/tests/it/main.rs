//! Tests of goshift-binary against fabricated binaries and databases.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers outside #[test] functions fail the test on error"
)]

mod formats;
mod hostile;
mod sbom;
mod vuln;
