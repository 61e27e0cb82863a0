//! What `goshift --version` prints: the version, the commit it was built from and the build
//! date (recorded by `build.rs`), so a bug report names the exact build.

/// `0.1.0 (commit 0123456789ab, built 2026-01-31)`.
pub(crate) const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GOSHIFT_COMMIT"),
    ", built ",
    env!("GOSHIFT_BUILD_DATE"),
    ")"
);
