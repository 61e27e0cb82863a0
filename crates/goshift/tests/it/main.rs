//! Integration tests: the real `goshift` binary in a sandbox.

mod basics;
mod governance;
mod governance_enforce;
mod governance_gate;
mod governance_snapshot;
mod project;
mod project_shell;
mod toolchain;
mod toolchain_crash;
mod toolchain_errors;
