//! Table tests of the bake: every way out of `Baking`, with a simulated clock. While it
//! lasts both generations serve; the old one gets its stop signal only once the bake passed,
//! and an abort stops the new one alone.

use std::time::Duration;

use crate::analysis::{Action, Measurement};
use crate::control::Reply;
use crate::incident::Trigger;
use crate::phase::{Phase, RollbackReason, UpgradeResult};

use super::analysis_tests::{INTERVAL, answer, asked, checked, failed, incidents};
use super::tests::{Sim, events, outcome, phases, release, signals};
use super::{AfterDump, Check, Effect, Input, Kind, ReloadTarget, Role, Rules, UpgradeRequest};

const BAKE: Duration = Duration::from_secs(2);

fn baked(checks: &[(Check, u32, Action)]) -> Rules {
    Rules {
        bake: Some(BAKE),
        ..checked(checks)
    }
}

/// `api` with a bake, running r1; upgraded to r2 whose generation is ready: returns the old
/// and new pids and the effects of the readiness.
fn baking(checks: &[(Check, u32, Action)]) -> (Sim, u32, u32, Vec<Effect>) {
    let (mut sim, _) = Sim::new(vec![baked(checks)]);
    let old = sim.pid_of(0);
    sim.ready(old);
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    let effects = sim.ready(new);
    (sim, old, new, effects)
}

fn spawns(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Spawn { .. }))
        .count()
}

fn set_current(effects: &[Effect]) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::SetCurrent { .. }))
}

/// The old generation serves again, untouched: its pid is the one `svc status` shows and
/// no signal of the whole run went to it.
fn old_kept(sim: &Sim, old: u32, all: &[Effect]) {
    let status = sim.core.status();
    assert_eq!(status[0].0.pid, Some(old), "{:?}", status[0].0);
    assert_eq!(status[0].0.phase, Phase::Running);
    assert!(
        signals(all).iter().all(|(pid, _)| *pid != old),
        "the old generation got a signal: {all:#?}"
    );
    assert!(sim.live.contains_key(&old));
}

#[test]
fn a_bake_keeps_both_serving_then_the_old_one_gets_its_stop_signal() {
    let (mut sim, old, new, effects) = baking(&[]);
    assert_eq!(phases(&effects), [Phase::Ready, Phase::Baking]);
    assert!(signals(&effects).is_empty(), "{effects:#?}");
    let baking = events(&effects)[1];
    assert_eq!((baking.old_pid, baking.new_pid), (Some(old), Some(new)));
    let status = sim.core.status();
    assert_eq!(status[0].0.phase, Phase::Baking);
    assert_eq!(sim.core.live().len(), 2, "both generations are counted on");
    assert_eq!(sim.core.next_deadline(), Some(sim.now().mono + BAKE));
    // Just before the end nothing happens.
    let early = sim.wait(Duration::from_millis(1999));
    assert!(early.is_empty(), "{early:#?}");
    let passed = sim.wait(Duration::from_millis(1));
    assert_eq!(phases(&passed), [Phase::Draining]);
    assert_eq!(signals(&passed), [(old, libc::SIGTERM)]);
    assert_eq!(phases(&sim.exit(old)), [Phase::Watching]);
    let effects = sim.wait(Duration::from_secs(3));
    assert_eq!(phases(&effects), [Phase::Upgraded, Phase::Running]);
    let result = outcome(&effects).unwrap();
    assert_eq!(result.result, UpgradeResult::Upgraded);
    assert!(
        result.handoff_overhead_ms.is_some_and(|ms| ms < 1.0),
        "the bake is not the supervisor's overhead: {result:?}"
    );
    assert!(set_current(&effects));
}

#[test]
fn the_checks_run_in_the_bake_and_process_signals_measure_both_side_by_side() {
    let (mut sim, old, new, _) = baking(&[
        (Check::Process, 3, Action::Rollback),
        (Check::Probe, 3, Action::Rollback),
    ]);
    let due = sim.wait(INTERVAL);
    assert_eq!(
        asked(&due),
        [
            (Check::Process, Role::Baseline, old),
            (Check::Process, Role::Watch, new),
            (Check::Probe, Role::Watch, new),
        ],
        "the old generation is measured again just before the new one"
    );
    assert!(phases(&answer(&mut sim, &due, &Measurement::Passed)).is_empty());
    // After the bake the old one drains: only the new one is measured.
    sim.wait(BAKE);
    sim.exit(old);
    let due = sim.wait(INTERVAL);
    assert!(
        asked(&due)
            .iter()
            .all(|(_, role, pid)| (*role, *pid) == (Role::Watch, new)),
        "{due:#?}"
    );
}

#[test]
fn a_check_failing_in_the_bake_stops_only_the_new_generation() {
    let (mut sim, old, new, _) = baking(&[(Check::Probe, 3, Action::Rollback)]);
    let mut all = Vec::new();
    for _ in 0..3 {
        let due = sim.wait(INTERVAL);
        all.extend(answer(
            &mut sim,
            &due,
            &failed("success rate 0.000 (0 of 3)"),
        ));
        all.extend(due);
    }
    assert_eq!(phases(&all), [Phase::RolledBack, Phase::Running]);
    assert_eq!(spawns(&all), 0, "the old generation never went cold");
    assert!(!set_current(&all), "`current` stays");
    let incident = incidents(&all);
    assert_eq!(incident.len(), 1);
    assert_eq!(
        (incident[0].pid, incident[0].trigger, incident[0].after),
        (new, Trigger::AnalysisRollback, AfterDump::Quit)
    );
    let result = outcome(&all).unwrap();
    assert_eq!(result.result, UpgradeResult::RolledBack);
    assert_eq!(result.rollback_reason, Some(RollbackReason::Probe));
    assert_eq!(result.failed_pid, Some(new));
    assert_eq!(result.incident.as_deref(), Some(incident[0].id.as_str()));
    // The dump ends the new one; should it not, `SIGKILL` follows after the grace period.
    all.extend(sim.wait(Duration::from_secs(10)));
    assert!(signals(&all).contains(&(new, libc::SIGKILL)), "{all:#?}");
    all.extend(sim.exit(new));
    all.extend(sim.wait(Duration::from_mins(1)));
    old_kept(&sim, old, &all);
}

#[test]
fn the_new_generation_dying_in_the_bake_leaves_the_old_one_serving() {
    let (mut sim, old, new, _) = baking(&[]);
    let all = sim.exit(new);
    assert_eq!(phases(&all), [Phase::RolledBack, Phase::Running]);
    assert_eq!(spawns(&all), 0);
    let incident = incidents(&all);
    assert_eq!(
        (incident[0].pid, incident[0].trigger, incident[0].after),
        (new, Trigger::DiedInBake, AfterDump::Gone)
    );
    let result = outcome(&all).unwrap();
    assert_eq!(result.rollback_reason, Some(RollbackReason::DiedInBake));
    assert_eq!(result.failed_pid, Some(new));
    old_kept(&sim, old, &all);
}

#[test]
fn the_old_generation_dying_in_the_bake_ends_it_and_the_watch_window_starts() {
    let (mut sim, old, new, _) = baking(&[]);
    let effects = sim.exit(old);
    assert_eq!(phases(&effects), [Phase::Watching]);
    assert!(
        events(&effects)[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("exited during the bake"),
        "{effects:#?}"
    );
    assert!(signals(&effects).is_empty());
    assert_eq!(
        sim.core.next_deadline(),
        Some(sim.now().mono + Duration::from_secs(3)),
        "the watch window starts now"
    );
    let effects = sim.wait(Duration::from_secs(3));
    let result = outcome(&effects).unwrap();
    assert_eq!(result.result, UpgradeResult::Upgraded);
    assert_eq!(sim.core.status()[0].0.pid, Some(new));
}

#[test]
fn svc_rollback_in_the_bake_stops_the_new_generation_and_answers_both_waiters() {
    let (mut sim, old, new, _) = baking(&[]);
    let effects = sim.feed(Input::Upgrade(UpgradeRequest {
        service: "api".into(),
        kind: Kind::Rollback,
        release: Err("no previous release".into()),
        reason: None,
        waiter: 8,
    }));
    assert_eq!(phases(&effects), [Phase::RolledBack, Phase::Running]);
    assert_eq!(signals(&effects), [(new, libc::SIGTERM)]);
    assert_eq!(spawns(&effects), 0);
    let answered: Vec<(u64, UpgradeResult, Option<RollbackReason>)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply {
                waiter,
                reply: Reply::Outcome { outcome },
            } => Some((*waiter, outcome.result, outcome.rollback_reason)),
            _ => None,
        })
        .collect();
    let rolled = (UpgradeResult::RolledBack, Some(RollbackReason::Requested));
    assert_eq!(
        answered,
        [(7, rolled.0, rolled.1), (8, rolled.0, rolled.1)],
        "{effects:#?}"
    );
    let mut all = effects;
    all.extend(sim.exit(new));
    old_kept(&sim, old, &all);
}

#[test]
fn a_second_upgrade_in_the_bake_is_refused_and_changes_nothing() {
    let (mut sim, _, _, _) = baking(&[]);
    let effects = sim.upgrade(Kind::Upgrade, "r3");
    assert!(signals(&effects).is_empty() && spawns(&effects) == 0);
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::Reply { reply: Reply::Error { message }, .. } if message.contains("already in progress")
        )),
        "{effects:#?}"
    );
    assert_eq!(sim.core.status()[0].0.phase, Phase::Baking);
}

#[test]
fn stopping_the_supervisor_in_the_bake_stops_both_and_abandons_the_upgrade() {
    let (mut sim, old, new, _) = baking(&[]);
    let effects = sim.feed(Input::Stop);
    let mut stopped = signals(&effects);
    stopped.sort_unstable();
    assert_eq!(stopped, [(old, libc::SIGTERM), (new, libc::SIGTERM)]);
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::Reply { waiter: 7, reply: Reply::Error { message } } if message.contains("abandoned")
        )),
        "{effects:#?}"
    );
}

#[test]
fn a_reload_in_the_bake_waits_for_the_upgrade_to_end() {
    let (mut sim, old, new, _) = baking(&[]);
    let target = ReloadTarget {
        id: "r3".into(),
        release: Ok(release("r3")),
    };
    let effects = sim.feed(Input::Reload(vec![Some(target)]));
    assert!(signals(&effects).is_empty() && spawns(&effects) == 0);
    assert_eq!(sim.core.status()[0].0.phase, Phase::Baking);
    let passed = sim.wait(BAKE);
    assert_eq!(signals(&passed), [(old, libc::SIGTERM)]);
    sim.exit(old);
    let ended = sim.wait(Duration::from_secs(3));
    assert_eq!(
        outcome(&ended).map(|o| o.result),
        Some(UpgradeResult::Upgraded)
    );
    assert_eq!(spawns(&ended), 1, "the reload's upgrade starts: {ended:#?}");
    assert!(sim.core.status()[0].0.upgrading.is_some());
    assert_ne!(sim.pid_of(0), new);
}

#[test]
fn without_a_serving_old_generation_there_is_nothing_to_bake() {
    let (mut sim, _) = Sim::new(vec![baked(&[])]);
    let first = sim.pid_of(0);
    sim.ready(first);
    sim.exit(first);
    // Restarting: an upgrade now has no old generation to serve beside the new one.
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    let effects = sim.ready(new);
    assert_eq!(phases(&effects), [Phase::Ready, Phase::Watching]);
}
