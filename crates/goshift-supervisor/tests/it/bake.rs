//! The bake against real generations of the test service: both serve from the shared
//! socket, an abort stops the new one alone, and the old one's pid never changes.

use goshift_supervisor::incident;
use goshift_supervisor::{Phase, Reply, Request, RollbackReason, UpgradeResult};

use crate::analysis::wait_for_incident;
use crate::harness::{Harness, Setup, WAIT};

use Phase::{Baking, Draining, Ready, RolledBack, Spawned, Upgraded, Watching};

/// A probe that one answer other than 200 fails: during the bake it reaches either
/// generation, as the kernel hands out the connections.
const PROBE: &str = r#"
[services.api.analysis.probe]
interval = "50ms"
failures = 1
requests = [{ path = "/" }]
success_rate_min = 0.99
"#;

/// `api` with `bake` and the probe, running v1; returns the harness and v1's pid.
fn start(lines: &'static str) -> (Harness, u32) {
    let h = Harness::start(Setup {
        service_lines: lines,
        more_services: PROBE,
        ..Setup::default()
    });
    let running = h.until(Phase::Running);
    let pid = running.last().and_then(|e| e.new_pid).expect("a pid");
    (h, pid)
}

fn serving_pid(h: &Harness) -> Option<u32> {
    match h.handle.request(Request::Status).recv_timeout(WAIT) {
        Ok(Reply::Status { services }) => services[0].pid,
        other => panic!("no status: {other:?}"),
    }
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_healthy_build_bakes_beside_the_old_one_then_upgrades() {
    let (h, old) = start("bake = \"300ms\"");
    let good = h.stage("v2", None);
    let (phases, outcome) = h.upgrade(good.id());
    assert_eq!(
        phases,
        [Spawned, Ready, Baking, Draining, Watching, Upgraded],
        "{outcome:?}"
    );
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
    assert_ne!(serving_pid(&h), Some(old));
    assert!(h.get("/").contains("variant=v2"));
}

#[test]
fn a_build_that_answers_500_is_rolled_back_during_the_bake_and_the_old_one_never_stops() {
    let (h, old) = start("bake = \"60s\"");
    let before = h.store().current().unwrap().unwrap();
    let bad = h.stage("v2-5xx", Some("ready-5xx"));
    let (phases, outcome) = h.upgrade(bad.id());
    assert_eq!(phases, [Spawned, Ready, Baking, RolledBack], "{outcome:?}");
    assert_eq!(outcome.result, UpgradeResult::RolledBack);
    assert_eq!(outcome.rollback_reason, Some(RollbackReason::Probe));
    let id = outcome.incident.clone().expect("an incident");
    let report = wait_for_incident(&h, &id);
    assert_eq!(report.trigger, incident::Trigger::AnalysisRollback);
    assert_eq!(report.pid, outcome.failed_pid);
    assert!(
        report.timeline.iter().any(|t| t.phase == "baking"),
        "{:?}",
        report.timeline
    );
    assert_eq!(serving_pid(&h), Some(old), "the old generation serves on");
    assert!(alive(old));
    assert_eq!(
        h.store().current().unwrap().unwrap().id(),
        before.id(),
        "`current` stays"
    );
}

#[test]
fn svc_rollback_during_the_bake_stops_the_new_generation_only() {
    let (h, old) = start("bake = \"60s\"");
    let good = h.stage("v2", None);
    let replies = h.request_upgrade(good.id());
    h.until(Baking);
    let (_, requested) = h.finish(h.handle.request(Request::Rollback {
        service: "api".into(),
        reason: None,
    }));
    let (phases, outcome) = h.finish(replies);
    assert_eq!(phases, [Spawned, Ready, Baking, RolledBack]);
    for result in [&requested, &outcome] {
        assert_eq!(result.result, UpgradeResult::RolledBack);
        assert_eq!(result.rollback_reason, Some(RollbackReason::Requested));
    }
    assert_eq!(serving_pid(&h), Some(old));
    assert!(alive(old));
}
