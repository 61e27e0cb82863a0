//! A store directory swapped for a link to an outside directory between the moment goshift
//! checks it and the moment it uses it: the work goes on in the directory goshift opened,
//! nothing outside the home is read, written or deleted, and the next command refuses the
//! link by name.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use goshift_fs::fs;

use super::{fabricate, install, lock, manifest_for, v};
use crate::{Phase, Replace, Store};

/// An outside directory mirroring what goshift would find in `name` (the same entries, each
/// holding a file), and a snapshot of it to compare with at the end.
struct Outside {
    dir: PathBuf,
}

impl Outside {
    fn new(root: &Path) -> Self {
        let dir = root.join("outside");
        fs::create_dir_all(dir.join("keep")).unwrap();
        fs::write(dir.join("keep/file"), "keep me").unwrap();
        Self { dir }
    }

    /// Moves `home/name` aside (within the home) and puts a link to the outside directory
    /// in its place, with an entry outside for every entry goshift had in it.
    fn plant(&self, home: &Path, name: &str) {
        let real = home.join(name);
        for entry in fs::read_dir(&real).unwrap() {
            let entry = entry.unwrap();
            let mirror = self.dir.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                fs::create_dir_all(mirror.join("bin")).unwrap();
                fs::write(mirror.join("bin/go"), "outside").unwrap();
            } else if !mirror.exists() {
                fs::write(&mirror, "outside").unwrap();
            }
        }
        fs::rename(&real, home.join(format!("{name}.moved"))).unwrap();
        std::os::unix::fs::symlink(&self.dir, &real).unwrap();
    }

    /// Every path and content below the outside directory.
    fn contents(&self) -> Vec<(PathBuf, String)> {
        let mut found = Vec::new();
        walk(&self.dir, &self.dir, &mut found);
        found.sort();
        found
    }
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<(PathBuf, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap().to_owned();
        if entry.file_type().unwrap().is_dir() {
            found.push((relative, "/".to_owned()));
            walk(root, &path, found);
        } else {
            found.push((relative, fs::read_to_string(&path).unwrap_or_default()));
        }
    }
}

/// A store whose observer plants a link for `name` when `phase` is reached.
fn planting(home: &Path, outside: &Arc<Outside>, phase: Phase, name: &'static str) -> Store {
    let planted = Arc::new(Mutex::new(false));
    let home_copy = home.to_owned();
    let outside = Arc::clone(outside);
    Store::new(home).with_observer(move |reached| {
        let mut done = planted.lock().unwrap();
        if reached == phase && !*done {
            *done = true;
            outside.plant(&home_copy, name);
        }
    })
}

/// The next command refuses the planted link, naming it and the fix.
fn assert_refused(store: &Store, name: &str) {
    let error = store
        .lock(Duration::from_secs(5), |_| {})
        .map(drop)
        .unwrap_err();
    let text = format!("{error:?} {error}");
    assert!(
        text.contains(&format!("{name}` is a symbolic link")),
        "{text}"
    );
    assert!(text.contains("rm "), "{text}");
}

/// Stages, fills and publishes go1.22.10 as `install` does, the observer planting links.
fn stage_fill_publish(store: &Store) -> Result<PathBuf, crate::StoreError> {
    let lock = lock(store);
    let staging = store.stage(&lock, "go1.22.10")?;
    fabricate(&staging.tree(), "1.22.10", true);
    store.reached(Phase::Unpacked);
    let manifest = manifest_for(&staging.tree(), "1.22.10");
    store.publish(&lock, &staging, &manifest, Replace::Never)
}

#[test]
fn a_staging_link_planted_after_staging_leads_nothing_outside() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let outside = Arc::new(Outside::new(root.path()));
    // Planted once the area exists: the tree is filled, published and its area removed
    // through the directory goshift opened.
    let store = planting(&home, &outside, Phase::Staged, "staging");
    stage_fill_publish(&store).unwrap();
    let after = outside.contents();
    // Only the plant's mirror of the area is there, as the plant left it: nothing filled
    // into it, nothing taken from it, nothing removed.
    let mirrored: Vec<_> = after
        .iter()
        .filter(|(path, _)| !path.starts_with("keep"))
        .map(|(path, content)| {
            (
                path.components().skip(1).collect::<PathBuf>(),
                content.as_str(),
            )
        })
        .collect();
    assert_eq!(
        mirrored,
        [
            (PathBuf::new(), "/"),
            (PathBuf::from("bin"), "/"),
            (PathBuf::from("bin/go"), "outside"),
            // The mirror of the area's lock file.
            (PathBuf::new(), "outside"),
        ],
        "{after:?}"
    );
    assert!(store.is_installed(&v("1.22.10")));
    assert_eq!(
        fs::read_to_string(store.toolchain_dir(&v("1.22.10")).join("VERSION")).unwrap(),
        "go1.22.10\ntime 2024-01-01\n"
    );
    assert_refused(&store, "staging");
}

#[test]
fn a_toolchains_link_planted_before_the_rename_receives_nothing() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let outside = Arc::new(Outside::new(root.path()));
    let store = planting(&home, &outside, Phase::ManifestWritten, "toolchains");
    let before = outside.contents();
    stage_fill_publish(&store).unwrap();
    assert_eq!(outside.contents(), before);
    assert!(home.join("toolchains.moved/go1.22.10/VERSION").is_file());
    assert_refused(&store, "toolchains");
}

#[test]
fn removal_after_a_staging_link_is_planted_deletes_nothing_outside() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let outside = Arc::new(Outside::new(root.path()));
    install(&Store::new(&home), "1.21.13");
    install(&Store::new(&home), "1.22.10");
    // Uninstall moves the tree into `staging/`, then removes it there.
    let store = planting(&home, &outside, Phase::Removed, "staging");
    let lock = lock(&store);
    store.uninstall(&lock, &v("1.22.10"), false).unwrap();
    let after = outside.contents();
    assert!(
        after
            .iter()
            .any(|(path, _)| path.to_string_lossy().starts_with("removed-go1.22.10")),
        "the plant mirrors the tree moved aside: {after:?}"
    );
    assert!(
        after
            .iter()
            .any(|(path, content)| path.ends_with("bin/go") && content == "outside"),
        "{after:?}"
    );
    assert!(outside.dir.join("keep/file").is_file());
    assert_eq!(
        fs::read_dir(home.join("staging.moved")).unwrap().count(),
        0,
        "the tree moved aside is removed where it is"
    );
    drop(lock);
    assert_refused(&store, "staging");
}

#[test]
fn cleaning_a_stale_area_after_a_staging_link_is_planted_deletes_nothing_outside() {
    use crate::staging::{RACE, StaleLock};
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let outside = Arc::new(Outside::new(root.path()));
    let store = Store::new(&home);
    let lock = lock(&store);
    let staging = store.staging_dir();
    fs::create_dir_all(staging.join("go1.21.13.999999.0/go/bin")).unwrap();
    fs::write(staging.join("go1.21.13.999999.0.lock"), "999999").unwrap();
    let planter = Arc::clone(&outside);
    let home_copy = home.clone();
    RACE.set(Some(Box::new(move |reached, _lock_file: &Path| {
        if reached == StaleLock::Found {
            planter.plant(&home_copy, "staging");
        }
    })));
    let result = store.clean(&lock);
    RACE.set(None);
    result.unwrap();
    assert!(outside.dir.join("go1.21.13.999999.0/bin/go").is_file());
    assert!(outside.dir.join("go1.21.13.999999.0.lock").is_file());
    assert!(outside.dir.join("keep/file").is_file());
    assert_eq!(fs::read_dir(home.join("staging.moved")).unwrap().count(), 0);
    drop(lock);
    assert_refused(&store, "staging");
}
