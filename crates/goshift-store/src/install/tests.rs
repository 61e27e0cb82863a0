//! The install pipeline against fabricated GOROOTs, with a caller that records what it is
//! asked and can refuse the intent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use goshift_dist::{Expected, Platform};
use goshift_version::GoVersion;

use super::{Caller, Event, InstallError, Installation, Origin, Plan, Published, SmokeSettings};
use crate::tests::fabricate;
use crate::{Phase, Replace, SmokeOutcome, StepError, Store, StoreError, StoreLock, Verification};

/// Records each call; refuses the intent when `refuse_intent` is set.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
    refuse_intent: bool,
}

impl Caller for Recorder {
    type Error = String;
    type Lock = Box<StoreLock>;

    fn lock(&mut self) -> Result<Box<StoreLock>, String> {
        self.calls.push("lock".to_owned());
        Err("the test's store is locked through `store`".to_owned())
    }

    fn event(&mut self, event: Event<'_>) {
        let name = match event {
            Event::Copying { .. } => "copying",
            Event::SmokeTestSkipped(_) => "smoke-test-skipped",
            Event::SmokeTestStarted => "smoke-test-started",
            Event::SmokeTestEnded => "smoke-test-ended",
            Event::UsingCache
            | Event::Downloading { .. }
            | Event::TransferStarted { .. }
            | Event::Transferred { .. }
            | Event::TransferEnded => "transfer",
        };
        self.calls.push(name.to_owned());
    }

    fn publishing(&mut self) -> Result<(), String> {
        self.calls.push("publishing".to_owned());
        if self.refuse_intent {
            return Err("no intent".to_owned());
        }
        Ok(())
    }

    fn published(&mut self, outcome: Result<&Published, &StoreError>) -> Result<(), String> {
        self.calls.push(format!("published {}", outcome.is_ok()));
        Ok(())
    }
}

/// A recorder that takes the real store lock.
struct Locking {
    store: Store,
    recorder: Recorder,
}

impl Caller for Locking {
    type Error = String;
    type Lock = Box<StoreLock>;

    fn lock(&mut self) -> Result<Box<StoreLock>, String> {
        self.recorder.calls.push("lock".to_owned());
        self.store
            .lock(Duration::from_secs(5), |_| {})
            .map(Box::new)
            .map_err(|e| e.to_string())
    }

    fn event(&mut self, event: Event<'_>) {
        self.recorder.event(event);
    }

    fn publishing(&mut self) -> Result<(), String> {
        self.recorder.publishing()
    }

    fn published(&mut self, outcome: Result<&Published, &StoreError>) -> Result<(), String> {
        self.recorder.published(outcome)
    }
}

fn v(text: &str) -> GoVersion {
    GoVersion::parse(text).unwrap()
}

/// A store observing its phases, and the list they are recorded in.
fn observed(home: &Path) -> (Store, Arc<Mutex<Vec<Phase>>>) {
    let phases = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&phases);
    let store = Store::new(home).with_observer(move |phase| seen.lock().unwrap().push(phase));
    (store, phases)
}

/// A fabricated GOROOT of go1.22.10 (its hello-world right or wrong), and an observed
/// store, both in a temporary directory kept alive by the first value.
fn setup(hello: bool) -> (tempfile::TempDir, PathBuf, Store, Arc<Mutex<Vec<Phase>>>) {
    let dir = tempfile::tempdir().unwrap();
    let goroot = dir.path().join("goroot");
    fabricate(&goroot, "1.22.10", hello);
    let (store, phases) = observed(&dir.path().join("home"));
    (dir, goroot, store, phases)
}

fn import_plan(dir: &Path, version: &str, smoke_test: bool, replace: Replace) -> Plan {
    Plan {
        version: v(version),
        origin: Origin::Tree {
            dir: dir.to_owned(),
        },
        expected: Expected::default(),
        verification: Verification::Imported,
        smoke_test: smoke_test.then(|| SmokeSettings {
            path: "/usr/bin:/bin".into(),
            timeout: Duration::from_secs(30),
        }),
        platform: Platform::host(),
        replace,
        goshift_exe: "/bin/true".into(),
    }
}

fn locking(store: &Store) -> Locking {
    Locking {
        store: store.clone(),
        recorder: Recorder::default(),
    }
}

#[test]
fn every_phase_is_reported_in_order_and_the_publish_is_recorded_around_itself() {
    let (_dir, goroot, store, phases) = setup(true);
    let mut caller = locking(&store);
    let plan = import_plan(&goroot, "1.22.10", true, Replace::Never);
    let Installation::Published(published) = store.install(&plan, &mut caller).unwrap() else {
        panic!("not published");
    };
    assert_eq!(published.dir, store.toolchain_dir(&v("1.22.10")));
    assert_eq!(published.smoke_test, SmokeOutcome::Passed);
    assert_eq!(published.archive_sha256, None);
    assert!(store.is_installed(&v("1.22.10")));
    assert_eq!(
        *phases.lock().unwrap(),
        [
            Phase::Staged,
            Phase::Unpacked,
            Phase::SmokeTested,
            Phase::ManifestWritten,
            Phase::Published
        ]
    );
    assert_eq!(
        caller.recorder.calls,
        [
            "lock",
            "copying",
            "smoke-test-started",
            "smoke-test-ended",
            "lock",
            "publishing",
            "published true"
        ]
    );
    assert!(
        store.bin_dir().join("go1.22.10").exists(),
        "links refreshed"
    );
}

#[test]
fn an_installed_version_is_left_alone_unless_the_plan_replaces_it() {
    let (_dir, goroot, store, _) = setup(true);
    let plan = import_plan(&goroot, "1.22.10", false, Replace::Never);
    store.install(&plan, &mut locking(&store)).unwrap();

    let mut again = locking(&store);
    let outcome = store.install(&plan, &mut again).unwrap();
    assert_eq!(outcome, Installation::AlreadyInstalled);
    assert_eq!(
        again.recorder.calls,
        ["lock"],
        "nothing staged, nothing recorded"
    );

    let mut replace = locking(&store);
    let plan = import_plan(&goroot, "1.22.10", false, Replace::Allowed);
    let outcome = store.install(&plan, &mut replace).unwrap();
    assert!(matches!(outcome, Installation::Published(_)), "{outcome:?}");
    assert!(
        replace
            .recorder
            .calls
            .contains(&"smoke-test-skipped".to_owned())
    );
}

#[test]
fn a_refused_intent_publishes_nothing_and_leaves_no_staging_area() {
    let (_dir, goroot, store, phases) = setup(true);
    let mut caller = locking(&store);
    caller.recorder.refuse_intent = true;
    let plan = import_plan(&goroot, "1.22.10", false, Replace::Never);
    let error = store.install(&plan, &mut caller).unwrap_err();
    assert!(
        matches!(error, InstallError::Caller(ref e) if e == "no intent"),
        "{error:?}"
    );
    assert!(!store.is_installed(&v("1.22.10")));
    assert!(!phases.lock().unwrap().contains(&Phase::ManifestWritten));
    let left: Vec<_> = goshift_fs::fs::read_dir(store.staging_dir())
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_failing_smoke_test_is_its_step_and_nothing_is_recorded() {
    let (_dir, goroot, store, _) = setup(false);
    let mut caller = locking(&store);
    let plan = import_plan(&goroot, "1.22.10", true, Replace::Never);
    let error = store.install(&plan, &mut caller).unwrap_err();
    assert!(
        matches!(error, InstallError::Step(StepError::SmokeTest(_))),
        "{error:?}"
    );
    assert!(!store.is_installed(&v("1.22.10")));
    assert_eq!(
        caller.recorder.calls,
        ["lock", "copying", "smoke-test-started", "smoke-test-ended"]
    );
}

#[test]
fn a_lock_the_caller_cannot_take_stops_before_anything_is_staged() {
    let (_dir, goroot, store, phases) = setup(true);
    let mut caller = Recorder::default();
    let plan = import_plan(&goroot, "1.22.10", false, Replace::Never);
    let error = store.install(&plan, &mut caller).unwrap_err();
    assert!(matches!(error, InstallError::Caller(_)), "{error:?}");
    assert!(phases.lock().unwrap().is_empty());
    assert_eq!(caller.calls, ["lock"]);
}

/// A gzipped tar of a go1.22.10 tree in `dir`, and the plan that installs it.
fn archive_plan(dir: &Path) -> (Plan, Vec<u8>) {
    use goshift_testkit::archive::TarBuilder;
    let archive = TarBuilder::new()
        .dir("go/", 0o755)
        .file("go/VERSION", 0o644, b"go1.22.10\ntime 2024-01-01\n")
        .dir("go/bin/", 0o755)
        .file("go/bin/go", 0o755, b"#!/bin/sh\n")
        .tar_gz();
    let path = dir.join("go1.22.10.linux-amd64.tar.gz");
    std::fs::write(&path, &archive).unwrap();
    let plan = Plan {
        origin: Origin::Archive(super::Archive::File { path: path.clone() }),
        expected: Expected {
            sha256: Some(goshift_testkit::mirror::sha256_hex(&archive)),
            size: Some(archive.len() as u64),
            version: Some(v("1.22.10")),
        },
        verification: Verification::Sha256Flag,
        ..import_plan(&path, "1.22.10", false, Replace::Never)
    };
    (plan, archive)
}

#[test]
fn an_archive_is_extracted_through_the_area_s_handle_when_staging_is_swapped_for_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let (plan, _) = archive_plan(dir.path());
    // Once the area exists, `staging` becomes a link to a directory holding entries of the
    // same names: extraction, the archive's copy and the area's removal would all land
    // there.
    let (home_copy, outside_copy) = (home.clone(), outside.clone());
    let store = Store::new(&home).with_observer(move |phase| {
        if phase == Phase::Staged {
            for entry in std::fs::read_dir(home_copy.join("staging")).unwrap() {
                let name = entry.unwrap().file_name();
                std::fs::create_dir_all(outside_copy.join(&name)).unwrap();
            }
            std::fs::rename(home_copy.join("staging"), home_copy.join("staging.moved")).unwrap();
            std::os::unix::fs::symlink(&outside_copy, home_copy.join("staging")).unwrap();
        }
    });
    // Extraction goes on in the area goshift opened; the lock taken to publish refuses the
    // link by name, and the area is removed where it is.
    let error = match store.install(&plan, &mut locking(&store)) {
        Err(InstallError::Caller(error)) => error,
        other => panic!("{other:?}"),
    };
    assert!(error.contains("home/staging"), "{error}");
    let error = store.lock(Duration::from_secs(5), |_| {}).unwrap_err();
    assert!(
        format!("{error:?}").contains("staging` is a symbolic link"),
        "{error:?}"
    );
    // The outside entries are exactly as planted: two empty directories (the area's name
    // and its lock file's).
    let planted: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(planted.len(), 2, "{planted:?}");
    for area in planted {
        assert_eq!(
            std::fs::read_dir(&area).unwrap().count(),
            0,
            "{}",
            area.display()
        );
    }
    assert!(!store.is_installed(&v("1.22.10")));
    let left: Vec<_> = std::fs::read_dir(home.join("staging.moved"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_archive_cache_and_the_bin_links_stay_home_when_swapped_for_links_after_the_publish() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (plan, archive) = archive_plan(dir.path());
    let sha256 = plan.expected.sha256.clone().unwrap();
    // Outside directories shaped like `cache/` and `bin/`, with what goshift would write or
    // remove there: an archive of the same hash and a stale version link.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("cache/archives")).unwrap();
    std::fs::create_dir_all(outside.join("bin")).unwrap();
    std::os::unix::fs::symlink("/bin/true", outside.join("bin/go1.21.13")).unwrap();
    std::fs::write(outside.join("bin/go"), "outside").unwrap();
    let (home_copy, outside_copy) = (home.clone(), outside.clone());
    let store = Store::new(&home).with_observer(move |phase| {
        if phase == Phase::Published {
            for name in ["cache", "bin"] {
                let moved = home_copy.join(format!("{name}.moved"));
                std::fs::rename(home_copy.join(name), moved).unwrap();
                std::os::unix::fs::symlink(outside_copy.join(name), home_copy.join(name)).unwrap();
            }
        }
    });
    let installed = store.install(&plan, &mut locking(&store));
    assert!(
        matches!(installed, Ok(Installation::Published(_))),
        "{installed:?}"
    );
    assert_eq!(
        std::fs::read(home.join("cache.moved/archives").join(&sha256)).unwrap(),
        archive
    );
    assert_eq!(
        std::fs::read_link(home.join("bin.moved/go1.22.10")).unwrap(),
        Path::new("/bin/true")
    );
    assert_eq!(
        std::fs::read_dir(outside.join("cache/archives"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_link(outside.join("bin/go1.21.13")).unwrap(),
        Path::new("/bin/true")
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("bin/go")).unwrap(),
        "outside"
    );
    assert_eq!(std::fs::read_dir(outside.join("bin")).unwrap().count(), 2);
    let error = store.lock(Duration::from_secs(5), |_| {}).unwrap_err();
    assert!(
        format!("{error:?}").contains("cache` is a symbolic link"),
        "{error:?}"
    );
}
