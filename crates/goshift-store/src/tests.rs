//! Store tests against fabricated toolchain trees.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use goshift_fs::fs;
use goshift_version::GoVersion;

use crate::{
    Action, Difference, Manifest, Replace, SmokeError, SmokeOutcome, SmokeTest, Source, Store,
    StoreError, StoreLock, Verification,
};

fn v(text: &str) -> GoVersion {
    GoVersion::parse(text).unwrap()
}

fn lock(store: &Store) -> StoreLock {
    store.lock(Duration::from_secs(5), |_| {}).unwrap()
}

/// A fake Go tree whose `bin/go` is a shell script good enough for the smoke test.
pub(crate) fn fabricate(dir: &Path, version: &str, hello: bool) {
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::create_dir_all(dir.join("src/fmt")).unwrap();
    fs::write(
        dir.join("VERSION"),
        format!("go{version}\ntime 2024-01-01\n"),
    )
    .unwrap();
    fs::write(dir.join("src/fmt/print.go"), "package fmt\n").unwrap();
    let line = if hello {
        format!("hello from go{version}")
    } else {
        "something else".to_owned()
    };
    let script = format!(
        r#"#!/bin/sh
root=$(cd "$(dirname "$0")/.." && pwd)
case "$1" in
  version) echo "go version go{version} linux/amd64" ;;
  env) echo "$root" ;;
  build) printf '#!/bin/sh\necho "{line}"\n' > "$3"; chmod +x "$3" ;;
  *) exit 2 ;;
esac
"#
    );
    let go = dir.join("bin/go");
    fs::write(&go, script).unwrap();
    fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("go", dir.join("bin/go-alias")).unwrap();
}

fn install(store: &Store, version: &str) {
    let lock = lock(store);
    let staging = store.stage(&lock, &format!("go{version}")).unwrap();
    fabricate(&staging.tree(), version, true);
    let manifest = manifest_for(&staging.tree(), version);
    store
        .publish(&lock, &staging, &manifest, Replace::Never)
        .unwrap();
    if store.default_version().unwrap().is_none() {
        store
            .set_default(&lock, &v(version), Action::Install)
            .unwrap();
    }
}

fn manifest_for(tree: &Path, version: &str) -> Manifest {
    Manifest {
        version: v(version),
        source: Source::Import {
            path: tree.to_owned(),
        },
        verification: Verification::Imported,
        archive_sha256: None,
        archive_size: None,
        installed_at: Manifest::now(),
        smoke_test: SmokeOutcome::Skipped,
        entries: goshift_dist::hash_tree(tree).unwrap(),
    }
}

#[test]
fn install_switch_history_rollback() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    assert!(store.installed().unwrap().is_empty());
    install(&store, "1.21.13");
    install(&store, "1.22.10");
    let installed = store.installed().unwrap();
    assert_eq!(installed.len(), 2);
    assert!(installed[0].is_default);
    assert_eq!(store.default_version().unwrap(), Some(v("1.21.13")));
    assert_eq!(
        fs::read_link(store.default_link()).unwrap(),
        Path::new("toolchains/go1.21.13")
    );

    let lock = lock(&store);
    let switch = store
        .set_default(&lock, &v("1.22.10"), Action::Use)
        .unwrap();
    assert_eq!(switch.from, Some(v("1.21.13")));
    assert_eq!(switch.seq, Some(2));
    // Switching to the current default records nothing.
    let same = store
        .set_default(&lock, &v("1.22.10"), Action::Use)
        .unwrap();
    assert_eq!(same.seq, None);

    assert_eq!(store.rollback_target(None).unwrap(), v("1.21.13"));
    store
        .set_default(&lock, &v("1.21.13"), Action::Rollback)
        .unwrap();
    // Rolling back again toggles, like `cd -`.
    assert_eq!(store.rollback_target(None).unwrap(), v("1.22.10"));
    assert_eq!(store.rollback_target(Some(2)).unwrap(), v("1.22.10"));
    assert!(matches!(
        store.rollback_target(Some(9)),
        Err(StoreError::NoSuchSwitch { seq: 9, count: 3 })
    ));
    let history = store.history().unwrap();
    let actions: Vec<_> = history.iter().map(|e| e.action).collect();
    assert_eq!(actions, [Action::Install, Action::Use, Action::Rollback]);
    assert_eq!(history[0].from, None);
}

#[test]
fn rollback_without_history_fails() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    install(&store, "1.22.10");
    assert!(matches!(
        store.rollback_target(None),
        Err(StoreError::NoPrevious)
    ));
}

#[test]
fn publish_refuses_wrong_version_and_duplicates() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    install(&store, "1.22.10");
    let lock = lock(&store);

    let staging = store.stage(&lock, "go1.22.10").unwrap();
    fabricate(&staging.tree(), "1.22.10", true);
    let manifest = manifest_for(&staging.tree(), "1.22.10");
    assert!(matches!(
        store.publish(&lock, &staging, &manifest, Replace::Never),
        Err(StoreError::AlreadyInstalled { .. })
    ));
    store
        .publish(&lock, &staging, &manifest, Replace::Allowed)
        .unwrap();
    drop(staging);

    let staging = store.stage(&lock, "go1.21.13").unwrap();
    fabricate(&staging.tree(), "1.20.1", true);
    let manifest = manifest_for(&staging.tree(), "1.21.13");
    let error = store
        .publish(&lock, &staging, &manifest, Replace::Never)
        .unwrap_err();
    assert!(
        matches!(error, StoreError::VersionMismatch { .. }),
        "{error}"
    );
    assert!(!store.is_installed(&v("1.21.13")));
    assert!(!store.manifest_path(&v("1.21.13")).exists());
    let staging_dir = staging.dir().to_owned();
    drop(staging);
    assert!(!staging_dir.exists());
    assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
}

#[test]
fn uninstall_and_prune_spare_the_default() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    for version in ["1.20.14", "1.21.13", "1.22.9", "1.22.10"] {
        install(&store, version);
    }
    let lock = lock(&store);
    assert!(matches!(
        store.uninstall(&lock, &v("1.20.14"), false),
        Err(StoreError::IsDefault { .. })
    ));
    assert!(matches!(
        store.uninstall(&lock, &v("1.19.1"), false),
        Err(StoreError::NotInstalled { .. })
    ));
    // Keep the newest one: the default (oldest) survives too.
    assert_eq!(
        store.prune_candidates(1).unwrap(),
        [v("1.21.13"), v("1.22.9")]
    );
    assert_eq!(store.uninstall(&lock, &v("1.22.9"), false).unwrap(), None);
    assert!(!store.is_installed(&v("1.22.9")));
    assert!(!store.manifest_path(&v("1.22.9")).exists());

    let switch = store
        .uninstall(&lock, &v("1.20.14"), true)
        .unwrap()
        .unwrap();
    assert_eq!(switch.to, None);
    assert_eq!(store.default_version().unwrap(), None);
    assert!(fs::symlink_metadata(store.default_link()).is_err());
    assert_eq!(
        store.history().unwrap().last().unwrap().action,
        Action::Uninstall
    );
    assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
}

#[test]
fn verify_names_every_difference() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    install(&store, "1.22.10");
    let version = v("1.22.10");
    assert!(store.verify(&version).unwrap().is_clean());

    let root = store.toolchain_dir(&version);
    fs::write(root.join("src/fmt/print.go"), "package evil\n").unwrap();
    fs::write(root.join("src/fmt/extra.go"), "package fmt\n").unwrap();
    fs::remove_file(root.join("VERSION")).unwrap();
    fs::set_permissions(root.join("bin/go"), std::fs::Permissions::from_mode(0o775)).unwrap();
    fs::remove_file(root.join("bin/go-alias")).unwrap();
    std::os::unix::fs::symlink("gofmt", root.join("bin/go-alias")).unwrap();

    let report = store.verify(&version).unwrap();
    let kinds: Vec<(&str, &str)> = report
        .differences
        .iter()
        .map(|d| {
            let kind = match d {
                Difference::Added { .. } => "added",
                Difference::Missing { .. } => "missing",
                Difference::Changed { .. } => "changed",
                Difference::ModeChanged { .. } => "mode",
                Difference::TypeChanged { .. } => "type",
            };
            (d.path(), kind)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("VERSION", "missing"),
            ("bin/go", "mode"),
            ("bin/go-alias", "changed"),
            ("src/fmt/extra.go", "added"),
            ("src/fmt/print.go", "changed"),
        ]
    );
}

#[test]
fn clean_removes_what_dead_processes_left() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    install(&store, "1.22.10");
    let lock = lock(&store);
    let staging = store.staging_dir();
    // An area whose owner died: its lock file is free.
    fs::create_dir_all(staging.join("go1.21.13.999999.0/go/bin")).unwrap();
    fs::write(staging.join("go1.21.13.999999.0.lock"), "999999").unwrap();
    // A directory with no lock file at all.
    fs::create_dir_all(staging.join("go1.21.12.999999.1")).unwrap();
    // A replaced tree whose replacement never arrived is restored.
    fs::create_dir_all(staging.join("replaced-go1.20.1.999999.2")).unwrap();
    fabricate(&staging.join("replaced-go1.20.1.999999.2"), "1.20.1", true);
    // (A replace writes the new manifest before it moves the old tree aside.)
    fs::write(store.manifest_path(&v("1.20.1")), "{}").unwrap();
    // A manifest without a toolchain, a temporary file.
    fs::write(store.manifest_path(&v("1.19.1")), "{}").unwrap();
    fs::write(store.manifests_dir().join(".go1.19.1.json.tmp-1-0"), "").unwrap();
    // A live area of this process survives.
    let live = store.stage(&lock, "go1.23.0").unwrap();

    let removed = store.clean(&lock).unwrap();
    assert_eq!(removed.len(), 5, "{removed:?}");
    assert!(live.dir().exists());
    assert!(store.is_installed(&v("1.20.1")));
    let mut left: Vec<String> = fs::read_dir(&staging)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    let live_name = live.dir().file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(left, [live_name.clone(), format!("{live_name}.lock")]);
    assert_eq!(fs::read_dir(store.manifests_dir()).unwrap().count(), 2);
}

#[test]
fn a_stale_lock_removed_by_another_remover_first_is_no_error() {
    use crate::staging::{RACE, StaleLock};
    for point in [StaleLock::Found, StaleLock::AreaRemoved] {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path());
        let lock = lock(&store);
        let staging = store.staging_dir();
        fs::create_dir_all(staging.join("go1.21.13.999999.0/go/bin")).unwrap();
        fs::write(staging.join("go1.21.13.999999.0.lock"), "999999").unwrap();
        // The other remover (the area's owner finishing, another clean) wins the race at
        // exactly this point: it removes the area and its lock file.
        RACE.set(Some(Box::new(move |reached, lock_file: &Path| {
            if reached == point {
                let area = lock_file.with_extension("");
                let _ = goshift_fs::remove_dir_all_if_exists(&area);
                fs::remove_file(lock_file).unwrap();
            }
        })));
        let result = store.clean(&lock);
        RACE.set(None);
        let removed = result.unwrap_or_else(|e| panic!("{point:?}: {e}"));
        assert!(removed.is_empty(), "{point:?}: {removed:?}");
        assert_eq!(fs::read_dir(&staging).unwrap().count(), 0, "{point:?}");
    }
}

#[test]
fn clean_drops_a_dangling_default() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let lock = lock(&store);
    std::os::unix::fs::symlink("toolchains/go1.22.10", store.default_link()).unwrap();
    assert_eq!(store.default_version().unwrap(), None);
    assert_eq!(store.clean(&lock).unwrap(), [store.default_link()]);
}

#[test]
fn links_follow_the_installed_set() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    install(&store, "1.21.13");
    install(&store, "1.22.10");
    let exe = Path::new("/opt/goshift/bin/goshift");
    let lock = lock(&store);
    store.refresh_links(&lock, exe).unwrap();
    let names = |store: &Store| {
        let mut names: Vec<String> = fs::read_dir(store.bin_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&store), ["go", "go1.21.13", "go1.22.10", "gofmt"]);
    assert_eq!(fs::read_link(store.bin_dir().join("go")).unwrap(), exe);
    store.uninstall(&lock, &v("1.22.10"), false).unwrap();
    store.refresh_links(&lock, exe).unwrap();
    assert_eq!(names(&store), ["go", "go1.21.13", "gofmt"]);
}

#[test]
fn lock_times_out_naming_the_holder() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let _held = lock(&store);
    let mut waited = None;
    let error = store
        .lock(Duration::from_millis(20), |holder| {
            waited = Some(holder.to_owned());
        })
        .unwrap_err();
    assert!(matches!(error, StoreError::Lock(_)));
    assert_eq!(waited, Some(format!("pid {}", std::process::id())));
}

#[test]
fn unwritable_home_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("file"), "").unwrap();
    let store = Store::new(root.path().join("file/home"));
    let error = store.lock(Duration::from_secs(1), |_| {}).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("failed to create the directory"),
        "{error}"
    );
}

fn smoke(dir: &Path, version: &str) -> Result<crate::SmokeReport, SmokeError> {
    let scratch = dir.join("scratch");
    SmokeTest {
        goroot: &dir.join("go"),
        expected: &v(version),
        scratch: &scratch,
        path: "/usr/bin:/bin".into(),
        timeout: Duration::from_secs(30),
    }
    .run()
}

#[test]
fn smoke_test_passes_a_working_toolchain() {
    let dir = tempfile::tempdir().unwrap();
    fabricate(&dir.path().join("go"), "1.22.10", true);
    let report = smoke(dir.path(), "1.22.10").unwrap();
    assert_eq!(report.go_version, "go version go1.22.10 linux/amd64");
    assert_eq!(report.hello, "hello from go1.22.10");
}

#[test]
fn smoke_test_catches_lies_and_breakage() {
    let dir = tempfile::tempdir().unwrap();
    fabricate(&dir.path().join("go"), "1.22.9", true);
    assert!(matches!(
        smoke(dir.path(), "1.22.10"),
        Err(SmokeError::WrongVersion { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    fabricate(&dir.path().join("go"), "1.22.10", false);
    assert!(matches!(
        smoke(dir.path(), "1.22.10"),
        Err(SmokeError::WrongOutput { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    fabricate(&dir.path().join("go"), "1.22.10", true);
    fs::write(
        dir.path().join("go/bin/go"),
        "#!/bin/sh\necho boom >&2\nexit 3\n",
    )
    .unwrap();
    let error = smoke(dir.path(), "1.22.10").unwrap_err();
    assert_eq!(
        error.to_string(),
        "`go version` failed with exit status: 3: boom"
    );
}

mod planted;
