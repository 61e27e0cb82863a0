//! The etcd client and the operators' transactions.

use std::time::{Duration, Instant};

use goshift_fleet::model::{DesiredToolchain, Rollout, RolloutState, Slot, Stamp};
use goshift_fleet::{
    AuditCopy, Etcd, EtcdError, EtcdOptions, FleetError, Read, TxnOutcome, WatchOutcome, Write,
    model,
};

use crate::server::{Clients as _, EtcdServer, wait_for};

fn stamp(who: &str) -> Stamp {
    Stamp {
        changed_by: who.to_owned(),
        changed_at: "2026-12-03T08:00:00Z".to_owned(),
        reason: "test".to_owned(),
    }
}

fn desired(version: &str, who: &str) -> DesiredToolchain {
    DesiredToolchain {
        version: version.to_owned(),
        stamp: stamp(who),
    }
}

pub(crate) fn rollout(id: &str) -> Rollout {
    Rollout {
        id: id.to_owned(),
        service: "api".to_owned(),
        environment: "prod".to_owned(),
        artifact: "file:///srv/api".to_owned(),
        sha256: "a".repeat(64),
        max_parallel: 2,
        canary: 1,
        min_healthy_seconds: 0,
        auto_revert: false,
        state: RolloutState::Running,
        state_reason: None,
        started: stamp("alice@ops"),
        changed: None,
        targets: Vec::new(),
    }
}

#[test]
fn two_operators_racing_on_one_key_one_gets_a_conflict_naming_the_other() {
    let Some(server) = EtcdServer::start("two_operators_racing") else {
        return;
    };
    let fleet = server.fleet();
    // Both read the (absent) key, then both write.
    let alice_read = fleet.desired_toolchain("prod").unwrap();
    let bob_read = fleet.desired_toolchain("prod").unwrap();
    assert_eq!(alice_read.revision, 0);
    // Each change carries a copy of its audit record, written in the same transaction.
    let copy = |id: &str| AuditCopy {
        id: id.to_owned(),
        value: format!("{{\"intent\":\"{id}\"}}").into_bytes(),
    };
    fleet
        .set_toolchain(
            "prod",
            &desired("1.22.10", "alice@ops"),
            alice_read.revision,
            Some(&copy("alice-1")),
        )
        .unwrap();
    let error = fleet
        .set_toolchain(
            "prod",
            &desired("1.21.13", "bob@ops"),
            bob_read.revision,
            Some(&copy("bob-1")),
        )
        .unwrap_err();
    assert!(fleet.audit_copy("alice-1").unwrap().is_some());
    assert_eq!(fleet.audit_copy("bob-1").unwrap(), None, "a conflict wrote");
    let text = error.to_string();
    assert!(matches!(error, FleetError::Conflict { .. }), "{text}");
    assert!(text.contains("alice@ops"), "{text}");
    assert!(text.contains("2026-12-03T08:00:00Z"), "{text}");
    // Alice's value stands.
    let now = fleet.desired_toolchain("prod").unwrap();
    assert_eq!(now.value.unwrap().version, "1.22.10");
    // Based on the fresh revision, Bob's change goes through.
    fleet
        .set_toolchain("prod", &desired("1.21.13", "bob@ops"), now.revision, None)
        .unwrap();
}

#[test]
fn a_watch_sees_changes_made_while_nobody_watched_and_reports_compaction() {
    let Some(server) = EtcdServer::start("watch_resume") else {
        return;
    };
    let etcd = server.client();
    let first = etcd.put("/goshift/env/prod/toolchain", b"{}", 0).unwrap();
    // Nothing new after `first`: the watch waits and comes back quiet.
    assert_eq!(
        etcd.watch_prefix("/goshift/env/prod/", first + 1, Duration::from_millis(300))
            .unwrap(),
        WatchOutcome::Quiet
    );
    // A change made between two watches is seen by the next one resuming after `first`.
    let second = etcd.put("/goshift/env/prod/x", b"{}", 0).unwrap();
    let seen = etcd
        .watch_prefix("/goshift/env/prod/", first + 1, Duration::from_secs(5))
        .unwrap();
    let WatchOutcome::Changed { revision, events } = seen else {
        panic!("no change seen: {seen:?}");
    };
    assert_eq!(revision, second);
    let keys: Vec<(&str, bool)> = events
        .iter()
        .map(|e| (e.kv.key.as_str(), e.deleted))
        .collect();
    assert_eq!(keys, [("/goshift/env/prod/x", false)]);
    assert_eq!(events[0].kv.value, b"{}");
    // Other prefixes do not wake it; a deletion is an event too.
    etcd.put("/goshift/hosts/h1", b"{}", 0).unwrap();
    etcd.delete("/goshift/env/prod/x").unwrap();
    let seen = etcd
        .watch_prefix("/goshift/env/prod/", second + 1, Duration::from_secs(5))
        .unwrap();
    let WatchOutcome::Changed { events, .. } = seen else {
        panic!("no change seen: {seen:?}");
    };
    let keys: Vec<(&str, bool)> = events
        .iter()
        .map(|e| (e.kv.key.as_str(), e.deleted))
        .collect();
    assert_eq!(keys, [("/goshift/env/prod/x", true)]);
    let third = etcd.put("/goshift/env/prod/y", b"{}", 0).unwrap();
    // After a compaction, resuming from an old revision says so.
    let body = format!(r#"{{"revision":"{third}"}}"#);
    ureq::post(format!("{}/v3/kv/compaction", server.url()))
        .send(body)
        .unwrap();
    assert!(matches!(
        etcd.watch_prefix("/goshift/env/prod/", first, Duration::from_secs(5))
            .unwrap(),
        WatchOutcome::Compacted { .. }
    ));
}

#[test]
fn an_unreachable_etcd_fails_within_a_bounded_time_naming_the_endpoints() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let etcd = Etcd::new(EtcdOptions {
        endpoints: vec![format!("http://127.0.0.1:{port}")],
        ..EtcdOptions::default()
    })
    .unwrap();
    let started = Instant::now();
    let error = etcd.get("/goshift/x").unwrap_err();
    assert!(matches!(error, EtcdError::Unreachable { .. }), "{error}");
    assert!(error.to_string().contains(&port.to_string()), "{error}");
    // Bounded by the call timeout (not a timing assertion on speed: a hang would fail).
    assert!(started.elapsed() < goshift_fleet::CALL_TIMEOUT * 3);
}

#[test]
fn a_second_member_answers_when_the_first_is_down() {
    let Some(server) = EtcdServer::start("failover") else {
        return;
    };
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let etcd = Etcd::new(EtcdOptions {
        endpoints: vec![format!("http://127.0.0.1:{dead}"), server.url().to_owned()],
        ..EtcdOptions::default()
    })
    .unwrap();
    etcd.put("/k", b"v", 0).unwrap();
    assert_eq!(etcd.get("/k").unwrap().0.unwrap().value, b"v");
}

#[test]
fn a_slot_bound_to_a_lease_frees_itself_when_the_lease_expires() {
    let Some(server) = EtcdServer::start("slot_lease") else {
        return;
    };
    let fleet = server.fleet();
    let etcd = fleet.etcd();
    let keys = fleet.keys();
    let lease = etcd.grant_lease(2).unwrap();
    let slot = keys.slot("prod", "api", 0);
    let value = model::to_bytes(&Slot {
        rollout: "r1".into(),
        host: "h1".into(),
    });
    let take = |lease| {
        etcd.txn_if_unchanged(
            &slot,
            0,
            &[Write::Put {
                key: slot.clone(),
                value: value.clone(),
                lease,
            }],
        )
        .unwrap()
    };
    assert!(matches!(take(lease), TxnOutcome::Written { .. }));
    // Taken: a second host cannot have it.
    let other = etcd.grant_lease(30).unwrap();
    assert!(matches!(
        take(other),
        TxnOutcome::Conflict { current: Some(_) }
    ));
    // The holder dies (no keep-alive): the slot frees itself.
    wait_for("the slot to free", Duration::from_secs(15), || {
        etcd.get(&slot).unwrap().0.is_none()
    });
    assert!(matches!(take(other), TxnOutcome::Written { .. }));
    assert!(etcd.keep_alive(lease).unwrap() <= 0);
    assert!(etcd.keep_alive(other).unwrap() > 0);
}

#[test]
fn rollouts_are_replaced_only_when_finished_and_kept_in_the_history() {
    let Some(server) = EtcdServer::start("rollout_history") else {
        return;
    };
    let fleet = server.fleet();
    let none = fleet.rollout("prod", "api").unwrap();
    fleet.start_rollout(&rollout("r1"), &none, None).unwrap();
    let running = fleet.rollout("prod", "api").unwrap();
    let error = fleet
        .start_rollout(&rollout("r2"), &running, None)
        .unwrap_err();
    assert!(error.to_string().contains("running"), "{error}");
    // Starting from a stale read is a conflict.
    let error = fleet
        .start_rollout(&rollout("r2"), &none, None)
        .unwrap_err();
    assert!(matches!(error, FleetError::Conflict { .. }), "{error}");
    fleet
        .change_rollout("prod", "api", RolloutState::Paused, stamp("bob@ops"), None)
        .unwrap();
    let error = fleet
        .change_rollout("prod", "api", RolloutState::Paused, stamp("bob@ops"), None)
        .unwrap_err();
    assert!(error.to_string().contains("paused"), "{error}");
    fleet
        .change_rollout("prod", "api", RolloutState::Running, stamp("bob@ops"), None)
        .unwrap();
    fleet
        .change_rollout("prod", "api", RolloutState::Aborted, stamp("bob@ops"), None)
        .unwrap();
    let aborted: Read<Rollout> = fleet.rollout("prod", "api").unwrap();
    fleet.start_rollout(&rollout("r2"), &aborted, None).unwrap();
    let history = fleet.history("prod", "api").unwrap();
    let ids: Vec<(&str, RolloutState)> = history.iter().map(|r| (r.id.as_str(), r.state)).collect();
    assert_eq!(
        ids,
        [("r1", RolloutState::Aborted), ("r2", RolloutState::Running)]
    );
}

#[test]
fn a_value_written_by_hand_that_does_not_parse_is_on_the_board() {
    let Some(server) = EtcdServer::start("bad_value") else {
        return;
    };
    let fleet = server.fleet();
    fleet
        .etcd()
        .put("/goshift/env/prod/toolchain", b"{\"version\": 1.22}", 0)
        .unwrap();
    let board = fleet.board().unwrap();
    assert_eq!(board.invalid.len(), 1, "{:?}", board.invalid);
    assert!(board.invalid[0].starts_with("/goshift/env/prod/toolchain:"));
    let error = fleet.desired_toolchain("prod").unwrap_err();
    assert!(matches!(error, FleetError::BadValue { .. }), "{error}");
}

#[test]
fn a_slot_taken_on_a_stale_view_of_the_environment_is_refused() {
    let Some(server) = EtcdServer::start("stale_slot") else {
        return;
    };
    let fleet = server.fleet();
    let etcd = fleet.etcd();
    let keys = fleet.keys();
    let prefix = keys.environment("prod");
    let slot = keys.slot("prod", "api", 0);
    let take = Write::Put {
        key: slot.clone(),
        value: b"{}".to_vec(),
        lease: 0,
    };
    // Two hosts read the environment at the same revision and both decide to take slot 0.
    let read = etcd.get_prefix(&prefix).unwrap().revision;
    // The first takes it, upgrades, records a failure and frees the slot again...
    assert!(
        etcd.txn_if_prefix_unchanged(&prefix, read, std::slice::from_ref(&take))
            .unwrap()
    );
    etcd.put(&keys.progress("prod", "api", "h1"), b"{}", 0)
        .unwrap();
    etcd.delete(&slot).unwrap();
    // ...so the slot is free, but the second host's decision is stale: refused.
    assert!(
        !etcd
            .txn_if_prefix_unchanged(&prefix, read, std::slice::from_ref(&take))
            .unwrap()
    );
    assert!(etcd.get(&slot).unwrap().0.is_none());
    // Changes elsewhere under the prefix (host status) do not matter.
    let fresh = etcd.get_prefix(&prefix).unwrap().revision;
    etcd.put(&keys.host("h1"), b"{}", 0).unwrap();
    assert!(
        etcd.txn_if_prefix_unchanged(&prefix, fresh, &[take])
            .unwrap()
    );
}
