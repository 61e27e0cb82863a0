//! Go version strings, their order, and what users ask for.
//!
//! [`GoVersion`] follows the rules of Go's own `internal/gover` package exactly:
//! `1.21 < 1.21rc1 < 1.21.0`, `1.20 == 1.20.0`, `1.18beta1 < 1.18rc1 < 1.18`. A malformed
//! version is an error at the edge, never a value that compares oddly later.
//!
//! [`VersionRequest`] is what a user typed (`1.22.10`, `1.22`, `latest`); [`VersionRange`]
//! is a set of comparators such as `>=1.21.0, <1.21.3` used by policies. [`Semver`] is the
//! semantic-version order of module versions and OSV ranges.
//!
//! ```
//! use goshift_version::GoVersion;
//! let a: GoVersion = "1.21rc1".parse().unwrap();
//! let b: GoVersion = "go1.21.0".parse().unwrap();
//! assert!(a < b);
//! assert_eq!(b.to_string(), "1.21.0");
//! assert_eq!(a.to_semver(), "1.21.0-rc.1");
//! ```
#![warn(missing_docs)]

mod range;
mod request;
mod semver;
mod version;

pub use range::{Comparator, Op, ParseRangeError, VersionRange};
pub use request::VersionRequest;
pub use semver::{Semver, is_valid_module_version};
pub use version::{GoVersion, ParseVersionError};
