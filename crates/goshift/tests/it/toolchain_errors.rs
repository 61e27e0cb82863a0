//! Every bad input to the toolchain commands: a clear error, a non-zero exit, nothing
//! installed and nothing left behind.

use goshift_testkit::archive::{FakeGo, TarBuilder, fake_go};
use goshift_testkit::mirror::{Fault, IndexEntry};

use crate::toolchain::StoreTest;

/// Asserts that nothing was installed and no work is left in the store.
fn assert_untouched(test: &StoreTest) {
    assert!(
        test.names("toolchains").is_empty(),
        "{:?}",
        test.names("toolchains")
    );
    assert!(
        test.names("manifests").is_empty(),
        "{:?}",
        test.names("manifests")
    );
    assert!(
        test.names("staging").is_empty(),
        "{:?}",
        test.names("staging")
    );
    assert!(crate::toolchain::names(&test.archive_cache()).is_empty());
    assert!(std::fs::symlink_metadata(test.home().join("default")).is_err());
}

fn failing(test: &StoreTest, args: &[&str]) -> String {
    let run = test.run(args);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert_eq!(run.stdout, "");
    run.stderr
}

#[test]
fn unknown_version_suggests_the_nearest() {
    let test = StoreTest::new(&["1.21.13", "1.22.9", "1.22.10"]);
    let stderr = failing(&test, &["install", "1.22.11"]);
    assert!(
        stderr.starts_with("error: no Go release matches `1.22.11`"),
        "{stderr}"
    );
    assert!(stderr.contains("1.22.10"), "{stderr}");
    assert!(
        stderr.ends_with("hint: `goshift list --remote --all` lists every release of the index\n"),
        "{stderr}"
    );
    assert_untouched(&test);
    let stderr = failing(&test, &["install", "one.two"]);
    assert!(
        stderr.starts_with("error: `one.two` is not a Go version"),
        "{stderr}"
    );
}

#[test]
fn checksum_mismatch_discards_the_download() {
    let test = StoreTest::new(&["1.22.10"]);
    let filename = IndexEntry::host_archive("1.22.10", &fake_go("1.22.10")).filename;
    test.mirror.fault(&filename, Fault::Corrupt(100));
    let stderr = failing(&test, &["install", "1.22.10"]);
    assert!(
        stderr.contains("failed to install go1.22.10\n  Caused by: "),
        "{stderr}"
    );
    assert_untouched(&test);
    // Once the mirror is fixed, the same command works.
    test.mirror.clear_fault(&filename);
    test.ok(&["install", "--no-smoke-test", "1.22.10"]);
}

#[test]
fn truncated_and_corrupt_archives_are_refused() {
    let test = StoreTest::new(&["1.22.10"]);
    let bytes = fake_go("1.22.10");
    let filename = IndexEntry::host_archive("1.22.10", &bytes).filename;
    test.mirror
        .fault(&filename, Fault::CloseAfter(bytes.len() / 2));
    let stderr = failing(&test, &["install", "1.22.10"]);
    assert!(
        stderr.contains(
            "error: failed to install go1.22.10\n  Caused by: reading the archive failed after"
        ),
        "{stderr}"
    );
    assert_untouched(&test);

    // Garbage that the index vouches for: the hash matches, the content is not an archive.
    let garbage = b"this is not a gzip stream at all".to_vec();
    let test = StoreTest::with_archives(&[("1.22.10".to_owned(), garbage)]);
    let stderr = failing(&test, &["install", "1.22.10"]);
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert_untouched(&test);

    // A gzip stream cut short, also vouched for by the index.
    let cut = bytes[..bytes.len() - 40].to_vec();
    let test = StoreTest::with_archives(&[("1.22.10".to_owned(), cut)]);
    let stderr = failing(&test, &["install", "1.22.10"]);
    assert!(
        stderr.contains("truncated") || stderr.contains("corrupt"),
        "{stderr}"
    );
    assert_untouched(&test);
}

#[test]
fn hostile_entries_are_refused() {
    for (name, tar) in [
        ("dotdot", {
            let mut tar = FakeGo::new("1.22.10").tar();
            tar.file("go/../../escape", 0o644, b"owned");
            tar
        }),
        ("absolute", {
            let mut tar = FakeGo::new("1.22.10").tar();
            tar.file("/tmp/escape", 0o644, b"owned");
            tar
        }),
        ("symlink", {
            let mut tar = FakeGo::new("1.22.10").tar();
            tar.symlink("go/link", "../../../etc");
            tar
        }),
        ("outside", {
            let mut tar = TarBuilder::new();
            tar.file("VERSION", 0o644, b"go1.22.10\n");
            tar
        }),
    ] {
        let test = StoreTest::with_archives(&[("1.22.10".to_owned(), tar.tar_gz())]);
        let stderr = failing(&test, &["install", "1.22.10"]);
        assert!(
            stderr.contains("refusing archive entry"),
            "{name}: {stderr}"
        );
        assert_untouched(&test);
        assert!(!test.context.root().join("escape").exists());
    }
}

#[test]
fn a_version_file_naming_another_version_is_refused() {
    let archive = FakeGo::new("1.22.10").version_file("go1.22.9\n").archive();
    let test = StoreTest::with_archives(&[("1.22.10".to_owned(), archive)]);
    let stderr = failing(&test, &["install", "1.22.10"]);
    assert!(
        stderr.contains("contains Go 1.22.9, not Go 1.22.10"),
        "{stderr}"
    );
    assert_untouched(&test);
}

#[test]
fn a_toolchain_failing_its_smoke_test_is_not_installed() {
    let lying = FakeGo::new("1.22.10").reporting("1.22.9").archive();
    let test = StoreTest::with_archives(&[("1.22.10".to_owned(), lying)]);
    let stderr = failing(&test, &["install", "1.22.10"]);
    assert!(
        stderr.contains(
            "  Caused by: go1.22.10 failed its smoke test, so it was not installed\n  Caused by: `go version` printed `go version go1.22.9 "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: a toolchain that cannot build hello-world is broken"),
        "{stderr}"
    );
    assert_untouched(&test);

    let broken = FakeGo::new("1.22.10").failing_build().archive();
    let test = StoreTest::with_archives(&[("1.22.10".to_owned(), broken)]);
    let stderr = failing(&test, &["install", "1.22.10"]);
    assert!(stderr.contains("`go build -o "), "{stderr}");
    assert_untouched(&test);
    // Skipping the smoke test installs it anyway, and says so.
    let run = test.ok(&["install", "--no-smoke-test", "1.22.10"]);
    assert!(
        run.stderr.contains("Skipping the smoke test"),
        "{}",
        run.stderr
    );
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let test = StoreTest::new(&["1.22.10"]);
    let run = test
        .command()
        .env("GOSHIFT_MIRROR", "http://mirror.example.com/go/")
        .args(["install", "1.22.10"])
        .output()
        .unwrap();
    let run = test.finish(&run);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("refusing to download `http://mirror.example.com/go/go1.22.10"),
        "{}",
        run.stderr
    );
    assert_untouched(&test);
}

#[test]
fn a_malformed_index_is_an_error() {
    let test = StoreTest::new(&[]);
    test.mirror.add("index.json", "[{\"version\": ");
    let stderr = failing(&test, &["install", "1.22.10"]);
    assert!(
        stderr.starts_with("error: failed to read the release index\n"),
        "{stderr}"
    );
    assert!(stderr.contains("is invalid"), "{stderr}");
    assert_untouched(&test);
    test.mirror.fault("index.json", Fault::Status(404));
    let stderr = failing(&test, &["list", "--remote"]);
    assert!(stderr.contains("HTTP status 404"), "{stderr}");
}

#[test]
fn an_unwritable_home_is_an_error() {
    let test = StoreTest::new(&["1.22.10"]);
    let file = test.context.root().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let output = test
        .command()
        .env("GOSHIFT_HOME", file.join("home"))
        .args(["install", "1.22.10"])
        .output()
        .unwrap();
    let run = test.finish(&output);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .starts_with("error: failed to create the directory `[ROOT]/not-a-dir/home`\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("hint: make sure `[ROOT]/not-a-dir/home` is writable and has free space, or set GOSHIFT_HOME to another directory\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_full_disk_installs_nothing() {
    // RLIMIT_FSIZE stands in for a full disk: writes past 1 KiB fail with EFBIG (the
    // signal it would send is ignored, as the shell's `trap` is inherited through exec).
    let mut tar = FakeGo::new("1.22.10").tar();
    tar.file("go/pkg/tool/big.a", 0o644, &vec![7u8; 64 * 1024]);
    let test = StoreTest::with_archives(&[("1.22.10".to_owned(), tar.tar_gz())]);
    // The same sandboxed environment, but through `sh` to set the limit.
    let command = test.command();
    let mut sh = std::process::Command::new("sh");
    sh.env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            sh.env(key, value);
        }
    }
    sh.current_dir(test.context.work())
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 2; exec \"$0\" install --no-smoke-test 1.22.10")
        .arg(env!("CARGO_BIN_EXE_goshift"));
    let run = test.finish(&sh.output().unwrap());
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.contains("error: failed to install go1.22.10\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("File too large"), "{}", run.stderr);
    assert!(
        run.stderr.ends_with("hint: the disk is full or a file size limit was hit: free space under `[ROOT]/home` and run the command again\n"),
        "{}",
        run.stderr
    );
    assert!(test.names("toolchains").is_empty());
    assert!(
        test.names("staging").is_empty(),
        "{:?}",
        test.names("staging")
    );
    // With space again, it installs.
    test.ok(&["install", "--no-smoke-test", "1.22.10"]);
}

#[test]
fn bad_arguments_are_explained() {
    let test = StoreTest::new(&["1.22.10"]);
    let stderr = failing(&test, &["install", "1.22.10", "--sha256", "abc"]);
    assert_eq!(
        stderr,
        "error: `abc` is not a SHA-256: expected 64 hexadecimal digits\n\nhint: copy the checksum from go.dev/dl or the release index\n"
    );
    let stderr = failing(&test, &["install", "1.22", "--archive", "x.tar.gz"]);
    assert!(
        stderr.starts_with("error: `--archive` installs one exact version\n"),
        "{stderr}"
    );
    let stderr = failing(
        &test,
        &["install", "1.22.10", "--archive", "missing.tar.gz"],
    );
    assert!(
        stderr.starts_with("error: the archive `missing.tar.gz` does not exist\n"),
        "{stderr}"
    );
    let stderr = failing(&test, &["use", "1.22.10"]);
    assert_eq!(
        stderr,
        "error: no installed toolchain matches `1.22.10` (nothing is installed)\n\nhint: install it first with `goshift install 1.22.10`\n"
    );
    let stderr = failing(&test, &["rollback"]);
    assert_eq!(
        stderr,
        "error: there is no previous default to roll back to\n\nhint: `goshift history` lists the switches; `goshift use VERSION` sets one\n"
    );
    test.ok(&["install", "--no-smoke-test", "1.22.10"]);
    let stderr = failing(&test, &["rollback", "--to", "7"]);
    assert_eq!(
        stderr,
        "error: the history has no switch number 7 (it has 1 entries)\n\nhint: `goshift history` lists the switches and their numbers\n"
    );
    let stderr = failing(&test, &["uninstall", "1.21"]);
    assert!(
        stderr.starts_with("error: no installed toolchain matches `1.21` (installed: go1.22.10)\n"),
        "{stderr}"
    );
    let run = test
        .command()
        .env("GOSHIFT_PLATFORM", "plan9")
        .arg("list")
        .output()
        .unwrap();
    let run = test.finish(&run);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.starts_with("error: invalid GOSHIFT_PLATFORM\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_proxy_is_never_used_for_a_loopback_mirror_and_a_bad_one_is_refused() {
    let test = StoreTest::new(&["1.22.10"]);
    // Nothing listens on port 1: the install works only because loopback bypasses the proxy.
    let output = test
        .command()
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .args(["install", "--no-smoke-test", "1.22.10"])
        .output()
        .unwrap();
    assert_eq!(test.finish(&output).code, Some(0));
    let output = test
        .command()
        .env("HTTPS_PROXY", "::not a proxy::")
        .args(["list", "--remote"])
        .output()
        .unwrap();
    let run = test.finish(&output);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.starts_with("error: invalid HTTPS_PROXY\n"),
        "{}",
        run.stderr
    );
}
