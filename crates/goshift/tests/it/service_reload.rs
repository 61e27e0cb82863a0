//! `goshift supervise --reload`: the real binary re-executes itself in place and keeps the
//! service's process; a bad file or no supervisor is a clear error.

use goshift_testkit::TestContext;

use crate::service::start;

#[test]
fn a_reload_keeps_the_supervisor_pid_and_the_service_process() {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    let mut running = start(&context, "2s");
    let pid_of_api = || {
        let status = context.run(["svc", "status", "--json"]);
        let services: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        services[0]["pid"].as_u64().unwrap()
    };
    let api = pid_of_api();
    // What the supervisor asks its successor binary before the exec.
    let format = context.run(["supervise", "--handoff-format"]);
    assert_eq!(format.status.code(), Some(0), "{format:?}");
    assert_eq!(
        String::from_utf8_lossy(&format.stdout).trim(),
        goshift_supervisor::handoff::format_line()
    );
    let reload = context.run(["supervise", "--reload"]);
    let stdout = String::from_utf8_lossy(&reload.stdout);
    assert_eq!(reload.status.code(), Some(0), "{reload:?}");
    let supervisor = running.child.id();
    assert!(
        stdout.contains(&format!("reloaded supervisor pid {supervisor}"))
            && stdout.contains(&format!("kept:     api (pid {api})")),
        "{stdout}"
    );
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "the supervisor exited"
    );
    assert_eq!(pid_of_api(), api);
    let json = context.run(["--json", "supervise", "--reload"]);
    assert_eq!(json.status.code(), Some(0), "{json:?}");
    let report = crate::json_schema::follows_schema("supervise-reload", &json.stdout);
    assert_eq!(report["pid"], supervisor);
    assert_eq!(report["kept"][0]["pid"], api);

    let missing = context.run(["supervise", "--reload", "missing.toml"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing.toml"), "{stderr}");

    let stop = context.run(["svc", "stop"]);
    assert!(stop.status.success(), "{stop:?}");
    running.until("stopped");
    assert!(running.child.wait().unwrap().success());

    let nobody = context.run(["supervise", "--reload"]);
    let stderr = String::from_utf8_lossy(&nobody.stderr);
    assert_eq!(nobody.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("could not ask the supervisor to reload"),
        "{stderr}"
    );
}
