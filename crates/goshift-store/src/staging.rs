//! Staging areas: private work directories inside the store, each guarded by a lock file.
//!
//! A staging area is `staging/<label>.<pid>.<n>/` with its lock `staging/<label>.<pid>.<n>.lock`
//! held by the owner for the area's whole life. Areas are created under the store lock, and
//! [`Store::clean`] runs under the store lock too, so an area is never seen half-created: if
//! its lock can be taken, its owner is gone, and the area is removed. The lock file is created
//! before the directory and removed after it, so a directory without a lock file is always
//! left over from a dead process.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use goshift_fs::{Dir, Kind, LockFile, LockGuard};
use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::layout::{Handles, Store, StoreLock};
use crate::phase::Phase;

/// A private work directory in the store, held open: goshift's own work in it goes through
/// its handle ([`Staging::tree`]). Dropping it deletes it (and whatever is still in it); a
/// tree moved out by [`Store::publish`] survives.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    area: Dir,
    parent: Dir,
    name: String,
    _lock: LockGuard,
}

/// Prefix of a toolchain moved out of `toolchains/` to be replaced.
pub(crate) const REPLACED_PREFIX: &str = "replaced-";
/// Prefix of a toolchain moved out of `toolchains/` to be deleted.
pub(crate) const REMOVED_PREFIX: &str = "removed-";

impl Staging {
    /// The staging directory, as the user would find it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the toolchain tree goes, reached through the area's handle
    /// ([`Dir::anchored`]): `<dir>/go`. For this process only.
    pub fn tree(&self) -> PathBuf {
        self.area.anchored().join("go")
    }

    /// `<dir>/go` by its path, for the smoke test's commands (another process cannot use
    /// this one's handle).
    pub(crate) fn tree_by_path(&self) -> PathBuf {
        self.dir.join("go")
    }

    /// A scratch directory for the smoke test and other temporary files: `<dir>/scratch`.
    pub fn scratch(&self) -> PathBuf {
        self.dir.join("scratch")
    }

    /// The area's handle.
    pub(crate) fn area(&self) -> &Dir {
        &self.area
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // The directory first, then the lock file: see the module docs.
        let _ = self.parent.remove_tree(&self.name);
        let _ = self.parent.remove_file(format!("{}.lock", self.name));
    }
}

impl Store {
    /// Creates a staging area named after `label` (e.g. `go1.22.10`).
    pub fn stage(&self, lock: &StoreLock, label: &str) -> Result<Staging, StoreError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{label}.{}.{n}", std::process::id());
        let staging = &lock.dirs.staging;
        let lock_name = format!("{name}.lock");
        let guard = LockFile::beneath(staging, &lock_name).acquire(Duration::ZERO, |_| {})?;
        let area = match staging.create_dir(&name) {
            Ok(area) => area,
            Err(e) => {
                let _ = staging.remove_file(&lock_name);
                return Err(e).at("create the staging directory", staging.join(&name));
            }
        };
        let staging = Staging {
            dir: staging.join(&name),
            area,
            parent: staging.clone(),
            name,
            _lock: guard,
        };
        self.reached(Phase::Staged);
        Ok(staging)
    }

    /// Removes what dead processes left: staging areas whose lock is free, toolchains
    /// moved aside by an interrupted replace or uninstall, manifests without a toolchain,
    /// temporary files of interrupted atomic writes, and a `default` link to nothing.
    /// Returns the paths removed. Everything goes through the handles taken with the lock.
    pub fn clean(&self, lock: &StoreLock) -> Result<Vec<PathBuf>, StoreError> {
        let dirs = &lock.dirs;
        let mut removed = clean_staging(dirs)?;
        for dir in [&dirs.manifests, &dirs.bin, &dirs.home] {
            for entry in names(dir)? {
                if entry.starts_with('.') && entry.contains(".tmp-") {
                    let path = dir.join(&entry);
                    dir.remove_file(&entry)
                        .at("remove the stale temporary file", &path)?;
                    removed.push(path);
                }
            }
        }
        for entry in names(&dirs.manifests)? {
            let version = entry
                .strip_suffix(".json")
                .and_then(|n| n.strip_prefix("go"))
                .and_then(|v| GoVersion::parse(v).ok());
            if let Some(version) = version
                && !dirs.is_installed(&version)?
            {
                let path = dirs.manifests.join(&entry);
                dirs.manifests
                    .remove_file(&entry)
                    .at("remove the orphan manifest", &path)?;
                removed.push(path);
            }
        }
        let link = self.default_link();
        if dirs.home.entry("default").at("inspect", &link)?.is_some()
            && self.default_version_in(dirs)?.is_none()
        {
            dirs.home
                .remove_file("default")
                .at("remove the dangling link", &link)?;
            removed.push(link);
        }
        Ok(removed)
    }
}

/// [`Store::clean`] of `staging/`: areas whose lock is free, directories without a lock,
/// and replaced trees to restore.
fn clean_staging(dirs: &Handles) -> Result<Vec<PathBuf>, StoreError> {
    let mut removed = Vec::new();
    let staging = &dirs.staging;
    for entry in names(staging)? {
        let path = staging.join(&entry);
        if let Some(area) = entry.strip_suffix(".lock") {
            let area_dir = staging.join(area);
            if !LockFile::beneath(staging, &entry)
                .is_held()
                .at("check the lock", &path)?
            {
                race_point(StaleLock::Found, &path);
                match staging.remove_tree(area) {
                    Ok(()) => {}
                    // Something still writes into it (a child of its dead owner): the
                    // next clean removes it; this command goes on.
                    Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => continue,
                    Err(e) => {
                        return Err(e).at("remove the stale staging directory", &area_dir);
                    }
                }
                race_point(StaleLock::AreaRemoved, &path);
                // Its owner may be removing it at this very moment (an owner removes its
                // area without the store lock): a lock file already gone is fine.
                match staging.remove_file(&entry) {
                    Ok(()) => removed.push(area_dir),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e).at("remove the stale lock", &path),
                }
            }
            continue;
        }
        let lock_name = format!("{entry}.lock");
        if staging
            .entry(&lock_name)
            .at("inspect", staging.join(&lock_name))?
            .is_some()
        {
            continue;
        }
        if let Some(rest) = entry.strip_prefix(REPLACED_PREFIX) {
            // A replace was interrupted between its two renames: put the old tree back
            // if the new one never arrived.
            let is_dir = staging
                .entry(&entry)
                .at("inspect", &path)?
                .is_some_and(|e| e.kind == Kind::Dir);
            if let Some(version) = version_of_area(rest).filter(|_| is_dir) {
                let name = version.toolchain_name();
                let target = dirs.toolchains.join(&name);
                if dirs
                    .toolchains
                    .entry(&name)
                    .at("inspect", &target)?
                    .is_none()
                {
                    staging
                        .rename(&entry, &dirs.toolchains, &name)
                        .at("restore", &target)?;
                    removed.push(path);
                    continue;
                }
            }
        }
        staging.remove_tree(&entry).at("remove", &path)?;
        removed.push(path);
    }
    Ok(removed)
}

/// Where [`Store::clean`] stands with a stale staging lock, for the tests that race another
/// remover against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StaleLock {
    /// The lock is free; nothing is removed yet.
    Found,
    /// The area is removed; the lock file is not.
    AreaRemoved,
}

/// A test's stand-in for a concurrent remover.
#[cfg(test)]
pub(crate) type RaceHook = Box<dyn Fn(StaleLock, &Path)>;

#[cfg(test)]
thread_local! {
    /// Called at each [`StaleLock`] point with the lock file's path, on the thread running
    /// `clean`: a test removes things there as a concurrent remover would, deterministically.
    pub(crate) static RACE: std::cell::RefCell<Option<RaceHook>> =
        const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
fn race_point(point: StaleLock, lock: &Path) {
    RACE.with_borrow(|hook| {
        if let Some(hook) = hook {
            hook(point, lock);
        }
    });
}

#[cfg(not(test))]
fn race_point(_point: StaleLock, _lock: &Path) {}

/// `go1.22.10.1234.0` → 1.22.10.
fn version_of_area(name: &str) -> Option<GoVersion> {
    let mut parts = name.rsplitn(3, '.');
    let _counter = parts.next()?;
    let _pid = parts.next()?;
    GoVersion::parse(parts.next()?.strip_prefix("go")?).ok()
}

/// The names in `dir` that are valid UTF-8 (goshift names no other), sorted.
fn names(dir: &Dir) -> Result<Vec<String>, StoreError> {
    let names = dir.names().at("list", dir.path())?;
    Ok(names
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_names_carry_their_version() {
        assert_eq!(
            version_of_area("go1.22.10.1234.0"),
            Some(GoVersion::parse("1.22.10").unwrap())
        );
        assert_eq!(
            version_of_area("go1.21rc2.1.7"),
            Some(GoVersion::parse("1.21rc2").unwrap())
        );
        assert_eq!(version_of_area("junk"), None);
    }
}
