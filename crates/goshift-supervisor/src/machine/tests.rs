//! Table tests of the core, one per transition: no processes, no sleeps, a simulated clock.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::control::Reply;
use crate::notify::NotifyMessage;
use crate::phase::{Outcome, Phase, PhaseEvent, RollbackReason, UpgradeResult};
use crate::release::{Provenance, Release};

use super::{Core, Effect, Input, Kind, Now, ReloadTarget, Rules, UpgradeRequest};

use Phase::{
    Draining, Ready, RolledBack, RollingBack, Running, Spawned, Starting, Stopped, Stopping,
    Upgraded, Watching,
};

pub(super) fn rules(name: &str) -> Rules {
    Rules {
        name: name.to_owned(),
        notify_ready: true,
        ready_timeout: Duration::from_secs(5),
        stop_signal: libc::SIGTERM,
        grace: Duration::from_secs(10),
        watch: Duration::from_secs(3),
        bake: None,
        backoff: Duration::from_secs(1),
        backoff_max: Duration::from_secs(4),
        checks: Vec::new(),
    }
}

pub(super) fn release(id: &str) -> Release {
    Release {
        provenance: Provenance {
            id: id.to_owned(),
            sha256: String::new(),
            size: 0,
            source: PathBuf::new(),
            staged_at: String::new(),
            go_version: None,
            main_module: None,
            revision: None,
            reason: None,
        },
        binary: PathBuf::from(format!("/releases/{id}")),
    }
}

/// The core with a simulated driver: spawns get pids at once, stop signals are sent at once.
pub(super) struct Sim {
    pub(super) core: Core,
    t0: Instant,
    elapsed: Duration,
    next_pid: u32,
    /// pid → (service, generation) of every started child not yet reaped.
    pub(super) live: HashMap<u32, (usize, u64)>,
    /// Make the next spawn fail.
    pub(super) fail_spawn: bool,
}

impl Sim {
    pub(super) fn new(services: Vec<Rules>) -> (Self, Vec<Effect>) {
        let t0 = Instant::now();
        let now = Now {
            mono: t0,
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_243_512),
        };
        let machines = services.into_iter().map(|r| (r, release("r1"))).collect();
        let mut sim = Self {
            core: Core::new(machines, now),
            t0,
            elapsed: Duration::ZERO,
            next_pid: 100,
            live: HashMap::new(),
            fail_spawn: false,
        };
        let effects = sim.core.start(now);
        let effects = sim.carry_out(effects);
        (sim, effects)
    }

    /// One service `api`, started and ready.
    pub(super) fn running() -> Self {
        let (mut sim, _) = Self::new(vec![rules("api")]);
        let pid = sim.pid_of(0);
        sim.ready(pid);
        sim
    }

    pub(super) fn now(&self) -> Now {
        Now {
            mono: self.t0 + self.elapsed,
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_243_512) + self.elapsed,
        }
    }

    /// Lets `by` pass; whatever deadline passed fires.
    pub(super) fn wait(&mut self, by: Duration) -> Vec<Effect> {
        self.elapsed += by;
        self.feed(Input::Timer)
    }

    /// Advances to the core's next deadline and fires it.
    pub(super) fn fire(&mut self) -> Vec<Effect> {
        let deadline = self.core.next_deadline().expect("a deadline");
        self.elapsed = deadline - self.t0;
        self.feed(Input::Timer)
    }

    pub(super) fn feed(&mut self, input: Input) -> Vec<Effect> {
        let effects = self.core.handle(input, self.now());
        self.carry_out(effects)
    }

    fn carry_out(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let mut all = Vec::new();
        for effect in effects {
            let answer = match &effect {
                Effect::Spawn {
                    service,
                    generation,
                    ..
                } if std::mem::take(&mut self.fail_spawn) => Some(Input::SpawnFailed {
                    service: *service,
                    generation: *generation,
                    error: "no such file".into(),
                }),
                Effect::Spawn {
                    service,
                    generation,
                    ..
                } => {
                    let pid = self.next_pid;
                    self.next_pid += 1;
                    self.live.insert(pid, (*service, *generation));
                    Some(Input::Started {
                        service: *service,
                        generation: *generation,
                        pid,
                    })
                }
                Effect::Stop {
                    service,
                    generation,
                    ..
                } => Some(Input::StopSent {
                    service: *service,
                    generation: *generation,
                    at: self.t0 + self.elapsed,
                }),
                _ => None,
            };
            all.push(effect);
            if let Some(input) = answer {
                let more = self.core.handle(input, self.now());
                all.extend(self.carry_out(more));
            }
        }
        all
    }

    /// The newest live pid of `service`.
    pub(super) fn pid_of(&self, service: usize) -> u32 {
        *self
            .live
            .iter()
            .filter(|(_, (s, _))| *s == service)
            .map(|(pid, _)| pid)
            .max()
            .expect("a live child")
    }

    pub(super) fn ready(&mut self, pid: u32) -> Vec<Effect> {
        let (service, generation) = self.live[&pid];
        self.feed(Input::Notify {
            service,
            generation,
            message: NotifyMessage::parse("READY=1"),
        })
    }

    pub(super) fn exit(&mut self, pid: u32) -> Vec<Effect> {
        let (service, generation) = self.live.remove(&pid).expect("a live pid");
        self.feed(Input::Exited {
            service,
            generation,
            status: "exit status: 1".into(),
            at: self.t0 + self.elapsed,
        })
    }

    pub(super) fn upgrade(&mut self, kind: Kind, to: &str) -> Vec<Effect> {
        self.feed(Input::Upgrade(UpgradeRequest {
            service: "api".into(),
            kind,
            release: Ok(release(to)),
            reason: Some("test".into()),
            waiter: 7,
        }))
    }
}

pub(super) fn phases(effects: &[Effect]) -> Vec<Phase> {
    events(effects).iter().map(|e| e.phase).collect()
}

pub(super) fn events(effects: &[Effect]) -> Vec<&PhaseEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Publish { event, .. } => Some(event),
            _ => None,
        })
        .collect()
}

fn event(effects: &[Effect], phase: Phase) -> &PhaseEvent {
    events(effects)
        .into_iter()
        .find(|e| e.phase == phase)
        .unwrap_or_else(|| panic!("no {phase:?} in {effects:#?}"))
}

pub(super) fn outcome(effects: &[Effect]) -> Option<&Outcome> {
    effects.iter().find_map(|e| match e {
        Effect::Reply {
            reply: Reply::Outcome { outcome },
            ..
        } => Some(outcome),
        _ => None,
    })
}

fn refusal(effects: &[Effect]) -> &str {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Reply {
                reply: Reply::Error { message },
                ..
            } => Some(message.as_str()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no refusal in {effects:#?}"))
}

pub(super) fn signals(effects: &[Effect]) -> Vec<(u32, i32)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Stop { pid, signal, .. } => Some((*pid, *signal)),
            Effect::Kill { pid } => Some((*pid, libc::SIGKILL)),
            _ => None,
        })
        .collect()
}

fn manager(effects: &[Effect]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Manager(m) => Some(m.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn first_start_is_starting_then_running_and_the_unit_is_ready() {
    let (mut sim, effects) = Sim::new(vec![rules("api")]);
    assert_eq!(phases(&effects), [Starting]);
    let pid = sim.pid_of(0);
    let effects = sim.ready(pid);
    assert_eq!(phases(&effects), [Running]);
    assert_eq!(event(&effects, Running).new_pid, Some(pid));
    assert_eq!(manager(&effects), ["READY=1\nSTATUS=running"]);
}

#[test]
fn ready_1_counts_only_when_the_service_file_lets_it() {
    let mut probe_only = rules("api");
    probe_only.notify_ready = false;
    let (mut sim, _) = Sim::new(vec![probe_only]);
    let pid = sim.pid_of(0);
    assert_eq!(phases(&sim.ready(pid)), []);
    let (service, generation) = sim.live[&pid];
    let effects = sim.feed(Input::ProbeReady {
        service,
        generation,
    });
    assert_eq!(phases(&effects), [Running]);
}

#[test]
fn a_start_not_ready_in_time_is_killed_and_restarted_with_backoff() {
    let (mut sim, _) = Sim::new(vec![rules("api")]);
    let first = sim.pid_of(0);
    assert_eq!(
        sim.core.next_deadline(),
        Some(sim.now().mono + Duration::from_secs(5))
    );
    let effects = sim.fire();
    assert_eq!(signals(&effects), [(first, libc::SIGKILL)]);
    assert_eq!(phases(&effects), [Phase::Restarting]);
    // The restart comes after the backoff exactly, then doubles up to the maximum.
    let mut delays = Vec::new();
    for _ in 0..4 {
        let before = sim.now().mono;
        let deadline = sim.core.next_deadline().unwrap();
        delays.push(deadline - before);
        assert_eq!(phases(&sim.fire()), [Starting]);
        assert_eq!(phases(&sim.fire()), [Phase::Restarting]);
    }
    assert_eq!(delays, [1, 2, 4, 4].map(Duration::from_secs));
    // Once ready, the backoff starts over.
    sim.fire();
    let pid = sim.pid_of(0);
    sim.ready(pid);
    sim.exit(pid);
    let before = sim.now().mono;
    assert_eq!(
        sim.core.next_deadline(),
        Some(before + Duration::from_secs(1))
    );
}

#[test]
fn extend_timeout_usec_moves_the_ready_deadline() {
    let (mut sim, _) = Sim::new(vec![rules("api")]);
    let pid = sim.pid_of(0);
    let (service, generation) = sim.live[&pid];
    sim.feed(Input::Notify {
        service,
        generation,
        message: NotifyMessage::parse("EXTEND_TIMEOUT_USEC=20000000\nSTATUS=warming"),
    });
    assert_eq!(
        sim.core.next_deadline(),
        Some(sim.now().mono + Duration::from_secs(20))
    );
    assert_eq!(
        sim.core.status()[0].0.status_text.as_deref(),
        Some("warming")
    );
}

#[test]
fn a_death_outside_an_upgrade_restarts_the_same_release() {
    let mut sim = Sim::running();
    let pid = sim.pid_of(0);
    let effects = sim.exit(pid);
    assert_eq!(phases(&effects), [Phase::Restarting]);
    assert_eq!(phases(&sim.fire()), [Starting]);
    let new = sim.pid_of(0);
    assert_ne!(new, pid);
    assert_eq!(phases(&sim.ready(new)), [Running]);
    assert_eq!(sim.core.status()[0].0.restarts, 1);
}

#[test]
fn a_first_start_that_cannot_spawn_is_retried() {
    let mut sim = Sim::running();
    sim.exit(sim.pid_of(0));
    sim.fail_spawn = true;
    let effects = sim.fire();
    assert_eq!(phases(&effects), [Phase::Restarting]);
    assert!(
        events(&effects)[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("failed to start")
    );
}

/// Every phase of a successful upgrade, and where the old generation gets its signal.
#[test]
fn an_upgrade_goes_through_every_phase_in_order() {
    let mut sim = Sim::running();
    let old = sim.pid_of(0);
    let effects = sim.upgrade(Kind::Upgrade, "r2");
    assert_eq!(phases(&effects), [Spawned]);
    let new = sim.pid_of(0);
    let spawned = event(&effects, Spawned);
    assert_eq!((spawned.old_pid, spawned.new_pid), (Some(old), Some(new)));
    let effects = sim.ready(new);
    assert_eq!(phases(&effects), [Ready, Draining]);
    // The stop signal goes out first (the new generation is ready when its input arrives),
    // then `Ready` and `Draining` are published.
    assert!(matches!(&effects[0], Effect::Stop { pid, .. } if *pid == old));
    let effects = sim.exit(old);
    assert_eq!(phases(&effects), [Watching]);
    assert_eq!(
        sim.core.next_deadline(),
        Some(sim.now().mono + Duration::from_secs(3))
    );
    let effects = sim.fire();
    assert_eq!(phases(&effects), [Upgraded, Running]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SetCurrent { release, only_if: None, .. } if release == "r2"
    )));
    let outcome = outcome(&effects).unwrap();
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
    assert!(outcome.handoff_overhead_ms.is_some());
    assert!(!outcome.old_killed);
    assert_eq!(sim.core.previous("api").unwrap().id(), "r1");
}

#[test]
fn a_new_generation_exiting_before_ready_rolls_back_and_the_old_keeps_serving() {
    let mut sim = Sim::running();
    let old = sim.pid_of(0);
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    let effects = sim.exit(new);
    assert_eq!(phases(&effects), [RolledBack, Running]);
    assert!(
        signals(&effects).is_empty(),
        "the old generation was signalled"
    );
    assert_eq!(event(&effects, RolledBack).failed_pid, Some(new));
    assert_eq!(event(&effects, Running).new_pid, Some(old));
    let outcome = outcome(&effects).unwrap();
    assert_eq!(
        outcome.rollback_reason,
        Some(RollbackReason::ExitedBeforeReady)
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::SetCurrent { .. }))
    );
}

#[test]
fn a_new_generation_not_ready_in_time_is_killed_and_rolled_back() {
    let mut sim = Sim::running();
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    let effects = sim.fire();
    assert_eq!(signals(&effects), [(new, libc::SIGKILL)]);
    assert_eq!(phases(&effects), [RolledBack, Running]);
    let outcome = outcome(&effects).unwrap();
    assert_eq!(outcome.rollback_reason, Some(RollbackReason::ReadyTimeout));
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("not ready within 5s")
    );
    // The killed one is reaped later, without an event.
    assert_eq!(phases(&sim.exit(new)), []);
}

#[test]
fn a_release_that_cannot_start_rolls_back() {
    let mut sim = Sim::running();
    sim.fail_spawn = true;
    let effects = sim.upgrade(Kind::Upgrade, "r2");
    assert_eq!(phases(&effects), [RolledBack, Running]);
    assert_eq!(
        outcome(&effects).unwrap().rollback_reason,
        Some(RollbackReason::SpawnFailed)
    );
}

/// Upgrades `api` from r1 to r2 up to the watch window; returns (old, new) pids.
fn to_watching(sim: &mut Sim) -> (u32, u32) {
    let old = sim.pid_of(0);
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    sim.ready(new);
    assert_eq!(phases(&sim.exit(old)), [Watching]);
    (old, new)
}

#[test]
fn a_death_in_the_watch_window_restarts_the_previous_release_and_names_the_failed_pid() {
    let mut sim = Sim::running();
    let (_, new) = to_watching(&mut sim);
    let effects = sim.exit(new);
    assert_eq!(phases(&effects), [RollingBack]);
    let restarted = sim.pid_of(0);
    let rolling = event(&effects, RollingBack);
    assert_eq!(rolling.release.as_deref(), Some("r1"));
    assert_eq!(
        (rolling.old_pid, rolling.new_pid),
        (Some(new), Some(restarted))
    );
    let effects = sim.ready(restarted);
    assert_eq!(phases(&effects), [RolledBack, Running]);
    let rolled = event(&effects, RolledBack);
    assert_eq!(rolled.failed_pid, Some(new));
    assert_eq!(
        (rolled.old_pid, rolled.new_pid),
        (Some(new), Some(restarted))
    );
    let outcome = outcome(&effects).unwrap();
    assert_eq!(outcome.failed_pid, Some(new));
    assert_eq!(outcome.rollback_reason, Some(RollbackReason::DiedInWatch));
}

#[test]
fn a_death_while_the_old_generation_drains_rolls_back_too() {
    let mut sim = Sim::running();
    let old = sim.pid_of(0);
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    sim.ready(new);
    assert_eq!(phases(&sim.exit(new)), [RollingBack]);
    // The draining old generation is reaped without a phase of its own.
    assert_eq!(phases(&sim.exit(old)), []);
    let restarted = sim.pid_of(0);
    assert_eq!(phases(&sim.ready(restarted)), [RolledBack, Running]);
}

#[test]
fn a_rollback_whose_release_dies_too_ends_and_restarts() {
    let mut sim = Sim::running();
    let (_, new) = to_watching(&mut sim);
    sim.exit(new);
    let restarted = sim.pid_of(0);
    let effects = sim.exit(restarted);
    assert_eq!(phases(&effects), [Phase::Restarting]);
    assert_eq!(outcome(&effects).unwrap().result, UpgradeResult::RolledBack);
}

#[test]
fn svc_rollback_goes_back_to_the_previous_release() {
    let mut sim = Sim::running();
    to_watching(&mut sim);
    sim.fire();
    let effects = sim.upgrade(Kind::Rollback, "r1");
    assert_eq!(
        event(&effects, Spawned).trigger,
        Some(crate::phase::Trigger::Rollback)
    );
    let new = sim.pid_of(0);
    sim.ready(new);
    let old = *sim.live.keys().find(|p| **p != new).unwrap();
    sim.exit(old);
    let effects = sim.fire();
    let outcome = outcome(&effects).unwrap();
    assert_eq!(outcome.to, "r1");
    assert_eq!(outcome.rollback_reason, Some(RollbackReason::Requested));
    let (metrics, releases) = sim.core.metrics();
    let text = metrics.render(&[], &releases, &[]);
    assert!(text.contains("goshift_rollbacks_total{service=\"api\",reason=\"requested\"} 1"));
}

#[test]
fn a_second_request_while_one_runs_is_refused() {
    let mut sim = Sim::running();
    sim.upgrade(Kind::Upgrade, "r2");
    let effects = sim.upgrade(Kind::Upgrade, "r3");
    assert!(refusal(&effects).contains("already in progress"));
    assert!(phases(&effects).is_empty());
}

#[test]
fn the_serving_release_again_is_unchanged() {
    let mut sim = Sim::running();
    let effects = sim.upgrade(Kind::Upgrade, "r1");
    assert_eq!(outcome(&effects).unwrap().result, UpgradeResult::Unchanged);
    assert!(phases(&effects).is_empty());
}

#[test]
fn an_upgrade_while_starting_or_stopping_or_of_nothing_is_refused() {
    let (mut sim, _) = Sim::new(vec![rules("api")]);
    assert!(refusal(&sim.upgrade(Kind::Upgrade, "r2")).contains("still starting"));
    let effects = sim.feed(Input::Upgrade(UpgradeRequest {
        service: "nope".into(),
        kind: Kind::Upgrade,
        release: Ok(release("r2")),
        reason: None,
        waiter: 1,
    }));
    assert!(refusal(&effects).contains("no service `nope`"));
    let effects = sim.feed(Input::Upgrade(UpgradeRequest {
        service: "api".into(),
        kind: Kind::Rollback,
        release: Err("no previous release".into()),
        reason: None,
        waiter: 1,
    }));
    assert_eq!(refusal(&effects), "no previous release");
    sim.feed(Input::Stop);
    assert!(refusal(&sim.upgrade(Kind::Upgrade, "r2")).contains("stopping"));
}

fn reload(sim: &mut Sim, id: &str) -> Vec<Effect> {
    sim.feed(Input::Reload(vec![Some(ReloadTarget {
        id: id.into(),
        release: Ok(release(id)),
    })]))
}

#[test]
fn a_sighup_during_an_upgrade_is_carried_out_after_it() {
    let mut sim = Sim::running();
    let old = sim.pid_of(0);
    sim.upgrade(Kind::Upgrade, "r2");
    let effects = reload(&mut sim, "r3");
    assert_eq!(
        manager(&effects),
        ["RELOADING=1\nSTATUS=upgrading to the current releases"]
    );
    let new = sim.pid_of(0);
    sim.ready(new);
    sim.exit(old);
    let effects = sim.fire();
    // r2 is done (without pointing `current` back at it), and r3 starts at once.
    assert_eq!(phases(&effects), [Upgraded, Running, Spawned]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::SetCurrent { .. }))
    );
    assert_eq!(event(&effects, Spawned).release.as_deref(), Some("r3"));
    let r3 = sim.pid_of(0);
    sim.ready(r3);
    sim.exit(new);
    let effects = sim.fire();
    assert_eq!(phases(&effects), [Upgraded, Running]);
    assert_eq!(manager(&effects), ["READY=1\nSTATUS=running"]);
}

#[test]
fn a_sighup_during_a_first_start_waits_until_it_is_ready() {
    let (mut sim, _) = Sim::new(vec![rules("api")]);
    let effects = reload(&mut sim, "r2");
    assert_eq!(phases(&effects), []);
    let first = sim.pid_of(0);
    let effects = sim.ready(first);
    assert_eq!(phases(&effects), [Running, Spawned]);
}

#[test]
fn a_sighup_naming_what_serves_changes_nothing() {
    let mut sim = Sim::running();
    let effects = reload(&mut sim, "r1");
    assert_eq!(
        manager(&effects),
        [
            "RELOADING=1\nSTATUS=upgrading to the current releases",
            "READY=1\nSTATUS=running"
        ]
    );
    assert_eq!(phases(&effects), []);
}

#[test]
fn a_reload_that_rolled_back_ends_the_reload_and_says_it_failed() {
    let mut sim = Sim::running();
    reload(&mut sim, "r2");
    let new = sim.pid_of(0);
    let effects = sim.exit(new);
    assert_eq!(phases(&effects), [RolledBack, Running]);
    let told = manager(&effects);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].starts_with("READY=1\nSTATUS=reload failed: api rolled back to r1 ("),
        "{told:?}"
    );
    assert!(told[0].ends_with("; running"), "{told:?}");
    // The next reload that works says nothing of the earlier failure.
    let effects = reload(&mut sim, "r1");
    assert_eq!(manager(&effects)[1], "READY=1\nSTATUS=running");
}

#[test]
fn a_sighup_naming_a_broken_release_is_refused_in_the_log() {
    let mut sim = Sim::running();
    let effects = sim.feed(Input::Reload(vec![Some(ReloadTarget {
        id: "r2".into(),
        release: Err("not a program".into()),
    })]));
    assert_eq!(phases(&effects), [Running]);
    assert_eq!(
        event(&effects, Running).detail.as_deref(),
        Some("SIGHUP: not upgraded to r2: not a program")
    );
    assert_eq!(
        manager(&effects)[1],
        "READY=1\nSTATUS=reload failed: api: not upgraded to r2: not a program; running"
    );
}

#[test]
fn a_failed_reload_points_current_back_while_it_names_the_failed_release() {
    let mut sim = Sim::running();
    reload(&mut sim, "r2");
    let new = sim.pid_of(0);
    let effects = sim.exit(new);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SetCurrent { release, only_if: Some(only), .. } if release == "r1" && only == "r2"
    )));
}

#[test]
fn stop_during_an_upgrade_abandons_it_and_stops_every_generation() {
    let mut sim = Sim::running();
    let old = sim.pid_of(0);
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    let effects = sim.feed(Input::Stop);
    assert!(refusal(&effects).contains("abandoned"));
    let mut stopped: Vec<u32> = signals(&effects).iter().map(|(pid, _)| *pid).collect();
    stopped.sort_unstable();
    assert_eq!(stopped, [old, new]);
    assert_eq!(phases(&effects), [Stopping]);
    assert_eq!(manager(&effects), ["STOPPING=1\nSTATUS=draining"]);
    assert_eq!(phases(&sim.exit(old)), []);
    assert!(!sim.core.done());
    assert_eq!(phases(&sim.exit(new)), [Stopped]);
    assert!(sim.core.done());
}

#[test]
fn the_old_generation_exiting_early_lets_the_new_one_take_over_without_a_drain() {
    let mut sim = Sim::running();
    let old = sim.pid_of(0);
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    assert_eq!(phases(&sim.exit(old)), []);
    let effects = sim.ready(new);
    assert_eq!(phases(&effects), [Ready, Watching]);
    assert!(signals(&effects).is_empty());
    let effects = sim.fire();
    assert_eq!(outcome(&effects).unwrap().handoff_overhead_ms, None);
}

#[test]
fn an_old_generation_past_its_grace_is_killed() {
    let mut sim = Sim::running();
    let old = sim.pid_of(0);
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    sim.ready(new);
    assert_eq!(
        sim.core.next_deadline(),
        Some(sim.now().mono + Duration::from_secs(10))
    );
    let effects = sim.fire();
    assert_eq!(signals(&effects), [(old, libc::SIGKILL)]);
    sim.exit(old);
    let effects = sim.fire();
    assert!(outcome(&effects).unwrap().old_killed);
    let (metrics, releases) = sim.core.metrics();
    let text = metrics.render(&[], &releases, &[]);
    assert!(text.contains("goshift_graceful_shutdown_failures_total{service=\"api\"} 1"));
}

#[test]
fn a_crash_looping_service_does_not_hold_back_readiness_and_is_named() {
    let (mut sim, _) = Sim::new(vec![rules("api"), rules("worker")]);
    let api = sim.pid_of(0);
    let worker = sim.pid_of(1);
    assert!(manager(&sim.ready(api)).is_empty());
    let effects = sim.exit(worker);
    assert_eq!(
        manager(&effects),
        ["READY=1\nSTATUS=running; not serving: worker (restarting)"]
    );
    // A reload is over when its upgrades are, and says the same truth.
    let effects = sim.feed(Input::Reload(vec![None, None]));
    assert_eq!(
        manager(&effects)[1],
        "READY=1\nSTATUS=running; not serving: worker (restarting)"
    );
    // Once the worker serves, the status says so.
    sim.fire();
    let worker = sim.pid_of(1);
    assert_eq!(manager(&sim.ready(worker)), ["STATUS=running"]);
}

#[test]
fn every_counter_exists_at_zero_from_the_start() {
    let (sim, _) = Sim::new(vec![rules("api")]);
    let (metrics, releases) = sim.core.metrics();
    let text = metrics.render(&[], &releases, &[]);
    for reason in RollbackReason::ALL {
        let line = format!(
            "goshift_rollbacks_total{{service=\"api\",reason=\"{}\"}} 0",
            reason.label()
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
    assert!(text.contains("goshift_upgrades_total{service=\"api\",result=\"rolled_back\"} 0"));
}

#[test]
fn event_times_carry_milliseconds() {
    let (mut sim, _) = Sim::new(vec![rules("api")]);
    sim.elapsed = Duration::from_millis(1234);
    let pid = sim.pid_of(0);
    let effects = sim.ready(pid);
    assert_eq!(event(&effects, Running).time, "2026-11-21T06:45:13.234Z");
    assert!((event(&effects, Running).at_ms - 1234.0).abs() < 1e-6);
}
