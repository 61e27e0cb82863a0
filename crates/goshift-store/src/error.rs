//! The store's error type.

use std::io;
use std::path::PathBuf;

use goshift_version::GoVersion;

/// What went wrong in a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed.
    #[error("failed to {action} `{}`", path.display())]
    Io {
        /// What was being done (`create`, `rename`, `read`…).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The store lock could not be taken.
    #[error(transparent)]
    Lock(#[from] goshift_fs::LockError),
    /// Hashing or copying a tree failed.
    #[error(transparent)]
    Dist(#[from] goshift_dist::DistError),
    /// The version is not installed.
    #[error("go{version} is not installed")]
    NotInstalled {
        /// The version asked for.
        version: Box<GoVersion>,
        /// What is installed instead, newest first.
        installed: Vec<GoVersion>,
    },
    /// The version is installed already, and replacing it was not asked for.
    #[error("go{version} is already installed")]
    AlreadyInstalled {
        /// The version.
        version: Box<GoVersion>,
    },
    /// Uninstalling the default toolchain was not forced.
    #[error("go{version} is the default toolchain")]
    IsDefault {
        /// The default version.
        version: Box<GoVersion>,
    },
    /// A rollback found no earlier default in the history.
    #[error("there is no previous default to roll back to")]
    NoPrevious,
    /// A rollback named a history entry that does not exist.
    #[error("the history has no switch number {seq} (it has {count} entries)")]
    NoSuchSwitch {
        /// The number asked for.
        seq: u64,
        /// How many entries the history has.
        count: u64,
    },
    /// A rollback named a history entry that removed the default rather than setting one.
    #[error("switch {seq} cleared the default, so it names no version to go back to")]
    ClearedSwitch {
        /// The number asked for.
        seq: u64,
    },
    /// A manifest file cannot be read as a manifest.
    #[error("the manifest `{}` is not valid", path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A line of the history file cannot be read.
    #[error("line {line} of the history `{}` is not valid", path.display())]
    BadHistory {
        /// The history file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The toolchain's `VERSION` file names another version than the one being installed.
    #[error("`{}` contains go{found}, but go{expected} was expected", path.display())]
    VersionMismatch {
        /// The toolchain tree.
        path: PathBuf,
        /// The version being installed.
        expected: Box<GoVersion>,
        /// The version the tree says it is.
        found: Box<GoVersion>,
    },
}

/// Attaches the action and path to an I/O error.
pub(crate) trait IoContext<T> {
    /// Wraps the error in [`StoreError::Io`].
    fn at(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for Result<T, io::Error> {
    fn at(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Io {
            action,
            path: path.into(),
            source,
        })
    }
}
