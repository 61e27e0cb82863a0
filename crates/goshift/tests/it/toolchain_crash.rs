//! Concurrency and crash safety of the store: parallel installs of one version, and
//! processes killed with SIGKILL at every phase of a mutation and at random moments.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use goshift_testkit::mirror::IndexEntry;

use crate::toolchain::StoreTest;

#[test]
fn eight_concurrent_installs_of_one_version() {
    let test = StoreTest::new(&["1.22.10"]);
    let children: Vec<Child> = (0..8)
        .map(|_| {
            test.command()
                .args(["install", "1.22.10"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut installed = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let run = test.finish(&output);
        assert_eq!(run.code, Some(0), "{run:#?}");
        if run.stderr.contains("Installed go1.22.10") {
            installed += 1;
        } else {
            assert!(
                run.stderr.contains("go1.22.10 is already installed"),
                "{}",
                run.stderr
            );
        }
    }
    assert_eq!(installed, 1);
    assert_eq!(test.names("toolchains"), ["go1.22.10"]);
    assert_eq!(test.ok(&["list"]).stdout, "go1.22.10  (default)\n");
    assert_eq!(test.ok(&["verify"]).stdout, "go1.22.10: ok (13 entries)\n");
    assert_eq!(test.ok(&["history"]).stdout.lines().count(), 1);
    assert!(
        test.names("staging").is_empty(),
        "{:?}",
        test.names("staging")
    );
}

/// Asserts the invariants a killed process must leave: every `toolchains/` entry is a
/// complete tree with a manifest, and `default` is absent or points at one of them.
pub(crate) fn assert_consistent(test: &StoreTest) {
    let home = test.home();
    for name in test.names("toolchains") {
        let tree = home.join("toolchains").join(&name);
        assert!(tree.join("VERSION").is_file(), "{name} is incomplete");
        assert!(tree.join("bin/go").is_file(), "{name} is incomplete");
        assert!(
            home.join("manifests")
                .join(format!("{name}.json"))
                .is_file(),
            "{name} has no manifest"
        );
    }
    let link = home.join("default");
    if std::fs::symlink_metadata(&link).is_ok() {
        let target = std::fs::read_link(&link).expect("failed to read the default link");
        assert!(
            home.join(&target).join("VERSION").is_file(),
            "default -> {} dangles",
            target.display()
        );
    }
}

/// Starts `goshift ARGS` paused at `phase`, waits until it says so, and kills it.
pub(crate) fn kill_at(test: &StoreTest, phase: &str, args: &[&str]) {
    let mut command = test.command();
    command.args(args);
    kill_command_at(command, phase);
}

/// Runs `command` with `GOSHIFT_TEST_PAUSE=phase` and kills it (SIGKILL) once it says it is
/// paused there.
pub(crate) fn kill_command_at(mut command: std::process::Command, phase: &str) {
    let mut child = command
        .env("GOSHIFT_TEST_PAUSE", phase)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to run a paused goshift");
    let stderr = child.stderr.take().expect("failed to run a paused goshift");
    let expected = format!("paused at {phase}");
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("failed to run a paused goshift");
        if line == expected {
            child.kill().expect("failed to run a paused goshift");
            child.wait().expect("failed to run a paused goshift");
            return;
        }
        seen.push(line);
    }
    let status = child.wait().expect("failed to run a paused goshift");
    panic!("goshift {command:?} never reached {phase} ({status}): {seen:#?}");
}

#[test]
fn a_kill_at_any_phase_of_an_install_leaves_no_trace() {
    for phase in [
        "staged",
        "unpacked",
        "smoke-tested",
        "manifest-written",
        "published",
        "default-switched",
        "history-written",
    ] {
        let test = StoreTest::new(&["1.21.13", "1.22.10"]);
        kill_at(&test, phase, &["install", "1.22.10"]);
        assert_consistent(&test);
        let installed = test.names("toolchains");
        let visible = ["published", "default-switched", "history-written"].contains(&phase);
        assert_eq!(
            installed.len(),
            usize::from(visible),
            "{phase}: {installed:?}"
        );
        // The next run cleans up and succeeds.
        let run = test.ok(&["install", "1.21.13"]);
        assert!(
            test.names("staging").is_empty(),
            "{phase}: {:?}",
            test.names("staging")
        );
        if !["default-switched", "history-written"].contains(&phase) {
            assert!(run.stderr.contains("Cleaned up"), "{phase}: {}", run.stderr);
        }
        test.ok(&["install", "1.22.10"]);
        assert_eq!(
            test.names("toolchains"),
            ["go1.21.13", "go1.22.10"],
            "{phase}"
        );
        assert_eq!(test.run(&["verify"]).code, Some(0), "{phase}");
        assert_consistent(&test);
    }
}

#[test]
fn a_kill_during_a_switch_or_uninstall_leaves_a_valid_default() {
    for (phase, args) in [
        ("default-switched", &["use", "1.22.10"][..]),
        ("history-written", &["rollback"][..]),
        ("removed", &["uninstall", "1.21.13"][..]),
        (
            "default-switched",
            &["uninstall", "--remove-default", "1.20.14"][..],
        ),
        (
            "manifest-written",
            &["install", "--reinstall", "1.22.10"][..],
        ),
        ("published", &["install", "--reinstall", "1.22.10"][..]),
    ] {
        let test = StoreTest::new(&["1.20.14", "1.21.13", "1.22.10"]);
        test.ok(&[
            "install",
            "--no-smoke-test",
            "1.22.10",
            "1.21.13",
            "1.20.14",
        ]);
        test.ok(&["use", "1.20.14"]);
        kill_at(&test, phase, args);
        assert_consistent(&test);
        test.ok(&["list"]);
        test.ok(&["use", "1.20.14"]);
        assert_consistent(&test);
        assert!(
            test.names("staging").is_empty(),
            "{phase}: {:?}",
            test.names("staging")
        );
        assert_eq!(test.run(&["verify"]).code, Some(0), "{phase} {args:?}");
    }
}

#[test]
fn a_held_lock_makes_others_wait_and_time_out_naming_the_holder() {
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    test.ok(&["install", "--no-smoke-test", "1.21.13"]);
    let mut holder = test
        .command()
        .env("GOSHIFT_TEST_PAUSE", "published")
        .args(["install", "--no-smoke-test", "1.22.10"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(holder.stderr.take().unwrap()).lines();
    assert!(
        lines.any(|line| line.unwrap() == "paused at published"),
        "the holder never paused"
    );
    let output = test
        .command()
        .env("GOSHIFT_LOCK_TIMEOUT", "300ms")
        .args(["use", "1.21.13"])
        .output()
        .unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let run = test.finish(&output);
    let pid = holder.id();
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.starts_with(&format!(
            "Waiting for the store lock (held by pid {pid})\nerror: timed out after "
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "waiting for the lock `[ROOT]/home/lock`, held by pid {pid}; wait for it to finish, or raise GOSHIFT_LOCK_TIMEOUT"
        )),
        "{}",
        run.stderr
    );
    // Once the holder is gone, the lock is free: its kill left no stale lock.
    test.ok(&["use", "1.21.13"]);
    assert_consistent(&test);
}

#[test]
fn kills_at_random_moments_leave_no_trace() {
    // A slow download stretches the window in which a kill can land.
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    let filename =
        IndexEntry::host_archive("1.22.10", &goshift_testkit::archive::fake_go("1.22.10")).filename;
    test.mirror.fault(
        &filename,
        goshift_testkit::mirror::Fault::Trickle {
            chunk: 256,
            delay: Duration::from_millis(2),
        },
    );
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        | 1;
    for trial in 0..30 {
        // xorshift: reproducible from the printed seed, no extra dependency.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let delay = Duration::from_micros(u64::from(seed % 60_000));
        let mut child = test
            .command()
            .args(["install", "1.22.10"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The delay is the experiment (where the kill lands), not a synchronisation.
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        assert_consistent(&test);
        if trial % 5 == 4 {
            // Any mutation cleans up; then uninstall whatever got published so later kills
            // hit installs again.
            test.ok(&["install", "--no-smoke-test", "1.21.13"]);
            assert!(
                test.names("staging").is_empty(),
                "trial {trial} seed {seed}"
            );
            if test.names("toolchains").contains(&"go1.22.10".to_owned()) {
                test.ok(&["uninstall", "--remove-default", "1.22.10"]);
            }
        }
    }
    test.ok(&["install", "1.22.10"]);
    assert!(test.names("staging").is_empty());
    assert_eq!(test.run(&["verify"]).code, Some(0));
    assert_consistent(&test);
}
