//! Integration tests: the real `goshift` binary in a sandbox.

mod basics;
mod project;
mod project_shell;
