//! Manifests: what was installed, from where, and the hash and mode of every file.

use std::path::PathBuf;

use goshift_dist::ManifestEntry;
use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::layout::Store;

/// The record written beside each toolchain at install time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The toolchain's version.
    pub version: GoVersion,
    /// Where it came from.
    pub source: Source,
    /// How the archive was checked.
    pub verification: Verification,
    /// The SHA-256 of the archive (none for an import).
    pub archive_sha256: Option<String>,
    /// The archive's size in bytes (none for an import).
    pub archive_size: Option<u64>,
    /// When it was installed (RFC 3339, UTC).
    pub installed_at: String,
    /// The smoke test's outcome.
    pub smoke_test: SmokeOutcome,
    /// Every file, directory and symlink of the tree, sorted by path.
    pub entries: Vec<ManifestEntry>,
}

/// Where a toolchain came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// Downloaded from a URL.
    Download {
        /// The archive URL.
        url: String,
    },
    /// A local archive file.
    Archive {
        /// The archive's path.
        path: PathBuf,
    },
    /// A cached, already verified archive.
    Cache {
        /// The cache file.
        path: PathBuf,
    },
    /// Copied from an existing GOROOT.
    Import {
        /// The GOROOT copied.
        path: PathBuf,
    },
}

/// How an archive's integrity was established.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// Its SHA-256 matched the release index.
    Index,
    /// Its SHA-256 matched the one given on the command line.
    Sha256Flag,
    /// Nothing was checked (`--allow-unverified`).
    Unverified,
    /// An imported tree: hashed as found, nothing to check against.
    Imported,
}

/// What the smoke test found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmokeOutcome {
    /// `go version`, `go env GOROOT` and a hello-world build passed.
    Passed,
    /// It was not run (`--no-smoke-test`, or a toolchain for another platform).
    Skipped,
}

impl Manifest {
    /// The current time in the manifest's format.
    pub fn now() -> String {
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
    }
}

/// More than the manifest of any Go release needs (one line per file, about 15,000 files).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

impl Store {
    /// Reads the manifest of an installed version.
    pub fn manifest(&self, version: &GoVersion) -> Result<Manifest, StoreError> {
        let path = self.manifest_path(version);
        let relative = path.strip_prefix(self.home()).unwrap_or(&path);
        let bytes = goshift_fs::read_beneath(self.home(), relative, MAX_MANIFEST_BYTES)
            .at("read the manifest", &path)?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::BadManifest { path, source })
    }

    pub(crate) fn write_manifest(
        &self,
        lock: &crate::StoreLock,
        manifest: &Manifest,
    ) -> Result<(), StoreError> {
        let path = self.manifest_path(&manifest.version);
        let mut bytes =
            serde_json::to_vec_pretty(manifest).map_err(|source| StoreError::BadManifest {
                path: path.clone(),
                source,
            })?;
        bytes.push(b'\n');
        let name = format!("{}.json", manifest.version.toolchain_name());
        lock.dirs
            .manifests
            .write_atomic(name, &bytes, 0o644)
            .at("write the manifest", path)
    }
}
