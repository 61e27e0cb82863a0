//! Supervisor tests: a real supervisor in-process, driving the fault-injecting test service.
//! Every wait is on a published phase or a reply, never on a timer.
#![expect(
    clippy::unwrap_used,
    clippy::needless_pass_by_value,
    clippy::unused_self,
    reason = "test support code: a failed unwrap is a failed test"
)]

mod activation;
mod analysis;
mod function_length;
mod harness;
mod lifecycle;
mod metrics;
mod output;
mod promql;
mod reload;
mod upgrade;
