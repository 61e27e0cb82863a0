//! The toolchain store under `$GOSHIFT_HOME`: verified Go toolchains side by side, an atomic
//! default, a history of switches, and manifests to re-verify every installed file.
//!
//! [`Store`] owns the layout:
//!
//! ```text
//! toolchains/go1.22.10/        immutable GOROOT, published with one rename
//! manifests/go1.22.10.json     per-file sha256 and mode, source, archive hash, smoke test
//! default -> toolchains/go1.22.10   relative symlink, replaced atomically
//! history                      numbered switches of the default, JSON lines
//! bin/go, bin/gofmt, bin/go1.22.10  links to the goshift executable (the `go` proxy)
//! cache/archives/<sha256>      verified archives (or in a cache directory outside the home)
//! staging/                     work in progress, each entry guarded by its own lock file
//! lock                         the store lock
//! ```
//!
//! Every mutation needs a [`StoreLock`] (taken with [`Store::lock`]), so two processes never
//! interleave. Slow work (download, extraction, copying, the smoke test) runs in a
//! [`Staging`] area without the store lock; [`Store::publish`] then takes the tree live with a
//! single `rename`; [`Store::install`] runs those steps in order for `install` and `import`.
//! A process killed at any moment leaves either nothing visible or a complete toolchain;
//! [`Store::clean`] removes what dead processes left behind.
//!
//! The crate never prints and never reads the environment: the caller passes in paths, the
//! goshift executable and the timeouts.
//!
//! ```no_run
//! # fn main() -> Result<(), goshift_store::StoreError> {
//! use std::time::Duration;
//! use goshift_store::Store;
//! let store = Store::new("/home/me/.local/share/goshift");
//! for toolchain in store.installed()? {
//!     println!("{} default={}", toolchain.version, toolchain.is_default);
//! }
//! let lock = store.lock(Duration::from_secs(60), |holder| eprintln!("waiting for {holder}"))?;
//! let switch = store.set_default(&lock, &"1.22.10".parse().unwrap(), goshift_store::Action::Use)?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod error;
mod history;
mod install;
mod layout;
mod links;
mod manifest;
mod mutate;
mod phase;
mod smoke;
mod staging;
mod sys;
mod verify;

pub use error::StoreError;
pub use history::{Action, HistoryEntry, Switch};
pub use install::{
    Archive, Caller, Event, InstallError, Installation, Origin, Plan, Published, SmokeSettings,
    SmokeSkip, StepError,
};
pub use layout::{Installed, Store, StoreLock, is_installed_in};
pub use manifest::{Manifest, SmokeOutcome, Source, Verification};
pub use mutate::{Recovery, Replace};
pub use phase::Phase;
pub use smoke::{SmokeError, SmokeReport, SmokeTest};
pub use staging::Staging;
pub use verify::{Difference, VerifyReport};

#[cfg(test)]
mod tests;
