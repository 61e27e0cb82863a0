//! The metrics endpoint's series users alert on: each live generation's resources, accepted
//! connections and release, the listeners' accept queues, the supervisor's own process; and
//! the exposition stays valid for Prometheus (`promtool check metrics`).

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};

use goshift_supervisor::Phase;

use crate::harness::{Harness, Setup};

/// The value of the one series whose line starts with `series ` (name and labels).
fn value(metrics: &str, series: &str) -> f64 {
    let values: Vec<f64> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(values.len(), 1, "{series} in\n{metrics}");
    values[0]
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `kill -STOP` returns before every thread of the target has stopped: one still running
/// could accept a connection meant to wait in the queue. Waits (bounded) until each thread
/// of `pid` shows state `T` in `/proc`.
fn wait_until_stopped(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
        let all_stopped = tasks.flatten().all(|task| {
            std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
                stat.rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('T'))
            })
        });
        if all_stopped {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "generation {pid} did not stop within 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn generations_listeners_and_the_supervisor_are_measured() {
    let h = Harness::start(Setup::default());
    let running = h.until(Phase::Running).pop().unwrap();
    let pid = running.new_pid.unwrap();
    let release = running.release.clone().unwrap();
    // A connection the generation accepted and holds (keep-alive).
    let mut held = TcpStream::connect(("127.0.0.1", h.port)).unwrap();
    write!(held, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert!(h.get("/").contains("variant=v1"));
    let metrics = h.handle.metrics().unwrap();
    // The info series joins the generation to its pid and release.
    let tail = format!("\",pid=\"{pid}\",release=\"{release}\"}} 1");
    let generation: Vec<&str> = metrics
        .lines()
        .filter_map(|l| {
            l.strip_prefix("goshift_generation_info{service=\"api\",generation=\"")?
                .strip_suffix(&tail)
        })
        .collect();
    let [generation] = generation.as_slice() else {
        panic!("one info series for pid {pid} in\n{metrics}");
    };
    let labels = format!("{{service=\"api\",generation=\"{generation}\"}}");
    assert!(
        value(
            &metrics,
            &format!("goshift_generation_resident_memory_bytes{labels}")
        ) > 0.0
    );
    assert!(
        value(
            &metrics,
            &format!("goshift_generation_cpu_seconds_total{labels}")
        ) >= 0.0
    );
    assert!(value(&metrics, &format!("goshift_generation_open_fds{labels}")) >= 4.0);
    assert!(value(&metrics, &format!("goshift_generation_threads{labels}")) >= 1.0);
    let accepted = format!("goshift_generation_accepted_connections_total{labels}");
    assert!(value(&metrics, &accepted) >= 1.0, "the held connection");
    let queue = "goshift_listen_queue_length{service=\"api\",listener=\"http\"}";
    assert!(value(&metrics, queue).abs() < f64::EPSILON, "{metrics}");
    assert!(value(&metrics, "process_resident_memory_bytes") > 0.0);
    assert!(value(&metrics, "process_open_fds") > 0.0);
    assert!(value(&metrics, "process_cpu_seconds_total") >= 0.0);

    // A generation that accepts nothing: connections wait in the queue, and it shows.
    signal(pid, "STOP");
    wait_until_stopped(pid);
    let waiting: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", h.port)).unwrap())
        .collect();
    let stalled = h.handle.metrics().unwrap();
    signal(pid, "CONT");
    assert!(
        (value(&stalled, queue) - 3.0).abs() < f64::EPSILON,
        "{stalled}"
    );
    drop(waiting);
    check_with_promtool(&metrics);
}

/// `promtool check metrics` must accept the exposition. Without promtool the check is
/// skipped with a note, and fails under `CI` (which installs it with the `prometheus`
/// package).
#[expect(clippy::print_stderr, reason = "a skipped check says so")]
fn check_with_promtool(metrics: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            let message =
                format!("skipped `promtool check metrics`: {error} (install `prometheus`)");
            eprintln!("generations_listeners_and_the_supervisor_are_measured: {message}");
            assert!(std::env::var_os("CI").is_none(), "{message}");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool: {}{}\n{metrics}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
