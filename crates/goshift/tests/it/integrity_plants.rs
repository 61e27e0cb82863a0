//! The store never leaves itself: links planted where goshift keeps its own directories and
//! files are refused and never followed, a home that other users can write into or that
//! belongs to another user is refused with the fix, and a toolchain another user put in
//! `toolchains/` is not installed.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::Path;

use crate::toolchain::StoreTest;

use crate::integrity::{assert_says, store_with, two_installed as store};
use crate::integrity_links::{assert_foreign, assert_refused};

/// A directory outside the store with two subdirectories and a file.
fn bystander(test: &StoreTest, name: &str) -> std::path::PathBuf {
    let dir = test.context.work().join(name);
    std::fs::create_dir_all(dir.join("one")).unwrap();
    std::fs::create_dir_all(dir.join("go1.22.10/bin")).unwrap();
    std::fs::write(dir.join("file"), "keep me").unwrap();
    dir
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Replaces the store entry `name` by a link to `target`.
fn plant(test: &StoreTest, name: &str, target: &Path) {
    let path = test.home().join(name);
    if path.is_dir() {
        std::fs::rename(&path, test.context.work().join(format!("moved-{name}"))).unwrap();
    } else {
        let _ = std::fs::remove_file(&path);
    }
    symlink(target, &path).unwrap();
}

#[test]
fn a_link_planted_for_a_store_directory_is_refused_and_nothing_behind_it_changes() {
    for (name, args) in [
        ("staging", &["use", "1.22.10"][..]),
        ("toolchains", &["prune", "--keep", "0"][..]),
        ("manifests", &["uninstall", "1.22.10"][..]),
        ("bin", &["use", "1.22.10"][..]),
        (
            "cache",
            &["install", "--reinstall", "--no-smoke-test", "1.22.10"][..],
        ),
    ] {
        let test = store();
        let target = bystander(&test, "target");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let before = listing(&target);
        plant(&test, name, &target);
        let run = test.run(args);
        assert_refused(&run, name);
        assert!(!run.stderr.contains("Cleaned up"), "{name}: {}", run.stderr);
        assert_eq!(listing(&target), before, "{name}");
        assert_eq!(listing(&target.join("go1.22.10")), ["bin"], "{name}");
        let mode = std::fs::metadata(&target).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o1777, "{name}: the target's mode was changed");
    }
}

#[test]
fn a_link_planted_for_a_lock_file_is_refused_and_its_target_untouched() {
    for name in ["lock", "audit.log.lock"] {
        let test = store();
        let target = test.context.work().join("precious");
        std::fs::write(&target, "keep me").unwrap();
        plant(&test, name, &target);
        let run = test.run(&["use", "1.22.10"]);
        assert_eq!(run.code, Some(2), "{name}: {run:#?}");
        assert!(
            run.stderr.contains("is a symbolic link"),
            "{name}: {}",
            run.stderr
        );
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "keep me",
            "{name}"
        );
        assert_eq!(
            std::fs::read_link(test.home().join("default")).unwrap(),
            Path::new("toolchains/go1.21.13"),
            "{name}"
        );
    }
}

#[test]
fn a_home_other_users_can_write_into_is_refused_not_chmoded() {
    let test = store();
    let home = test.home();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = test.run(&["use", "1.22.10"]);
    assert_says(&run, 2, "is writable by other users (mode 777)");
    assert!(
        run.stderr.contains("chmod go-w [ROOT]/home"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::metadata(&home).unwrap().mode() & 0o7777, 0o777);
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    test.ok(&["use", "1.22.10"]);
}

/// Another uid to own files, or `None` (with a loud note; a failure under `CI`) when this
/// process cannot chown.
#[expect(clippy::print_stderr, reason = "a skipped test says so")]
pub(crate) fn other_uid() -> Option<u32> {
    if goshift_fs::effective_uid() == 0 {
        return Some(65_534);
    }
    let message = "skipped: giving files to another user needs root";
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("{message}");
    None
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), None).unwrap();
}

#[test]
fn a_home_of_another_user_is_refused() {
    let Some(uid) = other_uid() else { return };
    let test = store();
    chown(&test.home(), uid);
    let run = test.run(&["use", "1.22.10"]);
    assert_says(&run, 2, &format!("belongs to uid {uid}"));
    chown(&test.home(), goshift_fs::effective_uid());
    test.ok(&["use", "1.22.10"]);
}

#[test]
fn a_toolchain_without_its_manifest_or_of_another_user_is_not_installed() {
    let Some(uid) = other_uid() else { return };
    let test = store_with(&["1.21.13", "1.22.10"], &["1.21.13"]);
    // Planted by another user: a tree without a manifest.
    let planted = test.home().join("toolchains/go1.22.10");
    std::fs::create_dir_all(planted.join("bin")).unwrap();
    std::fs::write(planted.join("bin/go"), "#!/bin/sh\necho owned\n").unwrap();
    std::fs::write(planted.join("VERSION"), "go1.22.10\n").unwrap();
    chown(&planted, uid);
    assert_foreign(&test);
    let run = test.run(&["use", "1.22.10"]);
    assert_says(&run, 2, "no installed toolchain matches `1.22.10`");
    // Even with a manifest copied next to it, another user's tree is not goshift's.
    std::fs::copy(
        test.home().join("manifests/go1.21.13.json"),
        test.home().join("manifests/go1.22.10.json"),
    )
    .unwrap();
    assert_eq!(test.ok(&["list"]).stdout, "go1.21.13  (default)\n");
    assert_eq!(test.run(&["use", "1.22.10"]).code, Some(2));
    assert_eq!(
        std::fs::read_link(test.home().join("default")).unwrap(),
        Path::new("toolchains/go1.21.13")
    );
}

/// Plants `toolchains/go1.22.10` with a `bin/go` that says `planted`, next to an installed
/// go1.21.13.
fn planted_toolchain() -> (StoreTest, std::path::PathBuf) {
    let test = store_with(&["1.21.13", "1.22.10"], &["1.21.13"]);
    let planted = test.home().join("toolchains/go1.22.10");
    std::fs::create_dir_all(planted.join("bin")).unwrap();
    std::fs::write(planted.join("bin/go"), "#!/bin/sh\necho planted\n").unwrap();
    std::fs::set_permissions(
        planted.join("bin/go"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(planted.join("VERSION"), "go1.22.10\n").unwrap();
    (test, planted)
}

/// The proxy asked for go1.22.10 and `goshift doctor` both refuse the planted tree.
fn assert_never_run(test: &StoreTest, what: &str) {
    let output = test
        .context
        .sandboxed(test.home().join("bin/go"))
        .arg("version")
        .env("GOSHIFT_GO_VERSION", "1.22.10")
        .output()
        .unwrap();
    let run = test.finish(&output);
    assert_eq!(run.code, Some(2), "{what}: {run:#?}");
    assert!(!run.stdout.contains("planted"), "{what}: {run:#?}");
    assert!(
        run.stderr.contains(
            "`[ROOT]/home/toolchains/go1.22.10` was not installed by goshift (it has no manifest of this user, or another owner), so it is never run"
        ),
        "{what}: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("rm -r [ROOT]/home/toolchains/go1.22.10"),
        "{what}: {}",
        run.stderr
    );
    let run = test.run(&["doctor"]);
    assert_ne!(run.code, Some(0), "{what}: {run:#?}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("`[ROOT]/home/toolchains/go1.22.10` was not installed by goshift"),
        "{what}: {all}"
    );
}

#[test]
fn the_proxy_and_doctor_never_accept_a_tree_without_its_manifest() {
    let (test, _) = planted_toolchain();
    assert_never_run(&test, "no manifest");
    // The default link pointed at it by hand: still never run.
    std::fs::remove_file(test.home().join("default")).unwrap();
    symlink("toolchains/go1.22.10", test.home().join("default")).unwrap();
    let output = test
        .context
        .sandboxed(test.home().join("bin/go"))
        .arg("version")
        .output()
        .unwrap();
    let run = test.finish(&output);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(!run.stdout.contains("planted"), "{run:#?}");
}

#[test]
fn the_proxy_and_doctor_never_accept_a_tree_of_another_user() {
    let Some(uid) = other_uid() else { return };
    let (test, planted) = planted_toolchain();
    std::fs::copy(
        test.home().join("manifests/go1.21.13.json"),
        test.home().join("manifests/go1.22.10.json"),
    )
    .unwrap();
    chown(&planted, uid);
    assert_never_run(&test, "another owner");
}
