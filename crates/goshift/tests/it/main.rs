//! Integration tests: the real `goshift` binary in a sandbox.

mod basics;
mod governance;
mod governance_gate;
mod inspect;
mod project;
mod project_shell;
mod service;
mod toolchain;
mod toolchain_crash;
mod toolchain_errors;
