//! Integration tests: the real `goshift` binary in a sandbox.

mod basics;
mod governance;
mod inspect;
