//! Mutations of the store: publish, switch the default, uninstall, prune, import. Each takes
//! a [`StoreLock`] as proof that the store lock is held.

use std::path::PathBuf;

use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::history::{Action, Switch};
use crate::layout::{Handles, Store, StoreLock};
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
        lock: &StoreLock,
        staging: &Staging,
        manifest: &Manifest,
        replace: Replace,
    ) -> Result<PathBuf, StoreError> {
        let version = &manifest.version;
        let tree = staging.tree();
        let found = goshift_dist::read_version_file(&tree)?;
        if &found != version {
            return Err(StoreError::VersionMismatch {
                path: staging.tree_by_path(),
                expected: Box::new(version.clone()),
                found: Box::new(found),
            });
        }
        let dirs = &lock.dirs;
        let name = version.toolchain_name();
        let target = self.toolchain_dir(version);
        let exists = dirs
            .toolchains
            .entry(&name)
            .at("inspect", &target)?
            .is_some();
        if exists && replace == Replace::Never {
            return Err(StoreError::AlreadyInstalled {
                version: Box::new(version.clone()),
            });
        }
        self.write_manifest(lock, manifest)?;
        self.reached(Phase::ManifestWritten);
        let publish = || staging.area().rename("go", &dirs.toolchains, &name);
        if exists {
            let aside = aside_name(REPLACED_PREFIX, version);
            let aside_path = dirs.staging.join(&aside);
            dirs.toolchains
                .rename(&name, &dirs.staging, &aside)
                .at("move aside", &target)?;
            publish().at("publish", &target)?;
            dirs.staging.remove_tree(&aside).at("remove", &aside_path)?;
        } else {
            publish().at("publish", &target)?;
        }
        dirs.toolchains.sync().at("sync", dirs.toolchains.path())?;
        self.reached(Phase::Published);
        Ok(target)
    }

    /// Points `default` at `version` and records the switch. Switching to the current
    /// default changes nothing and records nothing.
    pub fn set_default(
        &self,
        lock: &StoreLock,
        version: &GoVersion,
        action: Action,
    ) -> Result<Switch, StoreError> {
        let dirs = &lock.dirs;
        if !dirs.is_installed(version)? {
            self.require_installed(version)?;
        }
        let from = self.default_version_in(dirs)?;
        if from.as_ref() == Some(version) {
            return Ok(Switch {
                from,
                to: Some(version.clone()),
                seq: None,
            });
        }
        let relative = PathBuf::from("toolchains").join(version.toolchain_name());
        let link = self.default_link();
        let previous = dirs.home.read_link("default").ok();
        dirs.home
            .replace_symlink(&relative, "default")
            .at("switch the link", &link)?;
        self.reached(Phase::DefaultSwitched);
        let seq = match self.record(action, from.clone(), Some(version.clone())) {
            Ok(seq) => seq,
            Err(error) => {
                // The switch and its history entry are one unit: without the entry, the
                // link goes back. Should that fail too, the next mutation adds the entry
                // (see `reconcile_history`).
                restore_link(dirs, previous.as_deref());
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
        lock: &StoreLock,
        version: &GoVersion,
        force: bool,
    ) -> Result<Option<Switch>, StoreError> {
        let dirs = &lock.dirs;
        if !dirs.is_installed(version)? {
            self.require_installed(version)?;
        }
        let mut switch = None;
        if self.default_version_in(dirs)?.as_ref() == Some(version) {
            if !force {
                return Err(StoreError::IsDefault {
                    version: Box::new(version.clone()),
                });
            }
            let link = self.default_link();
            let previous = dirs.home.read_link("default").ok();
            dirs.home
                .remove_file("default")
                .at("remove the link", &link)?;
            self.reached(Phase::DefaultSwitched);
            let seq = match self.record(Action::Uninstall, Some(version.clone()), None) {
                Ok(seq) => seq,
                Err(error) => {
                    restore_link(dirs, previous.as_deref());
                    return Err(error);
                }
            };
            switch = Some(Switch {
                from: Some(version.clone()),
                to: None,
                seq: Some(seq),
            });
        }
        let name = version.toolchain_name();
        let aside = aside_name(REMOVED_PREFIX, version);
        dirs.toolchains
            .rename(&name, &dirs.staging, &aside)
            .at("move aside", self.toolchain_dir(version))?;
        self.reached(Phase::Removed);
        match dirs.manifests.remove_file(format!("{name}.json")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).at("remove the manifest", self.manifest_path(version));
            }
            _ => {}
        }
        dirs.staging
            .remove_tree(&aside)
            .at("remove", dirs.staging.join(&aside))?;
        Ok(switch)
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

/// Puts the `default` link back as it was (`None`: no link), best effort.
fn restore_link(dirs: &Handles, previous: Option<&std::path::Path>) {
    let _ = match previous {
        Some(target) => dirs.home.replace_symlink(target, "default"),
        None => dirs.home.remove_file("default"),
    };
}

/// The name in `staging/` of a toolchain moved out of `toolchains/`.
fn aside_name(prefix: &str, version: &GoVersion) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}{}.{}.{n}",
        version.toolchain_name(),
        std::process::id()
    )
}
