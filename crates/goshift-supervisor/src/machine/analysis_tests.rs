//! Table tests of the analysis checks in the core: the inputs are measurements, the way the
//! driver hands them in after measuring a real generation.

use std::time::Duration;

use crate::analysis::{Action, Cadence, Measurement};
use crate::incident::Trigger;
use crate::phase::{Phase, RollbackReason, UpgradeResult};

use super::tests::{Sim, events, outcome, phases, rules};
use super::{AfterDump, Check, CheckRule, Effect, IncidentRequest, Input, Kind, Role, Rules};

pub(super) const INTERVAL: Duration = Duration::from_millis(250);

pub(super) fn checked(checks: &[(Check, u32, Action)]) -> Rules {
    Rules {
        checks: checks
            .iter()
            .map(|&(check, failures, action)| CheckRule {
                check,
                cadence: Cadence {
                    interval: INTERVAL,
                    failures,
                    action,
                },
            })
            .collect(),
        ..rules("api")
    }
}

fn sim(checks: &[(Check, u32, Action)]) -> Sim {
    let (mut sim, _) = Sim::new(vec![checked(checks)]);
    let pid = sim.pid_of(0);
    sim.ready(pid);
    sim
}

/// The measurements the core asked for: `(check, role, pid)`.
pub(super) fn asked(effects: &[Effect]) -> Vec<(Check, Role, u32)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Measure {
                check, role, pid, ..
            } => Some((*check, *role, *pid)),
            _ => None,
        })
        .collect()
}

pub(super) fn incidents(effects: &[Effect]) -> Vec<&IncidentRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Incident(request) => Some(&**request),
            _ => None,
        })
        .collect()
}

/// Answers every watch measurement `effects` asked for with `measurement`.
pub(super) fn answer(sim: &mut Sim, effects: &[Effect], measurement: &Measurement) -> Vec<Effect> {
    let mut out = Vec::new();
    for effect in effects {
        if let Effect::Measure {
            service,
            generation,
            check,
            role: Role::Watch,
            ..
        } = effect
        {
            out.extend(sim.feed(Input::Measured {
                service: *service,
                generation: *generation,
                check: *check,
                role: Role::Watch,
                measurement: measurement.clone(),
            }));
        }
    }
    out
}

/// Upgrades to r2 and makes the new generation ready; returns (old, new) pids and the
/// effects of the upgrade request.
fn cut_over(sim: &mut Sim) -> (u32, u32, Vec<Effect>) {
    let old = sim.pid_of(0);
    let requested = sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    sim.ready(new);
    (old, new, requested)
}

pub(super) fn failed(reason: &str) -> Measurement {
    Measurement::Failed(vec![reason.to_owned()])
}

#[test]
fn each_check_that_keeps_failing_in_the_watch_window_rolls_back_with_its_reason() {
    // What the driver measures of the faulty builds of the issue, as the evaluators word it.
    let cases = [
        (
            Check::Probe,
            "success rate 0.000 (0 of 3) is under 0.99 (e.g. status 500, expected 200)",
            RollbackReason::Probe,
            "probe",
        ),
        (
            Check::Probe,
            "p99 52.000ms is over 2× the baseline 2.000ms",
            RollbackReason::Probe,
            "probe",
        ),
        (
            Check::Metrics,
            "success rate 0.000 is under 0.99",
            RollbackReason::ServiceMetrics,
            "metrics",
        ),
        (
            Check::Process,
            "RSS grows by 200.0 MiB/s, over the limit 50.0 MiB/s",
            RollbackReason::ProcessSignals,
            "process",
        ),
        (
            Check::NotAccepting,
            "64 connections wait in the accept queue (before: 64) and the generation accepted none",
            RollbackReason::NotAccepting,
            "not_accepting",
        ),
    ];
    for (check, reason, expected, label) in cases {
        rolls_back_after_three_failures(check, reason, expected, label);
    }
}

/// Three failed measurements of `check` in a row roll the upgrade back with `expected`,
/// record an incident and end with the old release serving again.
fn rolls_back_after_three_failures(
    check: Check,
    reason: &str,
    expected: RollbackReason,
    label: &str,
) {
    let mut sim = sim(&[(check, 3, Action::Rollback)]);
    let (old, new, requested) = cut_over(&mut sim);
    assert_eq!(
        asked(&requested),
        [(check, Role::Baseline, old)],
        "{label}: the old generation is the baseline"
    );
    let effects = fail_three_times(&mut sim, check, new, reason, label);
    let incident = incidents(&effects);
    assert_eq!(incident.len(), 1, "{label}: {effects:#?}");
    assert_eq!(incident[0].pid, new, "{label}");
    assert_eq!(incident[0].trigger, Trigger::AnalysisRollback, "{label}");
    assert_eq!(incident[0].after, AfterDump::Quit, "{label}");
    assert_eq!(incident[0].measurements.len(), 3, "{label}");
    assert_eq!(incident[0].measurements[0].0, label);
    assert_eq!(phases(&effects), [Phase::RollingBack], "{label}");
    let id = incident[0].id.clone();
    let restarted = sim.pid_of(0);
    assert_ne!(restarted, new);
    // The failed generation's dump ends it; the draining old one goes too.
    assert!(phases(&sim.exit(new)).is_empty());
    assert!(phases(&sim.exit(old)).is_empty());
    let effects = sim.ready(restarted);
    assert_eq!(
        phases(&effects),
        [Phase::RolledBack, Phase::Running],
        "{label}"
    );
    let result = outcome(&effects).unwrap();
    assert_eq!(result.result, UpgradeResult::RolledBack, "{label}");
    assert_eq!(result.rollback_reason, Some(expected), "{label}");
    assert_eq!(expected.label(), label);
    assert_eq!(result.failed_pid, Some(new), "{label}");
    assert!(
        result.reason.as_deref().unwrap().contains(reason),
        "{label}: {:?}",
        result.reason
    );
    assert_eq!(result.incident.as_deref(), Some(id.as_str()), "{label}");
    assert_eq!(
        events(&effects)[0].incident.as_deref(),
        Some(id.as_str()),
        "{label}: the rolled_back event names the incident"
    );
}

/// Answers three due measurements of `check` on `new` with a failure; the first two change
/// nothing, the effects of the third are returned.
fn fail_three_times(
    sim: &mut Sim,
    check: Check,
    new: u32,
    reason: &str,
    label: &str,
) -> Vec<Effect> {
    // The checks run from the readiness on, while the old generation drains.
    let mut rolled = Vec::new();
    for round in 0..3 {
        let due = sim.wait(INTERVAL);
        assert_eq!(asked(&due), [(check, Role::Watch, new)], "{label} {round}");
        let effects = answer(sim, &due, &failed(reason));
        if round < 2 {
            assert!(phases(&effects).is_empty(), "{label}: {effects:#?}");
        } else {
            rolled = effects;
        }
    }
    rolled
}

#[test]
fn a_check_in_the_watch_window_after_the_drain_rolls_back_too() {
    let mut sim = sim(&[(Check::NotAccepting, 2, Action::Rollback)]);
    let (old, new, _) = cut_over(&mut sim);
    assert_eq!(phases(&sim.exit(old)), [Phase::Watching]);
    let mut last = Vec::new();
    for _ in 0..2 {
        let due = sim.wait(INTERVAL);
        last = answer(&mut sim, &due, &failed("queue stuck"));
    }
    assert_eq!(phases(&last), [Phase::RollingBack]);
    assert_eq!(incidents(&last)[0].pid, new);
}

#[test]
fn an_inconclusive_measurement_neither_counts_nor_resets() {
    let mut sim = sim(&[(Check::Process, 2, Action::Rollback)]);
    let (old, _, _) = cut_over(&mut sim);
    sim.exit(old);
    let sequence = [
        failed("RSS grows"),
        Measurement::Inconclusive("/proc could not be read".into()),
        failed("RSS grows"),
    ];
    let mut effects = Vec::new();
    for measurement in &sequence {
        let due = sim.wait(INTERVAL);
        effects = answer(&mut sim, &due, measurement);
    }
    assert_eq!(phases(&effects), [Phase::RollingBack]);
    assert_eq!(incidents(&effects)[0].measurements.len(), 2);
}

#[test]
fn occasional_failures_below_the_limit_upgrade() {
    let mut sim = sim(&[(Check::Probe, 2, Action::Rollback)]);
    let (old, _, _) = cut_over(&mut sim);
    sim.exit(old);
    let mut result = None;
    for round in 0..40 {
        let due = sim.wait(INTERVAL);
        let measurement = if round % 2 == 0 {
            failed("one slow probe")
        } else {
            Measurement::Passed
        };
        let mut effects = answer(&mut sim, &due, &measurement);
        effects.extend(due);
        if let Some(found) = outcome(&effects) {
            result = Some(found.clone());
            break;
        }
    }
    let result = result.expect("the watch window ends");
    assert_eq!(result.result, UpgradeResult::Upgraded);
    assert_eq!(result.incident, None);
}

#[test]
fn an_alert_only_check_publishes_and_counts_but_upgrades() {
    let mut sim = sim(&[(Check::Process, 1, Action::Alert)]);
    let (old, _, _) = cut_over(&mut sim);
    sim.exit(old);
    let due = sim.wait(INTERVAL);
    let effects = answer(
        &mut sim,
        &due,
        &failed("RSS 900.000 MiB is over the limit 512.000 MiB"),
    );
    let alert = events(&effects);
    assert_eq!(alert.len(), 1, "{effects:#?}");
    assert_eq!(alert[0].phase, Phase::Watching);
    assert!(
        alert[0]
            .detail
            .as_deref()
            .unwrap()
            .starts_with("analysis alert: check `process`"),
        "{alert:?}"
    );
    assert!(incidents(&effects).is_empty());
    let metrics = sim.core.analysis_metrics();
    assert!(
        metrics.contains(
            "goshift_analysis_verdicts_total{service=\"api\",check=\"process\",action=\"alert\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "goshift_analysis_measurements_total{service=\"api\",check=\"process\",result=\"failed\"} 1"
        ),
        "{metrics}"
    );
    let effects = sim.wait(Duration::from_secs(3));
    assert_eq!(
        outcome(&effects).map(|o| o.result),
        Some(UpgradeResult::Upgraded)
    );
}

#[test]
fn measurements_of_anything_but_the_watched_generation_are_ignored() {
    let mut sim = sim(&[(Check::Probe, 1, Action::Rollback)]);
    let (old, new, _) = cut_over(&mut sim);
    let (_, old_generation) = sim.live[&old];
    let (_, new_generation) = sim.live[&new];
    let stale = [
        (old_generation, Role::Watch),
        (new_generation, Role::Baseline),
        (new_generation + 100, Role::Watch),
    ];
    for (generation, role) in stale {
        let effects = sim.feed(Input::Measured {
            service: 0,
            generation,
            check: Check::Probe,
            role,
            measurement: failed("stale"),
        });
        assert!(effects.is_empty(), "{generation} {role:?}: {effects:#?}");
    }
    // Outside an upgrade, nothing is measured at all.
    let mut idle = self::sim(&[(Check::Probe, 1, Action::Rollback)]);
    assert!(idle.core.next_deadline().is_none());
    assert!(asked(&idle.wait(Duration::from_secs(5))).is_empty());
}

#[test]
fn without_checks_nothing_is_measured() {
    let mut sim = sim(&[]);
    let (old, _, requested) = cut_over(&mut sim);
    assert!(asked(&requested).is_empty());
    sim.exit(old);
    assert_eq!(
        sim.core.next_deadline(),
        Some(sim.now().mono + Duration::from_secs(3)),
        "the watch window is the only deadline"
    );
}

#[test]
fn a_new_generation_killed_for_not_being_ready_gets_an_incident_first() {
    let mut sim = sim(&[]);
    sim.upgrade(Kind::Upgrade, "r2");
    let new = sim.pid_of(0);
    let effects = sim.fire();
    let position = |wanted: &dyn Fn(&Effect) -> bool| effects.iter().position(wanted);
    let incident = position(&|e| matches!(e, Effect::Incident(r) if r.pid == new)).unwrap();
    let kill = position(&|e| matches!(e, Effect::Kill { pid } if *pid == new)).unwrap();
    assert!(incident < kill, "{effects:#?}");
    let request = incidents(&effects)[0];
    assert_eq!(request.trigger, Trigger::RollbackKill);
    assert_eq!(request.after, AfterDump::Kill);
    let result = outcome(&effects).unwrap();
    assert_eq!(result.rollback_reason, Some(RollbackReason::ReadyTimeout));
    assert_eq!(result.incident.as_deref(), Some(request.id.as_str()));
}

#[test]
fn a_generation_that_ignores_its_stop_signal_gets_an_incident_before_its_kill() {
    let mut sim = sim(&[]);
    let (old, _, _) = cut_over(&mut sim);
    let effects = sim.wait(Duration::from_secs(10));
    let request = incidents(&effects)
        .into_iter()
        .find(|r| r.pid == old)
        .unwrap_or_else(|| panic!("{effects:#?}"));
    assert_eq!(request.trigger, Trigger::StopIgnored);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Kill { pid } if *pid == old))
    );
}

#[test]
fn a_death_in_the_watch_window_records_an_incident_of_its_last_words() {
    let mut sim = sim(&[]);
    let (old, new, _) = cut_over(&mut sim);
    sim.exit(old);
    let effects = sim.exit(new);
    let request = incidents(&effects)[0];
    assert_eq!(
        (request.pid, request.trigger, request.after),
        (new, Trigger::DiedInWatch, AfterDump::Gone)
    );
    let restarted = sim.pid_of(0);
    let effects = sim.ready(restarted);
    let result = outcome(&effects).unwrap();
    assert_eq!(result.rollback_reason, Some(RollbackReason::DiedInWatch));
    assert_eq!(result.incident.as_deref(), Some(request.id.as_str()));
}

#[test]
fn every_rollback_reason_is_written_as_its_label() {
    for reason in RollbackReason::ALL {
        assert_eq!(
            serde_json::to_value(reason).unwrap(),
            serde_json::Value::String(reason.label().to_owned()),
            "{reason:?}"
        );
    }
}
