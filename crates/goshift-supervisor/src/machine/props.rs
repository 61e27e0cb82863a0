//! Property test: random sequences of inputs never break the core's invariants. `api` bakes
//! (both generations serve for a while after the new one is ready), `worker` does not.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::control::Reply;
use crate::notify::NotifyMessage;
use crate::phase::{Phase, Readiness};

use super::tests::{Sim, release, rules};
use super::{Effect, Input, Kind, ReloadTarget, Rules, UpgradeRequest};

const BAKE: Duration = Duration::from_secs(5);

fn baked(name: &str) -> Rules {
    Rules {
        bake: Some(BAKE),
        ..rules(name)
    }
}

#[derive(Debug, Clone)]
enum Action {
    /// The n-th live child (of all, by pid) says READY=1.
    Ready(usize),
    /// The newest child says READY=1: upgrades get to their cutover (and bake) often.
    ReadyNewest,
    /// … passes its probe.
    Probe(usize),
    /// … exits.
    Exit(usize),
    /// The clock moves on by this many milliseconds.
    Wait(u64),
    /// The next deadline fires.
    Fire,
    Upgrade {
        service: usize,
        release: u8,
    },
    Rollback {
        service: usize,
    },
    Reload(u8),
    /// The next spawn fails.
    FailSpawn,
    Stop,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0..8_usize).prop_map(Action::Ready),
        3 => Just(Action::ReadyNewest),
        1 => (0..8_usize).prop_map(Action::Probe),
        3 => (0..8_usize).prop_map(Action::Exit),
        2 => (0..12_000_u64).prop_map(Action::Wait),
        3 => Just(Action::Fire),
        3 => (0..2_usize, 1..4_u8).prop_map(|(service, release)| Action::Upgrade { service, release }),
        2 => (0..2_usize).prop_map(|service| Action::Rollback { service }),
        1 => (1..4_u8).prop_map(Action::Reload),
        1 => Just(Action::FailSpawn),
        1 => Just(Action::Stop),
    ]
}

/// What the checker remembers between inputs.
#[derive(Debug, Default)]
struct Model {
    next_waiter: u64,
    /// Waiters that asked and have not had their last reply.
    open_waiters: HashSet<u64>,
    /// Waiters that had their last reply.
    closed_waiters: HashSet<u64>,
    /// The upgrade each service runs, by the ids seen in its events.
    open_upgrade: HashMap<String, String>,
    /// A first generation was ready.
    was_ready: HashSet<String>,
    /// A generation the service counted on died and none was ready since.
    crashed: HashSet<String>,
    stopping: bool,
    /// Services baking: the old generation's pid and when the bake passes.
    baking: HashMap<String, (u32, Instant)>,
    /// Old generations a bake ended without: they must serve on, untouched.
    kept: Vec<(String, u32)>,
}

impl Model {
    fn waiter(&mut self) -> u64 {
        self.next_waiter += 1;
        self.open_waiters.insert(self.next_waiter);
        self.next_waiter
    }
}

/// The `n`th live child, counted round, by pid.
fn nth(sim: &Sim, n: usize) -> Option<u32> {
    let mut pids: Vec<u32> = sim.live.keys().copied().collect();
    pids.sort_unstable();
    (!pids.is_empty()).then(|| pids[n % pids.len()])
}

fn apply(sim: &mut Sim, model: &mut Model, action: &Action) -> Vec<Effect> {
    match action {
        Action::Ready(n) => nth(sim, *n).map(|pid| sim.ready(pid)).unwrap_or_default(),
        Action::ReadyNewest => sim
            .live
            .keys()
            .max()
            .copied()
            .map(|pid| sim.ready(pid))
            .unwrap_or_default(),
        Action::Probe(n) => nth(sim, *n)
            .map(|pid| {
                let (service, generation) = sim.live[&pid];
                sim.feed(Input::ProbeReady {
                    service,
                    generation,
                })
            })
            .unwrap_or_default(),
        Action::Exit(n) => nth(sim, *n)
            .map(|pid| exit(sim, model, pid))
            .unwrap_or_default(),
        Action::Wait(ms) => sim.wait(Duration::from_millis(*ms)),
        Action::Fire => {
            if sim.core.next_deadline().is_some() {
                sim.fire()
            } else {
                Vec::new()
            }
        }
        Action::Upgrade {
            service,
            release: r,
        } => {
            let release = Ok(release(&format!("r{r}")));
            request(sim, model, *service, Kind::Upgrade, release)
        }
        Action::Rollback { service } => rollback(sim, model, *service),
        Action::Reload(r) => reload(sim, *r),
        Action::FailSpawn => {
            sim.fail_spawn = true;
            Vec::new()
        }
        Action::Stop => {
            model.stopping = true;
            sim.feed(Input::Stop)
        }
    }
}

fn rollback(sim: &mut Sim, model: &mut Model, service: usize) -> Vec<Effect> {
    let name = ["api", "worker"][service];
    let previous = sim
        .core
        .previous(name)
        .cloned()
        .ok_or_else(|| "none".to_owned());
    request(sim, model, service, Kind::Rollback, previous)
}

/// `SIGHUP` with both services pointed at `r{r}`.
fn reload(sim: &mut Sim, r: u8) -> Vec<Effect> {
    let target = || {
        Some(ReloadTarget {
            id: format!("r{r}"),
            release: Ok(release(&format!("r{r}"))),
        })
    };
    sim.feed(Input::Reload(vec![target(), target()]))
}

fn request(
    sim: &mut Sim,
    model: &mut Model,
    service: usize,
    kind: Kind,
    release: Result<crate::release::Release, String>,
) -> Vec<Effect> {
    let waiter = model.waiter();
    sim.feed(Input::Upgrade(UpgradeRequest {
        service: ["api", "worker"][service].into(),
        kind,
        release,
        reason: None,
        waiter,
    }))
}

/// A child exits; if the service counted on it, that is a crash.
fn exit(sim: &mut Sim, model: &mut Model, pid: u32) -> Vec<Effect> {
    let (service, _) = sim.live[&pid];
    let name = sim.core.service_names()[service].clone();
    if sim.core.services[service]
        .gens()
        .iter()
        .any(|g| g.pid == Some(pid))
    {
        model.crashed.insert(name);
    }
    sim.exit(pid)
}

/// Checks one input's effects and the state after it against the invariants.
fn check(sim: &Sim, model: &mut Model, effects: &[Effect]) -> Result<(), TestCaseError> {
    let names = sim.core.service_names();
    let status = sim.core.status();
    for effect in effects {
        check_effect(&status, model, effect)?;
        check_bake(sim.now().mono, model, effect)?;
    }
    // An abort of the bake leaves the old generation serving, as it was.
    for (name, old) in std::mem::take(&mut model.kept) {
        let (service, _) = &status[names.iter().position(|n| *n == name).unwrap_or(0)];
        prop_assert!(
            sim.live.contains_key(&old),
            "the kept old generation is gone"
        );
        let serving = service.pid == Some(old) || service.upgrading.is_some();
        prop_assert!(serving, "{} does not serve its old generation", name);
    }
    // Reload upgrades have no waiter: their end shows in the status.
    for (name, (service, _)) in names.iter().zip(&status) {
        if service.upgrading.is_none() {
            model.open_upgrade.remove(name);
        }
        if model.was_ready.contains(name) && !model.crashed.contains(name) && !model.stopping {
            prop_assert_eq!(
                service.readiness,
                Readiness::Ready,
                "{} serves nothing: {:?}",
                name,
                service.phase
            );
        }
    }
    // Every child that runs is tracked until it is reaped.
    let mut tracked: Vec<u32> = sim.core.live().iter().map(|(_, _, pid)| *pid).collect();
    let mut running: Vec<u32> = sim.live.keys().copied().collect();
    tracked.sort_unstable();
    running.sort_unstable();
    prop_assert_eq!(tracked, running, "a child is not tracked");
    Ok(())
}

/// One effect against the invariants: stop signals, one upgrade at a time, last replies.
fn check_effect(
    status: &[(crate::phase::ServiceStatus, Option<u64>)],
    model: &mut Model,
    effect: &Effect,
) -> Result<(), TestCaseError> {
    match effect {
        Effect::Stop { service, pid, .. } if !model.stopping => {
            // The old generation gets its stop signal only once a new one is ready.
            let (serving, _) = &status[*service];
            prop_assert_eq!(
                serving.readiness,
                Readiness::Ready,
                "stop with nothing ready"
            );
            prop_assert_ne!(
                serving.pid,
                Some(*pid),
                "the serving generation was stopped"
            );
        }
        Effect::Publish { event, waiter } => {
            if let Some(waiter) = waiter {
                prop_assert!(
                    !model.closed_waiters.contains(waiter),
                    "a phase after the outcome"
                );
            }
            // An event outside an upgrade comes only once the previous one ended.
            if event.upgrade_id.is_none() {
                model.open_upgrade.remove(&event.service);
            }
            if let Some(id) = &event.upgrade_id {
                let open = model
                    .open_upgrade
                    .entry(event.service.clone())
                    .or_insert_with(|| id.clone());
                prop_assert_eq!(&*open, id, "two upgrades of one service at once");
            }
            if matches!(event.phase, Phase::Running | Phase::Ready) {
                model.was_ready.insert(event.service.clone());
                model.crashed.remove(&event.service);
            }
        }
        Effect::Reply { waiter, reply } => {
            prop_assert!(model.open_waiters.remove(waiter), "a second last reply");
            model.closed_waiters.insert(*waiter);
            if let Reply::Outcome { outcome } = reply {
                let open = model.open_upgrade.remove(&outcome.service);
                prop_assert!(open.is_none_or(|id| id == outcome.upgrade_id));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The bake's invariants: the old generation gets no signal before the bake passed, and an
/// abort of the bake (`rolled_back`) never stops it.
fn check_bake(now: Instant, model: &mut Model, effect: &Effect) -> Result<(), TestCaseError> {
    match effect {
        Effect::Stop { pid, .. } | Effect::Kill { pid } if !model.stopping => {
            if let Some((_, until)) = model.baking.values().find(|(old, _)| old == pid) {
                prop_assert!(
                    matches!(effect, Effect::Stop { .. }) && now >= *until,
                    "the old generation {} was signalled during the bake",
                    pid
                );
            }
        }
        Effect::Publish { event, .. } => match event.phase {
            Phase::Baking => {
                let old = event.old_pid.unwrap_or_default();
                model
                    .baking
                    .insert(event.service.clone(), (old, now + BAKE));
            }
            Phase::RolledBack => {
                if let Some((old, _)) = model.baking.remove(&event.service) {
                    model.kept.push((event.service.clone(), old));
                }
            }
            Phase::Running => {}
            _ => {
                model.baking.remove(&event.service);
            }
        },
        _ => {}
    }
    Ok(())
}

/// Runs `prefix` then `actions`, checking every input, then stops: everything ends and every
/// request had exactly one last reply.
fn run(prefix: &[Action], actions: &[Action]) -> Result<(), TestCaseError> {
    let (mut sim, _) = Sim::new(vec![baked("api"), rules("worker")]);
    let mut model = Model::default();
    for action in prefix.iter().chain(actions) {
        let effects = apply(&mut sim, &mut model, action);
        check(&sim, &mut model, &effects)?;
    }
    // Stop, reap whatever runs, and let every deadline pass: everything ends.
    model.stopping = true;
    let effects = sim.feed(Input::Stop);
    check(&sim, &mut model, &effects)?;
    for _ in 0..20 {
        while let Some(&pid) = sim.live.keys().next() {
            let effects = sim.exit(pid);
            check(&sim, &mut model, &effects)?;
        }
        if sim.core.done() {
            break;
        }
        if sim.core.next_deadline().is_some() {
            let effects = sim.fire();
            check(&sim, &mut model, &effects)?;
        }
    }
    prop_assert!(sim.core.done(), "the supervisor did not stop");
    prop_assert!(
        model.open_waiters.is_empty(),
        "unanswered: {:?}",
        model.open_waiters
    );
    Ok(())
}

/// Both services ready, then `api` upgraded to r2 and its new generation ready: baking.
const BAKING: [Action; 4] = [
    Action::Ready(0),
    Action::Ready(1),
    Action::Upgrade {
        service: 0,
        release: 2,
    },
    Action::ReadyNewest,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_inputs_keep_the_invariants(actions in prop::collection::vec(action(), 1..80)) {
        run(&[], &actions)?;
    }

    #[test]
    fn random_inputs_during_a_bake_keep_the_invariants(
        actions in prop::collection::vec(action(), 1..40)
    ) {
        run(&BAKING, &actions)?;
    }
}

#[test]
fn notify_messages_for_gone_generations_are_ignored() {
    let mut sim = Sim::running();
    let effects = sim.feed(Input::Notify {
        service: 0,
        generation: 999,
        message: NotifyMessage::parse("READY=1"),
    });
    assert!(effects.is_empty());
}
