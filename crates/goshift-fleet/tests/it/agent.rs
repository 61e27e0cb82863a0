//! The agent's real loop against a real etcd, with hosts simulated in memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use goshift_fleet::agent::{self, AgentConfig, Host, UpgradeOutcome};
use goshift_fleet::model::{
    DesiredToolchain, HostProgress, HostState, HostStatus, LastChange, Rollout, RolloutState,
    ServiceReport, Stamp,
};
use goshift_fleet::{Fleet, now_rfc3339};

use crate::client::rollout;
use crate::server::{Clients as _, EtcdServer, wait_for};
use goshift_fleet::{Etcd, EtcdOptions, Keys};
use goshift_testkit::etcd::EtcdCluster;

/// Every simulated host's state, shared with the test.
#[derive(Debug, Default)]
struct World {
    hosts: BTreeMap<String, Machine>,
    /// Upgrades started so far, across hosts.
    upgrades: u32,
    /// The upgrade with this number (1-based) rolls back.
    fail_upgrade: Option<u32>,
    /// How long each upgrade takes.
    upgrade_time: Duration,
    /// The upgrade with this number (1-based) succeeds, but its service stops being ready.
    sick_upgrade: Option<u32>,
}

#[derive(Debug, Default, Clone)]
struct Machine {
    default: Option<String>,
    release: String,
    previous: Option<String>,
    upgraded: u32,
    reverted: u32,
    /// Its service is not ready.
    sick: bool,
}

struct SimHost {
    name: String,
    world: Arc<Mutex<World>>,
}

impl Host for SimHost {
    fn converge_toolchain(
        &mut self,
        desired: &DesiredToolchain,
    ) -> Result<Option<LastChange>, String> {
        let mut world = self.world.lock().unwrap();
        let machine = world.hosts.get_mut(&self.name).unwrap();
        let want = format!("go{}", desired.version);
        if machine.default.as_deref() == Some(want.as_str()) {
            return Ok(None);
        }
        machine.default = Some(want.clone());
        Ok(Some(LastChange {
            what: format!("use {want}"),
            result: "success".into(),
            at: now_rfc3339(),
            error: None,
        }))
    }

    fn upgrade(&mut self, rollout: &Rollout) -> UpgradeOutcome {
        let time = self.world.lock().unwrap().upgrade_time;
        std::thread::sleep(time);
        let mut world = self.world.lock().unwrap();
        world.upgrades += 1;
        let number = world.upgrades;
        let fail = world.fail_upgrade == Some(number);
        let sick = world.sick_upgrade == Some(number);
        let machine = world.hosts.get_mut(&self.name).unwrap();
        machine.sick = sick;
        if fail {
            return UpgradeOutcome::RolledBack {
                from: Some(machine.release.clone()),
                reason: "the new release never became ready".into(),
            };
        }
        machine.previous = Some(machine.release.clone());
        machine.release.clone_from(&rollout.id);
        machine.upgraded += 1;
        UpgradeOutcome::Upgraded {
            from: machine.previous.clone(),
            to: rollout.id.clone(),
        }
    }

    fn resume(&mut self, rollout: &Rollout) -> UpgradeOutcome {
        let world = self.world.lock().unwrap();
        let machine = &world.hosts[&self.name];
        if machine.release == rollout.id {
            UpgradeOutcome::Upgraded {
                from: machine.previous.clone(),
                to: rollout.id.clone(),
            }
        } else {
            UpgradeOutcome::RolledBack {
                from: Some(machine.release.clone()),
                reason: "it rolled back while the agent was away".into(),
            }
        }
    }

    fn revert(&mut self, _rollout: &Rollout, _progress: &HostProgress) -> Result<String, String> {
        let mut world = self.world.lock().unwrap();
        let machine = world.hosts.get_mut(&self.name).unwrap();
        let previous = machine.previous.take().ok_or("no previous release")?;
        machine.release.clone_from(&previous);
        machine.reverted += 1;
        Ok(previous)
    }

    fn status(&mut self) -> HostStatus {
        let world = self.world.lock().unwrap();
        let machine = &world.hosts[&self.name];
        HostStatus {
            host: self.name.clone(),
            environment: "prod".into(),
            labels: BTreeMap::new(),
            goshift_version: "test".into(),
            toolchains: machine.default.iter().cloned().collect(),
            default_toolchain: machine.default.clone(),
            services: vec![ServiceReport {
                name: "api".into(),
                release: Some(machine.release.clone()),
                go_version: None,
                phase: "running".into(),
                healthy: !machine.sick,
            }],
            audit: None,
            last_change: None,
            problems: Vec::new(),
            seen_revision: 0,
        }
    }
}

/// Agents running in threads, stopped on drop.
struct Agents {
    stops: Vec<Arc<AtomicBool>>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Agents {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.store(true, Ordering::Relaxed);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn start_agents(fleet: &Fleet, world: &Arc<Mutex<World>>, names: &[&str]) -> Agents {
    let mut agents = Agents {
        stops: Vec::new(),
        threads: Vec::new(),
    };
    for name in names {
        world.lock().unwrap().hosts.insert(
            (*name).to_owned(),
            Machine {
                release: "r0".into(),
                ..Machine::default()
            },
        );
        let stop = Arc::new(AtomicBool::new(false));
        let fleet = fleet.clone();
        let world = Arc::clone(world);
        let name = (*name).to_owned();
        let stop_here = Arc::clone(&stop);
        agents.threads.push(std::thread::spawn(move || {
            let config = AgentConfig {
                host: name.clone(),
                environment: "prod".into(),
                lease_ttl: Duration::from_secs(3),
                watch_wait: Duration::from_secs(2),
            };
            let mut host = SimHost { name, world };
            agent::run(&fleet, &config, &mut host, &stop_here, &mut |_| {}).unwrap();
        }));
        agents.stops.push(stop);
    }
    agents
}

/// Starts `rollout` as `goshift fleet rollout` does: targeting the live hosts of `prod`
/// that run its service.
fn start(fleet: &Fleet, mut rollout: Rollout) {
    let previous = fleet.rollout("prod", "api").unwrap();
    rollout.started.changed_at = now_rfc3339();
    rollout.targets = fleet
        .rollout_targets(&rollout)
        .unwrap()
        .into_keys()
        .collect();
    fleet.start_rollout(&rollout, &previous, None).unwrap();
}

/// Sets the desired toolchain of `prod`, as alice.
fn set_desired(fleet: &Fleet, version: &str, reason: &str) {
    let read = fleet.desired_toolchain("prod").unwrap();
    let desired = DesiredToolchain {
        version: version.to_owned(),
        stamp: Stamp {
            changed_by: "alice@ops".into(),
            changed_at: now_rfc3339(),
            reason: reason.to_owned(),
        },
    };
    fleet
        .set_toolchain("prod", &desired, read.revision, None)
        .unwrap();
}

fn rollout_state(fleet: &Fleet) -> RolloutState {
    fleet.rollout("prod", "api").unwrap().value.unwrap().state
}

fn wait_for_live_hosts(fleet: &Fleet, count: usize) {
    wait_for("every agent to report", Duration::from_secs(20), || {
        let board = fleet.board().unwrap();
        board.hosts.iter().filter(|h| h.alive).count() == count
    });
}

#[test]
fn a_toolchain_change_and_a_rollout_converge_on_every_host() {
    let Some(server) = EtcdServer::start("agent_converges") else {
        return;
    };
    let fleet = server.fleet();
    let world = Arc::new(Mutex::new(World::default()));
    let _agents = start_agents(&fleet, &world, &["h1", "h2", "h3", "h4"]);
    wait_for_live_hosts(&fleet, 4);
    set_desired(&fleet, "1.22.10", "test");
    wait_for("every host on go1.22.10", Duration::from_secs(20), || {
        let board = fleet.board().unwrap();
        board.hosts.len() == 4
            && board.hosts.iter().all(|h| {
                h.status.default_toolchain.as_deref() == Some("go1.22.10") && h.drift.is_empty()
            })
    });
    start(&fleet, rollout("r1"));
    wait_for("the rollout to complete", Duration::from_secs(30), || {
        rollout_state(&fleet) == RolloutState::Completed
    });
    let world = world.lock().unwrap();
    for (name, machine) in &world.hosts {
        assert_eq!(machine.release, "r1", "{name}");
        assert_eq!(machine.upgraded, 1, "{name} upgraded more than once");
    }
    let board = fleet.board().unwrap();
    let progress = &board.environments["prod"].rollouts[0].hosts;
    assert!(
        progress.values().all(|p| p.state == HostState::Upgraded),
        "{progress:?}"
    );
    assert!(board.environments["prod"].rollouts[0].slots.is_empty());
}

#[test]
fn a_canary_that_rolls_back_stops_the_rollout_and_no_other_host_upgrades() {
    let Some(server) = EtcdServer::start("agent_canary_fails") else {
        return;
    };
    let fleet = server.fleet();
    let world = Arc::new(Mutex::new(World {
        fail_upgrade: Some(1),
        ..World::default()
    }));
    let _agents = start_agents(&fleet, &world, &["h1", "h2", "h3"]);
    wait_for_live_hosts(&fleet, 3);
    start(&fleet, rollout("r1"));
    wait_for("the rollout to fail", Duration::from_secs(30), || {
        rollout_state(&fleet) == RolloutState::Failed
    });
    let current = fleet.rollout("prod", "api").unwrap().value.unwrap();
    let reason = current.state_reason.unwrap();
    assert!(reason.contains("never became ready"), "{reason}");
    // Give the others a full watch cycle to do something wrong.
    std::thread::sleep(Duration::from_secs(3));
    let world = world.lock().unwrap();
    assert_eq!(world.upgrades, 1, "only the canary may have tried");
    assert!(world.hosts.values().all(|m| m.release == "r0"));
}

#[test]
fn a_canary_unhealthy_within_min_healthy_fails_the_rollout_and_reverts() {
    let Some(server) = EtcdServer::start("agent_canary_unhealthy") else {
        return;
    };
    let fleet = server.fleet();
    // The canary's upgrade succeeds, then its service is not ready: the supervisor's
    // upgrade is over, and only the canary's watch can see it.
    let world = Arc::new(Mutex::new(World {
        sick_upgrade: Some(1),
        ..World::default()
    }));
    let _agents = start_agents(&fleet, &world, &["h1", "h2", "h3"]);
    wait_for_live_hosts(&fleet, 3);
    let mut watched = rollout("r1");
    watched.min_healthy_seconds = 600;
    watched.auto_revert = true;
    start(&fleet, watched);
    wait_for("the canary to revert", Duration::from_secs(30), || {
        let board = fleet.board().unwrap();
        board.environments["prod"].rollouts[0]
            .hosts
            .values()
            .any(|p| p.state == HostState::Reverted)
    });
    let current = fleet.rollout("prod", "api").unwrap().value.unwrap();
    assert_eq!(current.state, RolloutState::Failed);
    let reason = current.state_reason.unwrap();
    assert!(
        reason.contains("canary unhealthy within min_healthy (600s): it is not ready"),
        "{reason}"
    );
    let world = world.lock().unwrap();
    assert_eq!(world.upgrades, 1, "only the canary may have upgraded");
    assert!(world.hosts.values().all(|m| m.release == "r0"));
}

#[test]
fn with_auto_revert_a_failure_on_the_third_host_returns_every_upgraded_host() {
    let Some(server) = EtcdServer::start("agent_auto_revert") else {
        return;
    };
    let fleet = server.fleet();
    let world = Arc::new(Mutex::new(World {
        fail_upgrade: Some(3),
        ..World::default()
    }));
    let _agents = start_agents(&fleet, &world, &["h1", "h2", "h3", "h4"]);
    wait_for_live_hosts(&fleet, 4);
    let mut sequential = rollout("r1");
    sequential.max_parallel = 1;
    sequential.auto_revert = true;
    start(&fleet, sequential);
    wait_for("two hosts to revert", Duration::from_secs(30), || {
        let board = fleet.board().unwrap();
        let hosts = &board.environments["prod"].rollouts[0].hosts;
        hosts
            .values()
            .filter(|p| p.state == HostState::Reverted)
            .count()
            == 2
    });
    assert_eq!(rollout_state(&fleet), RolloutState::Failed);
    let world = world.lock().unwrap();
    assert_eq!(world.upgrades, 3);
    assert!(
        world.hosts.values().all(|m| m.release == "r0"),
        "{:?}",
        world.hosts
    );
    assert_eq!(world.hosts.values().map(|m| m.reverted).sum::<u32>(), 2);
}

#[test]
fn an_agent_killed_mid_upgrade_frees_its_slot_and_resumes_when_restarted() {
    let Some(server) = EtcdServer::start("agent_killed") else {
        return;
    };
    let fleet = server.fleet();
    let keys = fleet.keys().clone();
    // A host that died holding a slot mid-upgrade, as its agent left it: a slot bound to a
    // lease nobody renews, and its progress `upgrading`.
    let lease = fleet.etcd().grant_lease(2).unwrap();
    start(&fleet, rollout("r1"));
    let slot = goshift_fleet::model::Slot {
        rollout: "r1".into(),
        host: "h1".into(),
    };
    fleet
        .etcd()
        .put(
            &keys.slot("prod", "api", 0),
            &goshift_fleet::model::to_bytes(&slot),
            lease,
        )
        .unwrap();
    let progress = HostProgress {
        rollout: "r1".into(),
        state: HostState::Upgrading,
        from_release: Some("r0".into()),
        release: Some("r0".into()),
        since: goshift_fleet::now_unix(),
        detail: None,
    };
    fleet
        .etcd()
        .put(
            &keys.progress("prod", "api", "h1"),
            &goshift_fleet::model::to_bytes(&progress),
            0,
        )
        .unwrap();
    let world = Arc::new(Mutex::new(World::default()));
    // The local supervisor finished the upgrade on its own while the agent was dead.
    world.lock().unwrap().hosts.insert(
        "h1".into(),
        Machine {
            release: "r1".into(),
            previous: Some("r0".into()),
            ..Machine::default()
        },
    );
    let agents = start_agents(&fleet, &world, &["h2"]);
    // h2 is the next canary once h1's dead slot expires... but h1 is still `upgrading`, so
    // h2 waits for it (the canary is under way).
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(world.lock().unwrap().upgrades, 0);
    assert!(
        fleet
            .etcd()
            .get(&keys.slot("prod", "api", 0))
            .unwrap()
            .0
            .is_none()
    );
    // h1's agent comes back: it resumes, finds the upgrade done, and the rollout goes on.
    let h1 = start_agents_keep(&fleet, &world, "h1");
    wait_for("the rollout to complete", Duration::from_secs(30), || {
        rollout_state(&fleet) == RolloutState::Completed
    });
    assert_eq!(
        world.lock().unwrap().upgrades,
        1,
        "only h2 upgraded through its agent"
    );
    drop(agents);
    h1.stops
        .iter()
        .for_each(|s| s.store(true, Ordering::Relaxed));
}

#[test]
fn a_host_whose_lease_lapsed_mid_rollout_keeps_it_from_completing_until_it_is_back() {
    let Some(server) = EtcdServer::start("agent_host_gone") else {
        return;
    };
    let fleet = server.fleet();
    let world = Arc::new(Mutex::new(World::default()));
    let _agents = start_agents(&fleet, &world, &["h1", "h2"]);
    let h3 = start_agents(&fleet, &world, &["h3"]);
    wait_for_live_hosts(&fleet, 3);
    // The rollout starts (paused, so nobody moves yet) with h3 among its hosts; then h3's
    // agent goes away and its lease with it.
    let mut paused = rollout("r1");
    paused.state = RolloutState::Paused;
    start(&fleet, paused);
    drop(h3);
    wait_for_live_hosts(&fleet, 2);
    let stamp = Stamp {
        changed_by: "alice@ops".into(),
        changed_at: now_rfc3339(),
        reason: "go on".into(),
    };
    fleet
        .change_rollout("prod", "api", RolloutState::Running, stamp, None)
        .unwrap();
    wait_for("h1 and h2 to upgrade", Duration::from_secs(30), || {
        let board = fleet.board().unwrap();
        let rollout = &board.environments["prod"].rollouts[0];
        rollout.pending == ["h3: gone (its lease expired), not started"]
            && ["h1", "h2"].iter().all(|h| {
                rollout
                    .hosts
                    .get(*h)
                    .is_some_and(|p| p.state == HostState::Upgraded)
            })
    });
    // Give h1 and h2 a full watch cycle to complete the rollout wrongly.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(rollout_state(&fleet), RolloutState::Running);
    assert_eq!(world.lock().unwrap().hosts["h3"].release, "r0");
    // h3 comes back on the old release: it upgrades, and only then the rollout completes.
    let _h3 = start_agents_keep(&fleet, &world, "h3");
    wait_for("the rollout to complete", Duration::from_secs(30), || {
        rollout_state(&fleet) == RolloutState::Completed
    });
    let world = world.lock().unwrap();
    assert!(
        world
            .hosts
            .values()
            .all(|m| m.release == "r1" && m.upgraded == 1)
    );
    let current = fleet.rollout("prod", "api").unwrap().value.unwrap();
    let reason = current.state_reason.unwrap();
    assert!(reason.contains("all 3 targeted hosts"), "{reason}");
}

/// Starts an agent for a host already in the world, keeping its machine as it is.
fn start_agents_keep(fleet: &Fleet, world: &Arc<Mutex<World>>, name: &str) -> Agents {
    let machine = world.lock().unwrap().hosts[name].clone();
    let agents = start_agents(fleet, world, &[name]);
    world.lock().unwrap().hosts.insert(name.to_owned(), machine);
    agents
}

#[test]
fn a_rollout_completes_when_the_etcd_leader_is_killed_in_the_middle() {
    let Some(mut cluster) = EtcdCluster::start("agent_leader_killed", 3) else {
        return;
    };
    let etcd = Etcd::new(EtcdOptions {
        endpoints: cluster.urls(),
        ..EtcdOptions::default()
    })
    .unwrap();
    let fleet = Fleet::new(etcd, Keys::new("/goshift/").unwrap());
    let world = Arc::new(Mutex::new(World {
        upgrade_time: Duration::from_millis(500),
        ..World::default()
    }));
    let _agents = start_agents(&fleet, &world, &["h1", "h2", "h3", "h4", "h5"]);
    wait_for_live_hosts(&fleet, 5);
    let mut one_at_a_time = rollout("r1");
    one_at_a_time.max_parallel = 1;
    start(&fleet, one_at_a_time);
    wait_for("two hosts to upgrade", Duration::from_secs(30), || {
        world
            .lock()
            .unwrap()
            .hosts
            .values()
            .filter(|m| m.upgraded == 1)
            .count()
            >= 2
    });
    let leader = cluster.leader().expect("the cluster has a leader");
    cluster.kill(leader);
    wait_for("the rollout to complete", Duration::from_mins(1), || {
        fleet.rollout("prod", "api").is_ok_and(|read| {
            read.value
                .is_some_and(|r| r.state == RolloutState::Completed)
        })
    });
    let world = world.lock().unwrap();
    for (name, machine) in &world.hosts {
        assert_eq!(machine.release, "r1", "{name}");
        assert_eq!(machine.upgraded, 1, "{name} upgraded more than once");
    }
}

#[test]
fn agents_reconnect_after_etcd_restarts_and_converge_on_a_change_made_afterwards() {
    let Some(mut server) = EtcdServer::start("agent_etcd_restart") else {
        return;
    };
    let fleet = server.fleet();
    let world = Arc::new(Mutex::new(World::default()));
    let _agents = start_agents(&fleet, &world, &["h1", "h2"]);
    wait_for_live_hosts(&fleet, 2);
    // Down for longer than a lease: the agents' leases expire and must be granted anew.
    server.restart_after(Duration::from_secs(4));
    assert!(
        world
            .lock()
            .unwrap()
            .hosts
            .values()
            .all(|m| m.default.is_none()),
        "a host changed while etcd was away"
    );
    set_desired(&fleet, "1.22.10", "after the restart");
    wait_for(
        "both hosts to converge and be alive",
        Duration::from_secs(30),
        || {
            let board = fleet.board().unwrap();
            board.hosts.len() == 2
                && board
                    .hosts
                    .iter()
                    .all(|h| h.alive && h.status.default_toolchain.as_deref() == Some("go1.22.10"))
        },
    );
}
