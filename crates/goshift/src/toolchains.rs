//! A read-only view of the toolchain store's layout, enough to resolve and run a toolchain:
//! `toolchains/go<version>/` directories and the `default` link.
//!
//! The `go` proxy uses this on every `go` invocation, so it reads as little as it can: the
//! `default` link only when a rule needs it, the directory listing only when the default
//! falls short, and two `lstat`s (the tree and its manifest, nothing read) before it runs a
//! toolchain: a `toolchains/go<version>` without goshift's manifest, or of another user, is
//! not installed and never run.

use std::path::{Path, PathBuf};

use goshift_fs::fs;
use goshift_project::Toolchains;
use goshift_version::GoVersion;

/// The store at `$GOSHIFT_HOME`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreView<'a> {
    home: &'a Path,
}

impl<'a> StoreView<'a> {
    /// A view of the store in `home`.
    pub(crate) fn new(home: &'a Path) -> Self {
        Self { home }
    }

    /// The GOROOT of `version`: `toolchains/go<version>`.
    pub(crate) fn root(&self, version: &GoVersion) -> PathBuf {
        let mut root = self.home.join("toolchains");
        root.push(version.toolchain_name());
        root
    }

    /// Returns true if and only if `version` is installed: its tree and its manifest are
    /// this user's ([`goshift_store::is_installed_in`]).
    pub(crate) fn is_installed(&self, version: &GoVersion) -> bool {
        goshift_store::is_installed_in(self.home, version)
    }

    /// Returns true if and only if `toolchains/go<version>` exists (as anything, a link
    /// included) without being installed: someone else's tree, never run.
    pub(crate) fn is_foreign(&self, version: &GoVersion) -> bool {
        fs::symlink_metadata(self.root(version)).is_ok() && !self.is_installed(version)
    }

    /// The directory of the proxies: `$GOSHIFT_HOME/bin`.
    pub(crate) fn bin_dir(&self) -> PathBuf {
        self.home.join("bin")
    }

    /// The `default` link.
    pub(crate) fn default_link(&self) -> PathBuf {
        self.home.join("default")
    }

    /// `toolchains/go<version>` entries that are not installed (see [`Self::is_foreign`]),
    /// sorted by path.
    pub(crate) fn foreign(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.home.join("toolchains")) else {
            return Vec::new();
        };
        let mut foreign: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| {
                entry
                    .file_name()
                    .to_str()
                    .and_then(version_of_dir_name)
                    .is_some_and(|version| !self.is_installed(&version))
            })
            .map(|entry| entry.path())
            .collect();
        foreign.sort();
        foreign
    }

    /// Installed versions, newest first.
    pub(crate) fn installed_sorted(&self) -> Vec<GoVersion> {
        let mut versions = installed(self.home);
        versions.sort_unstable_by(|a, b| b.cmp(a));
        versions
    }
}

impl Toolchains for StoreView<'_> {
    fn default_version(&mut self) -> Option<GoVersion> {
        let target = fs::read_link(self.default_link()).ok()?;
        version_of_dir_name(target.file_name()?.to_str()?)
    }

    fn installed(&mut self) -> Vec<GoVersion> {
        installed(self.home)
    }
}

/// The installed versions: entries of `toolchains/` with goshift's manifest, of this user.
fn installed(home: &Path) -> Vec<GoVersion> {
    let Ok(entries) = fs::read_dir(home.join("toolchains")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| version_of_dir_name(entry.file_name().to_str()?))
        .filter(|version| goshift_store::is_installed_in(home, version))
        .collect()
}

/// `go1.22.10` → `1.22.10`; names starting with `.` (staging, trash) are not versions.
fn version_of_dir_name(name: &str) -> Option<GoVersion> {
    GoVersion::parse(name.strip_prefix("go")?).ok()
}
