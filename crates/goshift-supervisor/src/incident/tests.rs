//! The incident writer against a real child process and fabricated inputs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, SystemTime};

use super::*;

/// A child with secrets in its environment, killed and reaped on drop.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Self {
        let child = Command::new("sleep")
            .arg("60")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("API_TOKEN", "tok-123")
            .env("db_password", "hunter2")
            .env("DATABASE_URL", "postgres://app:s3cr3t@db:5432/app")
            .env("GOMAXPROCS", "2")
            .spawn()
            .expect("sleep must start");
        // Before its exec, the forked child's /proc still shows this test's environment.
        let sleeper = Self(child);
        let comm = format!("/proc/{}/comm", sleeper.0.id());
        for _ in 0..5000 {
            if std::fs::read_to_string(&comm).is_ok_and(|c| c == "sleep\n") {
                return sleeper;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("{comm} never became sleep");
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn provenance() -> Provenance {
    Provenance {
        id: "20261203T080000Z-1a2b3c4d".into(),
        sha256: "ab".repeat(32),
        size: 1234,
        source: PathBuf::from("bin/v2"),
        staged_at: "2026-12-03T08:00:00Z".into(),
        go_version: Some("go1.22.10".into()),
        main_module: Some("example.com/goservice".into()),
        revision: None,
        reason: Some("deploy".into()),
    }
}

fn input(service: &str, generation: u64, pid: Option<u32>) -> IncidentInput {
    IncidentInput {
        id: None,
        service: service.into(),
        generation,
        pid,
        trigger: Some(Trigger::AnalysisRollback),
        release: Some(provenance()),
        timeline: vec![
            TimelineEntry {
                at: "2026-12-03T08:00:01.000Z".into(),
                phase: "spawned".into(),
                detail: "pid 4242".into(),
            },
            TimelineEntry {
                at: "2026-12-03T08:00:01.200Z".into(),
                phase: "ready".into(),
                detail: String::new(),
            },
        ],
        measurements: vec![TriggerMeasurement {
            check: "probe".into(),
            at: "2026-12-03T08:00:02.000Z".into(),
            reasons: vec![
                "success rate 0.000 (0 of 4) is under 0.99 (e.g. status 500, expected 200)".into(),
            ],
        }],
        output_tail: "goservice v2: listening\n".into(),
        goroutine_dump: Some("goroutine 1 [select (no cases)]:\nmain.main()\n```\n".into()),
        profiles: vec![("heap.pb.gz".into(), vec![0x1f, 0x8b, 0])],
    }
}

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_256_000 + seconds)
}

#[test]
fn writes_a_whole_incident_with_a_redacted_proc_snapshot() {
    let home = tempfile::tempdir().unwrap();
    let child = Sleeper::start();
    let pid = child.0.id();
    let snapshot = ProcSnapshot::capture(pid);
    let incident = write(
        home.path(),
        input("api", 7, Some(pid)),
        Some(snapshot),
        at(0),
    )
    .unwrap();

    assert_eq!(incident.report.id, "20261203T000000Z-g7");
    assert_eq!(
        incident.dir,
        home.path()
            .join("services/api/incidents/20261203T000000Z-g7")
    );
    let names: Vec<String> = std::fs::read_dir(home.path().join("services/api/incidents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["20261203T000000Z-g7"],
        "no staging directory is left"
    );

    assert_redacted_snapshot(incident.report.proc.as_ref().unwrap(), pid);

    let json = std::fs::read_to_string(incident.dir.join("report.json")).unwrap();
    let markdown = std::fs::read_to_string(incident.dir.join("report.md")).unwrap();
    for text in [&json, &markdown] {
        assert!(!text.contains("tok-123") && !text.contains("hunter2") && !text.contains("s3cr3t"));
    }
    let parsed: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, incident.report);
    assert_eq!(parsed.profiles, vec!["profiles/heap.pb.gz"]);
    assert_eq!(
        std::fs::read(incident.dir.join("profiles/heap.pb.gz")).unwrap(),
        vec![0x1f, 0x8b, 0]
    );

    assert_report_markdown(&markdown);
}

/// The snapshot of the `Sleeper` child: its files, and its environment with every secret
/// redacted.
fn assert_redacted_snapshot(proc: &ProcSnapshot, pid: u32) {
    assert_eq!(proc.pid, pid);
    assert!(proc.status.as_ref().unwrap().contains("Name:\tsleep"));
    assert!(proc.limits.as_ref().unwrap().contains("Max open files"));
    assert!(
        proc.smaps_rollup
            .as_ref()
            .is_none_or(|s| s.contains("Rss:"))
    );
    assert!(proc.fds.as_ref().unwrap().iter().any(|(fd, _)| *fd == 0));
    let environment = proc.environment.as_ref().unwrap();
    assert!(
        environment.contains(&"API_TOKEN=<redacted>".to_owned()),
        "{environment:?}"
    );
    assert!(environment.contains(&"db_password=<redacted>".to_owned()));
    assert!(environment.contains(&"DATABASE_URL=postgres://app:<redacted>@db:5432/app".to_owned()));
    assert!(environment.contains(&"GOMAXPROCS=2".to_owned()));
}

fn assert_report_markdown(markdown: &str) {
    assert!(markdown.starts_with(
        "# Incident 20261203T000000Z-g7: service `api`, generation 7 rolled back by analysis"
    ));
    assert!(markdown.contains("- release: 20261203T080000Z-1a2b3c4d"));
    assert!(markdown.contains("`probe`: success rate 0.000"));
    assert!(markdown.contains("- 2026-12-03T08:00:01.000Z spawned: pid 4242"));
    assert!(markdown.contains("main.main()"));
    // The dump holds a ``` line: its fence is longer, so it cannot end the block early.
    assert!(markdown.contains("````text\ngoroutine 1"));
    assert!(markdown.contains("### Environment (secrets redacted)"));
}

#[test]
fn a_process_that_is_gone_is_said_so() {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let snapshot = ProcSnapshot::capture(pid);
    assert!(snapshot.status.is_none());
    assert!(
        snapshot.unreadable.iter().any(|u| u.starts_with("status:")),
        "{snapshot:?}"
    );
    let incident = write(home.path(), input("api", 1, Some(pid)), None, at(0)).unwrap();
    let markdown = markdown(&incident).unwrap();
    assert!(markdown.contains("(the process was gone)"));
}

#[test]
fn lists_and_reads_by_service_and_id() {
    let home = tempfile::tempdir().unwrap();
    assert!(
        list(home.path(), None).unwrap().is_empty(),
        "no services directory yet"
    );
    let first = write(home.path(), input("api", 3, None), None, at(10)).unwrap();
    let same_second = write(home.path(), input("api", 3, None), None, at(10)).unwrap();
    assert_eq!(
        same_second.report.id, "20261203T000010Z-g3-2",
        "ids never collide"
    );
    let other = write(home.path(), input("worker_2", 1, None), None, at(5)).unwrap();
    // A directory being assembled is not listed.
    std::fs::create_dir(
        home.path()
            .join("services/api/incidents/.20261203T000020Z-g4.partial"),
    )
    .unwrap();

    assert_eq!(
        ids(home.path(), None),
        vec![
            other.report.id.clone(),
            first.report.id.clone(),
            same_second.report.id.clone()
        ]
    );
    assert_eq!(
        ids(home.path(), Some("api")),
        vec![first.report.id.clone(), same_second.report.id]
    );
    assert!(list(home.path(), Some("db")).unwrap().is_empty());

    assert_eq!(
        read(home.path(), &other.report.id).unwrap().report.service,
        "worker_2"
    );
    std::fs::write(first.dir.join("report.json"), b"{").unwrap();
    let broken = list(home.path(), Some("api")).unwrap_err();
    assert!(
        broken.to_string().contains("is not an incident report"),
        "{broken}"
    );
}

fn ids(home: &Path, service: Option<&str>) -> Vec<String> {
    list(home, service)
        .unwrap()
        .into_iter()
        .map(|i| i.report.id)
        .collect()
}

#[test]
fn reading_an_unknown_or_bad_id_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    write(home.path(), input("api", 3, None), None, at(10)).unwrap();
    let missing = read(home.path(), "20990101T000000Z-g1").unwrap_err();
    assert!(
        matches!(missing, IncidentError::NotFound { .. }),
        "{missing}"
    );
    for bad in ["../api", ".hidden", "a/b", ""] {
        let error = read(home.path(), bad).unwrap_err();
        assert!(
            error.to_string().contains("is not a valid incident id"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn bad_input_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let mut no_trigger = input("api", 1, None);
    no_trigger.trigger = None;
    assert!(matches!(
        write(home.path(), no_trigger, None, at(0)),
        Err(IncidentError::NoTrigger { .. })
    ));
    assert!(matches!(
        write(home.path(), input("../etc", 1, None), None, at(0)),
        Err(IncidentError::BadName { .. })
    ));
    let mut bad_profile = input("api", 1, None);
    bad_profile.profiles = vec![("../escape".into(), vec![1])];
    let error = write(home.path(), bad_profile, None, at(0)).unwrap_err();
    assert!(error.to_string().contains("profile name"), "{error}");
    let left: Vec<_> = std::fs::read_dir(home.path().join("services/api/incidents"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "a failed write leaves nothing: {left:?}");
    assert!(!home.path().join("services/escape").exists());
}

#[test]
fn an_incidents_directory_swapped_for_a_link_is_refused_and_nothing_goes_behind_it() {
    let home = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(home.path(), input("api", 1, None), None, at(0)).unwrap();
    let incidents = home.path().join("services/api/incidents");
    std::fs::rename(&incidents, home.path().join("moved")).unwrap();
    std::os::unix::fs::symlink(outside.path(), &incidents).unwrap();
    let error = write(home.path(), input("api", 2, None), None, at(1)).unwrap_err();
    // The incident's error says what it was doing; its cause names the link and the fix.
    let shown = std::error::Error::source(&error).unwrap().to_string();
    assert!(
        shown.contains("services/api/incidents") && shown.contains("link"),
        "{shown}"
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing was written behind the link"
    );
}
