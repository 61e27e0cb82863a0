//! `goshift snapshot create|restore`: a round trip through a wiped store, and refusals.

use crate::toolchain::{Run, StoreTest};

/// Runs goshift with an index that cannot be reached (port 9, discard, on loopback), so
/// anything that needs the network fails.
fn run_offline(test: &StoreTest, args: &[&str]) -> Run {
    let output = test
        .context
        .command()
        .env("GOSHIFT_INDEX_URL", "http://127.0.0.1:9/index.json")
        .args(args)
        .output()
        .expect("failed to run goshift");
    test.finish(&output)
}

/// A store with two toolchains and three switches of the default.
fn populated() -> StoreTest {
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    test.ok(&["install", "1.21.13", "1.22.10"]);
    test.ok(&["use", "1.22.10"]);
    test.ok(&["use", "1.21.13"]);
    test.ok(&["use", "1.22.10"]);
    test
}

fn wipe_store(test: &StoreTest) {
    for name in ["toolchains", "manifests", "bin"] {
        std::fs::remove_dir_all(test.home().join(name)).expect("wipe");
    }
    for name in ["default", "history"] {
        std::fs::remove_file(test.home().join(name)).expect("wipe");
    }
}

#[test]
fn snapshot_round_trip_from_the_archive_cache() {
    let test = populated();
    let history = std::fs::read_to_string(test.home().join("history")).unwrap();
    let run = test.ok(&["snapshot", "create", "-o", "machine.snapshot"]);
    assert_eq!(run.stdout, "[ROOT]/cwd/machine.snapshot\n");
    let snapshot = test.context.work().join("machine.snapshot");
    assert!(
        std::fs::read_to_string(&snapshot)
            .unwrap()
            .starts_with("goshift-snapshot 1 sha256=")
    );

    wipe_store(&test);
    // Offline: no index, no mirror; the archive cache has everything.
    let run = run_offline(
        &test,
        &["snapshot", "restore", "machine.snapshot", "--dry-run"],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr
            .contains("Would install go1.21.13 from the archive cache"),
        "{}",
        run.stderr
    );
    assert!(!test.home().join("toolchains/go1.21.13").exists());

    let run = run_offline(&test, &["snapshot", "restore", "machine.snapshot"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(test.home().join("toolchains/go1.21.13/bin/go").exists());
    assert!(test.home().join("toolchains/go1.22.10/bin/go").exists());
    assert_eq!(
        std::fs::read_link(test.home().join("default")).unwrap(),
        std::path::Path::new("toolchains/go1.22.10")
    );
    assert_eq!(
        std::fs::read_to_string(test.home().join("history")).unwrap(),
        history
    );
    let run = test.ok(&["verify"]);
    assert!(!run.stdout.contains("differ"), "{run:?}");

    let log = test.ok(&["--json", "audit", "log", "--action", "snapshot.restore"]);
    let records: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    assert_eq!(records[0]["outcome"], "intent");
    assert_eq!(records[1]["outcome"], "success");
    assert_eq!(records[1]["details"]["intent"], records[0]["seq"]);
    assert_eq!(records[1]["details"]["installed"][0], "go1.21.13");
    assert_eq!(test.run(&["audit", "verify"]).code, Some(0));
}

#[test]
fn damaged_or_foreign_snapshots_change_nothing() {
    let test = populated();
    test.ok(&["snapshot", "create", "-o", "good.snapshot"]);
    let good = std::fs::read(test.context.work().join("good.snapshot")).unwrap();
    wipe_store(&test);
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "truncated.snapshot",
            good[..good.len() / 2].to_vec(),
            "checksum does not match",
        ),
        (
            "edited.snapshot",
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"1.21.13\"", "\"1.21.12\"", 1)
                .into_bytes(),
            "checksum does not match",
        ),
        (
            "foreign.snapshot",
            b"{\"default\": \"1.22.10\"}\n".to_vec(),
            "a foreign file",
        ),
    ];
    for (name, bytes, expected) in cases {
        std::fs::write(test.context.work().join(name), bytes).unwrap();
        let run = run_offline(&test, &["snapshot", "restore", name]);
        assert_eq!(run.code, Some(2), "{name}: {run:?}");
        assert!(run.stderr.contains(expected), "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("nothing was changed"),
            "{name}: {}",
            run.stderr
        );
        assert!(!test.home().join("toolchains").exists(), "{name}");
        assert!(!test.home().join("default").exists(), "{name}");
    }
}
