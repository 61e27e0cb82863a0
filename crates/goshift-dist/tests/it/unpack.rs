//! `unpack`: the happy path, every hostile entry, damaged streams and verification.

use std::os::unix::fs::PermissionsExt;

use goshift_dist::{DistError, EntryKind, Expected, GoVersion, UnsafeReason, hash_tree};
use goshift_testkit::archive::{FakeGo, TarBuilder, fake_go, gzip, kind};
use goshift_testkit::mirror::sha256_hex;

use crate::{expect_exact, unpack_bytes};

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// A minimal valid distribution plus `extra` entries.
fn with_entries(extra: impl FnOnce(&mut TarBuilder)) -> Vec<u8> {
    let mut tar = TarBuilder::new();
    tar.dir("go/", 0o755)
        .file("go/VERSION", 0o644, b"go1.22.10\n");
    extra(&mut tar);
    tar.tar_gz()
}

fn unsafe_reason(bytes: &[u8]) -> (String, UnsafeReason) {
    let (scratch, result) = unpack_bytes(bytes, &expect_exact(bytes, "1.22.10"));
    match result {
        Err(DistError::UnsafeEntry { entry, reason }) => {
            assert!(scratch.cache_listing().is_empty(), "cache left behind");
            (entry, reason)
        }
        other => panic!("expected an unsafe-entry error, got {other:?}"),
    }
}

#[test]
fn unpacks_a_distribution_with_manifest_equal_to_hash_tree() {
    let archive = fake_go("1.22.10");
    let mut seen = Vec::new();
    let scratch = crate::Scratch::new();
    let unpacked = goshift_dist::unpack(
        &archive[..],
        &expect_exact(&archive, "1.22.10"),
        &scratch.dest(),
        Some(&scratch.cache()),
        &mut |bytes| seen.push(bytes),
    )
    .unwrap();
    assert_eq!(unpacked.version.to_string(), "1.22.10");
    assert_eq!(unpacked.archive_sha256, sha256_hex(&archive));
    assert_eq!(unpacked.archive_size, archive.len() as u64);
    assert_eq!(seen.last().copied(), Some(archive.len() as u64));
    assert!(seen.windows(2).all(|pair| pair[0] <= pair[1]));

    let dest = scratch.dest();
    let go = std::fs::read_to_string(dest.join("bin/go")).unwrap();
    assert!(go.starts_with("#!/bin/sh"));
    assert_eq!(mode_of(&dest.join("bin/go")), 0o755);
    assert_eq!(mode_of(&dest.join("VERSION")), 0o644);
    assert_eq!(
        mode_of(&dest.join("src/runtime")),
        0o755,
        "implicit directory"
    );
    assert!(!dest.join("go").exists(), "the go/ prefix is stripped");

    let on_disk = hash_tree(&dest).unwrap();
    assert_eq!(unpacked.entries, on_disk);
    let version_entry = on_disk.iter().find(|e| e.path == "VERSION").unwrap();
    let version_bytes = std::fs::read(dest.join("VERSION")).unwrap();
    assert_eq!(
        version_entry.kind,
        EntryKind::File {
            sha256: sha256_hex(&version_bytes),
            size: version_bytes.len() as u64,
            mode: 0o644
        }
    );
    let paths: Vec<&str> = on_disk.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"src/runtime") && paths.contains(&"src/runtime/extern.go"));

    // The archive reached the cache only now, complete and under its final name.
    assert_eq!(scratch.cache_listing(), ["archive"]);
    assert_eq!(std::fs::read(scratch.cache()).unwrap(), archive);
}

#[test]
fn fake_go_answers_version_env_and_build() {
    let archive = FakeGo::new("1.21.13").archive();
    let (scratch, result) = unpack_bytes(&archive, &expect_exact(&archive, "1.21.13"));
    result.unwrap();
    let go = scratch.dest().join("bin/go");
    let run = |args: &[&str], dir: &std::path::Path| {
        std::process::Command::new(&go)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let (os, arch) = goshift_testkit::archive::host_platform();
    let version = run(&["version"], scratch.path());
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("go version go1.21.13 {os}/{arch}\n")
    );
    let env = run(&["env", "GOROOT", "GOVERSION"], scratch.path());
    let root = std::fs::canonicalize(scratch.dest()).unwrap();
    assert_eq!(
        String::from_utf8(env.stdout).unwrap(),
        format!("{}\ngo1.21.13\n", root.display())
    );
    let module = scratch.path().join("hello");
    std::fs::create_dir(&module).unwrap();
    let failed = run(&["build", "-o", "hello"], &module);
    assert!(!failed.status.success(), "build without go.mod must fail");
    std::fs::write(module.join("go.mod"), "module hello\n\ngo 1.21\n").unwrap();
    assert!(run(&["build", "-o", "hello"], &module).status.success());
    let hello = std::process::Command::new(module.join("hello"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(hello.stdout).unwrap(),
        "hello from go1.21.13\n"
    );
    assert_eq!(run(&["frobnicate"], &module).status.code(), Some(2));
}

#[test]
fn fake_go_faults() {
    let archive = FakeGo::new("1.22.10")
        .reporting("1.22.9")
        .failing_build()
        .archive();
    let (scratch, result) = unpack_bytes(&archive, &expect_exact(&archive, "1.22.10"));
    result.unwrap();
    let go = scratch.dest().join("bin/go");
    let version = std::process::Command::new(&go)
        .arg("version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8(version.stdout)
            .unwrap()
            .starts_with("go version go1.22.9 ")
    );
    std::fs::write(scratch.path().join("go.mod"), "module m\n").unwrap();
    let build = std::process::Command::new(&go)
        .args(["build", "-o", "x"])
        .current_dir(scratch.path())
        .output()
        .unwrap();
    assert!(!build.status.success());
}

#[test]
fn modes_drop_group_and_world_write_and_special_bits() {
    let bytes = with_entries(|tar| {
        tar.dir("go/open/", 0o777)
            .file("go/open/tool", 0o4777, b"x")
            .file("go/open/data", 0o666, b"y")
            .file("go/open/secret", 0o000, b"z");
    });
    let (scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    let unpacked = result.unwrap();
    let dest = scratch.dest();
    assert_eq!(mode_of(&dest.join("open")), 0o755);
    assert_eq!(mode_of(&dest.join("open/tool")), 0o755);
    assert_eq!(mode_of(&dest.join("open/data")), 0o644);
    assert_eq!(mode_of(&dest.join("open/secret")), 0o400);
    assert_eq!(unpacked.entries, hash_tree(&dest).unwrap());
}

#[test]
fn symlinks_and_hard_links_inside_the_root_are_kept() {
    let bytes = with_entries(|tar| {
        tar.file("go/bin/go", 0o755, b"#!/bin/sh\n")
            .symlink("go/bin/go-link", "go")
            .symlink("go/misc/up", "../bin/go")
            .hard_link("go/bin/go-hard", "go/bin/go");
    });
    let (scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    let unpacked = result.unwrap();
    let dest = scratch.dest();
    assert_eq!(
        std::fs::read_link(dest.join("misc/up")).unwrap().to_str(),
        Some("../bin/go")
    );
    assert_eq!(
        std::fs::read(dest.join("bin/go-hard")).unwrap(),
        b"#!/bin/sh\n"
    );
    assert_eq!(unpacked.entries, hash_tree(&dest).unwrap());
}

#[test]
fn many_small_files_and_large_ones_are_hashed_like_the_tree() {
    // Small files are written by a second thread, large ones on the tar thread: every hash in
    // the manifest must still be the file's.
    let large: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let bytes = with_entries(|tar| {
        for i in 0..300 {
            tar.file(
                &format!("go/src/pkg{}/file{i}.go", i % 7),
                0o644,
                format!("package p{i}\n").as_bytes(),
            );
            if i % 100 == 0 {
                tar.file(&format!("go/bin/big{i}"), 0o755, &large);
            }
        }
        tar.hard_link("go/src/pkg0/again.go", "go/src/pkg0/file0.go");
    });
    let (scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    let unpacked = result.unwrap();
    assert_eq!(unpacked.entries, hash_tree(&scratch.dest()).unwrap());
    assert_eq!(
        std::fs::read(scratch.dest().join("src/pkg0/again.go")).unwrap(),
        b"package p0\n"
    );
}

#[test]
fn a_refusal_after_many_small_files_leaves_no_writer_behind() {
    let bytes = with_entries(|tar| {
        for i in 0..500 {
            tar.file(&format!("go/src/file{i}.go"), 0o644, b"package p\n");
        }
        tar.file("go/../escape", 0o644, b"x");
    });
    let (scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    assert!(
        matches!(result, Err(DistError::UnsafeEntry { .. })),
        "{result:?}"
    );
    // The writing thread was joined before the error came back: every file queued for it
    // before the refusal is already written (a thread still running would leave some to
    // come), and no writer is left to change the tree afterwards.
    let count = std::fs::read_dir(scratch.dest().join("src")).map_or(0, Iterator::count);
    assert_eq!(count, 500);
}

#[test]
fn long_names_are_supported() {
    let long = format!("go/src/{}/file.go", "deep/".repeat(30));
    let bytes = with_entries(|tar| {
        tar.file(&long, 0o644, b"package deep\n");
    });
    let (scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    result.unwrap();
    assert!(
        scratch
            .dest()
            .join(long.trim_start_matches("go/"))
            .is_file()
    );
}

#[test]
fn refuses_absolute_paths() {
    let bytes = with_entries(|tar| {
        tar.file("/etc/evil", 0o644, b"x");
    });
    assert_eq!(
        unsafe_reason(&bytes),
        ("/etc/evil".into(), UnsafeReason::AbsolutePath)
    );
}

#[test]
fn refuses_parent_components() {
    let bytes = with_entries(|tar| {
        tar.file("go/../../evil", 0o644, b"x");
    });
    assert_eq!(
        unsafe_reason(&bytes),
        ("go/../../evil".into(), UnsafeReason::ParentComponent)
    );
}

#[test]
fn refuses_entries_outside_go() {
    for path in ["evil", "gopher/x", "./x"] {
        let bytes = with_entries(|tar| {
            tar.file(path, 0o644, b"x");
        });
        assert_eq!(
            unsafe_reason(&bytes),
            (path.into(), UnsafeReason::OutsideRoot)
        );
    }
}

#[test]
fn refuses_escaping_symlinks() {
    for (path, target) in [
        ("go/link", "/etc/passwd"),
        ("go/link", ".."),
        ("go/bin/link", "../../etc"),
        ("go/bin/link", "sub/../../.."),
    ] {
        let bytes = with_entries(|tar| {
            tar.symlink(path, target);
        });
        assert_eq!(
            unsafe_reason(&bytes),
            (path.into(), UnsafeReason::SymlinkEscapes(target.into())),
            "{path} -> {target}"
        );
    }
}

#[test]
fn refuses_writing_through_an_archive_symlink() {
    // The link itself stays inside; a later entry must not be written through it.
    let bytes = with_entries(|tar| {
        tar.dir("go/a/", 0o755)
            .symlink("go/a/up", "..")
            .file("go/a/up/VERSION2", 0o644, b"x");
    });
    assert_eq!(
        unsafe_reason(&bytes),
        ("go/a/up/VERSION2".into(), UnsafeReason::ThroughSymlink)
    );
    // Nor may a symlink be replaced by a file of the same name.
    let bytes = with_entries(|tar| {
        tar.symlink("go/link", "VERSION")
            .file("go/link", 0o644, b"x");
    });
    assert_eq!(
        unsafe_reason(&bytes),
        ("go/link".into(), UnsafeReason::Duplicate)
    );
}

#[test]
fn refuses_escaping_hard_links() {
    for target in [
        "/etc/passwd",
        "go/../etc/passwd",
        "etc/passwd",
        "go/missing",
    ] {
        let bytes = with_entries(|tar| {
            tar.hard_link("go/hard", target);
        });
        assert_eq!(
            unsafe_reason(&bytes),
            ("go/hard".into(), UnsafeReason::BadHardLink(target.into())),
            "{target}"
        );
    }
}

#[test]
fn refuses_devices_and_fifos() {
    for typeflag in [kind::CHAR_DEVICE, kind::BLOCK_DEVICE, kind::FIFO] {
        let bytes = with_entries(|tar| {
            tar.entry(typeflag, "go/dev", "", 0o644, b"");
        });
        assert_eq!(
            unsafe_reason(&bytes),
            ("go/dev".into(), UnsafeReason::Special)
        );
    }
}

#[test]
fn refuses_duplicates_and_unknown_types() {
    let bytes = with_entries(|tar| {
        tar.file("go/x", 0o644, b"1").file("go/x", 0o644, b"2");
    });
    assert_eq!(
        unsafe_reason(&bytes),
        ("go/x".into(), UnsafeReason::Duplicate)
    );
    let bytes = with_entries(|tar| {
        tar.entry(b'Z', "go/odd", "", 0o644, b"");
    });
    assert_eq!(
        unsafe_reason(&bytes),
        ("go/odd".into(), UnsafeReason::UnsupportedType('Z'))
    );
}

#[test]
fn truncated_archive_is_reported_and_cache_removed() {
    let archive = fake_go("1.22.10");
    let cut = &archive[..archive.len() / 2];
    // Trusted size known: the short stream is a size mismatch.
    let (scratch, result) = unpack_bytes(cut, &expect_exact(&archive, "1.22.10"));
    assert!(
        matches!(result, Err(DistError::SizeMismatch { expected, actual }) if expected == archive.len() as u64 && actual == cut.len() as u64),
        "{result:?}"
    );
    assert!(scratch.cache_listing().is_empty());
    // Unverified: the decoder reports the truncation itself.
    let (scratch, result) = unpack_bytes(cut, &Expected::default());
    assert!(
        matches!(result, Err(DistError::Truncated { .. })),
        "{result:?}"
    );
    assert!(scratch.cache_listing().is_empty());
}

#[test]
fn tar_without_end_marker_is_truncated() {
    let mut tar = TarBuilder::new();
    tar.dir("go/", 0o755)
        .file("go/VERSION", 0o644, b"go1.22.10\n");
    let bytes = gzip(&tar.tar_unterminated());
    let (_scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    assert!(
        matches!(result, Err(DistError::Truncated { .. })),
        "{result:?}"
    );
}

#[test]
fn corrupt_data_is_reported() {
    let archive = fake_go("1.22.10");
    let mut corrupt = archive.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    // With the trusted hash: a checksum mismatch, which is what the user can act on.
    let (scratch, result) = unpack_bytes(&corrupt, &expect_exact(&archive, "1.22.10"));
    match result {
        Err(DistError::ChecksumMismatch { expected, actual }) => {
            assert_eq!(expected, sha256_hex(&archive));
            assert_eq!(actual, sha256_hex(&corrupt));
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    assert!(scratch.cache_listing().is_empty());
    // Without a hash the decoder's complaint comes through.
    let (_scratch, result) = unpack_bytes(&corrupt, &Expected::default());
    assert!(
        matches!(result, Err(DistError::Corrupt { .. })),
        "{result:?}"
    );
    // Not gzip at all.
    let (_scratch, result) = unpack_bytes(b"plain text, not an archive", &Expected::default());
    assert!(
        matches!(result, Err(DistError::Corrupt { entry: None, .. })),
        "{result:?}"
    );
    // A zip.
    let (_scratch, result) = unpack_bytes(b"PK\x03\x04rest", &Expected::default());
    assert!(
        matches!(result, Err(DistError::ZipUnsupported { .. })),
        "{result:?}"
    );
    // Nothing.
    let (_scratch, result) = unpack_bytes(b"", &Expected::default());
    assert!(
        matches!(result, Err(DistError::Truncated { entry: None })),
        "{result:?}"
    );
}

#[test]
fn corrupt_tar_header_is_reported() {
    let mut tar = TarBuilder::new();
    tar.dir("go/", 0o755)
        .file("go/VERSION", 0o644, b"go1.22.10\n");
    let mut raw = tar.tar_unterminated();
    let mut extra = TarBuilder::new();
    extra.file("go/extra", 0o644, b"");
    let mut bad = extra.tar_unterminated();
    bad[3] = b'X';
    raw.extend_from_slice(&bad);
    raw.extend_from_slice(&[0; 1024]);
    let bytes = gzip(&raw);
    let (_scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    match result {
        Err(DistError::Corrupt { entry, detail }) => {
            assert_eq!(
                entry.as_deref(),
                Some("go/VERSION"),
                "names the last good entry"
            );
            assert!(detail.contains("checksum"), "{detail}");
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn trailing_garbage_is_refused() {
    let archive = fake_go("1.22.10");
    // After the gzip stream, hash computed over everything (a consistent but bad index).
    let mut after_gzip = archive.clone();
    after_gzip.extend_from_slice(b"garbage");
    let (scratch, result) = unpack_bytes(&after_gzip, &expect_exact(&after_gzip, "1.22.10"));
    assert!(
        matches!(
            result,
            Err(DistError::TrailingData {
                after: "gzip stream"
            })
        ),
        "{result:?}"
    );
    assert!(scratch.cache_listing().is_empty());
    // Appended by a mirror: the size no longer matches the index.
    let (_scratch, result) = unpack_bytes(&after_gzip, &expect_exact(&archive, "1.22.10"));
    assert!(
        matches!(result, Err(DistError::SizeMismatch { .. })),
        "{result:?}"
    );
    // Inside the gzip stream, after the tar end marker.
    let mut tar = FakeGo::new("1.22.10").tar().tar();
    tar.extend_from_slice(b"not padding");
    let bytes = gzip(&tar);
    let (_scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    assert!(
        matches!(
            result,
            Err(DistError::TrailingData {
                after: "tar archive"
            })
        ),
        "{result:?}"
    );
    // Zero padding after the end marker is normal.
    let mut tar = FakeGo::new("1.22.10").tar().tar();
    tar.extend_from_slice(&[0; 8192]);
    let bytes = gzip(&tar);
    let (_scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    result.unwrap();
}

#[test]
fn size_and_checksum_mismatch() {
    let archive = fake_go("1.22.10");
    let mut expected = expect_exact(&archive, "1.22.10");
    expected.size = Some(archive.len() as u64 - 1);
    let (scratch, result) = unpack_bytes(&archive, &expected);
    match result {
        Err(error @ DistError::SizeMismatch { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains(&format!("expected {} bytes", archive.len() - 1)),
                "{message}"
            );
        }
        other => panic!("expected a size mismatch, got {other:?}"),
    }
    assert!(scratch.cache_listing().is_empty());

    let mut expected = expect_exact(&archive, "1.22.10");
    let wrong = "0".repeat(64);
    expected.sha256 = Some(wrong.clone());
    let (scratch, result) = unpack_bytes(&archive, &expected);
    match result {
        Err(error @ DistError::ChecksumMismatch { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains(&wrong) && message.contains(&sha256_hex(&archive)),
                "{message}"
            );
            assert!(
                message.contains("discarded") && message.contains("retry"),
                "{message}"
            );
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    assert!(scratch.cache_listing().is_empty());
    // Upper-case trusted hashes are fine.
    let mut expected = expect_exact(&archive, "1.22.10");
    expected.sha256 = expected.sha256.map(|h| h.to_ascii_uppercase());
    unpack_bytes(&archive, &expected).1.unwrap();
}

#[test]
fn version_file_must_match() {
    let archive = fake_go("1.22.9");
    let (scratch, result) = unpack_bytes(&archive, &expect_exact(&archive, "1.22.10"));
    match result {
        Err(DistError::VersionMismatch { expected, actual }) => {
            assert_eq!(*expected, GoVersion::parse("1.22.10").unwrap());
            assert_eq!(*actual, GoVersion::parse("1.22.9").unwrap());
        }
        other => panic!("expected a version mismatch, got {other:?}"),
    }
    assert!(scratch.cache_listing().is_empty());

    let archive = FakeGo::new("1.22.10")
        .version_file("devel +abcdef\n")
        .archive();
    let (_scratch, result) = unpack_bytes(&archive, &expect_exact(&archive, "1.22.10"));
    assert!(
        matches!(result, Err(DistError::BadVersionFile { .. })),
        "{result:?}"
    );

    let mut tar = TarBuilder::new();
    tar.dir("go/", 0o755)
        .file("go/README", 0o644, b"no version here\n");
    let bytes = tar.tar_gz();
    let (_scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    assert!(
        matches!(result, Err(DistError::MissingVersionFile)),
        "{result:?}"
    );
}

#[test]
fn without_cache_nothing_is_cached_and_unverified_works() {
    let archive = fake_go("1.22.10");
    let scratch = crate::Scratch::new();
    let unpacked = goshift_dist::unpack(
        &archive[..],
        &Expected::default(),
        &scratch.dest(),
        None,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(unpacked.archive_sha256, sha256_hex(&archive));
    assert!(scratch.cache_listing().is_empty());
}

#[test]
fn error_messages_name_the_entry() {
    let bytes = with_entries(|tar| {
        tar.symlink("go/bin/sh", "/bin/sh");
    });
    let (_scratch, result) = unpack_bytes(&bytes, &expect_exact(&bytes, "1.22.10"));
    let message = result.unwrap_err().to_string();
    assert_eq!(
        message,
        "refusing archive entry `go/bin/sh`: its symlink target `/bin/sh` leaves the archive root"
    );
}

#[test]
fn refuses_children_of_files_and_hard_links_to_symlinks() {
    let bytes = with_entries(|tar| {
        tar.file("go/VERSION/inner", 0o644, b"x");
    });
    assert_eq!(
        unsafe_reason(&bytes),
        ("go/VERSION/inner".into(), UnsafeReason::ParentIsFile)
    );
    let bytes = with_entries(|tar| {
        tar.symlink("go/link", "VERSION")
            .hard_link("go/hard", "go/link");
    });
    assert_eq!(
        unsafe_reason(&bytes),
        (
            "go/hard".into(),
            UnsafeReason::BadHardLink("go/link".into())
        )
    );
}
