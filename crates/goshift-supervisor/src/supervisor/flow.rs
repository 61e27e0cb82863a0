//! The upgrade state machine and the reactions to readiness, exits and timers.
//!
//! Upgrade: `Spawned` → (ready) `Ready` → (stop signal sent to the old generation)
//! `Draining` → (old reaped) `Watching` → (watch window over) `Upgraded`. Before the cutover a
//! failure (exit, ready timeout, spawn error) kills the new generation and ends `RolledBack`
//! while the old one never stopped serving; after it, a death of the new generation starts
//! the previous release again (`RollingBack`), and its readiness ends `RolledBack`.

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant, SystemTime};

use crate::control::Reply;
use crate::metrics::{Live, ReleaseInfo};
use crate::notify::NotifyMessage;
use crate::phase::{Outcome, Phase, Readiness, ServiceStatus, UpgradeResult};
use crate::release::{self, Release};
use crate::{procfs, sys};

use super::generation::{Generation, Launch};
use super::{Service, Supervisor};

/// A running upgrade.
#[derive(Debug)]
pub(super) struct Upgrade {
    pub(super) id: String,
    pub(super) kind: Kind,
    from: Option<Release>,
    pub(super) to: Release,
    step: Step,
    started: Instant,
    pub(super) waiters: Vec<Sender<Reply>>,
    old_generation: Option<u64>,
    old_pid: Option<u32>,
    new_pid: Option<u32>,
    pub(super) watch_until: Option<Instant>,
    reason: Option<String>,
    old_killed: bool,
    ready_at: Option<Instant>,
    overhead: Duration,
    failure: Option<(&'static str, String)>,
    /// `current` was pointed at what serves (or left alone) for this upgrade's end.
    current_settled: bool,
    current_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Upgrade,
    Rollback,
    Reload,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Starting,
    Draining,
    Watching,
    Recovering,
}

impl Upgrade {
    /// Whether a `SIGHUP` finding `release` in `current` has nothing to add to this upgrade:
    /// it is the release being started, or, for a requested upgrade or rollback (which point
    /// `current` at their release only once they succeed), the one being replaced.
    pub(super) fn involves(&self, release: &str) -> bool {
        self.to.id() == release
            || (self.kind != Kind::Reload && self.from.as_ref().is_some_and(|f| f.id() == release))
    }
}

impl Kind {
    pub(super) fn trigger(self) -> crate::phase::Trigger {
        match self {
            Self::Upgrade => crate::phase::Trigger::Request,
            Self::Rollback => crate::phase::Trigger::Rollback,
            Self::Reload => crate::phase::Trigger::Reload,
        }
    }
}

impl Supervisor {
    fn launch(&mut self, index: usize, release: Release) -> std::io::Result<Generation> {
        let id = self.next_generation;
        self.next_generation += 1;
        let service = &self.services[index];
        Launch {
            service_index: index,
            config: &service.config,
            listeners: &service.listeners,
            run_dir: &self.run_dir,
            base_env: &self.base_env,
            events: &self.events,
        }
        .start(id, release)
    }

    /// Starts the service's release as its active generation (first start, restart).
    pub(super) fn start_active(&mut self, index: usize) {
        let release = self.services[index].release.clone();
        match self.launch(index, release.clone()) {
            Ok(generation) => {
                let pid = generation.pid;
                self.services[index].active = Some(generation);
                self.publish(
                    index,
                    Phase::Starting,
                    None,
                    Some(release.id()),
                    None,
                    Some(pid),
                    None,
                );
            }
            Err(error) => self.schedule_restart(index, format!("failed to start: {error}")),
        }
    }

    fn schedule_restart(&mut self, index: usize, detail: String) {
        if self.stopping {
            return;
        }
        let service = &mut self.services[index];
        let restart = service.config.restart;
        let exponent = service.restart_attempt.min(16);
        service.restart_attempt += 1;
        let delay = restart
            .backoff
            .saturating_mul(1 << exponent)
            .min(restart.max);
        service.restart_at = Some(Instant::now() + delay);
        let name = service.config.name.clone();
        self.metrics.restart(&name);
        self.publish(
            index,
            Phase::Restarting,
            None,
            None,
            None,
            None,
            Some(detail),
        );
    }

    pub(super) fn on_notify(&mut self, index: usize, id: u64, message: NotifyMessage) {
        let Some(generation) = self.services[index].generation_mut(id) else {
            return;
        };
        if let Some(status) = message.status {
            generation.status_text = Some(status);
        }
        if let Some(extend) = message.extend
            && generation.readiness == Readiness::Starting
        {
            generation.ready_deadline = generation.ready_deadline.max(Instant::now() + extend);
        }
        if message.ready {
            self.on_ready(index, id);
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one transition table, easier to read whole"
    )]
    pub(super) fn on_ready(&mut self, index: usize, id: u64) {
        let now = Instant::now();
        let service = &mut self.services[index];
        if service
            .candidate
            .as_ref()
            .is_some_and(|g| g.id == id && g.readiness == Readiness::Starting)
        {
            let Some(mut candidate) = service.candidate.take() else {
                return;
            };
            candidate.readiness = Readiness::Ready;
            candidate.ready_at = Some(now);
            candidate.probe = None;
            let new_pid = candidate.pid;
            let old = service.active.take();
            service.active = Some(candidate);
            let Some(upgrade) = service.upgrade.as_mut() else {
                return;
            };
            upgrade.ready_at = Some(now);
            let upgrade_id = upgrade.id.clone();
            let to = upgrade.to.id().to_owned();
            let old_pid = old.as_ref().map(|g| g.pid);
            self.publish(
                index,
                Phase::Ready,
                Some(&upgrade_id),
                Some(&to),
                old_pid,
                Some(new_pid),
                None,
            );
            let service = &mut self.services[index];
            let stop = service.config.stop;
            let watch = service.config.watch;
            let Some(upgrade) = service.upgrade.as_mut() else {
                return;
            };
            if let Some(mut old) = old {
                sys::kill(old.pid, stop.signal);
                let signalled = Instant::now();
                upgrade.overhead += signalled.saturating_duration_since(now);
                old.stop_deadline = Some(signalled + stop.grace);
                old.readiness = Readiness::NotReady;
                old.probe = None;
                upgrade.old_generation = Some(old.id);
                upgrade.step = Step::Draining;
                service.draining.push(old);
                self.publish(
                    index,
                    Phase::Draining,
                    Some(&upgrade_id),
                    Some(&to),
                    old_pid,
                    Some(new_pid),
                    None,
                );
            } else {
                upgrade.step = Step::Watching;
                upgrade.watch_until = Some(now + watch);
                self.publish(
                    index,
                    Phase::Watching,
                    Some(&upgrade_id),
                    Some(&to),
                    None,
                    Some(new_pid),
                    None,
                );
            }
            return;
        }
        let Some(active) = service
            .active
            .as_mut()
            .filter(|g| g.id == id && g.readiness == Readiness::Starting)
        else {
            return;
        };
        active.readiness = Readiness::Ready;
        active.ready_at = Some(now);
        active.probe = None;
        let pid = active.pid;
        let release = active.release.id().to_owned();
        service.restart_attempt = 0;
        let recovering = service
            .upgrade
            .as_ref()
            .filter(|u| u.step == Step::Recovering)
            .map(|u| {
                (
                    u.id.clone(),
                    u.failure.as_ref().map(|(_, text)| text.clone()),
                )
            });
        if let Some((upgrade_id, detail)) = recovering {
            self.settle_current(index, UpgradeResult::RolledBack);
            self.publish(
                index,
                Phase::RolledBack,
                Some(&upgrade_id),
                Some(&release),
                None,
                Some(pid),
                detail,
            );
            self.finish_upgrade(index, UpgradeResult::RolledBack);
        }
        self.publish(
            index,
            Phase::Running,
            None,
            Some(&release),
            None,
            Some(pid),
            None,
        );
    }

    pub(super) fn on_exit(&mut self, index: usize, id: u64, status: &str, at: Instant) {
        let service = &mut self.services[index];
        if service.candidate.as_ref().is_some_and(|g| g.id == id) {
            service.candidate = None;
            self.fail_before_cutover(
                index,
                "exited_before_ready",
                format!("the new generation exited before it was ready ({status})"),
            );
            return;
        }
        if let Some(position) = service.draining.iter().position(|g| g.id == id) {
            let old = service.draining.remove(position);
            let name = service.config.name.clone();
            if old.killed {
                self.metrics.graceful_failure(&name);
            }
            let service = &mut self.services[index];
            let watch = service.config.watch;
            let Some(upgrade) = service
                .upgrade
                .as_mut()
                .filter(|u| u.step == Step::Draining && u.old_generation == Some(id))
            else {
                return;
            };
            let now = Instant::now();
            upgrade.overhead += now.saturating_duration_since(at);
            upgrade.old_killed = old.killed;
            upgrade.step = Step::Watching;
            upgrade.watch_until = Some(now + watch);
            let (upgrade_id, to) = (upgrade.id.clone(), upgrade.to.id().to_owned());
            let (old_pid, new_pid) = (upgrade.old_pid, upgrade.new_pid);
            self.publish(
                index,
                Phase::Watching,
                Some(&upgrade_id),
                Some(&to),
                old_pid,
                new_pid,
                Some(format!("old generation exited ({status})")),
            );
            return;
        }
        if service.active.as_ref().is_none_or(|g| g.id != id) {
            return;
        }
        service.active = None;
        if self.stopping {
            return;
        }
        let step = service.upgrade.as_ref().map(|u| u.step);
        match step {
            Some(Step::Draining | Step::Watching) => {
                let Some(upgrade) = service.upgrade.as_mut() else {
                    return;
                };
                let detail = format!("the new generation died after the cutover ({status})");
                upgrade.failure = Some(("died_in_watch", detail.clone()));
                upgrade.step = Step::Recovering;
                upgrade.watch_until = None;
                let upgrade_id = upgrade.id.clone();
                let Some(from) = upgrade.from.clone() else {
                    self.finish_upgrade(index, UpgradeResult::RolledBack);
                    self.schedule_restart(index, detail);
                    return;
                };
                service.release = from.clone();
                match self.launch(index, from.clone()) {
                    Ok(generation) => {
                        let pid = generation.pid;
                        self.services[index].active = Some(generation);
                        self.publish(
                            index,
                            Phase::RollingBack,
                            Some(&upgrade_id),
                            Some(from.id()),
                            None,
                            Some(pid),
                            Some(detail),
                        );
                    }
                    Err(error) => {
                        self.finish_upgrade(index, UpgradeResult::RolledBack);
                        self.schedule_restart(index, format!("failed to start: {error}"));
                    }
                }
            }
            // The old generation died while the new one starts: the new one takes over
            // without a drain when ready, or a restart follows if it fails.
            Some(Step::Starting) => {}
            Some(Step::Recovering) => {
                self.finish_upgrade(index, UpgradeResult::RolledBack);
                self.schedule_restart(index, format!("the previous release exited too ({status})"));
            }
            None => self.schedule_restart(index, format!("exited ({status})")),
        }
    }

    /// A failure before the new generation took over: the old one keeps serving.
    fn fail_before_cutover(&mut self, index: usize, label: &'static str, detail: String) {
        let service = &mut self.services[index];
        let Some(upgrade) = service.upgrade.as_mut() else {
            return;
        };
        upgrade.failure = Some((label, detail.clone()));
        let upgrade_id = upgrade.id.clone();
        let from = upgrade.from.as_ref().map(|r| r.id().to_owned());
        let new_pid = upgrade.new_pid;
        self.settle_current(index, UpgradeResult::RolledBack);
        self.publish(
            index,
            Phase::RolledBack,
            Some(&upgrade_id),
            from.as_deref(),
            None,
            new_pid,
            Some(detail),
        );
        self.finish_upgrade(index, UpgradeResult::RolledBack);
        let service = &self.services[index];
        if service.active.is_none() {
            self.schedule_restart(index, "no generation is serving".into());
        } else if let Some(active) = &service.active {
            let (pid, release) = (active.pid, active.release.id().to_owned());
            self.publish(
                index,
                Phase::Running,
                None,
                Some(&release),
                None,
                Some(pid),
                None,
            );
        }
    }

    /// Points `current` at what serves once the upgrade ends with `result`, before that ending
    /// is published; once per upgrade. A reload took its release from `current`, which may
    /// have moved on since: a successful one leaves it alone, a failed one points it back
    /// only while it still names the failed release.
    fn settle_current(&mut self, index: usize, result: UpgradeResult) {
        let service = &mut self.services[index];
        let Some(upgrade) = service.upgrade.as_mut().filter(|u| !u.current_settled) else {
            return;
        };
        upgrade.current_settled = true;
        let names = |id: &str| {
            service
                .store
                .current()
                .is_ok_and(|c| c.is_some_and(|c| c.id() == id))
        };
        let target = match result {
            // A `SIGHUP` during a requested upgrade named a later release: `current` is
            // already the operator's.
            UpgradeResult::Upgraded
                if upgrade.kind != Kind::Reload && service.pending_reload.is_none() =>
            {
                Some(&upgrade.to)
            }
            UpgradeResult::RolledBack if upgrade.kind == Kind::Reload && names(upgrade.to.id()) => {
                upgrade.from.as_ref()
            }
            _ => None,
        };
        if let Some(target) = target
            && let Err(error) = service.store.set_current(target.id())
        {
            upgrade.current_error = Some(format!(
                "`current` could not be pointed at {}: {error}",
                target.id()
            ));
        }
    }

    /// Ends the running upgrade with `result`: points `current` at what serves (unless
    /// already done), counts it and answers the waiters.
    fn finish_upgrade(&mut self, index: usize, result: UpgradeResult) {
        self.settle_current(index, result);
        let service = &mut self.services[index];
        let Some(upgrade) = service.upgrade.take() else {
            return;
        };
        let current_error = upgrade.current_error.clone();
        let name = service.config.name.clone();
        let seconds = upgrade.started.elapsed().as_secs_f64();
        let mut reason = upgrade.failure.as_ref().map(|(_, text)| text.clone());
        if result == UpgradeResult::Upgraded {
            service.previous.clone_from(&upgrade.from);
            service.release = upgrade.to.clone();
        }
        if let Some(error) = &current_error {
            let what = reason.map_or_else(|| "upgraded".to_owned(), |r| format!("{r}; then"));
            reason = Some(format!("{what} {error}"));
        }
        let outcome = Outcome {
            service: name.clone(),
            upgrade_id: upgrade.id.clone(),
            result,
            from: upgrade.from.as_ref().map(|r| r.id().to_owned()),
            to: upgrade.to.id().to_owned(),
            reason: reason.or(upgrade.reason.clone()),
            finished: release::rfc3339_utc(SystemTime::now()),
            duration_seconds: seconds,
            handoff_overhead_ms: upgrade
                .ready_at
                .filter(|_| upgrade.old_generation.is_some() && result == UpgradeResult::Upgraded)
                .map(|_| upgrade.overhead.as_secs_f64() * 1000.0),
            old_killed: upgrade.old_killed,
        };
        service.last_outcome = Some(outcome.clone());
        for waiter in &upgrade.waiters {
            let _ = waiter.send(Reply::Outcome {
                outcome: outcome.clone(),
            });
        }
        let label = match result {
            UpgradeResult::Upgraded => "upgraded",
            UpgradeResult::RolledBack => "rolled_back",
            UpgradeResult::Unchanged => "unchanged",
        };
        self.metrics.upgrade(&name, label, seconds);
        if let Some((reason, _)) = upgrade.failure {
            self.metrics.rollback(&name, reason);
        } else if upgrade.kind == Kind::Rollback && result == UpgradeResult::Upgraded {
            self.metrics.rollback(&name, "requested");
        }
        if upgrade.kind == Kind::Reload {
            self.reload_ended();
        }
    }

    pub(super) fn request_upgrade(
        &mut self,
        name: &str,
        release_id: &str,
        reason: Option<String>,
        reply: Sender<Reply>,
    ) {
        self.begin_upgrade(name, release_id, reason, reply, Kind::Upgrade);
    }

    /// Starts the upgrades `SIGHUP` asked for, for every service that is neither upgrading nor
    /// starting. Nobody waits for their answers: a refusal is published with the service's
    /// phase, and the service manager is told when the last one ends.
    pub(super) fn start_pending_reloads(&mut self) {
        for index in 0..self.services.len() {
            let service = &self.services[index];
            if service.upgrade.is_some()
                || service
                    .active
                    .as_ref()
                    .is_some_and(|g| g.readiness == Readiness::Starting)
            {
                continue;
            }
            let Some(target) = self.services[index].pending_reload.take() else {
                continue;
            };
            let name = self.services[index].config.name.clone();
            let (reply, answer) = std::sync::mpsc::channel();
            self.begin_upgrade(&name, &target, Some("SIGHUP".into()), reply, Kind::Reload);
            if self.services[index].upgrade.is_some() {
                // `finish_upgrade` counts it down.
                continue;
            }
            if let Ok(Reply::Error { message }) = answer.try_recv() {
                let phase = self.services[index].phase;
                let serving = self.services[index].active.as_ref().map(|g| g.pid);
                let release = self.services[index].release.id().to_owned();
                self.publish(
                    index,
                    phase,
                    None,
                    Some(&release),
                    None,
                    serving,
                    Some(format!("SIGHUP: not upgraded to {target}: {message}")),
                );
            }
            self.reload_ended();
        }
    }

    /// One upgrade `SIGHUP` asked for has ended (or never started); after the last, the
    /// service manager hears that the reload is over.
    fn reload_ended(&mut self) {
        self.reloads_pending = self.reloads_pending.saturating_sub(1);
        if self.reloads_pending == 0 {
            self.tell_manager("READY=1\nSTATUS=running");
        }
    }

    pub(super) fn request_rollback(
        &mut self,
        name: &str,
        reason: Option<String>,
        reply: Sender<Reply>,
    ) {
        let Some(index) = self.service_index(name, &reply) else {
            return;
        };
        let Some(previous) = self.services[index]
            .previous
            .as_ref()
            .map(|r| r.id().to_owned())
        else {
            let _ = reply.send(Reply::Error {
                message: format!(
                    "service `{name}` has no previous release to roll back to in this supervisor's lifetime; upgrade to a release id instead"
                ),
            });
            return;
        };
        self.begin_upgrade(name, &previous, reason, reply, Kind::Rollback);
    }

    fn service_index(&self, name: &str, reply: &Sender<Reply>) -> Option<usize> {
        let index = self.services.iter().position(|s| s.config.name == name);
        if index.is_none() {
            let known: Vec<&str> = self
                .services
                .iter()
                .map(|s| s.config.name.as_str())
                .collect();
            let _ = reply.send(Reply::Error {
                message: format!(
                    "no service `{name}` (this supervisor runs: {})",
                    known.join(", ")
                ),
            });
        }
        index
    }

    #[expect(
        clippy::too_many_lines,
        reason = "the checks before an upgrade, in order"
    )]
    fn begin_upgrade(
        &mut self,
        name: &str,
        release_id: &str,
        reason: Option<String>,
        reply: Sender<Reply>,
        kind: Kind,
    ) {
        let refuse = |message: String| {
            let _ = reply.send(Reply::Error { message });
        };
        if self.stopping {
            return refuse("the supervisor is stopping".into());
        }
        let Some(index) = self.service_index(name, &reply) else {
            return;
        };
        let service = &self.services[index];
        if let Some(running) = &service.upgrade {
            return refuse(format!(
                "an upgrade of `{name}` is already in progress (upgrade {} to {}); wait for its outcome",
                running.id,
                running.to.id()
            ));
        }
        let release = match service.store.get(release_id) {
            Ok(release) => release,
            Err(error) => return refuse(error.to_string()),
        };
        if let Err(error) = release::check_program(&release.binary) {
            return refuse(error.to_string());
        }
        let upgrade_id = format!(
            "{}-{name}-{}",
            release::compact_utc(SystemTime::now()),
            self.next_upgrade
        );
        self.next_upgrade += 1;
        let active = service.active.as_ref();
        if let Some(active) = active {
            if active.readiness == Readiness::Starting {
                return refuse(format!(
                    "service `{name}` is still starting (pid {}); upgrade once it is ready",
                    active.pid
                ));
            }
            if active.release.id() == release.id() {
                let outcome = Outcome {
                    service: name.to_owned(),
                    upgrade_id,
                    result: UpgradeResult::Unchanged,
                    from: Some(active.release.id().to_owned()),
                    to: release.id().to_owned(),
                    reason: Some(format!("release {} is already serving", release.id())),
                    finished: release::rfc3339_utc(SystemTime::now()),
                    duration_seconds: 0.0,
                    handoff_overhead_ms: None,
                    old_killed: false,
                };
                let _ = reply.send(Reply::Outcome { outcome });
                return;
            }
        }
        let from = active.map_or_else(|| service.release.clone(), |g| g.release.clone());
        let old_pid = active.map(|g| g.pid);
        let service = &mut self.services[index];
        service.restart_at = None;
        service.upgrade = Some(Upgrade {
            id: upgrade_id.clone(),
            kind,
            from: Some(from),
            to: release.clone(),
            step: Step::Starting,
            started: Instant::now(),
            waiters: vec![reply],
            old_generation: None,
            old_pid,
            new_pid: None,
            watch_until: None,
            reason,
            old_killed: false,
            ready_at: None,
            overhead: Duration::ZERO,
            failure: None,
            current_settled: false,
            current_error: None,
        });
        match self.launch(index, release.clone()) {
            Ok(generation) => {
                let new_pid = generation.pid;
                let service = &mut self.services[index];
                service.candidate = Some(generation);
                if let Some(upgrade) = service.upgrade.as_mut() {
                    upgrade.new_pid = Some(new_pid);
                }
                self.publish(
                    index,
                    Phase::Spawned,
                    Some(&upgrade_id),
                    Some(release.id()),
                    old_pid,
                    Some(new_pid),
                    None,
                );
            }
            Err(error) => self.fail_before_cutover(
                index,
                "spawn_failed",
                format!("the new release could not be started: {error}"),
            ),
        }
    }

    pub(super) fn check_timers(&mut self, now: Instant) {
        for index in 0..self.services.len() {
            let service = &mut self.services[index];
            for generation in &mut service.draining {
                if generation.stop_deadline.is_some_and(|d| d <= now) && !generation.killed {
                    sys::kill(generation.pid, libc::SIGKILL);
                    generation.killed = true;
                    generation.stop_deadline = None;
                }
            }
            if service
                .candidate
                .as_ref()
                .is_some_and(|g| g.readiness == Readiness::Starting && g.ready_deadline <= now)
            {
                let candidate = service.candidate.take();
                service.kill_unready(candidate);
                let timeout = humantime::format_duration(service.config.ready.timeout);
                self.fail_before_cutover(
                    index,
                    "ready_timeout",
                    format!("the new generation was not ready within {timeout}"),
                );
                continue;
            }
            let service = &mut self.services[index];
            if service
                .active
                .as_ref()
                .is_some_and(|g| g.readiness == Readiness::Starting && g.ready_deadline <= now)
            {
                let active = service.active.take();
                service.kill_unready(active);
                if service
                    .upgrade
                    .as_ref()
                    .is_some_and(|u| u.step == Step::Recovering)
                {
                    self.finish_upgrade(index, UpgradeResult::RolledBack);
                }
                self.schedule_restart(index, "not ready in time".into());
                continue;
            }
            let service = &mut self.services[index];
            if service.upgrade.as_ref().is_some_and(|u| {
                u.step == Step::Watching && u.watch_until.is_some_and(|w| w <= now)
            }) {
                let (upgrade_id, to, old_pid, new_pid) = service
                    .upgrade
                    .as_ref()
                    .map(|u| (u.id.clone(), u.to.id().to_owned(), u.old_pid, u.new_pid))
                    .unwrap_or_default();
                self.settle_current(index, UpgradeResult::Upgraded);
                self.publish(
                    index,
                    Phase::Upgraded,
                    Some(&upgrade_id),
                    Some(&to),
                    old_pid,
                    new_pid,
                    None,
                );
                self.finish_upgrade(index, UpgradeResult::Upgraded);
                self.publish(index, Phase::Running, None, Some(&to), None, new_pid, None);
                continue;
            }
            let service = &mut self.services[index];
            if service.restart_at.is_some_and(|at| at <= now) {
                service.restart_at = None;
                self.start_active(index);
            }
        }
    }

    pub(super) fn status(&self) -> Vec<ServiceStatus> {
        self.services
            .iter()
            .map(|s| s.status(self.metrics.restarts(&s.config.name)))
            .collect()
    }

    pub(super) fn render_metrics(&self) -> String {
        let mut live = Vec::new();
        let mut releases = Vec::new();
        for service in &self.services {
            for generation in service.generations() {
                live.push(Live {
                    service: service.config.name.clone(),
                    generation: generation.id,
                    connections: procfs::established_connections(generation.pid, None),
                });
            }
            let release = service
                .active
                .as_ref()
                .map_or(&service.release, |g| &g.release);
            releases.push(ReleaseInfo {
                service: service.config.name.clone(),
                release: release.id().to_owned(),
                go_version: release.provenance.go_version.clone().unwrap_or_default(),
                revision: release.provenance.revision.clone().unwrap_or_default(),
            });
        }
        self.metrics.render(&live, &releases)
    }
}

impl Service {
    /// Kills a generation that was not ready in time; it is reaped from `draining`.
    fn kill_unready(&mut self, generation: Option<Generation>) {
        if let Some(mut generation) = generation {
            sys::kill(generation.pid, libc::SIGKILL);
            generation.probe = None;
            generation.readiness = Readiness::NotReady;
            self.draining.push(generation);
        }
    }

    fn generations(&self) -> impl Iterator<Item = &Generation> {
        self.active
            .iter()
            .chain(self.candidate.iter())
            .chain(self.draining.iter())
    }

    fn status(&self, restarts: u64) -> ServiceStatus {
        let release = self.active.as_ref().map_or(&self.release, |g| &g.release);
        ServiceStatus {
            name: self.config.name.clone(),
            release: Some(release.id().to_owned()),
            go_version: release.provenance.go_version.clone(),
            revision: release.provenance.revision.clone(),
            pid: self.active.as_ref().map(|g| g.pid),
            admin: self.active.as_ref().map(|g| g.admin.to_string()),
            phase: self.phase,
            since: release::rfc3339_utc(self.since),
            readiness: self
                .active
                .as_ref()
                .map_or(Readiness::NotReady, |g| g.readiness),
            status_text: self.active.as_ref().and_then(|g| g.status_text.clone()),
            connections: self
                .generations()
                .map(|g| (g.pid, procfs::established_connections(g.pid, None)))
                .collect(),
            upgrading: self.upgrade.as_ref().map(|u| u.id.clone()),
            last_upgrade: self.last_outcome.clone(),
            restarts,
        }
    }
}
