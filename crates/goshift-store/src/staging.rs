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

use goshift_fs::{LockFile, LockGuard, fs};
use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::layout::{Store, StoreLock};
use crate::phase::Phase;

/// A private work directory in the store. Dropping it deletes it (and whatever is still in
/// it); a tree moved out by [`Store::publish`] survives.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: LockGuard,
}

/// Prefix of a toolchain moved out of `toolchains/` to be replaced.
pub(crate) const REPLACED_PREFIX: &str = "replaced-";
/// Prefix of a toolchain moved out of `toolchains/` to be deleted.
pub(crate) const REMOVED_PREFIX: &str = "removed-";

impl Staging {
    /// The staging directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the toolchain tree goes: `<dir>/go`.
    pub fn tree(&self) -> PathBuf {
        self.dir.join("go")
    }

    /// A scratch directory for the smoke test and other temporary files: `<dir>/scratch`.
    pub fn scratch(&self) -> PathBuf {
        self.dir.join("scratch")
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // The directory first, then the lock file: see the module docs.
        let _ = goshift_fs::remove_dir_all_if_exists(&self.dir);
        let _ = fs::remove_file(&self.lock_path);
    }
}

impl Store {
    /// Creates a staging area named after `label` (e.g. `go1.22.10`).
    pub fn stage(&self, _lock: &StoreLock, label: &str) -> Result<Staging, StoreError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{label}.{}.{n}", std::process::id());
        let staging = self.staging_dir();
        let dir = staging.join(&name);
        let lock_path = staging.join(format!("{name}.lock"));
        let lock = LockFile::new(&lock_path).acquire(Duration::ZERO, |_| {})?;
        if let Err(e) = fs::create_dir(&dir) {
            let _ = fs::remove_file(&lock_path);
            return Err(e).at("create the staging directory", dir);
        }
        let staging = Staging {
            dir,
            lock_path,
            _lock: lock,
        };
        self.reached(Phase::Staged);
        Ok(staging)
    }

    /// Removes what dead processes left: staging areas whose lock is free, toolchains
    /// moved aside by an interrupted replace or uninstall, manifests without a toolchain,
    /// temporary files of interrupted atomic writes, and a `default` link to nothing.
    /// Returns the paths removed.
    pub fn clean(&self, _lock: &StoreLock) -> Result<Vec<PathBuf>, StoreError> {
        let mut removed = Vec::new();
        let staging = self.staging_dir();
        for entry in read_dir_names(&staging)? {
            let path = staging.join(&entry);
            if let Some(area) = entry.strip_suffix(".lock") {
                let area_dir = staging.join(area);
                if !LockFile::new(&path).is_held().at("check the lock", &path)? {
                    race_point(StaleLock::Found, &path);
                    match goshift_fs::remove_dir_all_if_exists(&area_dir) {
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
                    match fs::remove_file(&path) {
                        Ok(()) => removed.push(area_dir),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e).at("remove the stale lock", &path),
                    }
                }
                continue;
            }
            if staging.join(format!("{entry}.lock")).exists() {
                continue;
            }
            if let Some(rest) = entry.strip_prefix(REPLACED_PREFIX) {
                // A replace was interrupted between its two renames: put the old tree back
                // if the new one never arrived.
                let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
                if let Some(version) = version_of_area(rest).filter(|_| is_dir) {
                    let target = self.toolchain_dir(&version);
                    if fs::symlink_metadata(&target).is_err() {
                        fs::rename(&path, &target).at("restore", &target)?;
                        removed.push(path);
                        continue;
                    }
                }
            }
            goshift_fs::remove_dir_all_if_exists(&path).at("remove", &path)?;
            removed.push(path);
        }
        for dir in [self.manifests_dir(), self.bin_dir(), self.home().to_owned()] {
            for entry in read_dir_names(&dir)? {
                if entry.starts_with('.') && entry.contains(".tmp-") {
                    let path = dir.join(&entry);
                    fs::remove_file(&path).at("remove the stale temporary file", &path)?;
                    removed.push(path);
                }
            }
        }
        let manifests = self.manifests_dir();
        for entry in read_dir_names(&manifests)? {
            let version = entry
                .strip_suffix(".json")
                .and_then(|n| n.strip_prefix("go"))
                .and_then(|v| GoVersion::parse(v).ok());
            if let Some(version) = version
                && !self.is_installed(&version)
            {
                let path = manifests.join(&entry);
                fs::remove_file(&path).at("remove the orphan manifest", &path)?;
                removed.push(path);
            }
        }
        let link = self.default_link();
        if fs::symlink_metadata(&link).is_ok() && self.default_version()?.is_none() {
            fs::remove_file(&link).at("remove the dangling link", &link)?;
            removed.push(link);
        }
        Ok(removed)
    }
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

fn read_dir_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).at("list", dir),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.at("list", dir)?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
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
