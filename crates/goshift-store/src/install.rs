//! The install pipeline: stage, fill the tree, smoke-test, publish. `goshift install` and
//! `goshift import` are the same steps in the same order; they differ only in where the tree
//! comes from ([`Origin`]).
//!
//! The slow part (download, extraction, copying, the smoke test) runs in a private
//! [`Staging`] area without the store lock, so a switch of the default is never blocked by a
//! download: the lock is taken only to create the staging area and again to publish. The
//! caller ([`Caller`]) provides the lock, records the intent and the outcome around the
//! publish (the audit log is the binary's), and shows each [`Event`]; every [`Phase`] of
//! the store is reported by the store itself.

use std::ffi::OsString;
use std::io::Read;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use goshift_dist::{Client, DistError, Expected, ManifestEntry, Platform};
use goshift_fs::fs;
use goshift_version::GoVersion;

use crate::error::StoreError;
use crate::layout::{Store, StoreLock};
use crate::manifest::{Manifest, SmokeOutcome, Source, Verification};
use crate::mutate::Replace;
use crate::phase::Phase;
use crate::smoke::{SmokeError, SmokeTest};
use crate::staging::Staging;

/// One version to install: where its tree comes from and what it must turn out to be.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The version.
    pub version: GoVersion,
    /// Where the tree comes from.
    pub origin: Origin,
    /// What the archive must be (hash, size, version); unused for a copied tree.
    pub expected: Expected,
    /// How the bytes were verified, as the manifest records it.
    pub verification: Verification,
    /// How to smoke-test the tree; `None` when the user asked to skip it.
    pub smoke_test: Option<SmokeSettings>,
    /// The platform the tree is built for: one not of this machine is not smoke-tested.
    pub platform: Platform,
    /// Whether an installed version is replaced (`--reinstall`) or left alone.
    pub replace: Replace,
    /// The goshift executable the `bin/` links point at.
    pub goshift_exe: PathBuf,
}

/// Where a [`Plan`]'s tree comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A release archive, verified and extracted (the archive cache is used first when it
    /// has the archive's hash).
    Archive(Archive),
    /// An existing GOROOT, copied (`goshift import`).
    Tree {
        /// The GOROOT, canonical.
        dir: PathBuf,
    },
}

/// Where a release archive comes from.
#[derive(Debug, Clone)]
pub enum Archive {
    /// Downloaded from `url`.
    Download {
        /// The archive's URL.
        url: String,
        /// The HTTP client.
        client: Client,
        /// Whether plain `http://` is allowed beyond loopback.
        allow_insecure_http: bool,
    },
    /// A local file.
    File {
        /// The archive, canonical.
        path: PathBuf,
    },
}

/// How the smoke test runs.
#[derive(Debug, Clone)]
pub struct SmokeSettings {
    /// `PATH` for the Go commands.
    pub path: OsString,
    /// The limit for each command.
    pub timeout: Duration,
}

/// Why the smoke test did not run.
#[derive(Debug, Clone, Copy)]
pub enum SmokeSkip<'a> {
    /// The user asked to skip it.
    Asked,
    /// The toolchain is built for another platform.
    Foreign(&'a Platform),
}

/// What the pipeline is doing, for the caller to show.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The archive comes from the archive cache.
    UsingCache,
    /// The archive is being downloaded from `url`.
    Downloading {
        /// The archive's URL.
        url: &'a str,
    },
    /// The tree is being copied from `from`.
    Copying {
        /// The GOROOT copied.
        from: &'a Path,
    },
    /// The archive's bytes start to flow; `total` when known.
    TransferStarted {
        /// The archive's size, when known.
        total: Option<u64>,
    },
    /// Bytes of the archive read so far.
    Transferred {
        /// Bytes read so far.
        done: u64,
    },
    /// The archive is read (or failed).
    TransferEnded,
    /// The smoke test is skipped.
    SmokeTestSkipped(SmokeSkip<'a>),
    /// The smoke test starts.
    SmokeTestStarted,
    /// The smoke test ended (passed or failed).
    SmokeTestEnded,
}

/// What the caller of [`Store::install`] provides.
pub trait Caller {
    /// The caller's own errors (taking the lock, recording in the audit log).
    type Error;
    /// The store lock as the caller holds it.
    type Lock: Deref<Target = StoreLock>;

    /// Takes the store lock.
    fn lock(&mut self) -> Result<Self::Lock, Self::Error>;

    /// Shows what the pipeline is doing.
    fn event(&mut self, event: Event<'_>);

    /// Records the intent to publish, under the lock, before anything visible changes. An
    /// error stops the install with nothing changed.
    fn publishing(&mut self) -> Result<(), Self::Error>;

    /// Records how the publish ended, still under the lock. On success an error stops the
    /// install there (the tree is live); on failure the publish's error is returned and an
    /// error of this hook ignored (the caller says itself that the record failed).
    fn published(&mut self, outcome: Result<&Published, &StoreError>) -> Result<(), Self::Error>;
}

/// What [`Store::install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installation {
    /// The version is live.
    Published(Published),
    /// The version was installed already (before, or by another process meanwhile), and
    /// the plan does not replace it.
    AlreadyInstalled,
}

/// A version the pipeline published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Its GOROOT.
    pub dir: PathBuf,
    /// Where its bytes came from.
    pub source: Source,
    /// How they were verified.
    pub verification: Verification,
    /// The archive's SHA-256 (none for a copied tree).
    pub archive_sha256: Option<String>,
    /// The smoke test's outcome.
    pub smoke_test: SmokeOutcome,
}

/// Why an install failed: a step of the store's, or the caller's own hook.
#[derive(Debug)]
pub enum InstallError<E> {
    /// A hook of the [`Caller`] failed.
    Caller(E),
    /// A step failed.
    Step(StepError),
}

impl<E> From<StepError> for InstallError<E> {
    fn from(error: StepError) -> Self {
        Self::Step(error)
    }
}

/// The step of the pipeline that failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Creating the staging area.
    #[error(transparent)]
    Stage(StoreError),
    /// Creating the tree's directory in the staging area.
    #[error(transparent)]
    CreateTree(std::io::Error),
    /// The disk has too little room for the tree.
    #[error(transparent)]
    Space(DistError),
    /// Opening the local or cached archive.
    #[error(transparent)]
    Open(std::io::Error),
    /// Starting the download.
    #[error(transparent)]
    Download(DistError),
    /// Verifying and extracting the archive.
    #[error(transparent)]
    Unpack(DistError),
    /// Copying a GOROOT.
    #[error("failed to copy `{}`", from.display())]
    Copy {
        /// The GOROOT copied.
        from: PathBuf,
        /// Why.
        source: DistError,
    },
    /// The smoke test.
    #[error(transparent)]
    SmokeTest(SmokeError),
    /// Publishing the tree.
    #[error(transparent)]
    Publish(StoreError),
    /// Refreshing the `bin/` links.
    #[error(transparent)]
    Links(StoreError),
}

/// The tree in the staging area, and where it came from.
struct Filled {
    source: Source,
    archive_sha256: Option<String>,
    archive_size: Option<u64>,
    entries: Vec<ManifestEntry>,
}

impl Store {
    /// Installs one version as `plan` says: stages it, fills the tree, smoke-tests it and
    /// publishes it under the lock between the caller's intent and outcome records, then
    /// keeps the verified archive in the cache and refreshes the `bin/` links.
    pub fn install<C: Caller>(
        &self,
        plan: &Plan,
        caller: &mut C,
    ) -> Result<Installation, InstallError<C::Error>> {
        let Some(staging) = self.stage_unless_installed(plan, caller)? else {
            return Ok(Installation::AlreadyInstalled);
        };
        let filled = self.fill(plan, &staging, caller)?;
        self.reached(Phase::Unpacked);
        let smoke_test = smoke_test(plan, &staging, caller)?;
        self.reached(Phase::SmokeTested);
        let manifest = Manifest {
            version: plan.version.clone(),
            source: filled.source,
            verification: plan.verification.clone(),
            archive_sha256: filled.archive_sha256,
            archive_size: filled.archive_size,
            installed_at: Manifest::now(),
            smoke_test,
            entries: filled.entries,
        };
        let lock = caller.lock().map_err(InstallError::Caller)?;
        if plan.replace == Replace::Never && self.is_installed(&plan.version) {
            // Another process published it while this one worked.
            return Ok(Installation::AlreadyInstalled);
        }
        let published = self.publish_recorded(&lock, &staging, manifest, plan, caller)?;
        if let Some(sha256) = &published.archive_sha256 {
            keep_in_cache(&lock, &staging, sha256);
        }
        self.refresh_links(&lock, &plan.goshift_exe)
            .map_err(StepError::Links)?;
        drop(lock);
        drop(staging);
        Ok(Installation::Published(published))
    }

    /// Creates the staging area under the lock, unless the version is installed and the
    /// plan does not replace it.
    fn stage_unless_installed<C: Caller>(
        &self,
        plan: &Plan,
        caller: &mut C,
    ) -> Result<Option<Staging>, InstallError<C::Error>> {
        let lock = caller.lock().map_err(InstallError::Caller)?;
        if plan.replace == Replace::Never && self.is_installed(&plan.version) {
            return Ok(None);
        }
        let staging = self
            .stage(&lock, &plan.version.toolchain_name())
            .map_err(StepError::Stage)?;
        Ok(Some(staging))
    }

    /// Fills the staging tree: copies the GOROOT, or streams the archive through
    /// verification into it.
    fn fill<C: Caller>(
        &self,
        plan: &Plan,
        staging: &Staging,
        caller: &mut C,
    ) -> Result<Filled, InstallError<C::Error>> {
        let create_tree = || {
            staging
                .area()
                .create_dir("go")
                .map_err(StepError::CreateTree)
        };
        let dir = match &plan.origin {
            Origin::Archive(archive) => {
                create_tree()?;
                return Ok(self.unpack_archive(plan, archive, staging, caller)?);
            }
            Origin::Tree { dir } => dir,
        };
        caller.event(Event::Copying { from: dir });
        create_tree()?;
        let entries =
            goshift_dist::copy_tree(dir, &staging.tree()).map_err(|source| StepError::Copy {
                from: dir.clone(),
                source,
            })?;
        Ok(Filled {
            source: Source::Import { path: dir.clone() },
            archive_sha256: None,
            archive_size: None,
            entries,
        })
    }

    /// Streams the archive (from the cache, a local file or the network) through
    /// verification into the staging tree. A verified download's copy lands in the staging
    /// area and moves into the cache on publish: concurrent installs never write one file.
    fn unpack_archive<C: Caller>(
        &self,
        plan: &Plan,
        archive: &Archive,
        staging: &Staging,
        caller: &mut C,
    ) -> Result<Filled, StepError> {
        let expected = &plan.expected;
        let cached = expected
            .sha256
            .as_ref()
            .and_then(|sha| self.cached_archive(sha));
        // Room for the tree (and the archive's copy) is checked before a byte is fetched.
        let copied = cached.is_none()
            && (matches!(archive, Archive::Download { .. }) || expected.sha256.is_some());
        goshift_dist::check_space(expected, self.home(), copied).map_err(StepError::Space)?;
        let cache_copy = staging.area().anchored().join("archive");
        let opened = open_archive(plan, archive, cached, &cache_copy, caller)?;
        caller.event(Event::TransferStarted {
            total: opened.length,
        });
        let result = goshift_dist::unpack(
            opened.reader,
            expected,
            &staging.tree(),
            opened.cache_copy,
            &mut |done| caller.event(Event::Transferred { done }),
        );
        caller.event(Event::TransferEnded);
        let unpacked = result.map_err(StepError::Unpack)?;
        Ok(Filled {
            source: opened.source,
            archive_sha256: Some(unpacked.archive_sha256),
            archive_size: Some(unpacked.archive_size),
            entries: unpacked.entries,
        })
    }

    /// Publishes the tree between the caller's intent and outcome records.
    fn publish_recorded<C: Caller>(
        &self,
        lock: &StoreLock,
        staging: &Staging,
        manifest: Manifest,
        plan: &Plan,
        caller: &mut C,
    ) -> Result<Published, InstallError<C::Error>> {
        caller.publishing().map_err(InstallError::Caller)?;
        let replace = plan.replace;
        match self.publish(lock, staging, &manifest, replace) {
            Ok(dir) => {
                let published = Published {
                    dir,
                    source: manifest.source,
                    verification: manifest.verification,
                    archive_sha256: manifest.archive_sha256,
                    smoke_test: manifest.smoke_test,
                };
                caller
                    .published(Ok(&published))
                    .map_err(InstallError::Caller)?;
                Ok(published)
            }
            Err(error) => {
                // The failure is the caller's to record; the publish's error is the one
                // that matters, so a failure to record it does not replace it.
                let _ = caller.published(Err(&error));
                Err(StepError::Publish(error).into())
            }
        }
    }
}

/// Moves the verified archive copy into the archive cache as `<sha256>` (best effort: the
/// cache only saves a later download; it may be on another file system).
fn keep_in_cache(lock: &StoreLock, staging: &Staging, sha256: &str) {
    let area = staging.area();
    if area
        .entry("archive")
        .is_ok_and(|e| e.is_some_and(|e| e.kind == goshift_fs::Kind::File))
    {
        let _ = area.move_file("archive", &lock.dirs.archive_cache, sha256);
    }
}

/// An archive opened for reading.
struct Opened<'a> {
    source: Source,
    reader: Box<dyn Read>,
    length: Option<u64>,
    /// Where the verified copy goes, if one is kept.
    cache_copy: Option<&'a Path>,
}

/// Opens the archive: the cached copy when there is one, else the local file or the
/// download.
fn open_archive<'a, C: Caller>(
    plan: &Plan,
    archive: &Archive,
    cached: Option<PathBuf>,
    cache_copy: &'a Path,
    caller: &mut C,
) -> Result<Opened<'a>, StepError> {
    let open = |path: &Path| -> Result<(Box<dyn Read>, Option<u64>), StepError> {
        let file = fs::File::open(path).map_err(StepError::Open)?;
        let length = file.metadata().ok().map(|m| m.len());
        Ok((Box::new(file), length))
    };
    match (archive, cached) {
        (_, Some(path)) => {
            caller.event(Event::UsingCache);
            let (reader, length) = open(&path)?;
            Ok(Opened {
                source: Source::Cache { path },
                reader,
                length,
                cache_copy: None,
            })
        }
        (Archive::File { path }, None) => {
            let (reader, length) = open(path)?;
            Ok(Opened {
                source: Source::Archive { path: path.clone() },
                reader,
                length,
                cache_copy: plan.expected.sha256.as_ref().map(|_| cache_copy),
            })
        }
        (
            Archive::Download {
                url,
                client,
                allow_insecure_http,
            },
            None,
        ) => {
            caller.event(Event::Downloading { url });
            let download = client
                .open(url, *allow_insecure_http)
                .map_err(StepError::Download)?;
            let length = download.content_length().or(plan.expected.size);
            Ok(Opened {
                source: Source::Download { url: url.clone() },
                reader: Box::new(download),
                length,
                cache_copy: Some(cache_copy),
            })
        }
    }
}

/// Runs the smoke test unless skipped or the toolchain is for another platform.
fn smoke_test<C: Caller>(
    plan: &Plan,
    staging: &Staging,
    caller: &mut C,
) -> Result<SmokeOutcome, StepError> {
    let Some(settings) = &plan.smoke_test else {
        caller.event(Event::SmokeTestSkipped(SmokeSkip::Asked));
        return Ok(SmokeOutcome::Skipped);
    };
    if plan.platform != Platform::host() {
        caller.event(Event::SmokeTestSkipped(SmokeSkip::Foreign(&plan.platform)));
        return Ok(SmokeOutcome::Skipped);
    }
    caller.event(Event::SmokeTestStarted);
    let result = SmokeTest {
        goroot: &staging.tree_by_path(),
        expected: &plan.version,
        scratch: &staging.scratch(),
        path: settings.path.clone(),
        timeout: settings.timeout,
    }
    .run();
    caller.event(Event::SmokeTestEnded);
    result.map_err(StepError::SmokeTest)?;
    Ok(SmokeOutcome::Passed)
}

#[cfg(test)]
mod tests;
