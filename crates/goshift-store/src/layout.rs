//! [`Store`]: where things live under `$GOSHIFT_HOME`, and reading them.
//!
//! Reading needs no lock: every visible state is complete, because writers publish with
//! renames (a toolchain directory, a manifest, the `default` link, the history file).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use goshift_fs::{Dir, Kind, LockFile, LockGuard, fs};
use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::phase::Phase;

/// A toolchain store rooted at a home directory.
#[derive(Clone)]
pub struct Store {
    home: PathBuf,
    archive_cache: PathBuf,
    observer: Option<Arc<dyn Fn(Phase) + Send + Sync>>,
}

/// Proof that the store lock is held; every mutation asks for one. Dropping it releases the
/// lock.
#[derive(Debug)]
pub struct StoreLock {
    _guard: LockGuard,
    /// The store's directories, opened when the lock was taken: every mutation works
    /// relative to these handles.
    pub(crate) dirs: Handles,
}

/// The store's directories, each opened once without following a link (see
/// [`goshift_fs::Dir`]).
#[derive(Debug, Clone)]
pub(crate) struct Handles {
    pub(crate) home: Dir,
    pub(crate) toolchains: Dir,
    pub(crate) manifests: Dir,
    pub(crate) staging: Dir,
    pub(crate) cache: Dir,
    pub(crate) archive_cache: Dir,
    pub(crate) bin: Dir,
}

impl Handles {
    /// [`is_installed_in`], through the handles.
    pub(crate) fn is_installed(&self, version: &GoVersion) -> Result<bool, StoreError> {
        let me = goshift_fs::effective_uid();
        let name = version.toolchain_name();
        let ours = |dir: &Dir, name: &str, kind: Kind| {
            dir.entry(name)
                .map(|entry| entry.is_some_and(|e| e.kind == kind && e.uid == me))
                .at("inspect", dir.join(name))
        };
        Ok(ours(&self.toolchains, &name, Kind::Dir)?
            && ours(&self.manifests, &format!("{name}.json"), Kind::File)?)
    }
}

/// An installed toolchain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Installed {
    /// Its version.
    pub version: GoVersion,
    /// Its GOROOT.
    pub dir: PathBuf,
    /// Whether `default` points at it.
    pub is_default: bool,
}

impl Store {
    /// A store at `home` (created on the first mutation).
    pub fn new(home: impl Into<PathBuf>) -> Self {
        let home = home.into();
        Self {
            archive_cache: home.join("cache").join("archives"),
            home,
            observer: None,
        }
    }

    /// Keeps verified archives in `dir` (a cache directory outside the home) instead of
    /// `cache/archives/`. Archives still in `cache/archives/` are found there and move to
    /// `dir` when the lock is next taken.
    #[must_use]
    pub fn with_archive_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.archive_cache = dir.into();
        self
    }

    /// Calls `observer` at each [`Phase`] of a mutation, after the phase is true on disk.
    #[must_use]
    pub fn with_observer(mut self, observer: impl Fn(Phase) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// `toolchains/`.
    pub fn toolchains_dir(&self) -> PathBuf {
        self.home.join("toolchains")
    }

    /// `toolchains/go<version>`: the GOROOT of a version.
    pub fn toolchain_dir(&self, version: &GoVersion) -> PathBuf {
        self.toolchains_dir().join(version.toolchain_name())
    }

    /// `manifests/`.
    pub fn manifests_dir(&self) -> PathBuf {
        self.home.join("manifests")
    }

    /// `manifests/go<version>.json`.
    pub fn manifest_path(&self, version: &GoVersion) -> PathBuf {
        self.manifests_dir()
            .join(format!("{}.json", version.toolchain_name()))
    }

    /// `staging/`.
    pub fn staging_dir(&self) -> PathBuf {
        self.home.join("staging")
    }

    /// Where verified archives are kept, named by their SHA-256: `cache/archives/`, or the
    /// directory given to [`Store::with_archive_cache`].
    pub fn archive_cache_dir(&self) -> PathBuf {
        self.archive_cache.clone()
    }

    /// `cache/archives/` when archives are now kept elsewhere: where older versions kept
    /// them.
    pub fn legacy_archive_cache_dir(&self) -> Option<PathBuf> {
        let legacy = self.home.join("cache").join("archives");
        (legacy != self.archive_cache).then_some(legacy)
    }

    /// The cached archive with this SHA-256, in the cache or where older versions kept it.
    pub fn cached_archive(&self, sha256: &str) -> Option<PathBuf> {
        std::iter::once(self.archive_cache.clone())
            .chain(self.legacy_archive_cache_dir())
            .map(|dir| dir.join(sha256))
            .find(|path| path.is_file())
    }

    /// Moves archives from where older versions kept them into the cache, best effort: one
    /// that cannot move stays where [`Store::cached_archive`] still finds it.
    fn migrate_archives(&self, dirs: &Handles) {
        if self.legacy_archive_cache_dir().is_none() {
            return;
        }
        let Ok(legacy) = dirs.cache.open_dir("archives") else {
            return;
        };
        for name in legacy.names().unwrap_or_default() {
            let is_file = legacy
                .entry(&name)
                .is_ok_and(|e| e.is_some_and(|e| e.kind == Kind::File));
            let taken = dirs
                .archive_cache
                .entry(&name)
                .map_or(true, |e| e.is_some());
            if is_file && !taken {
                let _ = legacy.move_file(&name, &dirs.archive_cache, &name);
            } else if is_file {
                let _ = legacy.remove_file(&name);
            }
        }
        let _ = dirs.cache.remove_dir("archives");
    }

    /// `bin/`: the `go` proxy links.
    pub fn bin_dir(&self) -> PathBuf {
        self.home.join("bin")
    }

    /// The `default` link.
    pub fn default_link(&self) -> PathBuf {
        self.home.join("default")
    }

    /// The `history` file.
    pub fn history_path(&self) -> PathBuf {
        self.home.join(crate::history::HISTORY)
    }

    /// The store lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.home.join("lock")
    }

    /// Creates the layout if needed and takes the store lock, waiting up to `timeout`.
    /// `on_wait` is called once with the holder (`pid 1234`) when the lock is busy.
    pub fn lock(
        &self,
        timeout: Duration,
        on_wait: impl FnMut(&str),
    ) -> Result<StoreLock, StoreError> {
        // Every directory is opened once, checked on its handle, and used through it: a
        // link, a foreign owner or a writable mode is an error naming it, never followed.
        let home = Dir::open_home(&self.home).at("create the directory", &self.home)?;
        let open = |parent: &Dir, name: &str| {
            parent
                .private_dir(name)
                .at("create the directory", parent.join(name))
        };
        let toolchains = open(&home, "toolchains")?;
        let manifests = open(&home, "manifests")?;
        let staging = open(&home, "staging")?;
        let cache = open(&home, "cache")?;
        let archive_cache = if self.legacy_archive_cache_dir().is_none() {
            open(&cache, "archives")?
        } else {
            Dir::open_private(&self.archive_cache)
                .at("create the directory", &self.archive_cache)?
        };
        let bin = open(&home, "bin")?;
        for dir in [&toolchains, &manifests] {
            refuse_links_in(dir)?;
        }
        let guard = LockFile::beneath(&home, "lock").acquire(timeout, on_wait)?;
        let dirs = Handles {
            home,
            toolchains,
            manifests,
            staging,
            cache,
            archive_cache,
            bin,
        };
        self.migrate_archives(&dirs);
        Ok(StoreLock {
            _guard: guard,
            dirs,
        })
    }

    /// The installed toolchains, oldest first.
    pub fn installed(&self) -> Result<Vec<Installed>, StoreError> {
        let default = self.default_version()?;
        let mut installed: Vec<Installed> = self
            .installed_versions()?
            .into_iter()
            .map(|version| Installed {
                dir: self.toolchain_dir(&version),
                is_default: default.as_ref() == Some(&version),
                version,
            })
            .collect();
        installed.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(installed)
    }

    /// The installed versions, oldest first.
    pub fn installed_versions(&self) -> Result<Vec<GoVersion>, StoreError> {
        let dir = self.toolchains_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).at("list", dir),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.at("list", &dir)?;
            let name = entry.file_name();
            let Some(version) = name
                .to_str()
                .and_then(|n| n.strip_prefix("go"))
                .and_then(|v| GoVersion::parse(v).ok())
            else {
                continue;
            };
            if entry.file_type().at("inspect", entry.path())?.is_dir()
                && self.is_installed(&version)
            {
                versions.push(version);
            }
        }
        versions.sort();
        Ok(versions)
    }

    /// Returns true if and only if `version` is installed: see [`is_installed_in`].
    pub fn is_installed(&self, version: &GoVersion) -> bool {
        is_installed_in(&self.home, version)
    }

    /// `toolchains/` entries that look like toolchains but are not installed: no manifest,
    /// another owner, or a link. Oldest first.
    pub fn foreign_toolchains(&self) -> Result<Vec<PathBuf>, StoreError> {
        let dir = self.toolchains_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).at("list", dir),
        };
        let mut foreign = Vec::new();
        for entry in entries {
            let entry = entry.at("list", &dir)?;
            let version = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("go"))
                .and_then(|v| GoVersion::parse(v).ok());
            if let Some(version) = version
                && !self.is_installed(&version)
            {
                foreign.push(entry.path());
            }
        }
        foreign.sort();
        Ok(foreign)
    }

    /// Fails with [`StoreError::NotInstalled`] unless `version` is installed.
    pub fn require_installed(&self, version: &GoVersion) -> Result<(), StoreError> {
        if self.is_installed(version) {
            return Ok(());
        }
        let mut installed = self.installed_versions()?;
        installed.reverse();
        Err(StoreError::NotInstalled {
            version: Box::new(version.clone()),
            installed,
        })
    }

    /// The version `default` points at; `None` when there is no default or it points at
    /// nothing installed.
    pub fn default_version(&self) -> Result<Option<GoVersion>, StoreError> {
        let link = self.default_link();
        let target = match fs::read_link(&link) {
            Ok(target) => target,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Ok(None),
            Err(e) => return Err(e).at("read the link", link),
        };
        Ok(version_of_link(&target).filter(|v| self.is_installed(v)))
    }

    /// [`Store::default_version`] through the handles taken with the lock.
    pub(crate) fn default_version_in(
        &self,
        dirs: &Handles,
    ) -> Result<Option<GoVersion>, StoreError> {
        let target = match dirs.home.read_link("default") {
            Ok(target) => target,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Ok(None),
            Err(e) => return Err(e).at("read the link", self.default_link()),
        };
        match version_of_link(&target) {
            Some(version) if dirs.is_installed(&version)? => Ok(Some(version)),
            _ => Ok(None),
        }
    }

    /// Reports a phase to the observer, if any. Only the store reports its phases (the
    /// install pipeline those of the work in a staging area too).
    pub(crate) fn reached(&self, phase: Phase) {
        if let Some(observer) = &self.observer {
            observer(phase);
        }
    }
}

/// The version a `default` link to `target` names (`toolchains/go1.22.10` → 1.22.10).
fn version_of_link(target: &Path) -> Option<GoVersion> {
    target
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("go"))
        .and_then(|v| GoVersion::parse(v).ok())
}

/// Returns true if and only if `version` is installed in the store at `home`:
/// `toolchains/go<version>` is a directory (not a link) of this user's, and
/// `manifests/go<version>.json` a regular file of this user's. A directory that another user
/// put there, or that has no manifest, is not goshift's and is never run.
///
/// Two `lstat`s and nothing read: the `go` proxy asks this before every `exec`.
pub fn is_installed_in(home: &Path, version: &GoVersion) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let me = goshift_fs::effective_uid();
    let name = version.toolchain_name();
    let mut path = home.join("toolchains");
    path.push(&name);
    let tree = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == me);
    if !tree {
        return false;
    }
    path.clear();
    path.push(home);
    path.push("manifests");
    path.push(format!("{name}.json"));
    fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.uid() == me)
}

/// Fails naming the first symbolic link among the entries of `dir` (a store directory that
/// holds only goshift's own trees or files): a link there is never followed, and the user
/// removes it.
fn refuse_links_in(dir: &Dir) -> Result<(), StoreError> {
    for (name, kind) in dir.entries().at("list", dir.path())? {
        let path = dir.join(&name);
        let kind = match kind {
            Some(kind) => Some(kind),
            None => dir.entry(&name).at("inspect", &path)?.map(|e| e.kind),
        };
        if kind == Some(Kind::Link) {
            return Err(goshift_fs::link_refused(&path)).at("use", path);
        }
    }
    Ok(())
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("home", &self.home)
            .field("archive_cache", &self.archive_cache)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}
