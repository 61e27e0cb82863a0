//! Integration tests: the real `goshift` binary in a sandbox.

mod basics;
mod governance;
mod inspect;
mod toolchain;
mod toolchain_crash;
mod toolchain_errors;
mod project;
mod project_shell;
mod governance_gate;
mod service;
