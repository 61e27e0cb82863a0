//! Links planted for the store's own files and for the entries inside its directories (the
//! audit log, the history, a toolchain's tree, a manifest, a service's directory): each is
//! refused with an error naming it, and nothing behind it is read, changed or deleted.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::integrity::{assert_says, store_with, two_installed as store};
use crate::toolchain::{Run, StoreTest};

/// A file outside the store, with `contents` in it.
fn precious(test: &StoreTest, contents: &str) -> PathBuf {
    let path = test.context.work().join("precious");
    std::fs::write(&path, contents).unwrap();
    path
}

/// Replaces the file `name` (relative to the home) by a link to `target`.
fn plant_file(test: &StoreTest, name: &str, target: &Path) {
    let path = test.home().join(name);
    let _ = std::fs::remove_file(&path);
    symlink(target, &path).unwrap();
}

/// Asserts that `run` failed (exit 2) naming `[ROOT]/home/<name>` as a link.
pub(crate) fn assert_refused(run: &Run, name: &str) {
    assert_eq!(run.code, Some(2), "{name}: {run:#?}");
    assert!(
        run.stderr
            .contains(&format!("`[ROOT]/home/{name}` is a symbolic link")),
        "{name}: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("rm [ROOT]/home/{name}")),
        "{name}: {}",
        run.stderr
    );
    // The refusal carries its own fix; no generic one contradicts it.
    assert!(!run.stderr.contains("free space"), "{name}: {}", run.stderr);
}

fn default_target(test: &StoreTest) -> PathBuf {
    std::fs::read_link(test.home().join("default")).unwrap()
}

#[test]
fn a_link_planted_for_the_audit_log_is_refused_and_its_target_untouched() {
    let test = store();
    let target = precious(&test, "keep me\n");
    plant_file(&test, "audit.log", &target);
    for args in [&["use", "1.22.10"][..], &["audit", "verify"][..]] {
        let run = test.run(args);
        assert_refused(&run, "audit.log");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    }
    assert_eq!(default_target(&test), Path::new("toolchains/go1.21.13"));
}

#[test]
fn a_link_planted_for_the_history_is_refused_and_its_target_never_read() {
    let test = store();
    test.ok(&["use", "1.22.10"]);
    let line = std::fs::read_to_string(test.home().join("history")).unwrap();
    // A target that reads as a valid history: following the link would show it.
    let secret = line.replace("1.22.10", "1.19.99");
    let target = precious(&test, &secret);
    plant_file(&test, "history", &target);
    for args in [
        &["use", "1.21.13"][..],
        &["history"][..],
        &["rollback"][..],
        &["snapshot", "create", "-o", "snap.json"][..],
    ] {
        let run = test.run(args);
        assert_refused(&run, "history");
        assert!(!run.stdout.contains("1.19.99"), "{args:?}: {run:#?}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), secret);
    }
    assert!(!test.context.work().join("snap.json").exists());
    assert_eq!(default_target(&test), Path::new("toolchains/go1.22.10"));
}

/// A copy of the installed go1.22.10 outside the store, and a link to it where the tree was.
fn planted_tree(test: &StoreTest) -> PathBuf {
    let tree = test.home().join("toolchains/go1.22.10");
    let outside = test.context.work().join("outside-go1.22.10");
    std::fs::rename(&tree, &outside).unwrap();
    symlink(&outside, &tree).unwrap();
    outside
}

#[test]
fn a_link_planted_for_a_toolchain_tree_is_refused_and_nothing_behind_it_deleted() {
    for args in [
        &["uninstall", "1.22.10"][..],
        &["prune", "--keep", "0"][..],
        &["install", "--no-smoke-test", "--reinstall", "1.22.10"][..],
        &["use", "1.22.10"][..],
        &["verify", "1.22.10"][..],
    ] {
        let test = store();
        let outside = planted_tree(&test);
        let before = crate::toolchain::names(&outside);
        let run = test.run(args);
        if args[0] == "verify" {
            // Reading: the tree behind a link is simply not installed.
            assert_says(&run, 2, "no installed toolchain matches `1.22.10`");
        } else {
            assert_refused(&run, "toolchains/go1.22.10");
        }
        assert_eq!(crate::toolchain::names(&outside), before, "{args:?}");
        assert!(outside.join("bin/go").is_file(), "{args:?}");
        assert!(
            std::fs::symlink_metadata(test.home().join("toolchains/go1.22.10"))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{args:?}: the planted link itself is the user's to remove"
        );
    }
}

#[test]
fn a_link_planted_for_a_manifest_is_refused_and_its_target_untouched() {
    for args in [
        &["uninstall", "1.22.10"][..],
        &["install", "--no-smoke-test", "--reinstall", "1.22.10"][..],
        &["verify", "1.22.10"][..],
        &["use", "1.22.10"][..],
    ] {
        let test = store();
        let manifest = test.home().join("manifests/go1.22.10.json");
        let contents = std::fs::read_to_string(&manifest).unwrap();
        let target = precious(&test, &contents);
        plant_file(&test, "manifests/go1.22.10.json", &target);
        let run = test.run(args);
        if args[0] == "verify" {
            assert_says(&run, 2, "no installed toolchain matches `1.22.10`");
        } else {
            assert_refused(&run, "manifests/go1.22.10.json");
        }
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            contents,
            "{args:?}"
        );
        assert!(
            test.home().join("toolchains/go1.22.10/bin/go").is_file(),
            "{args:?}"
        );
    }
}

#[test]
fn a_toolchain_behind_a_link_is_not_installed_and_verify_names_it() {
    let test = store_with(&["1.21.13", "1.22.10"], &["1.21.13", "1.22.10"]);
    planted_tree(&test);
    assert_foreign(&test);
}

/// `list` leaves `toolchains/go1.22.10` out, and `verify` names it (exit 1: a finding).
pub(crate) fn assert_foreign(test: &StoreTest) {
    assert_eq!(test.ok(&["list"]).stdout, "go1.21.13  (default)\n");
    let run = test.run(&["verify"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stdout
            .contains("toolchains/go1.22.10: not installed by goshift"),
        "{run:#?}"
    );
}
