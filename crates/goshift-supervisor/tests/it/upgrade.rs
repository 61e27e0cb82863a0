//! Upgrade paths: every phase sequence, checked from the published events.

use goshift_supervisor::{Phase, Reply, Request, UpgradeResult};

use crate::harness::{Harness, Setup, WAIT};

use Phase::{Draining, Ready, RolledBack, RollingBack, Spawned, Upgraded, Watching};

#[test]
fn upgrade_then_rollback_swaps_releases() {
    let h = Harness::start(Setup::default());
    h.until(Phase::Running);
    assert!(h.get("/").contains("variant=v1"));
    let v1 = h.store().current().unwrap().unwrap();
    let v2 = h.stage("v2", None);

    let (phases, outcome) = h.upgrade(v2.id());
    assert_eq!(phases, [Spawned, Ready, Draining, Watching, Upgraded]);
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
    assert_eq!(outcome.from.as_deref(), Some(v1.id()));
    assert!(outcome.handoff_overhead_ms.is_some());
    assert!(!outcome.old_killed);
    assert!(h.get("/").contains("variant=v2"));
    assert_eq!(h.store().current().unwrap().unwrap().id(), v2.id());

    let (phases, outcome) = h.finish(h.handle.request(Request::Rollback {
        service: "api".into(),
        reason: None,
    }));
    assert_eq!(phases, [Spawned, Ready, Draining, Watching, Upgraded]);
    assert_eq!(outcome.to, v1.id());
    assert!(h.get("/").contains("variant=v1"));
    assert_eq!(h.store().current().unwrap().unwrap().id(), v1.id());
    let metrics = h.handle.metrics().unwrap();
    assert!(
        metrics.contains("goshift_upgrades_total{service=\"api\",result=\"upgraded\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("goshift_rollbacks_total{service=\"api\",reason=\"requested\"} 1"),
        "{metrics}"
    );
    h.stop();
}

#[test]
fn crash_at_start_rolls_back_without_touching_the_old_generation() {
    let h = Harness::start(Setup::default());
    let running = h.until(Phase::Running);
    let old_pid = running.last().unwrap().new_pid;
    let bad = h.stage("v2-crash", Some("crash-at-start"));
    let (phases, outcome) = h.upgrade(bad.id());
    assert_eq!(phases, [Spawned, RolledBack]);
    assert_eq!(outcome.result, UpgradeResult::RolledBack);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("exited before it was ready"), "{reason}");
    assert!(h.get("/").contains(&format!("pid={}", old_pid.unwrap())));
    assert_ne!(h.store().current().unwrap().unwrap().id(), bad.id());
}

#[test]
fn a_new_generation_that_binds_its_own_port_fails_and_rolls_back() {
    let h = Harness::start(Setup::default());
    h.until(Phase::Running);
    let bad = h.stage("v2-bind", Some("bind-own-port"));
    let (phases, outcome) = h.upgrade(bad.id());
    assert_eq!(phases, [Spawned, RolledBack]);
    assert_eq!(outcome.result, UpgradeResult::RolledBack);
    assert!(h.get("/").contains("variant=v1"));
}

#[test]
fn never_ready_times_out_and_rolls_back() {
    let h = Harness::start(Setup {
        service_lines: "ready = { notify = true, timeout = \"400ms\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let bad = h.stage("v2-never", Some("never-ready"));
    let (phases, outcome) = h.upgrade(bad.id());
    assert_eq!(phases, [Spawned, RolledBack]);
    assert!(outcome.reason.unwrap().contains("not ready within 400ms"));
    assert!(h.get("/").contains("variant=v1"));
    let metrics = h.handle.metrics().unwrap();
    assert!(metrics.contains("reason=\"ready_timeout\"} 1"), "{metrics}");
}

#[test]
fn death_in_the_watch_window_starts_the_previous_release_again() {
    let h = Harness::start(Setup {
        service_lines: "watch = \"30s\"\nenv = { GOSHIFT_TEST_PANIC_AFTER_MS = \"300\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let bad = h.stage("v2-panic", Some("ready-then-panic"));
    let (phases, outcome) = h.upgrade(bad.id());
    // The death may come while the old generation is still draining or after it is gone.
    assert_eq!(phases[..3], [Spawned, Ready, Draining]);
    assert_eq!(phases[phases.len() - 2..], [RollingBack, RolledBack]);
    assert!(phases.len() <= 6, "{phases:?}");
    assert_eq!(outcome.result, UpgradeResult::RolledBack);
    assert!(outcome.reason.unwrap().contains("died after the cutover"));
    assert!(h.get("/").contains("variant=v1"));
    assert_ne!(h.store().current().unwrap().unwrap().id(), bad.id());
}

#[test]
fn an_old_generation_ignoring_sigterm_is_killed_after_its_grace() {
    let h = Harness::start(Setup {
        first_fault: Some("ignore-sigterm"),
        service_lines: "stop = { grace = \"300ms\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let v2 = h.stage("v2", None);
    let (phases, outcome) = h.upgrade(v2.id());
    assert_eq!(phases, [Spawned, Ready, Draining, Watching, Upgraded]);
    assert!(outcome.old_killed);
    let metrics = h.handle.metrics().unwrap();
    assert!(
        metrics.contains("goshift_graceful_shutdown_failures_total{service=\"api\"} 1"),
        "{metrics}"
    );
}

#[test]
fn one_upgrade_at_a_time_and_the_same_release_is_a_no_op() {
    let h = Harness::start(Setup {
        service_lines: "ready = { notify = true, timeout = \"1s\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let current = h.store().current().unwrap().unwrap();
    let (phases, outcome) = h.upgrade(current.id());
    assert!(phases.is_empty());
    assert_eq!(outcome.result, UpgradeResult::Unchanged);

    let slow = h.stage("v2-never", Some("never-ready"));
    let first = h.request_upgrade(slow.id());
    // Wait until the first upgrade has really started before asking again.
    match first.recv_timeout(WAIT).unwrap() {
        Reply::Phase { event } => assert_eq!(event.phase, Spawned),
        other => panic!("{other:?}"),
    }
    let second = h.request_upgrade(slow.id());
    match second.recv_timeout(WAIT).unwrap() {
        Reply::Error { message } => assert!(message.contains("already in progress"), "{message}"),
        other => panic!("{other:?}"),
    }
    let (_, outcome) = h.finish(first);
    assert_eq!(outcome.result, UpgradeResult::RolledBack);

    let unknown = h.handle.request(Request::Upgrade {
        service: "api".into(),
        release: "nope".into(),
        reason: None,
    });
    match unknown.recv_timeout(WAIT).unwrap() {
        Reply::Error { message } => assert!(message.contains("no release `nope`"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_probe_decides_readiness() {
    let h = Harness::start(Setup {
        service_lines: "ready = { http = \"/healthz\", timeout = \"600ms\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let failing = h.stage("v2-5xx", Some("5xx"));
    let (phases, _) = h.upgrade(failing.id());
    assert_eq!(phases, [Spawned, RolledBack]);
    // `http` set and `notify` unset: readiness is the probe's alone, so a build that says
    // READY=1 but answers 500 is not promoted.
    let liar = h.stage("v2-liar", Some("ready-5xx"));
    let (phases, outcome) = h.upgrade(liar.id());
    assert_eq!(phases, [Spawned, RolledBack]);
    assert_eq!(outcome.result, UpgradeResult::RolledBack);
    assert!(h.get("/").contains("variant=v1"));
    let good = h.stage("v2", None);
    let (phases, outcome) = h.upgrade(good.id());
    assert_eq!(phases, [Spawned, Ready, Draining, Watching, Upgraded]);
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
}

#[test]
fn extend_timeout_usec_gives_a_slow_start_more_time() {
    let h = Harness::start(Setup {
        service_lines: "ready = { notify = true, timeout = \"1s\" }\nenv = { GOSHIFT_TEST_START_MS = \"2000\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let slow = h.stage("v2-slow", Some("slow-start"));
    let (phases, outcome) = h.upgrade(slow.id());
    assert_eq!(phases, [Spawned, RolledBack]);
    assert!(outcome.reason.unwrap().contains("not ready within 1s"));
    let extended = h.stage("v2-extend", Some("slow-start-extend"));
    let (phases, outcome) = h.upgrade(extended.id());
    assert_eq!(phases, [Spawned, Ready, Draining, Watching, Upgraded]);
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
}

#[test]
fn watching_is_published_only_after_the_old_generation_is_gone() {
    let h = Harness::start(Setup {
        first_fault: Some("slow-drain"),
        service_lines: "env = { GOSHIFT_TEST_DRAIN_MS = \"1500\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let v2 = h.stage("v2", None);
    let replies = h.request_upgrade(v2.id());
    let mut old_pid = None;
    loop {
        match replies.recv_timeout(WAIT).unwrap() {
            Reply::Phase { event } if event.phase == Draining => {
                // Draining: the old generation got its signal but is still draining.
                old_pid = event.old_pid;
                let pid = old_pid.unwrap();
                assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
            }
            Reply::Phase { event } if event.phase == Watching => {
                let pid = old_pid.expect("draining came first");
                assert!(
                    !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                    "watching was published while the old generation {pid} still existed"
                );
            }
            Reply::Outcome { outcome } => {
                assert_eq!(outcome.result, UpgradeResult::Upgraded);
                assert!(!outcome.old_killed);
                break;
            }
            Reply::Phase { .. } => {}
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn tcp_probe_waits_for_the_generation_to_accept() {
    let h = Harness::start(Setup {
        service_lines: "ready = { notify = false, tcp = true, timeout = \"10s\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let v2 = h.stage("v2", None);
    let (phases, outcome) = h.upgrade(v2.id());
    assert_eq!(phases, [Spawned, Ready, Draining, Watching, Upgraded]);
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
    // A generation that dies before accepting is never taken for ready.
    let bad = h.stage("v3-crash", Some("crash-at-start"));
    let (phases, _) = h.upgrade(bad.id());
    assert_eq!(phases, [Spawned, RolledBack]);
}

#[test]
fn a_death_in_the_watch_window_names_the_failed_pid() {
    let h = Harness::start(Setup {
        service_lines: "watch = \"30s\"\nenv = { GOSHIFT_TEST_PANIC_AFTER_MS = \"300\" }",
        ..Setup::default()
    });
    h.until(Phase::Running);
    let bad = h.stage("v2-panic", Some("ready-then-panic"));
    let replies = h.request_upgrade(bad.id());
    let mut failed = None;
    let mut events = Vec::new();
    let outcome = loop {
        match replies.recv_timeout(WAIT).unwrap() {
            Reply::Phase { event } => {
                if event.phase == Spawned {
                    failed = event.new_pid;
                }
                events.push(event);
            }
            Reply::Outcome { outcome } => break outcome,
            other => panic!("{other:?}"),
        }
    };
    let failed = failed.expect("a spawned event with the new pid");
    let rolled_back = events.last().unwrap();
    assert_eq!(rolled_back.phase, RolledBack);
    assert_eq!(rolled_back.failed_pid, Some(failed), "{rolled_back:?}");
    assert_eq!(rolled_back.old_pid, Some(failed), "{rolled_back:?}");
    let serving = rolled_back.new_pid.expect("the restarted previous release");
    assert_ne!(serving, failed);
    assert!(h.get("/").contains(&format!("pid={serving}")));
    assert_eq!(outcome.failed_pid, Some(failed));
    assert_eq!(
        outcome.rollback_reason,
        Some(goshift_supervisor::RollbackReason::DiedInWatch)
    );
}
