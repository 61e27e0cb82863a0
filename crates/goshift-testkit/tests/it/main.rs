//! Checks over the whole workspace's source.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] functions fail the test on error"
)]

mod function_length;
