//! Mutations of the store: publish, switch the default, uninstall, prune, import. Each takes
//! a [`StoreLock`] as proof that the store lock is held.

use std::path::PathBuf;

use goshift_fs::fs;
use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::history::{Action, Switch};
use crate::layout::{Store, StoreLock};
use crate::manifest::Manifest;
use crate::phase::Phase;
use crate::staging::{REMOVED_PREFIX, REPLACED_PREFIX, Staging};

/// What [`Store::recover`] repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of a torn last history line that were cut off (0: none).
    pub torn_bytes: u64,
    /// The history entry added for a switch of `default` that the history did not record.
    pub added: Option<crate::HistoryEntry>,
}

impl Recovery {
    /// Returns true if and only if nothing needed repair.
    pub fn is_empty(&self) -> bool {
        self.torn_bytes == 0 && self.added.is_none()
    }
}

/// Whether [`Store::publish`] may replace an installed version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Fail with [`StoreError::AlreadyInstalled`] when the version is installed.
    Never,
    /// Replace the installed tree (`--reinstall`).
    Allowed,
}

impl Store {
    /// Takes the tree in `staging` live as `manifest.version`: checks its `VERSION` file,
    /// writes the manifest, then renames the tree into `toolchains/`. Returns the GOROOT.
    ///
    /// A replaced tree is moved aside first and restored by [`Store::clean`] if the process
    /// dies between the two renames.
    pub fn publish(
        &self,
        _lock: &StoreLock,
        staging: &Staging,
        manifest: &Manifest,
        replace: Replace,
    ) -> Result<PathBuf, StoreError> {
        let version = &manifest.version;
        let tree = staging.tree();
        let found = goshift_dist::read_version_file(&tree)?;
        if &found != version {
            return Err(StoreError::VersionMismatch {
                path: tree,
                expected: Box::new(version.clone()),
                found: Box::new(found),
            });
        }
        let target = self.toolchain_dir(version);
        let exists = target.exists();
        if exists && replace == Replace::Never {
            return Err(StoreError::AlreadyInstalled {
                version: Box::new(version.clone()),
            });
        }
        self.write_manifest(manifest)?;
        self.reached(Phase::ManifestWritten);
        if exists {
            let aside = aside_path(self, REPLACED_PREFIX, version);
            fs::rename(&target, &aside).at("move aside", &target)?;
            fs::rename(&tree, &target).at("publish", &target)?;
            goshift_fs::remove_dir_all_if_exists(&aside).at("remove", &aside)?;
        } else {
            fs::rename(&tree, &target).at("publish", &target)?;
        }
        goshift_fs::fsync_dir(&self.toolchains_dir()).at("sync", self.toolchains_dir())?;
        self.reached(Phase::Published);
        Ok(target)
    }

    /// Points `default` at `version` and records the switch. Switching to the current
    /// default changes nothing and records nothing.
    pub fn set_default(
        &self,
        _lock: &StoreLock,
        version: &GoVersion,
        action: Action,
    ) -> Result<Switch, StoreError> {
        self.require_installed(version)?;
        let from = self.default_version()?;
        if from.as_ref() == Some(version) {
            return Ok(Switch {
                from,
                to: Some(version.clone()),
                seq: None,
            });
        }
        let relative = PathBuf::from("toolchains").join(version.toolchain_name());
        let link = self.default_link();
        let previous = fs::read_link(&link).ok();
        goshift_fs::replace_symlink(&relative, &link).at("switch the link", &link)?;
        self.reached(Phase::DefaultSwitched);
        let seq = match self.record(action, from.clone(), Some(version.clone())) {
            Ok(seq) => seq,
            Err(error) => {
                // The switch and its history entry are one unit: without the entry, the
                // link goes back. Should that fail too, the next mutation adds the entry
                // (see `reconcile_history`).
                self.restore_link(previous.as_deref());
                return Err(error);
            }
        };
        self.reached(Phase::HistoryWritten);
        Ok(Switch {
            from,
            to: Some(version.clone()),
            seq: Some(seq),
        })
    }

    /// Removes an installed version. The default is refused unless `force`, which removes
    /// the `default` link first (recorded in the history). Returns the switch when the
    /// default was removed.
    pub fn uninstall(
        &self,
        _lock: &StoreLock,
        version: &GoVersion,
        force: bool,
    ) -> Result<Option<Switch>, StoreError> {
        self.require_installed(version)?;
        let mut switch = None;
        if self.default_version()?.as_ref() == Some(version) {
            if !force {
                return Err(StoreError::IsDefault {
                    version: Box::new(version.clone()),
                });
            }
            let link = self.default_link();
            let previous = fs::read_link(&link).ok();
            fs::remove_file(&link).at("remove the link", &link)?;
            self.reached(Phase::DefaultSwitched);
            let seq = match self.record(Action::Uninstall, Some(version.clone()), None) {
                Ok(seq) => seq,
                Err(error) => {
                    self.restore_link(previous.as_deref());
                    return Err(error);
                }
            };
            switch = Some(Switch {
                from: Some(version.clone()),
                to: None,
                seq: Some(seq),
            });
        }
        let target = self.toolchain_dir(version);
        let aside = aside_path(self, REMOVED_PREFIX, version);
        fs::rename(&target, &aside).at("move aside", &target)?;
        self.reached(Phase::Removed);
        let manifest = self.manifest_path(version);
        match fs::remove_file(&manifest) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).at("remove the manifest", manifest);
            }
            _ => {}
        }
        goshift_fs::remove_dir_all_if_exists(&aside).at("remove", &aside)?;
        Ok(switch)
    }

    /// Puts the `default` link back as it was (`None`: no link), best effort.
    fn restore_link(&self, previous: Option<&std::path::Path>) {
        let link = self.default_link();
        let _ = match previous {
            Some(target) => goshift_fs::replace_symlink(target, &link),
            None => fs::remove_file(&link),
        };
    }

    /// Repairs what an interrupted or failed switch left in the history: cuts a torn last
    /// line, and adds the entry of a switch the history does not record (see
    /// [`Recovery`]). Run under the lock before any other mutation.
    pub fn recover(&self, _lock: &StoreLock) -> Result<Recovery, StoreError> {
        let torn_bytes = self.cut_torn_history()?;
        let added = self.reconcile_history()?;
        Ok(Recovery { torn_bytes, added })
    }

    /// The versions `prune --keep keep` removes: all but the `keep` newest, never the
    /// default. Oldest first.
    pub fn prune_candidates(&self, keep: usize) -> Result<Vec<GoVersion>, StoreError> {
        let default = self.default_version()?;
        let mut installed = self.installed_versions()?;
        installed.reverse();
        let mut doomed: Vec<GoVersion> = installed
            .into_iter()
            .skip(keep)
            .filter(|v| Some(v) != default.as_ref())
            .collect();
        doomed.reverse();
        Ok(doomed)
    }
}

fn aside_path(store: &Store, prefix: &str, version: &GoVersion) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    store.staging_dir().join(format!(
        "{prefix}{}.{}.{n}",
        version.toolchain_name(),
        std::process::id()
    ))
}
