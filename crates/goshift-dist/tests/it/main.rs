//! Integration tests of `goshift-dist` against fabricated archives and a loopback mirror.
#![expect(
    clippy::unwrap_used,
    reason = "shared setup functions outside #[test] functions panic on setup failures by design"
)]

mod bomb;
mod download;
mod tree;
mod unpack;

use std::path::{Path, PathBuf};

use goshift_dist::{DistError, Expected, GoVersion, Unpacked};
use goshift_testkit::mirror::sha256_hex;

/// A scratch directory with an empty `dest/` and a `cache/` directory.
pub(crate) struct Scratch {
    root: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("dest")).unwrap();
        std::fs::create_dir(root.path().join("cache")).unwrap();
        Self { root }
    }

    pub(crate) fn dest(&self) -> PathBuf {
        self.root.path().join("dest")
    }

    pub(crate) fn cache(&self) -> PathBuf {
        self.root.path().join("cache").join("archive")
    }

    pub(crate) fn path(&self) -> &Path {
        self.root.path()
    }

    /// Names in the cache directory.
    pub(crate) fn cache_listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.path().join("cache"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

/// What a verified install of `bytes` as Go `version` expects.
pub(crate) fn expect_exact(bytes: &[u8], version: &str) -> Expected {
    Expected {
        sha256: Some(sha256_hex(bytes)),
        size: Some(bytes.len() as u64),
        version: Some(GoVersion::parse(version).unwrap()),
    }
}

/// Unpacks `bytes` into a fresh scratch dir with the cache enabled.
pub(crate) fn unpack_bytes(
    bytes: &[u8],
    expected: &Expected,
) -> (Scratch, Result<Unpacked, DistError>) {
    let scratch = Scratch::new();
    let result = goshift_dist::unpack(
        bytes,
        expected,
        &scratch.dest(),
        Some(&scratch.cache()),
        &mut |_| {},
    );
    (scratch, result)
}
