//! Measurement sources of the analysis checks: small I/O pieces whose parsers are pure.
//!
//! - [`exposition`]: the Prometheus text format and histogram quantiles;

pub mod exposition;
