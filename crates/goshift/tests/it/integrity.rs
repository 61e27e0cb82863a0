//! Integrity under kills and full disks: every change is announced in the audit log before it
//! is made and its outcome recorded after (or reconciled by the next command, as found), the
//! history accounts for the `default` link, and torn last lines are repaired, never taken for
//! tampering.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt as _;

use crate::audit_outcomes;
use crate::toolchain::StoreTest;
use crate::toolchain_crash::{assert_consistent, kill_at};

/// A mirror of `versions` with `installed` of them installed (the first the default).
pub(crate) fn store_with(versions: &[&str], installed: &[&str]) -> StoreTest {
    let test = StoreTest::new(versions);
    let mut args = vec!["install", "--no-smoke-test"];
    args.extend_from_slice(installed);
    test.ok(&args);
    test
}

/// The usual store: go1.21.13 (the default) and go1.22.10 installed.
pub(crate) fn two_installed() -> StoreTest {
    store_with(&["1.21.13", "1.22.10"], &["1.21.13", "1.22.10"])
}

/// Asserts that `run` exited with `code` and its stderr says `needle`.
pub(crate) fn assert_says(run: &crate::toolchain::Run, code: i32, needle: &str) {
    assert_eq!(run.code, Some(code), "{run:#?}");
    assert!(run.stderr.contains(needle), "{}", run.stderr);
}

/// The store's state as the audit log tells it: replays every outcome in order.
fn replayed(test: &StoreTest) -> (BTreeSet<String>, Option<String>) {
    let mut installed = BTreeSet::new();
    let mut default: Option<String> = None;
    for record in audit_outcomes(&test.home()) {
        let field = |key: &str| record[key].as_str().map(str::to_owned);
        if record["details"]["reconciled"] == true {
            let found = &record["details"]["found"];
            installed = found["installed"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            default = found["default"].as_str().map(str::to_owned);
            continue;
        }
        if record["outcome"] != "success" {
            continue;
        }
        let subject = field("subject").unwrap();
        match record["action"].as_str().unwrap() {
            "install" | "import" => {
                installed.insert(subject);
            }
            "use" | "rollback" => default = field("to"),
            "uninstall" => {
                installed.remove(&subject);
                if default.as_ref() == Some(&subject) {
                    default = None;
                }
            }
            "prune" => {
                for name in subject.split(", ") {
                    installed.remove(name);
                }
            }
            _ => {}
        }
    }
    (installed, default)
}

/// The store's actual state: the installed toolchains and the default.
fn actual(test: &StoreTest) -> (BTreeSet<String>, Option<String>) {
    let installed = test.names("toolchains").into_iter().collect();
    let default = std::fs::read_link(test.home().join("default"))
        .ok()
        .map(|target| target.file_name().unwrap().to_string_lossy().into_owned());
    (installed, default)
}

/// The `to` of the history's last entry.
fn history_default(test: &StoreTest) -> Option<String> {
    let lines = std::fs::read_to_string(test.home().join("history")).unwrap_or_default();
    let last: serde_json::Value = serde_json::from_str(lines.lines().last()?).unwrap();
    last["to"].as_str().map(|v| format!("go{v}"))
}

/// Asserts that the audit log and the history account for the store.
fn assert_accounted(test: &StoreTest, what: &str) {
    assert_consistent(test);
    let actual = actual(test);
    assert_eq!(
        replayed(test),
        actual,
        "{what}: the audit log does not account for the store"
    );
    assert_eq!(
        history_default(test),
        actual.1,
        "{what}: the history does not account for the default"
    );
    let verify = test.run(&["audit", "verify"]);
    assert_eq!(verify.code, Some(0), "{what}: {verify:#?}");
}

#[test]
fn a_kill_at_any_phase_of_any_store_change_is_accounted_for() {
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["use", "1.22.10"],
            &["default-switched", "history-written"],
        ),
        (&["rollback"], &["default-switched", "history-written"]),
        (&["uninstall", "1.21.13"], &["removed"]),
        (
            &["uninstall", "--remove-default", "1.20.14"],
            &["default-switched", "removed"],
        ),
        (&["prune", "--keep", "1"], &["removed"]),
        (
            &["install", "--reinstall", "--no-smoke-test", "1.22.10"],
            &["manifest-written", "published"],
        ),
        (&["install", "--no-smoke-test", "1.23.4"], &["published"]),
    ];
    for (args, phases) in cases {
        let every = ["intent-recorded"]
            .iter()
            .chain(phases)
            .chain(&["outcome-recorded"]);
        for phase in every {
            let what = format!("{args:?} killed at {phase}");
            let test = store_with(
                &["1.20.14", "1.21.13", "1.22.10", "1.23.4"],
                &["1.22.10", "1.21.13", "1.20.14"],
            );
            test.ok(&["use", "1.21.13"]);
            test.ok(&["use", "1.20.14"]);
            kill_at(&test, phase, args);
            // Before anything else: the log lists the dead intent as unreconciled.
            if *phase != "outcome-recorded" {
                let verify = test.run(&["audit", "verify"]);
                assert_eq!(verify.code, Some(1), "{what}: {verify:#?}");
                assert!(
                    verify.stdout.contains("unreconciled"),
                    "{what}: {verify:#?}"
                );
            }
            // The next change reconciles it, as found.
            test.ok(&["audit", "repair"]);
            assert_accounted(&test, &what);
            test.ok(&["use", "1.22.10"]);
            assert_accounted(&test, &what);
        }
    }
}

/// Runs `goshift ARGS` with files limited to `limit` bytes (`RLIMIT_FSIZE`, with `SIGXFSZ`
/// ignored): a write past the limit is cut short and then fails, as on a full disk.
fn run_with_file_limit(test: &StoreTest, limit: u64, args: &[&str]) -> crate::toolchain::Run {
    let mut command = test.command();
    command.args(args);
    #[expect(unsafe_code, reason = "setrlimit and signal in the child before exec")]
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &raw const rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    test.finish(&command.output().unwrap())
}

fn file_len(test: &StoreTest, name: &str) -> u64 {
    std::fs::metadata(test.home().join(name)).map_or(0, |m| m.len())
}

#[test]
fn a_full_disk_during_the_audit_append_changes_nothing() {
    let test = two_installed();
    let before = std::fs::read(test.home().join("audit.log")).unwrap();
    let run = run_with_file_limit(&test, before.len() as u64 + 40, &["use", "1.22.10"]);
    assert_says(
        &run,
        2,
        "failed to record `use go1.22.10` in the audit log, so nothing was changed",
    );
    // Nothing half-written, nothing changed.
    assert_eq!(
        std::fs::read(test.home().join("audit.log")).unwrap(),
        before
    );
    assert_eq!(actual(&test).1.as_deref(), Some("go1.21.13"));
    assert_accounted(&test, "full disk at the intent");
    test.ok(&["use", "1.22.10"]);
    assert_accounted(&test, "after the disk has room again");
}

#[test]
fn a_full_disk_during_the_history_append_switches_nothing() {
    let test = two_installed();
    // A long history and a fresh audit log, so that the history is the file the limit cuts.
    for _ in 0..40 {
        test.ok(&["use", "1.22.10"]);
        test.ok(&["use", "1.21.13"]);
    }
    std::fs::remove_file(test.home().join("audit.log")).unwrap();
    let history = std::fs::read(test.home().join("history")).unwrap();
    let run = run_with_file_limit(&test, history.len() as u64 + 30, &["use", "1.22.10"]);
    assert_says(&run, 2, "append to the history");
    assert_eq!(std::fs::read(test.home().join("history")).unwrap(), history);
    assert_eq!(actual(&test).1.as_deref(), Some("go1.21.13"));
    let records = audit_outcomes(&test.home());
    assert_eq!(records.last().unwrap()["outcome"], "failure");
    test.ok(&["history"]);
    test.ok(&["use", "1.22.10"]);
    assert_eq!(history_default(&test).as_deref(), Some("go1.22.10"));
    assert!(file_len(&test, "history") > history.len() as u64);
}

#[test]
fn a_torn_last_history_line_is_cut_off_and_recorded() {
    let test = two_installed();
    test.ok(&["use", "1.22.10"]);
    let path = test.home().join("history");
    let mut contents = std::fs::read_to_string(&path).unwrap();
    contents.push_str("{\"seq\":94,\"time\":\"");
    std::fs::write(&path, &contents).unwrap();
    // Reading skips the torn line; the next change cuts it off, with a record saying so.
    assert_eq!(test.ok(&["history"]).stdout.lines().count(), 2);
    let run = test.ok(&["rollback"]);
    assert!(
        run.stderr
            .contains("the history ended in an incomplete line"),
        "{}",
        run.stderr
    );
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"seq\":94")
    );
    assert_eq!(test.ok(&["history"]).stdout.lines().count(), 3);
    let records = audit_outcomes(&test.home());
    assert!(
        records.iter().any(|r| r["action"] == "history.repair"),
        "{records:#?}"
    );
    assert_accounted(&test, "torn history");
    // A bad line before the last is not what a crash leaves: it is an error with the fix.
    let mut contents = std::fs::read_to_string(&path).unwrap();
    contents.insert_str(0, "garbage\n");
    std::fs::write(&path, &contents).unwrap();
    let run = test.run(&["rollback"]);
    assert_says(&run, 2, "line 1 of the history");
    assert!(
        run.stderr.contains("hint: the history file is damaged"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_torn_last_audit_line_is_not_tampering_and_the_next_change_repairs_it() {
    let test = two_installed();
    let path = test.home().join("audit.log");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"action\":\"use\",\"actor\":{\"ho");
    std::fs::write(&path, &bytes).unwrap();
    let verify = test.run(&["audit", "verify"]);
    assert_eq!(verify.code, Some(1), "{verify:#?}");
    assert!(
        verify
            .stdout
            .contains("a write was cut short by a crash or a full disk, not an edit"),
        "{verify:#?}"
    );
    let run = test.ok(&["use", "1.22.10"]);
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("error"),
        "{run:#?}"
    );
    let records = audit_outcomes(&test.home());
    let repair = records
        .iter()
        .find(|r| r["action"] == "audit.repair")
        .unwrap();
    assert_eq!(repair["details"]["torn_tail"]["bytes"], 28);
    assert_accounted(&test, "torn audit log");
    // `goshift audit repair` does the same on its own.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":");
    std::fs::write(&path, &bytes).unwrap();
    let run = test.ok(&["audit", "repair"]);
    assert!(
        run.stderr
            .contains("Cut an incomplete last line off the audit log"),
        "{run:#?}"
    );
    assert_eq!(test.run(&["audit", "verify"]).code, Some(0));
}

#[test]
fn a_switch_without_its_history_entry_is_recorded_when_found() {
    // What a process killed between the link switch and the history append leaves, made by
    // hand here (the crash test kills there too).
    let test = two_installed();
    std::fs::remove_file(test.home().join("default")).unwrap();
    std::os::unix::fs::symlink("toolchains/go1.22.10", test.home().join("default")).unwrap();
    let run = test.ok(&["history"]);
    assert_eq!(run.stdout.lines().count(), 1, "{run:#?}");
    let run = test.ok(&["audit", "repair"]);
    assert!(run.stderr.contains("without a history entry"), "{run:#?}");
    assert_eq!(history_default(&test).as_deref(), Some("go1.22.10"));
    assert!(test.ok(&["history"]).stdout.contains("recovered"));
    // rollback goes back to the default before the found switch.
    test.ok(&["rollback"]);
    assert_eq!(actual(&test).1.as_deref(), Some("go1.21.13"));
}

#[test]
fn a_command_that_cannot_record_its_intent_changes_nothing() {
    let test = two_installed();
    // A damaged (not torn) last record: nothing can be chained to it.
    let path = test.home().join("audit.log");
    let mut contents = std::fs::read_to_string(&path).unwrap();
    contents.push_str("{\"not\":\"a record\"}\n");
    std::fs::write(&path, &contents).unwrap();
    for args in [
        &["use", "1.22.10"][..],
        &["uninstall", "1.22.10"],
        &["prune", "--keep", "0"],
    ] {
        let run = test.run(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:#?}");
        assert!(
            run.stderr.contains("so nothing was changed"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(test.names("toolchains"), ["go1.21.13", "go1.22.10"]);
        assert_eq!(actual(&test).1.as_deref(), Some("go1.21.13"));
    }
}

/// Bytes that do not compress: an xorshift stream.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn a_wrong_archive_on_a_full_disk_is_reported_as_a_checksum_mismatch() {
    let mut tar = goshift_testkit::archive::FakeGo::new("1.22.10").tar();
    tar.file("go/pkg/noise.a", 0o644, &noise(256 * 1024, 7));
    let archive = tar.tar_gz();
    let test = StoreTest::with_archives(&[("1.22.10".to_owned(), archive.clone())]);
    // A hostile mirror: the index's size, other bytes.
    let filename = goshift_testkit::mirror::IndexEntry::host_archive("1.22.10", &archive).filename;
    test.mirror.add(&filename, noise(archive.len(), 11));
    test.ok(&["audit", "verify"]);
    let run = run_with_file_limit(&test, 64 * 1024, &["install", "--no-smoke-test", "1.22.10"]);
    assert_says(&run, 2, "checksum mismatch");
    assert!(test.names("toolchains").is_empty());
}

#[test]
fn a_trickling_mirror_is_cut_off_at_the_download_deadline() {
    let test = StoreTest::new(&["1.22.10"]);
    let filename = goshift_testkit::mirror::IndexEntry::host_archive(
        "1.22.10",
        &goshift_testkit::archive::fake_go("1.22.10"),
    )
    .filename;
    test.mirror.fault(
        &filename,
        goshift_testkit::mirror::Fault::Trickle {
            chunk: 16,
            delay: std::time::Duration::from_millis(100),
        },
    );
    let output = test
        .command()
        .env("GOSHIFT_DOWNLOAD_TIMEOUT", "1s")
        .args(["install", "--no-smoke-test", "1.22.10"])
        .output()
        .unwrap();
    let run = test.finish(&output);
    assert_says(&run, 2, "the download took longer than 1s");
    assert!(test.names("toolchains").is_empty());
    let bad = test
        .command()
        .env("GOSHIFT_DOWNLOAD_MIN_RATE", "fast")
        .args(["install", "1.22.10"])
        .output()
        .unwrap();
    let run = test.finish(&bad);
    assert_says(
        &run,
        2,
        "GOSHIFT_DOWNLOAD_MIN_RATE is `fast`, not a number of bytes per second",
    );
}

#[test]
fn leftovers_of_a_killed_vuln_sync_are_cleaned_at_the_next_sync() {
    let test = StoreTest::new(&["1.22.10"]);
    let db = test.context.root().join("db");
    goshift_testkit::vulndb::write(&db, true);
    let sync = |test: &StoreTest| {
        let output = test
            .command()
            .args(["vuln", "sync", "--from", db.to_str().unwrap()])
            .output()
            .unwrap();
        test.finish(&output)
    };
    let run = sync(&test);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let cache = test.home().join("cache");
    let live = std::fs::read_link(cache.join("vulndb")).unwrap();
    // What a sync killed midway leaves: a staging copy named after a dead process.
    let dead = cache.join(".vulndb.d.tmp-999999999-0");
    std::fs::create_dir_all(dead.join("index")).unwrap();
    std::fs::write(dead.join("index/db.json"), "{}").unwrap();
    let run = sync(&test);
    assert_says(&run, 0, "Cleaned up 1 leftover(s) of interrupted syncs");
    assert!(!dead.exists());
    // The live database stays, whoever made it.
    let now = std::fs::read_link(cache.join("vulndb")).unwrap();
    assert!(
        cache.join(&now).join("index/db.json").is_file(),
        "{live:?} -> {now:?}"
    );
}

#[test]
fn outputs_and_inputs_are_regular_files_of_a_bounded_size() {
    let test = store_with(&["1.22.10"], &["1.22.10"]);
    let work = test.context.work();
    // `-o` through a link or into a FIFO is refused; nothing behind it changes.
    let precious = work.join("precious");
    std::fs::write(&precious, "keep me").unwrap();
    symlink_at(&precious, &work.join("link"));
    let run = test.run(&["snapshot", "create", "-o", "link"]);
    assert_says(&run, 2, "`[ROOT]/cwd/link` is a symbolic link");
    assert!(
        run.stderr
            .contains("hint: name a regular file or a new path with `-o`"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    let fifo = std::ffi::CString::new(work.join("fifo").as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(mkfifo(&fifo), 0);
    let run = test.run(&["snapshot", "create", "-o", "fifo"]);
    assert_says(&run, 2, "is a FIFO");
    // A policy or a snapshot that is a device is refused at once, not read forever.
    let run = test.run(&["--policy", "/dev/zero", "use", "1.22.10"]);
    assert_says(&run, 2, "`/dev/zero` is a device, not a regular file");
    let run = test.run(&["snapshot", "restore", "/dev/zero"]);
    assert_says(&run, 2, "`/dev/zero` is a device, not a regular file");
    test.ok(&["snapshot", "create", "-o", "good.snapshot"]);
}

fn symlink_at(target: &std::path::Path, link: &std::path::Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[expect(unsafe_code, reason = "mkfifo has no std wrapper")]
fn mkfifo(name: &std::ffi::CStr) -> i32 {
    // SAFETY: `name` is a valid NUL-terminated path for the duration of the call.
    unsafe { libc::mkfifo(name.as_ptr(), 0o600) }
}

#[test]
fn an_index_entry_without_a_hash_is_named_not_reported_as_a_mismatch() {
    let test = StoreTest::new(&["1.22.10"]);
    let archive = goshift_testkit::archive::fake_go("1.22.10");
    let mut entry = goshift_testkit::mirror::IndexEntry::host_archive("1.22.10", &archive);
    entry.sha256 = String::new();
    test.mirror
        .add("index.json", goshift_testkit::mirror::index_json(&[entry]));
    let run = test.run(&["install", "1.22.10"]);
    assert_says(&run, 2, "the index lists no sha256 for `go1.22.10.");
    assert!(!run.stderr.contains("checksum mismatch"), "{}", run.stderr);
}

#[test]
fn a_lock_that_cannot_be_written_on_a_full_disk_says_how_to_fix_it() {
    let test = two_installed();
    let run = run_with_file_limit(&test, 1, &["use", "1.22.10"]);
    assert_says(&run, 2, "failed to lock `[ROOT]/home/lock`");
    assert!(
        run.stderr
            .contains("hint: make sure `[ROOT]/home` is writable and has free space"),
        "{}",
        run.stderr
    );
    assert_eq!(actual(&test).1.as_deref(), Some("go1.21.13"));
    test.ok(&["use", "1.22.10"]);
}

#[test]
fn a_huge_argument_is_not_echoed_in_full() {
    let test = StoreTest::new(&["1.22.10"]);
    let huge = "1".repeat(100 * 1024);
    for verb in ["use", "install", "uninstall"] {
        let run = test.run(&[verb, &huge]);
        assert_eq!(run.code, Some(2), "{verb}: {run:#?}");
        assert!(
            run.stderr.len() < 1024,
            "{verb}: {} bytes of stderr",
            run.stderr.len()
        );
        assert!(
            run.stderr.contains("(102400 bytes)"),
            "{verb}: {}",
            run.stderr
        );
    }
}

#[test]
fn project_and_service_files_are_regular_files_of_a_bounded_size() {
    let test = store_with(&["1.22.10"], &["1.22.10"]);
    let work = test.context.work();
    let proxy = |dir: &std::path::Path| {
        let output = test
            .context
            .sandboxed(test.home().join("bin/go"))
            .arg("version")
            .current_dir(dir)
            .output()
            .unwrap();
        test.finish(&output)
    };
    // A go.mod larger than any real one: refused with its size, not read to the end.
    let big = work.join("big");
    std::fs::create_dir(&big).unwrap();
    let file = std::fs::File::create(big.join("go.mod")).unwrap();
    file.set_len((16 << 20) + 1).unwrap();
    // `/dev/zero` as a go.work: refused at once, not read until memory runs out.
    let zero = work.join("zero");
    std::fs::create_dir(&zero).unwrap();
    symlink_at(std::path::Path::new("/dev/zero"), &zero.join("go.work"));
    for (dir, expected) in [
        (
            &big,
            "`[ROOT]/cwd/big/go.mod` is larger than 16777216 bytes, more than such a file ever needs",
        ),
        (
            &zero,
            "`[ROOT]/cwd/zero/go.work` is a device, not a regular file",
        ),
    ] {
        let run = proxy(dir);
        assert_says(&run, 2, expected);
        let run = test.finish(
            &test
                .command()
                .arg("current")
                .current_dir(dir)
                .output()
                .unwrap(),
        );
        assert_says(&run, 2, expected);
    }
    // The service file, the same.
    let big_service = work.join("big.toml");
    std::fs::File::create(&big_service)
        .unwrap()
        .set_len((1 << 20) + 1)
        .unwrap();
    for (path, shown, why) in [
        ("/dev/zero", "/dev/zero", "is a device, not a regular file"),
        (
            "big.toml",
            "[ROOT]/cwd/big.toml",
            "is larger than 1048576 bytes",
        ),
    ] {
        let run = test.run(&["supervise", "--config", path]);
        assert_says(
            &run,
            2,
            &format!("failed to read the service file `{shown}`"),
        );
        assert!(
            run.stderr.contains(&format!("`{shown}` {why}")),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn free_space_is_checked_against_the_expected_tree_before_extraction() {
    let test = StoreTest::new(&["1.22.10"]);
    // The index vouches for an archive of 1 TiB: no file system here has room for its tree.
    let archive = goshift_testkit::archive::fake_go("1.22.10");
    let mut entry = goshift_testkit::mirror::IndexEntry::host_archive("1.22.10", &archive);
    entry.size = 1 << 40;
    test.mirror
        .add("index.json", goshift_testkit::mirror::index_json(&[entry]));
    let run = test.run(&["install", "--no-smoke-test", "1.22.10"]);
    assert_says(
        &run,
        2,
        "not enough free space to unpack the toolchain: about 5242880.0 MiB needed (an archive of 1048576.0 MiB inflates about 3.5 times, plus its copy in the cache)",
    );
    assert!(
        run.stderr
            .contains("free on the file system of `[ROOT]/home`; free some space"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`goshift prune` removes old toolchains"),
        "{}",
        run.stderr
    );
    assert!(test.names("toolchains").is_empty());
    assert!(
        test.names("staging").is_empty(),
        "{:?}",
        test.names("staging")
    );
    // Nothing was written: no byte of the archive was even asked for.
    assert!(
        !test
            .mirror
            .requested_paths()
            .iter()
            .any(|path| path.ends_with(".tar.gz")),
        "{:?}",
        test.mirror.requested_paths()
    );
    test.ok(&["audit", "verify"]);
}

/// A go1.22.10 archive whose tree holds 2 MiB of zeros: a few KiB to download, more than a
/// 512 KiB file size limit to unpack.
fn inflating_archive() -> Vec<u8> {
    let mut tar = goshift_testkit::archive::FakeGo::new("1.22.10").tar();
    tar.file("go/pkg/zeros.a", 0o644, &vec![0; 2 << 20]);
    tar.tar_gz()
}

/// Asserts that a failed install left nothing: no tree, no manifest, no staging, and an
/// audit log that verifies.
fn assert_nothing_installed(test: &StoreTest) {
    assert!(test.names("toolchains").is_empty());
    assert!(test.names("manifests").is_empty());
    assert!(
        test.names("staging").is_empty(),
        "{:?}",
        test.names("staging")
    );
    test.ok(&["audit", "verify"]);
}

#[test]
fn a_disk_that_fills_during_extraction_says_so_and_how_much_was_needed() {
    let archive = inflating_archive();
    let test = StoreTest::with_archives(&[("1.22.10".to_owned(), archive)]);
    let run = run_with_file_limit(
        &test,
        512 * 1024,
        &["install", "--no-smoke-test", "1.22.10"],
    );
    // What happened, how much room the tree needs, and where to make it.
    for needle in [
        "the disk filled up while unpacking the toolchain, so nothing was installed: its tree needs about",
        "MiB (an archive of",
        "free space under `[ROOT]/home`",
    ] {
        assert_says(&run, 2, needle);
    }
    assert!(!run.stderr.contains("checksum"), "{}", run.stderr);
    assert_nothing_installed(&test);
    // With room again, the same archive installs.
    test.ok(&["install", "--no-smoke-test", "1.22.10"]);
}

#[test]
fn a_wrong_archive_that_fills_the_disk_while_unpacking_is_a_checksum_mismatch() {
    let served = inflating_archive();
    let test = StoreTest::new(&["1.22.10"]);
    // The index vouches for another archive of the same size; the mirror serves this one.
    let genuine = goshift_testkit::archive::fake_go("1.22.10");
    let mut entry = goshift_testkit::mirror::IndexEntry::host_archive("1.22.10", &genuine);
    entry.size = served.len() as u64;
    test.mirror.add(&entry.filename.clone(), served);
    test.mirror
        .add("index.json", goshift_testkit::mirror::index_json(&[entry]));
    let run = run_with_file_limit(
        &test,
        512 * 1024,
        &["install", "--no-smoke-test", "1.22.10"],
    );
    assert_says(&run, 2, "checksum mismatch");
    assert!(!run.stderr.contains("disk filled up"), "{}", run.stderr);
    assert_nothing_installed(&test);
}
