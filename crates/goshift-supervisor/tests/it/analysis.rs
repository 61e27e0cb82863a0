//! Analysis checks against real generations of the test service: each faulty build is rolled
//! back by the check meant for it, with an incident on disk; a healthy one still upgrades.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use goshift_supervisor::incident;
use goshift_supervisor::{Phase, RollbackReason, UpgradeResult};

use crate::harness::{Harness, Setup};

use Phase::{Draining, Ready, RolledBack, RollingBack, Spawned, Upgraded, Watching};

/// Every check on, with limits a healthy test service stays far within; `not_accepting` at
/// its defaults (250 ms × 4): a busy machine can stall a healthy service for a few hundred
/// milliseconds.
const CHECKS: &str = r#"
[services.api.analysis.not_accepting]
[services.api.analysis.probe]
interval = "100ms"
failures = 3
requests = [{ path = "/" }]
success_rate_min = 0.99
[services.api.analysis.process]
interval = "100ms"
failures = 3
fds_max = 10000
threads_max = 10000
"#;

fn start() -> Harness {
    let h = Harness::start(Setup {
        service_lines: "watch = \"3s\"",
        more_services: CHECKS,
        ..Setup::default()
    });
    h.until(Phase::Running);
    h
}

fn report(home: &Path, id: &str) -> incident::Report {
    incident::read(home, id)
        .unwrap_or_else(|e| panic!("incident {id}: {e}"))
        .report
}

/// Waits for the incident the outcome names: it is written by a thread after the dump.
pub(crate) fn wait_for_incident(h: &Harness, id: &str) -> incident::Report {
    let home = h.home();
    for _ in 0..500 {
        if incident::read(&home, id).is_ok() {
            return report(&home, id);
        }
        // Waiting for a file another thread writes; the bound fails the test.
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    report(&home, id)
}

#[test]
fn a_build_that_answers_500_is_rolled_back_by_the_probe() {
    let h = start();
    let bad = h.stage("v2-5xx", Some("ready-5xx"));
    let (phases, outcome) = h.upgrade(bad.id());
    assert_eq!(outcome.result, UpgradeResult::RolledBack, "{outcome:?}");
    assert_eq!(outcome.rollback_reason, Some(RollbackReason::Probe));
    assert_eq!(phases.last(), Some(&RolledBack), "{phases:?}");
    assert!(phases.contains(&RollingBack), "{phases:?}");
    let reason = outcome.reason.clone().unwrap();
    assert!(
        reason.contains("check `probe`") && reason.contains("500"),
        "{reason}"
    );
    assert!(h.get("/").contains("variant=v1"));
    let id = outcome.incident.clone().expect("an incident");
    let report = wait_for_incident(&h, &id);
    assert_eq!(report.trigger, incident::Trigger::AnalysisRollback);
    assert_eq!(report.pid, outcome.failed_pid);
    assert_eq!(report.measurements[0].check, "probe");
    assert!(
        report.proc.is_some(),
        "the /proc snapshot was taken while it ran"
    );
    assert!(
        report.timeline.iter().any(|t| t.phase == "ready"),
        "{:?}",
        report.timeline
    );
    assert_eq!(
        report.release.map(|r| r.id),
        Some(bad.id().to_owned()),
        "the failed release's provenance"
    );
}

#[test]
fn a_build_that_accepts_nothing_is_rolled_back_by_not_accepting() {
    let h = start();
    let bad = h.stage("v2-deaf", Some("accept-nothing"));
    // Clients keep connecting while the upgrade runs: they wait in the accept queue.
    let stop = Arc::new(AtomicBool::new(false));
    let port = h.port;
    let clients = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            loop {
                if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                    let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                    held.push(stream);
                }
                if stop.load(Ordering::SeqCst) || held.len() >= 64 {
                    return held.len();
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };
    let (_, outcome) = h.upgrade(bad.id());
    stop.store(true, Ordering::SeqCst);
    let connected = clients.join().unwrap();
    assert_eq!(outcome.result, UpgradeResult::RolledBack, "{outcome:?}");
    assert_eq!(
        outcome.rollback_reason,
        Some(RollbackReason::NotAccepting),
        "{outcome:?}"
    );
    assert!(connected > 0);
    let id = outcome.incident.clone().expect("an incident");
    let report = wait_for_incident(&h, &id);
    assert_eq!(report.trigger, incident::Trigger::AnalysisRollback);
    assert!(h.get("/").contains("variant=v1"));
}

#[test]
fn a_healthy_build_with_every_check_on_upgrades() {
    let h = start();
    let good = h.stage("v2", None);
    let (phases, outcome) = h.upgrade(good.id());
    assert_eq!(
        phases,
        [Spawned, Ready, Draining, Watching, Upgraded],
        "{outcome:?}"
    );
    assert_eq!(outcome.incident, None);
    let metrics = h.handle.metrics().unwrap();
    for check in ["not_accepting", "probe", "process"] {
        assert!(
            metrics.contains(&format!(
                "goshift_analysis_verdicts_total{{service=\"api\",check=\"{check}\",action=\"rollback\"}} 0"
            )),
            "{metrics}"
        );
    }
    assert!(
        metrics.contains(
            "goshift_analysis_measurements_total{service=\"api\",check=\"probe\",result=\"passed\"}"
        ) && !metrics.contains(
            "goshift_analysis_measurements_total{service=\"api\",check=\"probe\",result=\"passed\"} 0"
        ),
        "{metrics}"
    );
}
