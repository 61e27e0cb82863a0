//! Re-verifying an installed toolchain against its manifest.

use std::collections::BTreeMap;

use goshift_dist::{EntryKind, ManifestEntry};
use goshift_version::GoVersion;

use crate::error::StoreError;
use crate::layout::Store;

/// What [`Store::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// The version checked.
    pub version: GoVersion,
    /// How many manifest entries were checked.
    pub checked: usize,
    /// Every difference, sorted by path.
    pub differences: Vec<Difference>,
}

/// One way a tree differs from its manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    /// A path exists that the manifest does not list.
    Added {
        /// The path, relative to the GOROOT.
        path: String,
    },
    /// A path the manifest lists is gone.
    Missing {
        /// The path, relative to the GOROOT.
        path: String,
    },
    /// A file's content (or a symlink's target) changed.
    Changed {
        /// The path, relative to the GOROOT.
        path: String,
        /// What the manifest says (SHA-256 or link target).
        expected: String,
        /// What is there now.
        actual: String,
    },
    /// A file's or directory's permission bits changed.
    ModeChanged {
        /// The path, relative to the GOROOT.
        path: String,
        /// The mode at install time.
        expected: u32,
        /// The mode now.
        actual: u32,
    },
    /// A path changed its type (file, directory, symlink).
    TypeChanged {
        /// The path, relative to the GOROOT.
        path: String,
        /// The type at install time.
        expected: &'static str,
        /// The type now.
        actual: &'static str,
    },
}

impl Difference {
    /// The path it concerns.
    pub fn path(&self) -> &str {
        match self {
            Self::Added { path }
            | Self::Missing { path }
            | Self::Changed { path, .. }
            | Self::ModeChanged { path, .. }
            | Self::TypeChanged { path, .. } => path,
        }
    }
}

impl VerifyReport {
    /// Returns true if and only if the tree matches its manifest.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

impl Store {
    /// Re-hashes every file of an installed version and compares the tree with the manifest
    /// written at install time.
    pub fn verify(&self, version: &GoVersion) -> Result<VerifyReport, StoreError> {
        self.require_installed(version)?;
        let manifest = self.manifest(version)?;
        let actual = goshift_dist::hash_tree(&self.toolchain_dir(version))?;
        Ok(VerifyReport {
            version: version.clone(),
            checked: manifest.entries.len(),
            differences: compare(&manifest.entries, &actual),
        })
    }
}

/// The differences between the expected and actual entries, sorted by path.
pub(crate) fn compare(expected: &[ManifestEntry], actual: &[ManifestEntry]) -> Vec<Difference> {
    let expected: BTreeMap<&str, &EntryKind> = expected
        .iter()
        .map(|e| (e.path.as_str(), &e.kind))
        .collect();
    let actual: BTreeMap<&str, &EntryKind> =
        actual.iter().map(|e| (e.path.as_str(), &e.kind)).collect();
    let mut differences = Vec::new();
    for (path, want) in &expected {
        let Some(have) = actual.get(path) else {
            differences.push(Difference::Missing {
                path: (*path).to_owned(),
            });
            continue;
        };
        let path = (*path).to_owned();
        match (want, have) {
            (
                EntryKind::File {
                    sha256: want_hash,
                    mode: want_mode,
                    ..
                },
                EntryKind::File {
                    sha256: have_hash,
                    mode: have_mode,
                    ..
                },
            ) => {
                if want_hash != have_hash {
                    differences.push(Difference::Changed {
                        path: path.clone(),
                        expected: want_hash.clone(),
                        actual: have_hash.clone(),
                    });
                }
                if want_mode != have_mode {
                    differences.push(Difference::ModeChanged {
                        path,
                        expected: *want_mode,
                        actual: *have_mode,
                    });
                }
            }
            (EntryKind::Dir { mode: want_mode }, EntryKind::Dir { mode: have_mode }) => {
                if want_mode != have_mode {
                    differences.push(Difference::ModeChanged {
                        path,
                        expected: *want_mode,
                        actual: *have_mode,
                    });
                }
            }
            (EntryKind::Symlink { target: want }, EntryKind::Symlink { target: have }) => {
                if want != have {
                    differences.push(Difference::Changed {
                        path,
                        expected: want.clone(),
                        actual: have.clone(),
                    });
                }
            }
            _ => differences.push(Difference::TypeChanged {
                path,
                expected: kind_name(want),
                actual: kind_name(have),
            }),
        }
    }
    for path in actual.keys() {
        if !expected.contains_key(path) {
            differences.push(Difference::Added {
                path: (*path).to_owned(),
            });
        }
    }
    differences.sort_by(|a, b| a.path().cmp(b.path()));
    differences
}

fn kind_name(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::File { .. } => "file",
        EntryKind::Dir { .. } => "directory",
        EntryKind::Symlink { .. } => "symlink",
    }
}
