//! [`DistError`]: everything that can go wrong fetching, verifying or unpacking a toolchain.
//!
//! Messages name the failed operation and the value at fault, and end with what to do about
//! it when there is something to do.

use std::io;
use std::path::PathBuf;

use goshift_version::GoVersion;

use crate::IndexError;

/// An error from fetching, verifying or unpacking a Go distribution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistError {
    /// A URL is malformed or uses an unsupported scheme.
    #[error("cannot use URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Plain `http://` to a host that is not loopback, without the opt-in.
    #[error(
        "refusing to download `{url}` over plain http: use an `https://` URL, or set `GOSHIFT_ALLOW_HTTP=1` to allow http for hosts other than loopback"
    )]
    InsecureHttp {
        /// The refused URL.
        url: String,
    },
    /// The server answered with a status other than 2xx.
    #[error("`{url}` answered with HTTP status {status}{}", status_hint(*.status))]
    HttpStatus {
        /// The requested URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The request failed before a response arrived (DNS, connect, TLS, timeout).
    #[error("could not fetch `{url}`; check the network (and `HTTPS_PROXY` when one is needed)")]
    Transport {
        /// The requested URL.
        url: String,
        /// The underlying failure.
        #[source]
        source: Box<ureq::Error>,
    },
    /// A `file://` source could not be opened or read.
    #[error("could not read `{}`", .path.display())]
    LocalFile {
        /// The local path.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
    /// The index document is invalid.
    #[error("the release index at `{url}` is invalid")]
    Index {
        /// Where the index came from.
        url: String,
        /// What is wrong with it.
        #[source]
        source: Box<IndexError>,
    },
    /// Reading the archive stream failed part-way (connection reset, timeout, disk error).
    #[error("reading the archive failed after {bytes} bytes; retry the download")]
    Read {
        /// Bytes successfully read before the failure.
        bytes: u64,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
    /// Reading the release index failed part-way (a timeout, its deadline, a reset).
    #[error("reading the release index `{url}` failed after {bytes} bytes")]
    IndexRead {
        /// Where the index comes from.
        url: String,
        /// Bytes read before the failure.
        bytes: u64,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
    /// The archive's SHA-256 differs from the trusted one.
    #[error(
        "checksum mismatch: expected sha256 {expected}, got {actual}; the download was discarded: retry, and if it fails again the mirror serves a different file than the index describes"
    )]
    ChecksumMismatch {
        /// The trusted hash (from the index or the caller).
        expected: String,
        /// The hash of the bytes received.
        actual: String,
    },
    /// The archive's size differs from the trusted one.
    #[error(
        "size mismatch: expected {expected} bytes, got {actual}{}; the download was discarded: retry, or check the mirror",
        if *.actual > *.expected { " or more" } else { "" }
    )]
    SizeMismatch {
        /// The trusted size.
        expected: u64,
        /// Bytes received (reading stops one byte past the expected size).
        actual: u64,
    },
    /// The archive ends early.
    #[error("the archive is truncated{}; retry the download", at_entry(.entry.as_deref()))]
    Truncated {
        /// The entry being read when the data ran out, if any.
        entry: Option<String>,
    },
    /// The gzip or tar structure is invalid.
    #[error("the archive is corrupt{}: {detail}", at_entry(.entry.as_deref()))]
    Corrupt {
        /// The entry being read, if any.
        entry: Option<String>,
        /// What the decoder reported.
        detail: String,
    },
    /// Bytes follow the end of the archive.
    #[error("unexpected data after the end of the {after}; the file is not a clean Go archive")]
    TrailingData {
        /// `tar archive` or `gzip stream`.
        after: &'static str,
    },
    /// An entry could escape the destination or is of a forbidden kind.
    #[error("refusing archive entry `{entry}`: {reason}")]
    UnsafeEntry {
        /// The entry's path as written in the archive.
        entry: String,
        /// Why it is refused.
        reason: UnsafeReason,
    },
    /// The archive is a `.zip`, which this version does not extract.
    #[error(
        "`{name}` is a zip archive, which goshift does not extract; use the `.tar.gz` archive of the release"
    )]
    ZipUnsupported {
        /// File name or description of the archive.
        name: String,
    },
    /// The archive inflates to far more than a Go distribution does for its size.
    #[error(
        "the archive is suspect: it inflates to more than {limit} bytes, {ratio} times its size (Go archives inflate about 3.5 times); extraction was stopped"
    )]
    Inflated {
        /// The bound that was passed.
        limit: u64,
        /// The bound as a multiple of the archive's size.
        ratio: u64,
    },
    /// The file system has less free space than the tree (and the archive's cached copy)
    /// needs.
    #[error(
        "not enough free space to unpack the toolchain: about {} needed (an archive of {} inflates about 3.5 times{}), {} free on the file system of `{}`; free some space (`goshift prune` removes old toolchains) or set `GOSHIFT_HOME` to a larger file system",
        mib(*.needed), mib(*.archive), if *.copied { ", plus its copy in the cache" } else { "" }, mib(*.available), .dir.display()
    )]
    NoSpace {
        /// The directory whose file system was measured.
        dir: PathBuf,
        /// The archive's trusted size.
        archive: u64,
        /// Whether the archive is also copied to the cache.
        copied: bool,
        /// The bytes the tree and the copy are expected to take.
        needed: u64,
        /// The bytes free.
        available: u64,
    },
    /// The disk filled up (or a file size limit was hit) while the archive, whose bytes
    /// matched the index, was being unpacked.
    #[error("{}", disk_full(*.needed, *.archive))]
    DiskFull {
        /// The archive's trusted size, when the index gives one.
        archive: Option<u64>,
        /// The bytes its tree is expected to take.
        needed: Option<u64>,
        /// The write that failed.
        #[source]
        source: io::Error,
    },
    /// The archive has no `go/VERSION` file.
    #[error("the archive has no `go/VERSION` file, so it is not a Go distribution")]
    MissingVersionFile,
    /// A `VERSION` file does not start with a Go version.
    #[error("`{}` does not start with a Go version (found `{found}`)", .path.display())]
    BadVersionFile {
        /// The file.
        path: PathBuf,
        /// Its first line.
        found: String,
    },
    /// The distribution is a different version than requested.
    #[error(
        "the archive contains Go {actual}, not Go {expected}; the index or mirror is inconsistent"
    )]
    VersionMismatch {
        /// The version asked for.
        expected: Box<GoVersion>,
        /// The version in `go/VERSION`.
        actual: Box<GoVersion>,
    },
    /// A file in a tree is neither a regular file, a directory nor a symlink.
    #[error("`{}` is not a regular file, directory or symlink", .path.display())]
    UnsupportedFileType {
        /// The file.
        path: PathBuf,
    },
    /// A symlink in a tree being copied points outside it and cannot be followed.
    #[error("symlink `{}` points to `{}`, which does not exist", .path.display(), .target.display())]
    DanglingLink {
        /// The symlink.
        path: PathBuf,
        /// Its target.
        target: PathBuf,
    },
    /// Following symlinks out of a tree leads back into a directory being copied.
    #[error("symlinks at `{}` form a loop", .path.display())]
    SymlinkLoop {
        /// Where the loop was detected.
        path: PathBuf,
    },
    /// A local file-system operation failed (the error names the path).
    #[error("file system error")]
    Io(#[source] io::Error),
}

/// Why an archive entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsafeReason {
    /// The path is absolute.
    #[error("absolute paths are not allowed")]
    AbsolutePath,
    /// The path has a `..` component.
    #[error("`..` components are not allowed")]
    ParentComponent,
    /// The path is not under the single top-level `go/` directory.
    #[error("every entry of a Go archive must be under `go/`")]
    OutsideRoot,
    /// A symlink's target leaves the root.
    #[error("its symlink target `{0}` leaves the archive root")]
    SymlinkEscapes(String),
    /// A hard link's target is outside the root or not an earlier regular file.
    #[error("its hard-link target `{0}` is not an earlier regular file under `go/`")]
    BadHardLink(String),
    /// Character/block devices and FIFOs.
    #[error("device files and FIFOs are not allowed")]
    Special,
    /// Any other entry type.
    #[error("entry type `{0}` is not supported")]
    UnsupportedType(char),
    /// A path that appeared before.
    #[error("the path appears twice")]
    Duplicate,
    /// A path whose parent is a regular file from the archive.
    #[error("its parent is a file, not a directory")]
    ParentIsFile,
    /// A path whose parent is a symlink from the archive.
    #[error("its parent is a symlink, which could redirect the write")]
    ThroughSymlink,
    /// A path that is not UTF-8.
    #[error("the path is not UTF-8")]
    NotUtf8,
}

fn at_entry(entry: Option<&str>) -> String {
    entry
        .map(|e| format!(" at entry `{e}`"))
        .unwrap_or_default()
}

fn status_hint(status: u16) -> &'static str {
    match status {
        404 | 410 => {
            "; the file does not exist there: check the version, `GOSHIFT_MIRROR` and `GOSHIFT_INDEX_URL`"
        }
        401 | 403 => "; access was denied: check the mirror's permissions",
        500..=599 => "; the server failed: retry later or use another mirror",
        _ => "",
    }
}

/// `bytes` in MiB with one decimal, for messages about sizes.
fn disk_full(needed: Option<u64>, archive: Option<u64>) -> String {
    let start = "the disk filled up while unpacking the toolchain, so nothing was installed";
    match (needed, archive) {
        (Some(needed), Some(archive)) => format!(
            "{start}: its tree needs about {} (an archive of {} inflates about 3.5 times)",
            mib(needed),
            mib(archive)
        ),
        _ => start.to_owned(),
    }
}

fn mib(bytes: u64) -> String {
    #[expect(
        clippy::cast_precision_loss,
        reason = "a size shown to one decimal of a MiB"
    )]
    let mib = bytes as f64 / f64::from(1 << 20);
    format!("{mib:.1} MiB")
}
