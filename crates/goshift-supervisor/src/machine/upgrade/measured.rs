//! Measurements of the new generation during an upgrade, and the incidents of a failed one.

use crate::analysis::Measurement;
use crate::incident::Trigger;
use crate::phase::PhaseEvent;
use crate::release;

use super::super::analysis::{self, Check, Decision, Role};
use super::super::service::{Gen, Retiring, Service, State};
use super::super::{AfterDump, Cx, Effect, IncidentRequest};
use super::{Failure, Info, Step, Upgrade};

impl Service {
    /// A judged measurement of `check`: counted, and when its tally decides, an alert is
    /// published or the upgrade rolls back. Measurements of anything but the new generation
    /// of a running analysis (a baseline, a generation already replaced) are ignored.
    pub(in super::super) fn measured(
        &mut self,
        index: usize,
        generation: u64,
        check: Check,
        role: Role,
        measurement: Measurement,
        cx: &mut Cx,
    ) {
        if role != Role::Watch {
            return;
        }
        let upgrade = match std::mem::replace(&mut self.state, State::Stopping) {
            State::Upgrading(upgrade) => upgrade,
            state => {
                self.state = state;
                return;
            }
        };
        let new = match &upgrade.step {
            Step::Baking { new, .. } | Step::Draining { new, .. } | Step::Watching { new, .. }
                if new.id == generation =>
            {
                new.pid
            }
            _ => {
                self.state = State::Upgrading(upgrade);
                return;
            }
        };
        let mut upgrade = upgrade;
        cx.analysis.measured(&self.rules.name, check, &measurement);
        match upgrade.info.analysis.record(check, measurement) {
            Decision::Nothing => self.state = State::Upgrading(upgrade),
            Decision::Alert(verdict) => {
                cx.analysis.verdict(&self.rules.name, check, verdict.action);
                let event = PhaseEvent {
                    new_pid: new,
                    detail: Some(format!("analysis alert: {}", analysis::describe(&verdict))),
                    ..upgrade.info.event(self, cx, self.phase)
                };
                let waiter = upgrade.info.waiter;
                self.publish(cx, event, waiter);
                self.state = State::Upgrading(upgrade);
            }
            Decision::Rollback(check, verdict) => {
                cx.analysis.verdict(&self.rules.name, check, verdict.action);
                let detail = format!("analysis: {}", analysis::describe(&verdict));
                self.analysis_failed(index, *upgrade, check, detail, cx);
            }
        }
    }

    /// A check decided a rollback: the failed generation's incident is recorded (its
    /// goroutine dump ends it; `SIGKILL` follows after the grace period if not). During a
    /// bake the old generation serves on, warm; after it, the previous release starts
    /// again. The listeners stay open throughout: connections that arrive meanwhile wait in
    /// the accept queue for it.
    fn analysis_failed(
        &mut self,
        index: usize,
        upgrade: Upgrade,
        check: Check,
        detail: String,
        cx: &mut Cx,
    ) {
        let Upgrade { mut info, step } = upgrade;
        let (new, old) = match step {
            Step::Draining { new, .. } | Step::Watching { new, .. } => (new, None),
            Step::Baking { old, new, .. } => (new, Some(old)),
            step => {
                self.state = State::Upgrading(Box::new(Upgrade { info, step }));
                return;
            }
        };
        let failure = Failure {
            reason: check.reason(),
            detail,
            failed_pid: new.pid,
        };
        self.record_incident(index, &mut info, &new, Trigger::AnalysisRollback, cx);
        self.retiring.push(Retiring {
            id: new.id,
            pid: new.pid,
            kill_at: Some(cx.now.mono + self.rules.grace),
            killed: false,
        });
        if let Some(old) = old {
            return self.fail_before_cutover(index, &info, Some(old), &failure, cx);
        }
        self.release = info.from.clone();
        // `RollingBack` is published once the previous release runs (`upgrade_started`).
        let child = self.spawn(index, info.from.clone(), cx);
        self.state = State::Upgrading(Box::new(Upgrade {
            info,
            step: Step::RollingBack { child, failure },
        }));
    }

    /// Asks the driver to record an incident of `failed` (a new generation this upgrade gives
    /// up on) and names it in the upgrade's later events and outcome. A generation that never
    /// ran has nothing to record.
    pub(super) fn record_incident(
        &self,
        index: usize,
        info: &mut Info,
        failed: &Gen,
        trigger: Trigger,
        cx: &mut Cx,
    ) {
        let Some(pid) = failed.pid else {
            return;
        };
        let id = incident_id(cx, &self.rules.name, failed.id);
        info.incident = Some(id.clone());
        let measurements = info
            .analysis
            .failures
            .iter()
            .map(|(check, reasons)| (check.label().to_owned(), reasons.clone()))
            .collect();
        cx.emit(Effect::Incident(Box::new(IncidentRequest {
            service: index,
            generation: failed.id,
            pid,
            id,
            upgrade_id: Some(info.id.clone()),
            trigger,
            release: Some(failed.release.clone()),
            measurements,
            after: match trigger {
                Trigger::AnalysisRollback => AfterDump::Quit,
                Trigger::RollbackKill | Trigger::StopIgnored => AfterDump::Kill,
                Trigger::DiedInWatch | Trigger::DiedInBake => AfterDump::Gone,
            },
        })));
    }
}

/// `YYYYMMDDTHHMMSSZ-SERVICE-gN`: sortable by time, unique per generation.
pub(in super::super) fn incident_id(cx: &Cx, service: &str, generation: u64) -> String {
    format!(
        "{}-{service}-g{generation}",
        release::compact_utc(cx.now.wall)
    )
}
