//! Upgrades: `Spawned` → (ready) `Ready`, `Draining` → (old reaped) `Watching` →
//! (window over) `Upgraded`; with `bake`, `Baking` (both serve) comes between `Ready` and
//! `Draining` (`bake.rs`). Before the cutover a failure (exit, ready timeout, spawn error)
//! kills the new generation and ends `RolledBack` while the old one never stopped serving;
//! so does an abort of the bake. After it, a death of the new generation starts the previous
//! release again (`RollingBack`), and its readiness ends `RolledBack`.

mod bake;
mod measured;

pub(super) use measured::incident_id;

use std::time::{Duration, Instant};

use crate::control::Reply;
use crate::phase::{Outcome, Phase, PhaseEvent, Readiness, RollbackReason, Trigger, UpgradeResult};
use crate::release::Release;

use super::analysis::{self, Analysis};
use super::service::{Gen, Retiring, Service, State};
use super::{Cx, Effect, WaiterId};

/// What asked for an upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `svc upgrade`.
    Upgrade,
    /// `svc rollback`.
    Rollback,
    /// `SIGHUP`.
    Reload,
}

impl Kind {
    fn trigger(self) -> Trigger {
        match self {
            Self::Upgrade => Trigger::Request,
            Self::Rollback => Trigger::Rollback,
            Self::Reload => Trigger::Reload,
        }
    }
}

/// Why an upgrade is rolling back.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) reason: RollbackReason,
    pub(super) detail: String,
    /// The new generation that failed, if it ever ran.
    pub(super) failed_pid: Option<u32>,
}

/// What an upgrade knows whatever its step.
#[derive(Debug)]
pub(super) struct Info {
    pub(super) id: String,
    kind: Kind,
    from: Release,
    to: Release,
    reason: Option<String>,
    started: Instant,
    pub(super) waiter: Option<WaiterId>,
    old_pid: Option<u32>,
    new_pid: Option<u32>,
    ready_at: Option<Instant>,
    /// The supervisor's own share of the cutover so far.
    overhead: Duration,
    /// An old generation got its stop signal.
    drained: bool,
    old_killed: bool,
    /// The checks judging the new generation, from its readiness on.
    analysis: Analysis,
    /// The incident recorded for a failed new generation.
    incident: Option<String>,
}

/// Where an upgrade is.
#[derive(Debug)]
pub(super) enum Step {
    /// The new generation is starting; the old one (if it is alive) serves.
    Spawned { old: Option<Gen>, new: Gen },
    /// Both generations serve until `until`; the checks judge the new one. The old one gets
    /// its stop signal only once the bake passed; an abort stops the new one alone.
    Baking { old: Gen, new: Gen, until: Instant },
    /// The new generation serves; the old one got its stop signal.
    Draining { new: Gen, old: u64 },
    /// The old generation is gone; a death of the new one before `until` rolls back.
    Watching { new: Gen, until: Instant },
    /// The new generation died after the cutover; the previous release starts again.
    RollingBack { child: Gen, failure: Failure },
}

/// A running upgrade.
#[derive(Debug)]
pub(super) struct Upgrade {
    pub(super) info: Info,
    pub(super) step: Step,
}

/// How a request to upgrade was taken.
#[derive(Debug)]
pub(super) enum Begun {
    Started,
    Refused(String),
    /// The release already serves.
    Unchanged(Box<Outcome>),
    /// The request ended the running upgrade (a `svc rollback` during a bake) with this
    /// outcome.
    Ended(Box<Outcome>),
}

impl Info {
    /// An event of this upgrade: its id, trigger, target release and pids.
    fn event(&self, service: &Service, cx: &Cx, phase: Phase) -> PhaseEvent {
        PhaseEvent {
            upgrade_id: Some(self.id.clone()),
            trigger: Some(self.kind.trigger()),
            release: Some(self.to.id().to_owned()),
            old_pid: self.old_pid,
            new_pid: self.new_pid,
            ..service.event(cx, phase)
        }
    }

    /// An event of the rollback after the cutover: the previous release, the failed pid
    /// being replaced by `pid`.
    fn rollback_event(
        &self,
        service: &Service,
        cx: &Cx,
        phase: Phase,
        failure: &Failure,
        pid: Option<u32>,
    ) -> PhaseEvent {
        PhaseEvent {
            release: Some(self.from.id().to_owned()),
            old_pid: failure.failed_pid,
            new_pid: pid,
            failed_pid: failure.failed_pid,
            detail: Some(failure.detail.clone()),
            incident: self.incident.clone(),
            ..self.event(service, cx, phase)
        }
    }

    pub(super) fn stop_sent(&mut self, step: &Step, id: u64, at: Instant) {
        if let (Step::Draining { old, .. }, Some(ready_at)) = (step, self.ready_at)
            && *old == id
        {
            self.overhead += at.saturating_duration_since(ready_at);
        }
    }
}

impl Upgrade {
    /// Whether a `SIGHUP` finding `release` in `current` has nothing to add to this upgrade:
    /// it is the release being started, or, for a requested upgrade or rollback (which point
    /// `current` at their release only once they succeed), the one being replaced.
    pub(super) fn involves(&self, release: &str) -> bool {
        self.info.to.id() == release
            || (self.info.kind != Kind::Reload && self.info.from.id() == release)
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        match &self.step {
            Step::Spawned { new: child, .. } | Step::RollingBack { child, .. } => {
                (child.readiness == Readiness::Starting).then_some(child.deadline)
            }
            Step::Baking { until, .. } | Step::Watching { until, .. } => Some(
                self.info
                    .analysis
                    .deadline()
                    .map_or(*until, |a| a.min(*until)),
            ),
            Step::Draining { .. } => self.info.analysis.deadline(),
        }
    }

    pub(super) fn gens(&self) -> Vec<&Gen> {
        match &self.step {
            Step::Spawned { old, new } => old.iter().chain([new]).collect(),
            Step::Baking { old, new, .. } => vec![old, new],
            Step::Draining { new, .. } | Step::Watching { new, .. } => vec![new],
            Step::RollingBack { child, .. } => vec![child],
        }
    }

    pub(super) fn gen_mut(&mut self, id: u64) -> Option<&mut Gen> {
        match &mut self.step {
            Step::Spawned { old, new } => old.iter_mut().chain([new]).find(|g| g.id == id),
            Step::Baking { old, new, .. } => [old, new].into_iter().find(|g| g.id == id),
            Step::Draining { new, .. } | Step::Watching { new, .. } => {
                Some(new).filter(|g| g.id == id)
            }
            Step::RollingBack { child, .. } => Some(child).filter(|g| g.id == id),
        }
    }

    /// The generation that serves, or is about to.
    pub(super) fn active(&self) -> Option<&Gen> {
        match &self.step {
            Step::Spawned { old, .. } => old.as_ref(),
            Step::Baking { new, .. } | Step::Draining { new, .. } | Step::Watching { new, .. } => {
                Some(new)
            }
            Step::RollingBack { child, .. } => Some(child),
        }
    }

    /// The supervisor stops: the waiter hears that the upgrade was abandoned; every
    /// generation is returned to get its stop signal.
    pub(super) fn abandon(self, cx: &mut Cx) -> Vec<Gen> {
        if let Some(waiter) = self.info.waiter {
            cx.emit(Effect::Reply {
                waiter,
                reply: Reply::Error {
                    message: "the supervisor is stopping; the upgrade was abandoned".into(),
                },
            });
        }
        match self.step {
            Step::Spawned { old, new } => old.into_iter().chain([new]).collect(),
            Step::Baking { old, new, .. } => vec![old, new],
            Step::Draining { new, .. } | Step::Watching { new, .. } => vec![new],
            Step::RollingBack { child, .. } => vec![child],
        }
    }
}

impl Service {
    /// Starts an upgrade of this service to `release`, or says why not. A `svc rollback`
    /// during a bake ends the bake instead.
    pub(super) fn begin_upgrade(
        &mut self,
        index: usize,
        kind: Kind,
        release: Result<Release, String>,
        reason: Option<String>,
        waiter: Option<WaiterId>,
        cx: &mut Cx,
    ) -> Begun {
        if let Some(begun) = self.busy(index, kind, cx) {
            return begun;
        }
        let name = self.rules.name.clone();
        let release = match release {
            Ok(release) => release,
            Err(message) => return Begun::Refused(message),
        };
        let id = cx.upgrade_id(&name);
        let old = match self.take_serving(&release, &id, cx) {
            Ok(old) => old,
            Err(begun) => return begun,
        };
        if let Some(pid) = old.as_ref().and_then(|g| g.pid) {
            let generation = old.as_ref().map_or(0, |g| g.id);
            analysis::baseline(&self.rules.checks, index, generation, pid, cx);
        }
        let new = self.spawn(index, release.clone(), cx);
        let info = Info {
            id,
            kind,
            from: old
                .as_ref()
                .map_or_else(|| self.release.clone(), |g| g.release.clone()),
            to: release,
            reason,
            started: cx.now.mono,
            waiter,
            old_pid: old.as_ref().and_then(|g| g.pid),
            new_pid: None,
            ready_at: None,
            overhead: Duration::ZERO,
            drained: false,
            old_killed: false,
            analysis: Analysis::default(),
            incident: None,
        };
        self.state = State::Upgrading(Box::new(Upgrade {
            info,
            step: Step::Spawned { old, new },
        }));
        Begun::Started
    }

    /// What a request meets while an upgrade runs: a refusal, or for `svc rollback` during a
    /// bake, the end of the bake. `None` when no upgrade runs.
    fn busy(&mut self, index: usize, kind: Kind, cx: &mut Cx) -> Option<Begun> {
        let name = &self.rules.name;
        match std::mem::replace(&mut self.state, State::Stopping) {
            State::Upgrading(running) => match *running {
                Upgrade {
                    info,
                    step: Step::Baking { old, new, .. },
                } if kind == Kind::Rollback => {
                    Some(self.rollback_bake(index, &info, old, &new, cx))
                }
                running => {
                    let message = format!(
                        "an upgrade of `{name}` is already in progress (upgrade {} to {}); wait for its outcome",
                        running.info.id,
                        running.info.to.id()
                    );
                    self.state = State::Upgrading(Box::new(running));
                    Some(Begun::Refused(message))
                }
            },
            state => {
                self.state = state;
                None
            }
        }
    }

    /// Takes the serving generation (if any) out of a state an upgrade may start from, or
    /// says why none may.
    fn take_serving(&mut self, release: &Release, id: &str, cx: &Cx) -> Result<Option<Gen>, Begun> {
        let name = &self.rules.name;
        match std::mem::replace(&mut self.state, State::Stopping) {
            State::Running(child)
                if child.release.id() == release.id() && !self.settings_changed =>
            {
                self.state = State::Running(child);
                Err(Begun::Unchanged(Box::new(self.unchanged(
                    id.to_owned(),
                    release,
                    cx,
                ))))
            }
            State::Running(child) => {
                self.settings_changed = false;
                Ok(Some(child))
            }
            State::Idle | State::Restarting { .. } => Ok(None),
            State::Starting(child) => {
                let message = format!(
                    "service `{name}` is still starting (pid {}); upgrade once it is ready",
                    child
                        .pid
                        .map_or_else(|| "unknown".to_owned(), |p| p.to_string())
                );
                self.state = State::Starting(child);
                Err(Begun::Refused(message))
            }
            state @ (State::Stopping | State::Upgrading(_)) => {
                self.state = state;
                Err(Begun::Refused("the supervisor is stopping".into()))
            }
        }
    }

    fn unchanged(&self, id: String, release: &Release, cx: &Cx) -> Outcome {
        Outcome {
            service: self.rules.name.clone(),
            upgrade_id: id,
            result: UpgradeResult::Unchanged,
            from: Some(release.id().to_owned()),
            to: release.id().to_owned(),
            reason: Some(format!("release {} is already serving", release.id())),
            finished: humantime::format_rfc3339_millis(cx.now.wall).to_string(),
            duration_seconds: 0.0,
            handoff_overhead_ms: None,
            old_killed: false,
            rollback_reason: None,
            failed_pid: None,
            incident: None,
        }
    }

    /// The generation an upgrade asked for runs: `Spawned`, or `RollingBack` after the
    /// cutover.
    pub(super) fn upgrade_started(&mut self, pid: u32, cx: &mut Cx) {
        let State::Upgrading(upgrade) = &mut self.state else {
            return;
        };
        let event_of = |service: &Self, upgrade: &Upgrade| match &upgrade.step {
            Step::RollingBack { child, failure } if child.pid == Some(pid) => Some(
                upgrade
                    .info
                    .rollback_event(service, cx, Phase::RollingBack, failure, child.pid),
            ),
            Step::Spawned { new, .. } if new.pid == Some(pid) => {
                Some(upgrade.info.event(service, cx, Phase::Spawned))
            }
            _ => None,
        };
        if matches!(&upgrade.step, Step::Spawned { .. }) {
            upgrade.info.new_pid = Some(pid);
        }
        let State::Upgrading(upgrade) = &self.state else {
            return;
        };
        let waiter = upgrade.info.waiter;
        if let Some(event) = event_of(self, upgrade) {
            self.publish(cx, event, waiter);
        }
    }

    pub(super) fn upgrade_ready(&mut self, index: usize, upgrade: Upgrade, id: u64, cx: &mut Cx) {
        let Upgrade { mut info, step } = upgrade;
        let step = match step {
            Step::Spawned { old, mut new } if new.id == id && is_starting(&new) => {
                new.readiness = Readiness::Ready;
                self.settled = true;
                info.ready_at = Some(cx.now.mono);
                let event = PhaseEvent {
                    old_pid: old.as_ref().and_then(|g| g.pid),
                    ..info.event(self, cx, Phase::Ready)
                };
                match (old, self.rules.bake) {
                    (Some(old), Some(bake)) => {
                        self.publish(cx, event, info.waiter);
                        info.analysis = Analysis::start(&self.rules.checks, cx.now.mono);
                        self.start_bake(&mut info, old, new, bake, cx)
                    }
                    (old, _) => {
                        // The stop signal goes out before anything is published: the
                        // supervisor's share of the cutover is the decision alone.
                        if let Some(old) = &old {
                            self.retire(index, old, cx);
                        }
                        self.publish(cx, event, info.waiter);
                        info.analysis = Analysis::start(&self.rules.checks, cx.now.mono);
                        self.cut_over(&mut info, old, new, cx)
                    }
                }
            }
            Step::RollingBack { mut child, failure } if child.id == id && is_starting(&child) => {
                child.readiness = Readiness::Ready;
                self.restart_attempt = 0;
                let event = info.rollback_event(self, cx, Phase::RolledBack, &failure, child.pid);
                self.conclude(index, &info, Some(&failure), Some(event), cx);
                self.publish_running_gen(cx, &child);
                self.state = State::Running(child);
                return;
            }
            step => step,
        };
        self.state = State::Upgrading(Box::new(Upgrade { info, step }));
    }

    /// The new generation is ready and the old one got its stop signal (`Draining`), or, when
    /// it is already gone, the watch window starts.
    fn cut_over(&mut self, info: &mut Info, old: Option<Gen>, new: Gen, cx: &mut Cx) -> Step {
        if let Some(old) = old {
            info.drained = true;
            let event = PhaseEvent {
                old_pid: old.pid,
                ..info.event(self, cx, Phase::Draining)
            };
            self.publish(cx, event, info.waiter);
            Step::Draining { new, old: old.id }
        } else {
            let until = cx.now.mono + self.rules.watch;
            let event = PhaseEvent {
                old_pid: None,
                ..info.event(self, cx, Phase::Watching)
            };
            self.publish(cx, event, info.waiter);
            Step::Watching { new, until }
        }
    }

    /// A retiring generation was reaped; if it is the one this upgrade drains, the watch
    /// window starts.
    pub(super) fn old_exited(
        &mut self,
        upgrade: Upgrade,
        retired: &Retiring,
        status: &str,
        at: Instant,
        cx: &mut Cx,
    ) {
        let Upgrade { mut info, step } = upgrade;
        let step = match step {
            Step::Draining { new, old } if old == retired.id => {
                info.overhead += cx.now.mono.saturating_duration_since(at);
                info.old_killed = retired.killed;
                let until = cx.now.mono + self.rules.watch;
                let event = PhaseEvent {
                    detail: Some(format!("old generation exited ({status})")),
                    ..info.event(self, cx, Phase::Watching)
                };
                self.publish(cx, event, info.waiter);
                Step::Watching { new, until }
            }
            step => step,
        };
        self.state = State::Upgrading(Box::new(Upgrade { info, step }));
    }

    pub(super) fn upgrade_exited(
        &mut self,
        index: usize,
        upgrade: Upgrade,
        id: u64,
        status: &str,
        cx: &mut Cx,
    ) {
        let Upgrade { info, step } = upgrade;
        let step = match step {
            Step::Spawned { old, new } if new.id == id => {
                let failure = Failure {
                    reason: RollbackReason::ExitedBeforeReady,
                    detail: format!("the new generation exited before it was ready ({status})"),
                    failed_pid: new.pid,
                };
                return self.fail_before_cutover(index, &info, old, &failure, cx);
            }
            // The old generation died while the new one starts: the new one takes over
            // without a drain when ready, or a restart follows if it fails.
            Step::Spawned {
                old: Some(old),
                new,
            } if old.id == id => Step::Spawned { old: None, new },
            Step::Draining { new, .. } | Step::Watching { new, .. } if new.id == id => {
                return self.died_after_cutover(index, info, &new, status, cx);
            }
            Step::Baking { old, new, .. } if new.id == id => {
                return self.died_in_bake(index, info, old, &new, status, cx);
            }
            Step::Baking { old, new, .. } if old.id == id => {
                self.old_died_in_bake(&info, new, status, cx)
            }
            Step::RollingBack { child, failure } if child.id == id => {
                self.conclude(index, &info, Some(&failure), None, cx);
                let detail = format!("the previous release exited too ({status})");
                return self.schedule_restart(detail, cx);
            }
            step => step,
        };
        self.state = State::Upgrading(Box::new(Upgrade { info, step }));
    }

    pub(super) fn upgrade_spawn_failed(
        &mut self,
        index: usize,
        upgrade: Upgrade,
        id: u64,
        error: &str,
        cx: &mut Cx,
    ) {
        let Upgrade { info, step } = upgrade;
        let step = match step {
            Step::Spawned { old, new } if new.id == id => {
                let failure = Failure {
                    reason: RollbackReason::SpawnFailed,
                    detail: format!("the new release could not be started: {error}"),
                    failed_pid: None,
                };
                return self.fail_before_cutover(index, &info, old, &failure, cx);
            }
            Step::RollingBack { child, failure } if child.id == id => {
                self.conclude(index, &info, Some(&failure), None, cx);
                return self.schedule_restart(format!("failed to start: {error}"), cx);
            }
            step => step,
        };
        self.state = State::Upgrading(Box::new(Upgrade { info, step }));
    }

    pub(super) fn upgrade_timer(&mut self, index: usize, upgrade: Upgrade, cx: &mut Cx) {
        let now = cx.now.mono;
        let Upgrade { mut info, step } = upgrade;
        let (judged, beside) = match &step {
            Step::Draining { new, .. } | Step::Watching { new, .. } => (Some(new), None),
            Step::Baking { old, new, .. } => (Some(new), old.pid.map(|pid| (old.id, pid))),
            Step::Spawned { .. } | Step::RollingBack { .. } => (None, None),
        };
        if let Some(new) = judged
            && let Some(pid) = new.pid
        {
            info.analysis.due(index, (new.id, pid), beside, cx);
        }
        let step = match step {
            Step::Spawned { old, new }
                if new.readiness == Readiness::Starting && new.deadline <= now =>
            {
                self.record_incident(
                    index,
                    &mut info,
                    &new,
                    crate::incident::Trigger::RollbackKill,
                    cx,
                );
                self.kill_unready(&new, cx);
                let timeout = humantime::format_duration(self.rules.ready_timeout);
                let failure = Failure {
                    reason: RollbackReason::ReadyTimeout,
                    detail: format!("the new generation was not ready within {timeout}"),
                    failed_pid: new.pid,
                };
                return self.fail_before_cutover(index, &info, old, &failure, cx);
            }
            Step::Baking { old, new, until } if until <= now => {
                self.bake_passed(index, &mut info, old, new, cx)
            }
            Step::Watching { new, until } if until <= now => {
                let event = info.event(self, cx, Phase::Upgraded);
                self.conclude(index, &info, None, Some(event), cx);
                self.publish_running_gen(cx, &new);
                self.state = State::Running(new);
                return;
            }
            Step::RollingBack { child, failure }
                if child.readiness == Readiness::Starting && child.deadline <= now =>
            {
                self.kill_unready(&child, cx);
                self.conclude(index, &info, Some(&failure), None, cx);
                return self.schedule_restart("not ready in time".into(), cx);
            }
            step => step,
        };
        self.state = State::Upgrading(Box::new(Upgrade { info, step }));
    }

    /// A failure before the new generation took over: the old one keeps serving.
    fn fail_before_cutover(
        &mut self,
        index: usize,
        info: &Info,
        old: Option<Gen>,
        failure: &Failure,
        cx: &mut Cx,
    ) {
        let event = PhaseEvent {
            release: Some(info.from.id().to_owned()),
            old_pid: None,
            failed_pid: failure.failed_pid,
            detail: Some(failure.detail.clone()),
            incident: info.incident.clone(),
            ..info.event(self, cx, Phase::RolledBack)
        };
        self.conclude(index, info, Some(failure), Some(event), cx);
        match old {
            Some(old) => {
                self.publish_running_gen(cx, &old);
                self.state = State::Running(old);
            }
            None => self.schedule_restart("no generation is serving".into(), cx),
        }
    }

    /// The new generation died after the cutover: the previous release starts again.
    fn died_after_cutover(
        &mut self,
        index: usize,
        mut info: Info,
        new: &Gen,
        status: &str,
        cx: &mut Cx,
    ) {
        self.record_incident(
            index,
            &mut info,
            new,
            crate::incident::Trigger::DiedInWatch,
            cx,
        );
        let failure = Failure {
            reason: RollbackReason::DiedInWatch,
            detail: format!("the new generation died after the cutover ({status})"),
            failed_pid: new.pid,
        };
        self.release = info.from.clone();
        let child = self.spawn(index, info.from.clone(), cx);
        self.state = State::Upgrading(Box::new(Upgrade {
            info,
            step: Step::RollingBack { child, failure },
        }));
    }

    /// Ends the upgrade: `current` is pointed at what serves, then the final phase (if any)
    /// is published, then the outcome goes to the waiter and the metrics.
    fn conclude(
        &mut self,
        index: usize,
        info: &Info,
        failure: Option<&Failure>,
        event: Option<PhaseEvent>,
        cx: &mut Cx,
    ) {
        let result = if failure.is_some() {
            UpgradeResult::RolledBack
        } else {
            UpgradeResult::Upgraded
        };
        self.settle_current(index, info, result, cx);
        if let Some(event) = event {
            self.publish(cx, event, info.waiter);
        }
        if result == UpgradeResult::Upgraded {
            self.previous = Some(info.from.clone());
            self.release = info.to.clone();
        }
        let outcome = self.outcome(info, failure, result, cx);
        self.last_outcome = Some(outcome.clone());
        cx.metrics
            .upgrade(&self.rules.name, result, outcome.duration_seconds);
        if let Some(reason) = outcome.rollback_reason {
            cx.metrics.rollback(&self.rules.name, reason);
        }
        if let Some(waiter) = info.waiter {
            cx.emit(Effect::Reply {
                waiter,
                reply: Reply::Outcome { outcome },
            });
        }
        if info.kind == Kind::Reload {
            if result == UpgradeResult::RolledBack {
                let why = failure.map_or_else(String::new, |f| format!(" ({})", f.detail));
                cx.reload_failures.push(format!(
                    "{} rolled back to {}{why}",
                    self.rules.name,
                    info.from.id()
                ));
            }
            cx.reload_ended();
        }
    }

    /// The upgrade's outcome as the waiter, the audit log and the metrics see it.
    fn outcome(
        &self,
        info: &Info,
        failure: Option<&Failure>,
        result: UpgradeResult,
        cx: &Cx,
    ) -> Outcome {
        let requested =
            (info.kind == Kind::Rollback && failure.is_none()).then_some(RollbackReason::Requested);
        Outcome {
            service: self.rules.name.clone(),
            upgrade_id: info.id.clone(),
            result,
            from: Some(info.from.id().to_owned()),
            to: info.to.id().to_owned(),
            reason: failure.map(|f| f.detail.clone()).or(info.reason.clone()),
            finished: humantime::format_rfc3339_millis(cx.now.wall).to_string(),
            duration_seconds: cx
                .now
                .mono
                .saturating_duration_since(info.started)
                .as_secs_f64(),
            handoff_overhead_ms: (info.drained && result == UpgradeResult::Upgraded)
                .then_some(info.overhead.as_secs_f64() * 1000.0),
            old_killed: info.old_killed,
            rollback_reason: failure.map(|f| f.reason).or(requested),
            failed_pid: failure.and_then(|f| f.failed_pid),
            incident: failure.and(info.incident.clone()),
        }
    }

    /// Points `current` at what serves once the upgrade ends with `result`. A reload took
    /// its release from `current`, which may have moved on since: a successful one leaves it
    /// alone, a failed one points it back only while it still names the failed release. A
    /// requested upgrade leaves it to a `SIGHUP` that came meanwhile.
    fn settle_current(&self, index: usize, info: &Info, result: UpgradeResult, cx: &mut Cx) {
        let (release, only_if) = match result {
            UpgradeResult::Upgraded
                if info.kind != Kind::Reload && self.pending_reload.is_none() =>
            {
                (&info.to, None)
            }
            UpgradeResult::RolledBack if info.kind == Kind::Reload => {
                (&info.from, Some(info.to.id().to_owned()))
            }
            _ => return,
        };
        cx.emit(Effect::SetCurrent {
            service: index,
            release: release.id().to_owned(),
            only_if,
        });
    }

    /// Starts the upgrade a `SIGHUP` asked for once the service is free (neither upgrading
    /// nor starting). Nobody waits for its answers: a refusal is published with the
    /// service's phase, and the service manager is told when the last reload ends.
    pub(super) fn start_pending_reload(&mut self, index: usize, cx: &mut Cx) {
        if !matches!(self.state, State::Running(_) | State::Restarting { .. }) {
            return;
        }
        let Some(target) = self.pending_reload.take() else {
            return;
        };
        let reason = Some("SIGHUP".to_owned());
        match self.begin_upgrade(index, Kind::Reload, target.release, reason, None, cx) {
            Begun::Started => {}
            Begun::Unchanged(_) | Begun::Ended(_) => cx.reload_ended(),
            Begun::Refused(message) => {
                let event = PhaseEvent {
                    release: Some(self.release.id().to_owned()),
                    new_pid: self.active().and_then(|g| g.pid),
                    detail: Some(format!("SIGHUP: not upgraded to {}: {message}", target.id)),
                    ..self.event(cx, self.phase)
                };
                self.publish(cx, event, None);
                cx.reload_failures.push(format!(
                    "{}: not upgraded to {}: {message}",
                    self.rules.name, target.id
                ));
                cx.reload_ended();
            }
        }
    }

    pub(super) fn publish_running_gen(&mut self, cx: &mut Cx, child: &Gen) {
        let event = PhaseEvent {
            release: Some(child.release.id().to_owned()),
            new_pid: child.pid,
            ..self.event(cx, Phase::Running)
        };
        self.publish(cx, event, None);
    }
}

/// Starting and known to run: only a started generation can be ready.
fn is_starting(child: &Gen) -> bool {
    child.readiness == Readiness::Starting && child.pid.is_some()
}
