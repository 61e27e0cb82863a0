//! `goshift supervise` and `goshift svc …` driving the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Stdio};
use std::time::Duration;

use goshift_testkit::TestContext;
use goshift_testkit::service::service_variant;

use crate::{audit_actions, audit_outcomes, audit_records};

pub(crate) struct Running {
    pub(crate) child: Child,
    log: BufReader<ChildStderr>,
}

impl Running {
    /// Reads the JSON log until a line with `"phase":"<phase>"`, returning it.
    pub(crate) fn until(&mut self, phase: &str) -> serde_json::Value {
        let needle = format!("\"phase\":\"{phase}\"");
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.log.read_line(&mut line).unwrap();
            assert!(n > 0, "the supervisor exited before phase {phase}");
            if line.contains(&needle) {
                return serde_json::from_str(&line).unwrap();
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn start(context: &TestContext, ready_timeout: &str) -> Running {
    let v1 = service_variant(&context.work(), "v1", None);
    let port = free_port();
    std::fs::write(
        context.work().join("supervisor.toml"),
        format!(
            "[services.api]\nbinary = \"{}\"\nlisten = [{{ name = \"http\", address = \"tcp://127.0.0.1:{port}\" }}]\nready = {{ notify = true, timeout = \"{ready_timeout}\" }}\nstop = {{ grace = \"2s\" }}\nwatch = \"200ms\"\n",
            v1.display()
        ),
    )
    .unwrap();
    let mut child = context
        .command()
        .args(["supervise", "--config", "supervisor.toml"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = BufReader::new(child.stderr.take().unwrap());
    let mut running = Running { child, log };
    running.until("running");
    running
}

#[test]
fn upgrade_rollback_status_and_stop_through_the_cli() {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    let mut running = start(&context, "2s");

    let status = context.run(["svc", "status", "--json"]);
    assert!(status.status.success(), "{status:?}");
    let services = crate::json_schema::follows_schema("svc-status", &status.stdout);
    assert_eq!(services[0]["name"], "api");
    assert_eq!(services[0]["phase"], "running");
    assert_eq!(services[0]["readiness"], "ready");

    let v2 = service_variant(&context.work(), "v2", None);
    let upgrade = context.run([
        "svc",
        "upgrade",
        "api",
        v2.to_str().unwrap(),
        "--reason",
        "test",
    ]);
    let stderr = String::from_utf8_lossy(&upgrade.stderr);
    assert_eq!(upgrade.status.code(), Some(0), "{stderr}");
    for phase in ["spawned", "ready", "draining", "watching", "upgraded"] {
        assert!(stderr.contains(phase), "{phase} missing from\n{stderr}");
    }
    assert!(String::from_utf8_lossy(&upgrade.stdout).contains("upgraded api"));

    let again = context.run(["svc", "upgrade", "api", v2.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to do"));

    let bad = service_variant(&context.work(), "v3-crash", Some("crash-at-start"));
    let failed = context.run(["svc", "upgrade", "api", bad.to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(stdout.contains("rolled back api"), "{stdout}");
    assert!(stdout.contains("exited before it was ready"), "{stdout}");
    svc_logs_show_the_failed_generation(&context);

    let rollback = context.run(["--json", "svc", "rollback", "api"]);
    assert_eq!(rollback.status.code(), Some(0), "{rollback:?}");
    let outcome = crate::json_schema::follows_schema("svc-upgrade", &rollback.stdout);
    assert_eq!(outcome["result"], "upgraded", "{outcome}");

    let unknown = context.run(["svc", "upgrade", "nope", v2.to_str().unwrap()]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no service `nope`"));

    let text = context.work().join("not-a-program");
    std::fs::write(&text, "just text").unwrap();
    let refused = context.run(["svc", "upgrade", "api", text.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not executable"));

    // Every upgrade and rollback is in the audit log with its intent and its outcome.
    let records = audit_outcomes(&context.home());
    assert_eq!(
        audit_actions(&records),
        [
            ("svc.upgrade", "success"),
            ("svc.upgrade", "success"),
            ("svc.upgrade", "failure"),
            ("svc.rollback", "success"),
        ],
        "{records:#?}"
    );

    a_freeze_refuses_the_upgrade_before_staging(&context);
    stop_is_recorded_and_the_log_verifies(&context, &mut running);
}

/// A change freeze refuses the upgrade before anything is staged.
fn a_freeze_refuses_the_upgrade_before_staging(context: &TestContext) {
    std::fs::write(context.home().join("policy.toml"), "freeze = true\n").unwrap();
    let v4 = service_variant(&context.work(), "v4", None);
    let frozen = context.run(["svc", "upgrade", "api", v4.to_str().unwrap()]);
    assert_eq!(frozen.status.code(), Some(2), "{frozen:?}");
    assert!(String::from_utf8_lossy(&frozen.stderr).contains("freeze"));
    let releases = std::fs::read_dir(context.home().join("services/api/releases"))
        .unwrap()
        .count();
    assert_eq!(releases, 3, "v1, v2 and the crashing v3 only");
    std::fs::remove_file(context.home().join("policy.toml")).unwrap();
}

/// `svc stop` stops the supervisor, and the stop is in an audit log that verifies.
fn stop_is_recorded_and_the_log_verifies(context: &TestContext, running: &mut Running) {
    let stop = context.run(["svc", "stop"]);
    assert!(stop.status.success(), "{stop:?}");
    running.until("stopped");
    assert!(running.child.wait().unwrap().success());
    let audit = std::fs::read_to_string(context.home().join("audit.log")).unwrap();
    // The supervisor records `svc.stopped` while the command records the outcome of its
    // `svc.stop`: either may come last.
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let tail = &records[records.len().saturating_sub(2)..];
    let stopped = tail.iter().find(|r| r["action"] == "svc.stopped");
    let stopped =
        stopped.unwrap_or_else(|| panic!("no svc.stopped among the last records: {audit}"));
    // Timings are recorded as strings, so every record reads back to its hash.
    assert!(stopped["details"]["at_ms"].is_string(), "{audit}");
    let verify = context.run(["audit", "verify"]);
    assert!(verify.status.success(), "{verify:?}");
    assert!(audit.contains("\"svc.stop\""), "{audit}");
    let after = context.run(["svc", "status"]);
    assert_eq!(after.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&after.stderr).contains("goshift supervise"));
}

/// After an upgrade to a build that crashes at start: `svc logs` shows that generation's
/// output next to the serving one's.
fn svc_logs_show_the_failed_generation(context: &TestContext) {
    // The failed generation's output is still there to read, next to the serving one's.
    let logs = context.run(["svc", "logs", "api"]);
    assert_eq!(logs.status.code(), Some(0), "{logs:?}");
    let text = String::from_utf8_lossy(&logs.stdout);
    assert!(
        text.contains(
            "exited\n-- stdout: nothing\n-- stderr\ntest service: crashing at start as asked\n"
        ),
        "{text}"
    );
    assert!(text.contains(", running\n"), "{text}");
    let logs = context.run(["svc", "logs", "api", "--json"]);
    let generations = crate::json_schema::follows_schema("svc-logs", &logs.stdout);
    let crashed = generations
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["live"] == false && g["stderr"].as_str().unwrap().contains("crashing"))
        .unwrap_or_else(|| panic!("{generations:#}"));
    let generation = crashed["generation"].to_string();
    let one = context.run(["svc", "logs", "api", "--json", "--generation", &generation]);
    let one: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(
        one.as_array().unwrap().as_slice(),
        std::slice::from_ref(crashed)
    );
    let gone = context.run(["svc", "logs", "api", "--generation", "999"]);
    assert_eq!(gone.status.code(), Some(2), "{gone:?}");
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("generation 999 of `api` is not kept"),
        "{gone:?}"
    );
}

#[test]
fn children_die_with_a_killed_supervisor() {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    let mut running = start(&context, "2s");
    let status = context.run(["svc", "status", "--json"]);
    let services: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let pid = u32::try_from(services[0]["pid"].as_u64().unwrap()).unwrap();
    let watcher = ProcessWatch::new(pid);
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    assert!(
        watcher.wait_exit(Duration::from_secs(10)),
        "child {pid} outlived the supervisor"
    );
}

#[test]
fn the_childrens_output_is_logged_as_json_lines_with_their_origin() {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    let mut running = start(&context, "2s");
    let v2 = service_variant(&context.work(), "v2-crash", Some("crash-at-start"));
    let upgrade = context.run(["svc", "upgrade", "api", v2.to_str().unwrap()]);
    assert_eq!(upgrade.status.code(), Some(1));
    let mut line = String::new();
    let logged: serde_json::Value = loop {
        line.clear();
        let n = running.log.read_line(&mut line).unwrap();
        assert!(
            n > 0,
            "the supervisor exited before logging the child's line"
        );
        if line.contains("crashing at start as asked") {
            break serde_json::from_str(&line).unwrap();
        }
    };
    assert_eq!(logged["service"], "api");
    assert_eq!(logged["stream"], "stderr");
    assert_eq!(logged["line"], "test service: crashing at start as asked");
    assert!(logged["pid"].as_u64().is_some() && logged["generation"].as_u64().is_some());
    assert_eq!(logged["time"].as_str().unwrap().len(), 24, "{logged}");
    running.child.kill().unwrap();
    running.child.wait().unwrap();
}

/// Waits for a process that is not our child to exit, through a pidfd.
struct ProcessWatch(std::os::fd::OwnedFd);

impl ProcessWatch {
    #[expect(unsafe_code, reason = "pidfd_open has no std wrapper")]
    fn new(pid: u32) -> Self {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        assert!(fd >= 0, "pidfd_open failed");
        // SAFETY: a fresh fd we own.
        Self(unsafe { std::os::fd::OwnedFd::from_raw_fd(i32::try_from(fd).unwrap()) })
    }

    #[expect(unsafe_code, reason = "poll(2) on a pidfd")]
    fn wait_exit(&self, timeout: Duration) -> bool {
        use std::os::fd::AsRawFd;
        let mut pollfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(timeout.as_millis()).unwrap();
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&raw mut pollfd, 1, ms) };
        n == 1
    }
}

#[test]
fn bad_service_files_are_refused_before_anything_starts() {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    std::fs::write(
        context.work().join("bad.toml"),
        "[services.api]\nbinary = \"/nonexistent/api\"\n",
    )
    .unwrap();
    let output = context.run(["supervise", "--config", "bad.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = context.filter(&String::from_utf8_lossy(&output.stderr));
    assert!(
        stderr.contains("failed to read the binary `/nonexistent/api`"),
        "{stderr}"
    );

    std::fs::write(
        context.work().join("bad.toml"),
        "[services.api]\nbinary = \"x\"\nstop = { signal = \"SIGQUIT\" }\n",
    )
    .unwrap();
    let output = context.run(["supervise", "--config", "bad.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SIGQUIT makes Go dump its stacks"));

    let output = context.run(["supervise", "--config", "missing.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("failed to read the service file"));
}

#[test]
fn a_stop_that_reaches_no_supervisor_is_recorded_as_failed_after_its_request() {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    let stop = context.run(["svc", "stop"]);
    assert_eq!(stop.status.code(), Some(2), "{stop:?}");
    let records = audit_records(&context.home());
    assert_eq!(
        audit_actions(&records),
        [("svc.stop", "intent"), ("svc.stop", "failure")],
        "{records:#?}"
    );
    let stderr = String::from_utf8_lossy(&stop.stderr);
    assert!(!stderr.contains("the change itself is done"), "{stderr}");
}
