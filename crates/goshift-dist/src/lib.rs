//! Where Go toolchains come from, and how they get onto disk safely.
//!
//! This crate owns the distribution side of the toolchain store:
//!
//! - [`Index`]: the go.dev release index (`https://go.dev/dl/?mode=json&include=all` schema),
//!   validated on parse, and [`Index::resolve`] which turns a [`VersionRequest`] into one
//!   release and the archive for a [`Platform`].
//! - [`Sources`] and [`Client`]: where the index and archives are fetched from (`https://`,
//!   `file://`, a mirror, plain `http://` only for loopback unless allowed).
//! - [`unpack`]: one streaming pass from the raw archive bytes to files on disk, computing the
//!   archive's SHA-256 on the way and refusing anything that could escape the destination.
//! - [`hash_tree`], [`copy_tree`], [`read_version_file`]: the manifest of a GOROOT on disk, for
//!   imports and for re-verification.
//!
//! Only `.tar.gz` archives are extracted: the Windows `.zip` archives are refused with
//! [`DistError::ZipUnsupported`] (by [`Sources::archive_url`] from the file name, and by
//! [`unpack`] from the data), since goshift manages POSIX toolchains.
//!
//! Invariants: hashes come from the index (or the caller), never from the mirror; nothing here
//! prints or reads the process environment; a failed [`unpack`] leaves no cache file behind
//! (the caller removes the destination directory).
//!
//! ```
//! use goshift_dist::{Index, Platform};
//! use goshift_version::VersionRequest;
//!
//! let json = br#"[{"version": "go1.22.10", "stable": true, "files": [{
//!     "filename": "go1.22.10.linux-amd64.tar.gz", "os": "linux", "arch": "amd64",
//!     "version": "go1.22.10", "size": 1,
//!     "sha256": "736ce492a19d756a92719a6121226087ccd91b652ed5caec40ad6dbfb2252092",
//!     "kind": "archive"}]}]"#;
//! let index = Index::parse(json).unwrap();
//! let platform = Platform::parse("linux/amd64").unwrap();
//! let (release, file) = index.resolve(&VersionRequest::Latest, &platform, false).unwrap();
//! assert_eq!(release.version.to_string(), "1.22.10");
//! assert_eq!(file.filename, "go1.22.10.linux-amd64.tar.gz");
//! ```
#![warn(missing_docs)]

mod client;
mod error;
mod index;
mod manifest;
mod platform;
mod sources;
mod sys;
mod unpack;
mod url;

pub use client::{Client, Download, DownloadLimits, RATE_GRACE};
pub use error::{DistError, UnsafeReason};
pub use goshift_version::{GoVersion, VersionRequest};
pub use index::{Index, IndexError, Release, ReleaseFile, ResolveError};
pub use manifest::{EntryKind, ManifestEntry, copy_tree, hash_tree, read_version_file};
pub use platform::{ParsePlatformError, Platform};
pub use sources::Sources;
pub use unpack::{Expected, Unpacked, check_space, unpack};
