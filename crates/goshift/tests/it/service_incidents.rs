//! `goshift svc incidents` and `goshift svc incident ID` over incidents written by the
//! supervisor's incident writer into the sandbox's home.

use std::time::{Duration, SystemTime};

use goshift_supervisor::incident::{self, IncidentInput, ProcSnapshot, TimelineEntry, Trigger};
use goshift_testkit::TestContext;

/// Until the forked child has become `sleep`: before its exec, `/proc/PID` still shows this
/// test's own environment.
fn wait_for_exec(pid: u32) {
    for _ in 0..5000 {
        if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "sleep\n") {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("child {pid} did not exec sleep");
}

fn record(context: &TestContext, service: &str, generation: u64, seconds: u64) -> String {
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .env("SERVICE_API_KEY", "k-987")
        .spawn()
        .unwrap();
    wait_for_exec(child.id());
    let snapshot = ProcSnapshot::capture(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    let input = IncidentInput {
        service: service.into(),
        generation,
        pid: Some(child.id()),
        trigger: Some(Trigger::StopIgnored),
        timeline: vec![TimelineEntry {
            at: "2026-12-03T08:00:00.000Z".into(),
            phase: "draining".into(),
            detail: "SIGTERM sent".into(),
        }],
        output_tail: "goservice: hangs after readiness (fault build)\n".into(),
        goroutine_dump: Some("goroutine 1 [select (no cases)]:\nmain.main()\n".into()),
        ..IncidentInput::default()
    };
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_256_000 + seconds);
    incident::write(&context.home(), input, Some(snapshot), at)
        .unwrap()
        .report
        .id
}

#[test]
fn lists_and_shows_incidents() {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    let none = context.run(["svc", "incidents"]);
    assert!(none.status.success(), "{none:?}");
    assert!(none.stdout.is_empty());
    assert!(String::from_utf8_lossy(&none.stderr).contains("No incidents recorded"));

    let api = record(&context, "api", 4, 60);
    let worker = record(&context, "worker", 2, 0);

    let listed = context.run(["svc", "incidents"]);
    assert!(listed.status.success(), "{listed:?}");
    let stdout = String::from_utf8(listed.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("ID "), "{stdout}");
    assert!(
        lines[1].starts_with(&worker) && lines[1].contains("ignored its stop signal"),
        "{stdout}"
    );
    assert!(lines[2].starts_with(&api), "{stdout}");

    let only = context.run(["--json", "svc", "incidents", "api"]);
    let reports = crate::json_schema::follows_schema("svc-incidents", &only.stdout);
    assert_eq!(reports.as_array().unwrap().len(), 1);
    assert_eq!(reports[0]["id"], api.as_str());
    assert_eq!(reports[0]["trigger"], "stop_ignored");

    let shown = context.run(["svc", "incident", &api]);
    assert!(shown.status.success(), "{shown:?}");
    let markdown = String::from_utf8(shown.stdout).unwrap();
    assert!(
        markdown.starts_with(&format!("# Incident {api}: service `api`, generation 4")),
        "{markdown}"
    );
    assert!(markdown.contains("main.main()"));
    assert!(
        markdown.contains("SERVICE_API_KEY=<redacted>"),
        "{markdown}"
    );
    assert!(!markdown.contains("k-987"));

    let json = context.run(["--json", "svc", "incident", &worker]);
    let report = crate::json_schema::follows_schema("svc-incident", &json.stdout);
    assert_eq!(report["service"], "worker");
    assert_eq!(report["timeline"][0]["phase"], "draining");
}

#[test]
fn an_unknown_or_bad_id_is_an_error_with_a_hint() {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    for id in ["20990101T000000Z-g1", "../../etc"] {
        let output = context.run(["svc", "incident", id]);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("`goshift svc incidents` lists"), "{stderr}");
        assert!(output.stdout.is_empty());
    }
    let bad = context.run(["svc", "incidents", "no/such"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid service name"));
}
