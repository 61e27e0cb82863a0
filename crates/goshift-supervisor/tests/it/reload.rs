//! `SIGHUP`: upgrading to what `current` names, also when it arrives during another upgrade.

use goshift_supervisor::{Phase, Reply, Request, ServiceStatus, Trigger, UpgradeResult};

use crate::harness::{Harness, Manager, Setup, WAIT};

/// A watch window long enough that an upgrade is still running when the test acts on its
/// `Spawned` event, however slow the machine.
const WATCH_LONG: Setup<'static> = Setup {
    first_fault: None,
    service_lines: "watch = \"1s\"",
    unix: false,
    manager_notify: None,
    more_services: "",
    port: None,
    inherited: Vec::new(),
};

/// The service's status. Requests are handled in order, after every event before them, so
/// anything those events started shows here.
fn status(h: &Harness) -> ServiceStatus {
    match h
        .handle
        .request(Request::Status)
        .recv_timeout(WAIT)
        .unwrap()
    {
        Reply::Status { mut services } => services.remove(0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_sighup_during_an_upgrade_is_carried_out_after_it() {
    let manager = Manager::new();
    let h = Harness::start(Setup {
        manager_notify: Some(manager.path.clone()),
        ..WATCH_LONG
    });
    assert!(manager.told().starts_with("READY=1\n"));
    h.until(Phase::Running);
    let v2 = h.stage("v2", None);
    let v3 = h.stage("v3", None);
    let requested = h.request_upgrade(v2.id());
    h.until(Phase::Spawned);
    h.reload(&v3);
    assert!(manager.told().starts_with("RELOADING=1\n"));

    let (_, outcome) = h.finish(requested);
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
    assert_eq!(outcome.to, v2.id());
    assert_eq!(
        h.until(Phase::Upgraded).last().unwrap().release.as_deref(),
        Some(v2.id())
    );
    let reload = h.until(Phase::Upgraded);
    let spawned = reload
        .iter()
        .rfind(|e| e.phase == Phase::Spawned)
        .expect("the reload started a generation");
    assert_eq!(spawned.release.as_deref(), Some(v3.id()));
    assert_eq!(spawned.trigger, Some(Trigger::Reload));
    // The service manager hears that the reload is over only once v3 serves.
    assert!(manager.told().starts_with("READY=1\n"));
    assert_eq!(status(&h).release.as_deref(), Some(v3.id()));
    assert!(h.get("/").contains("variant=v3"));
    // The requested upgrade pointed `current` at v2 when it ended; the reload asked for v3.
    assert_eq!(h.store().current().unwrap().unwrap().id(), v3.id());
    assert_eq!(status(&h).upgrading, None);
}

#[test]
fn a_sighup_during_a_requested_upgrade_with_current_unchanged_does_not_undo_it() {
    let h = Harness::start(WATCH_LONG);
    h.until(Phase::Running);
    let v2 = h.stage("v2", None);
    let requested = h.request_upgrade(v2.id());
    h.until(Phase::Spawned);
    // `current` still names v1: it moves to v2 only when the upgrade succeeds.
    h.handle.signal(libc::SIGHUP);
    let (_, outcome) = h.finish(requested);
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
    let after = status(&h);
    assert_eq!(after.upgrading, None, "the SIGHUP started an upgrade back");
    assert_eq!(after.release.as_deref(), Some(v2.id()));
    assert!(h.get("/").contains("variant=v2"));
}

#[test]
fn a_reload_that_rolls_back_points_current_at_the_release_that_serves() {
    let h = Harness::start(Setup::default());
    h.until(Phase::Running);
    let v1 = h.store().current().unwrap().unwrap();
    let bad = h.stage("v2-crash", Some("crash-at-start"));
    h.reload(&bad);
    let events = h.until(Phase::RolledBack);
    assert_eq!(events.last().unwrap().trigger, Some(Trigger::Reload));
    assert_eq!(h.store().current().unwrap().unwrap().id(), v1.id());
    assert!(h.get("/").contains("variant=v1"));
}

#[test]
fn a_sighup_naming_a_missing_release_is_refused_in_the_log() {
    let manager = Manager::new();
    let h = Harness::start(Setup {
        manager_notify: Some(manager.path.clone()),
        ..Setup::default()
    });
    h.until(Phase::Running);
    assert!(manager.told().starts_with("READY=1\n"));
    let v1 = h.store().current().unwrap().unwrap();
    let v2 = h.stage("v2", None);
    std::fs::remove_file(&v2.binary).unwrap();
    h.reload(&v2);
    let event = h.until(Phase::Running).pop().unwrap();
    let detail = event.detail.unwrap_or_default();
    assert!(
        detail.starts_with(&format!("SIGHUP: not upgraded to {}", v2.id())),
        "{detail}"
    );
    assert_eq!(event.release.as_deref(), Some(v1.id()));
    assert!(h.get("/").contains("variant=v1"));
    // The reload is over once, and the next SIGHUP is a reload of its own.
    assert!(manager.told().starts_with("RELOADING=1\n"));
    assert!(manager.told().starts_with("READY=1\n"));
    h.handle.signal(libc::SIGHUP);
    assert!(manager.told().starts_with("RELOADING=1\n"));
}

#[test]
fn a_reload_leaves_current_to_the_operator() {
    let h = Harness::start(WATCH_LONG);
    h.until(Phase::Running);
    let v2 = h.stage("v2", None);
    let v3 = h.stage("v3", None);
    h.reload(&v2);
    h.until(Phase::Spawned);
    // Swapped again while the reload to v2 runs, not signalled (yet).
    h.store().set_current(v3.id()).unwrap();
    h.until(Phase::Upgraded);
    assert_eq!(status(&h).release.as_deref(), Some(v2.id()));
    assert_eq!(h.store().current().unwrap().unwrap().id(), v3.id());
}
