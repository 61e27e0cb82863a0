//! goshift's fleet: the desired state of many hosts kept in etcd, and what an agent does to
//! bring its host there.
//!
//! Operators write the desired default toolchain of an environment and service rollouts
//! ([`Fleet`]); every write is a transaction that compares the revision the operator read,
//! so a concurrent change is a [`FleetError::Conflict`] naming who made it. Agents report
//! their host under a lease and follow the desired state ([`agent`]); which host upgrades
//! when is decided by [`decide`], a pure function of what etcd holds.
//!
//! etcd is reached through its v3 JSON gateway ([`Etcd`]) with the HTTP client goshift
//! already has. This crate neither prints nor reads the process's environment.
#![warn(missing_docs)]

pub mod agent;
mod board;
pub mod decide;
mod error;
mod etcd;
mod fleet;
pub mod keys;
pub mod model;

pub use board::{Board, EnvironmentBoard, HostBoard, RolloutBoard};
pub use error::{EtcdError, FleetError};
pub use etcd::{
    CALL_TIMEOUT, Etcd, EtcdOptions, KeyValue, Range, TxnOutcome, WatchEvent, WatchOutcome, Write,
    prefix_end,
};
pub use fleet::{AuditCopy, Fleet, Read, now_rfc3339, now_unix};
pub use keys::{DEFAULT_PREFIX, KeyKind, Keys, check_name};
