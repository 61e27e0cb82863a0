//! goshift's policy: which Go versions a machine or project may use, and why not.
//!
//! [`Policy::parse`] reads the TOML policy file (format in the design document) and reports
//! every problem with its line and column. [`Policy::evaluate`] decides for one version in an
//! [`EvalContext`] (environment, newest known release, today) and returns a [`Decision`]:
//! the strictest [`Verdict`], every [`Reason`] that applied, and whether a change needs a
//! reason or `--force`. [`gate`] holds the CI gate's checks of project files, its report
//! model and its JSON and SARIF renderings. [`Policy::may_change`] says whether a person may change an environment (its
//! `may_change` list of users and groups). Nothing here does I/O: the caller reads files and passes text in.
//!
//! ```
//! use goshift_policy::{EvalContext, Policy, Verdict};
//! use goshift_version::GoVersion;
//!
//! let policy = Policy::parse(
//!     "[[blocked]]\nversions = \">=1.21.0, <1.21.3\"\nreason = \"HTTP/2 rapid reset\"\n",
//!     "policy.toml",
//! )
//! .unwrap();
//! let decision = policy.evaluate(&GoVersion::parse("1.21.1").unwrap(), &EvalContext::default());
//! assert_eq!(decision.verdict, Verdict::Deny);
//! ```
#![warn(missing_docs)]

mod date;
mod evaluate;
pub mod gate;
mod permissions;
mod schema;

pub use date::Date;
pub use evaluate::{Decision, EvalContext, Reason, Rule, Verdict};
pub use permissions::{Changers, Permission, Person};
pub use schema::{Blocked, BoardRow, Diagnostic, EnvironmentPolicy, Policy, PolicyError, Status};
