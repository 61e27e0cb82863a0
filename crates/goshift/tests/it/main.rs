//! Integration tests: the real `goshift` binary in a sandbox.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly on broken fixtures"
)]

mod basics;
mod governance;
mod governance_enforce;
mod governance_gate;
mod governance_snapshot;
mod inspect;
mod project;
mod project_shell;
mod service;
mod toolchain;
mod toolchain_crash;
mod toolchain_errors;
