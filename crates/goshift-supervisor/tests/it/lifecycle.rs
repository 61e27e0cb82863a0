//! Start, restart, readiness through `systemd-notify`, descriptors, control socket, stop.

use std::os::unix::fs::PermissionsExt;

use goshift_supervisor::{Client, Phase, Readiness, Reply, Request};

use crate::harness::{Harness, Setup};

#[test]
fn a_child_dying_outside_an_upgrade_is_restarted() {
    let h = Harness::start(Setup::default());
    let first = h.until(Phase::Running);
    let pid = first.last().unwrap().new_pid.unwrap();
    let rc = kill_hard(pid);
    assert_eq!(rc, 0);
    let seen = h.until(Phase::Running);
    let phases: Vec<Phase> = seen.iter().map(|e| e.phase).collect();
    assert_eq!(phases, [Phase::Restarting, Phase::Starting, Phase::Running]);
    assert_ne!(seen.last().unwrap().new_pid, Some(pid));
    assert!(h.get("/").contains("variant=v1"));
    let metrics = h.handle.metrics().unwrap();
    assert!(
        metrics.contains("goshift_child_restarts_total{service=\"api\"} 1"),
        "{metrics}"
    );
}

fn kill_hard(pid: u32) -> i32 {
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .map_or(-1, |s| s.code().unwrap_or(-1))
}

#[test]
fn systemd_notify_from_the_child_counts_as_ready() {
    if std::process::Command::new("systemd-notify")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("systemd-notify is not installed; skipping");
        return;
    }
    let h = Harness::start(Setup {
        first_fault: Some("systemd-notify"),
        service_lines: "ready = { notify = true, timeout = \"20s\" }",
    });
    let seen = h.until(Phase::Running);
    assert_eq!(
        seen.iter().map(|e| e.phase).collect::<Vec<_>>(),
        [Phase::Starting, Phase::Running]
    );
}

#[test]
fn children_get_exactly_their_listeners() {
    let h = Harness::start(Setup::default());
    h.until(Phase::Running);
    let fds = h.get("/fds");
    let body = fds.split_once("\r\n\r\n").unwrap().1;
    let mut listeners = 0;
    for line in body.lines() {
        let (fd, target) = line.split_once(' ').unwrap();
        let fd: i32 = fd.parse().unwrap();
        if fd <= 2 {
            continue;
        }
        if fd <= 4 {
            assert!(target.starts_with("socket:"), "fd {fd} is {target}");
            listeners += 1;
        } else {
            // Only the service's own accepted connections and its /proc listing.
            assert!(
                target.starts_with("socket:") || target.starts_with("/proc/"),
                "leaked fd {fd}: {target}\n{body}"
            );
        }
    }
    assert_eq!(listeners, 2, "{body}");
}

#[test]
fn control_socket_is_private_and_answers_status() {
    let h = Harness::start(Setup::default());
    h.until(Phase::Running);
    let mode = std::fs::metadata(&h.control).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let mut replies = Vec::new();
    Client::new(&h.control)
        .request(&Request::Status, |r| replies.push(r))
        .unwrap();
    let [Reply::Status { services }] = replies.as_slice() else {
        panic!("{replies:?}");
    };
    assert_eq!(services[0].name, "api");
    assert_eq!(services[0].phase, Phase::Running);
    assert_eq!(services[0].readiness, Readiness::Ready);
    assert!(services[0].pid.is_some());

    // Another user must not get in: as root, try from uid 65534 through a child process.
    if running_as_root() {
        use std::os::unix::process::CommandExt;
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .env("GOSHIFT_TEST_CONNECT", &h.control)
            .args(["--exact", "lifecycle::connect_helper", "--nocapture"])
            .uid(65534)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&status.stdout);
        assert!(text.contains("refused:"), "{text}");
    }
    let stopped = h.stop();
    assert_eq!(stopped.last().unwrap().phase, Phase::Stopped);
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Run as another user by the test above: reports whether the control socket let it in.
#[test]
fn connect_helper() {
    let Some(path) = std::env::var_os("GOSHIFT_TEST_CONNECT") else {
        return;
    };
    match Client::new(path).request(&Request::Status, |_| {}) {
        Ok(()) => println!("connected"),
        Err(e) => println!("refused: {e}"),
    }
}
