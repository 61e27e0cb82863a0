//! `hash_tree`, `copy_tree` and `read_version_file` on directories.

use std::os::unix::fs::{PermissionsExt, symlink};

use goshift_dist::{DistError, EntryKind, copy_tree, hash_tree, read_version_file};

fn sample_tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("src/fmt")).unwrap();
    std::fs::write(root.join("VERSION"), "go1.19.8").unwrap();
    std::fs::write(root.join("bin/go"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(root.join("bin/go"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.join("src/fmt/print.go"), "package fmt\n").unwrap();
    symlink("bin/go", root.join("go-link")).unwrap();
}

#[test]
fn hash_tree_lists_sorted_entries_without_following_links() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let entries = hash_tree(dir.path()).unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "VERSION",
            "bin",
            "bin/go",
            "go-link",
            "src",
            "src/fmt",
            "src/fmt/print.go"
        ]
    );
    assert_eq!(
        entries[3].kind,
        EntryKind::Symlink {
            target: "bin/go".into()
        }
    );
    assert!(matches!(
        &entries[2].kind,
        EntryKind::File {
            size: 10,
            mode: 0o755,
            ..
        }
    ));
}

#[test]
fn hash_tree_detects_changes() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let before = hash_tree(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("src/fmt/print.go"),
        "package fmt // changed\n",
    )
    .unwrap();
    assert_ne!(before, hash_tree(dir.path()).unwrap());
}

#[test]
fn copy_tree_copies_and_hashes_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src-root");
    let dest = dir.path().join("dest");
    sample_tree(&src);
    std::fs::create_dir(&dest).unwrap();
    let copied = copy_tree(&src, &dest).unwrap();
    assert_eq!(copied, hash_tree(&dest).unwrap());
    assert_eq!(
        std::fs::read_link(dest.join("go-link")).unwrap().to_str(),
        Some("bin/go")
    );
    assert_eq!(read_version_file(&dest).unwrap().to_string(), "1.19.8");
}

#[test]
fn copy_tree_follows_links_that_leave_the_tree() {
    // The Debian layout: /usr/lib/go-1.x/src -> ../../share/go-1.x/src.
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib/go");
    let share = dir.path().join("share/go/src");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::create_dir_all(share.join("fmt")).unwrap();
    std::fs::write(share.join("fmt/print.go"), "package fmt\n").unwrap();
    std::fs::write(lib.join("VERSION"), "go1.19.8").unwrap();
    symlink("../../share/go/src", lib.join("src")).unwrap();
    let dest = dir.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let copied = copy_tree(&lib, &dest).unwrap();
    assert!(dest.join("src").is_dir() && !dest.join("src").is_symlink());
    assert_eq!(
        std::fs::read(dest.join("src/fmt/print.go")).unwrap(),
        b"package fmt\n"
    );
    assert_eq!(copied, hash_tree(&dest).unwrap());

    // A dangling one cannot be copied.
    symlink("/nonexistent/goshift-test", lib.join("broken")).unwrap();
    let dest2 = dir.path().join("dest2");
    std::fs::create_dir(&dest2).unwrap();
    let error = copy_tree(&lib, &dest2).unwrap_err();
    assert!(matches!(error, DistError::DanglingLink { .. }), "{error:?}");
}

#[test]
fn copy_tree_stops_symlink_loops() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("a")).unwrap();
    // Leaves the tree by its absolute path, and leads back into it.
    symlink(&root, root.join("a/again")).unwrap();
    let dest = dir.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let error = copy_tree(&root, &dest).unwrap_err();
    assert!(matches!(error, DistError::SymlinkLoop { .. }), "{error:?}");
}

#[test]
fn version_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let error = read_version_file(dir.path()).unwrap_err();
    assert!(matches!(error, DistError::LocalFile { .. }), "{error:?}");
    std::fs::write(dir.path().join("VERSION"), "devel go1.23-abc\n").unwrap();
    let error = read_version_file(dir.path()).unwrap_err();
    assert!(
        matches!(&error, DistError::BadVersionFile { found, .. } if found == "devel go1.23-abc"),
        "{error:?}"
    );
    std::fs::write(
        dir.path().join("VERSION"),
        "go1.22.10\ntime 2024-12-03T17:13:05Z\n",
    )
    .unwrap();
    assert_eq!(
        read_version_file(dir.path()).unwrap().to_string(),
        "1.22.10"
    );
}

/// Debian's Go 1.19 tree (`golang-1.19-go`): a real GOROOT laid out by a distribution.
/// Without it the test says that it is skipped, and fails when `CI` is set, where `.ci/run`
/// installs the package.
#[test]
fn debian_go_tree_imports_when_present() {
    let goroot = std::path::Path::new("/usr/lib/go-1.19");
    if !goroot.join("VERSION").exists() {
        let message = "skipped debian_go_tree_imports_when_present: no Debian Go at /usr/lib/go-1.19 (`apt-get install golang-1.19-go`)";
        assert!(std::env::var_os("CI").is_none(), "{message}, and CI is set");
        eprintln!("{message}");
        return;
    }
    let version = read_version_file(goroot).unwrap();
    assert_eq!((version.major(), version.minor()), (1, 19), "{version}");
}
