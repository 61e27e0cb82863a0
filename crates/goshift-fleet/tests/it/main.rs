//! Integration tests against a real etcd started on loopback ports.
//!
//! They need Debian's `etcd-server` (`etcd` on `PATH`). Without it each test says so on
//! stderr and passes, unless `CI` is set: then a missing etcd fails the test.
#![expect(
    clippy::unwrap_used,
    reason = "test fixtures that cannot be set up fail the test at once"
)]

mod agent;
mod auth;
mod client;
pub(crate) mod server;
