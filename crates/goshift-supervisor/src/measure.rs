//! Measurement sources of the analysis checks: small I/O pieces whose parsers are pure and
//! tested without I/O.
//!
//! - [`exposition`]: the Prometheus text format and histogram quantiles;
//! - [`http`]: a bounded HTTP/1.1 client for probes and scrapes over loopback;
//! - [`socket`]: a listening socket's accept queue, and the connections a generation took;
//! - [`process`]: resident memory, CPU time, threads and fds from `/proc/PID`;
//! - [`prometheus`]: instant queries against a Prometheus server.

pub mod exposition;
pub mod http;
pub mod process;
pub mod prometheus;
pub mod socket;
