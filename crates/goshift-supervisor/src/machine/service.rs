//! One service's states and the transitions between them.
//!
//! Outside an upgrade: `Starting` → (ready) `Running` → (death) `Restarting { at }` →
//! (backoff over) `Starting`. An upgrade is `Upgrading`, whose [`Step`] is `Spawned` →
//! (ready) `Draining` (with `bake`: `Baking { until }` first) → (old reaped)
//! `Watching { until }` → (window over) `Running`; a failure before the cutover or during the
//! bake returns to `Running` on the old generation, a death after it goes through
//! `RollingBack`. Generations that got a stop signal or `SIGKILL` wait in
//! `retiring` until they are reaped.

use std::time::{Instant, SystemTime};

use crate::notify::NotifyMessage;
use crate::phase::{Outcome, Phase, PhaseEvent, Readiness, ServiceStatus};
use crate::release::{self, Release};

use crate::incident::Trigger;

use super::upgrade::{Upgrade, incident_id};
use super::{AfterDump, Cx, Effect, IncidentRequest, Input, ReloadTarget, Rules};

/// A generation the service counts on: starting or serving.
#[derive(Debug, Clone)]
pub(super) struct Gen {
    pub(super) id: u64,
    /// Known once `Started` was handed in.
    pub(super) pid: Option<u32>,
    pub(super) release: Release,
    pub(super) readiness: Readiness,
    /// While starting: when it is given up.
    pub(super) deadline: Instant,
    pub(super) status_text: Option<String>,
}

impl Gen {
    fn starting(&self) -> bool {
        self.readiness == Readiness::Starting
    }
}

/// A generation that got its stop signal (or `SIGKILL`) and is not reaped yet.
#[derive(Debug, Clone)]
pub(super) struct Retiring {
    pub(super) id: u64,
    pub(super) pid: Option<u32>,
    /// When `SIGKILL` follows the stop signal.
    pub(super) kill_at: Option<Instant>,
    /// `SIGKILL` was sent after the grace period.
    pub(super) killed: bool,
}

#[derive(Debug)]
pub(super) enum State {
    /// Nothing started yet.
    Idle,
    /// The first generation, or a restart, is starting.
    Starting(Gen),
    Running(Gen),
    /// No generation; the next one starts at `at`.
    Restarting {
        at: Instant,
    },
    Upgrading(Box<Upgrade>),
    /// Every generation got its stop signal.
    Stopping,
}

#[derive(Debug)]
pub(super) struct Service {
    pub(super) rules: Rules,
    /// The release restarts use.
    pub(super) release: Release,
    /// The release that served before the current one, for `svc rollback`.
    pub(super) previous: Option<Release>,
    pub(super) state: State,
    pub(super) retiring: Vec<Retiring>,
    pub(super) restart_attempt: u32,
    /// What a `SIGHUP` asked for while the service was busy.
    pub(super) pending_reload: Option<ReloadTarget>,
    pub(super) phase: Phase,
    pub(super) since: SystemTime,
    pub(super) last_outcome: Option<Outcome>,
    /// A first generation was ready, or failed: the unit may report ready.
    pub(super) settled: bool,
    /// A reload changed its settings: its next reload upgrades it even to the release that
    /// serves.
    pub(super) settings_changed: bool,
}

impl Service {
    pub(super) fn new(rules: Rules, release: Release, now: SystemTime) -> Self {
        Self {
            rules,
            release,
            previous: None,
            state: State::Idle,
            retiring: Vec::new(),
            restart_attempt: 0,
            pending_reload: None,
            phase: Phase::Starting,
            since: now,
            last_outcome: None,
            settled: false,
            settings_changed: false,
        }
    }

    /// A phase event of this service at the current time, every optional field empty.
    pub(super) fn event(&self, cx: &Cx, phase: Phase) -> PhaseEvent {
        PhaseEvent {
            time: humantime::format_rfc3339_millis(cx.now.wall).to_string(),
            at_ms: cx
                .now
                .mono
                .saturating_duration_since(cx.started)
                .as_secs_f64()
                * 1000.0,
            service: self.rules.name.clone(),
            phase,
            upgrade_id: None,
            release: None,
            old_pid: None,
            new_pid: None,
            detail: None,
            trigger: None,
            failed_pid: None,
            incident: None,
        }
    }

    /// Publishes `event` as the service's new phase; the one place events leave the core.
    pub(super) fn publish(&mut self, cx: &mut Cx, event: PhaseEvent, waiter: Option<u64>) {
        self.phase = event.phase;
        self.since = cx.now.wall;
        cx.emit(Effect::Publish { event, waiter });
    }

    /// Asks for a new generation of `release`, starting now.
    pub(super) fn spawn(&self, index: usize, release: Release, cx: &mut Cx) -> Gen {
        let id = cx.generation();
        cx.emit(Effect::Spawn {
            service: index,
            generation: id,
            release: release.clone(),
        });
        Gen {
            id,
            pid: None,
            release,
            readiness: Readiness::Starting,
            deadline: cx.now.mono + self.rules.ready_timeout,
            status_text: None,
        }
    }

    pub(super) fn start(&mut self, index: usize, cx: &mut Cx) {
        // A generation adopted from a re-exec's predecessor already runs.
        if !matches!(self.state, State::Idle) {
            return;
        }
        let child = self.spawn(index, self.release.clone(), cx);
        self.state = State::Starting(child);
    }

    pub(super) fn handle(&mut self, index: usize, input: Input, cx: &mut Cx) {
        match input {
            Input::Started {
                generation, pid, ..
            } => self.started(generation, pid, cx),
            Input::SpawnFailed {
                generation, error, ..
            } => self.spawn_failed(index, generation, &error, cx),
            Input::StopSent { generation, at, .. } => self.stop_sent(generation, at),
            Input::Exited {
                generation,
                status,
                at,
                ..
            } => self.exited(index, generation, &status, at, cx),
            Input::Notify {
                generation,
                message,
                ..
            } => self.notify(index, generation, message, cx),
            Input::ProbeReady { generation, .. } => self.ready(index, generation, cx),
            Input::Measured {
                generation,
                check,
                role,
                measurement,
                ..
            } => self.measured(index, generation, check, role, measurement, cx),
            Input::Timer | Input::Upgrade(_) | Input::Reload(_) | Input::Stop => {}
        }
    }

    fn started(&mut self, id: u64, pid: u32, cx: &mut Cx) {
        if let Some(retiring) = self.retiring.iter_mut().find(|r| r.id == id) {
            retiring.pid = Some(pid);
            cx.emit(Effect::Kill { pid });
            return;
        }
        let Some(child) = self.gen_mut(id) else {
            // Nobody waits for it any more: it must not run unsupervised.
            cx.emit(Effect::Kill { pid });
            self.retiring.push(Retiring {
                id,
                pid: Some(pid),
                kill_at: None,
                killed: false,
            });
            return;
        };
        child.pid = Some(pid);
        let release = child.release.id().to_owned();
        if matches!(self.state, State::Upgrading(_)) {
            self.upgrade_started(pid, cx);
            return;
        }
        let event = PhaseEvent {
            release: Some(release),
            new_pid: Some(pid),
            ..self.event(cx, Phase::Starting)
        };
        self.publish(cx, event, None);
    }

    fn spawn_failed(&mut self, index: usize, id: u64, error: &str, cx: &mut Cx) {
        match std::mem::replace(&mut self.state, State::Stopping) {
            State::Starting(child) if child.id == id => {
                self.schedule_restart(format!("failed to start: {error}"), cx);
            }
            State::Upgrading(upgrade) => self.upgrade_spawn_failed(index, *upgrade, id, error, cx),
            state => {
                self.state = state;
                self.retiring.retain(|r| r.id != id);
            }
        }
    }

    fn stop_sent(&mut self, id: u64, at: Instant) {
        let grace = self.rules.grace;
        if let Some(retiring) = self.retiring.iter_mut().find(|r| r.id == id && !r.killed) {
            retiring.kill_at = Some(at + grace);
        }
        if let State::Upgrading(upgrade) = &mut self.state {
            upgrade.info.stop_sent(&upgrade.step, id, at);
        }
    }

    fn exited(&mut self, index: usize, id: u64, status: &str, at: Instant, cx: &mut Cx) {
        if let Some(position) = self.retiring.iter().position(|r| r.id == id) {
            let retired = self.retiring.remove(position);
            if retired.killed {
                cx.metrics.graceful_failure(&self.rules.name);
            }
            match std::mem::replace(&mut self.state, State::Stopping) {
                State::Upgrading(upgrade) => self.old_exited(*upgrade, &retired, status, at, cx),
                state => self.state = state,
            }
            return;
        }
        match std::mem::replace(&mut self.state, State::Stopping) {
            State::Starting(child) | State::Running(child) if child.id == id => {
                self.schedule_restart(format!("exited ({status})"), cx);
            }
            State::Upgrading(upgrade) => self.upgrade_exited(index, *upgrade, id, status, cx),
            state => self.state = state,
        }
    }

    fn notify(&mut self, index: usize, id: u64, message: NotifyMessage, cx: &mut Cx) {
        let now = cx.now.mono;
        let Some(child) = self.gen_mut(id) else {
            return;
        };
        if let Some(status) = message.status {
            child.status_text = Some(status);
        }
        if let Some(extend) = message.extend
            && child.starting()
        {
            child.deadline = child.deadline.max(now + extend);
        }
        // With `ready.notify = false` the service file asked for a probe: READY=1 alone
        // must not promote a generation whose probe fails.
        if message.ready && self.rules.notify_ready {
            self.ready(index, id, cx);
        }
    }

    /// A generation said it is ready (or passed its probe).
    pub(super) fn ready(&mut self, index: usize, id: u64, cx: &mut Cx) {
        match std::mem::replace(&mut self.state, State::Stopping) {
            State::Starting(mut child)
                if child.id == id && child.starting() && child.pid.is_some() =>
            {
                child.readiness = Readiness::Ready;
                self.restart_attempt = 0;
                self.settled = true;
                self.publish_running_gen(cx, &child);
                self.state = State::Running(child);
            }
            State::Upgrading(upgrade) => self.upgrade_ready(index, *upgrade, id, cx),
            state => self.state = state,
        }
    }

    /// Fires every deadline that has passed.
    pub(super) fn timer(&mut self, index: usize, cx: &mut Cx) {
        let now = cx.now.mono;
        for retiring in &mut self.retiring {
            if retiring.kill_at.is_some_and(|at| at <= now) {
                retiring.kill_at = None;
                retiring.killed = true;
                if let Some(pid) = retiring.pid {
                    // The evidence of why it did not stop goes first.
                    cx.emit(Effect::Incident(Box::new(IncidentRequest {
                        service: index,
                        generation: retiring.id,
                        pid,
                        id: incident_id(cx, &self.rules.name, retiring.id),
                        upgrade_id: None,
                        trigger: Trigger::StopIgnored,
                        release: None,
                        measurements: Vec::new(),
                        after: AfterDump::Kill,
                    })));
                    cx.emit(Effect::Kill { pid });
                }
            }
        }
        match std::mem::replace(&mut self.state, State::Stopping) {
            State::Starting(child) if child.deadline <= now => {
                self.kill_unready(&child, cx);
                self.schedule_restart("not ready in time".into(), cx);
            }
            State::Restarting { at } if at <= now => {
                let child = self.spawn(index, self.release.clone(), cx);
                self.state = State::Starting(child);
            }
            State::Upgrading(upgrade) => self.upgrade_timer(index, *upgrade, cx),
            state => self.state = state,
        }
    }

    /// Kills a generation that was not ready in time; it is reaped from `retiring`.
    pub(super) fn kill_unready(&mut self, child: &Gen, cx: &mut Cx) {
        if let Some(pid) = child.pid {
            cx.emit(Effect::Kill { pid });
        }
        self.retiring.push(Retiring {
            id: child.id,
            pid: child.pid,
            kill_at: None,
            killed: false,
        });
    }

    /// Sends the stop signal to `child`; `SIGKILL` follows after the grace period.
    pub(super) fn retire(&mut self, index: usize, child: &Gen, cx: &mut Cx) {
        if let Some(pid) = child.pid {
            cx.emit(Effect::Stop {
                service: index,
                generation: child.id,
                pid,
                signal: self.rules.stop_signal,
            });
        }
        self.retiring.push(Retiring {
            id: child.id,
            pid: child.pid,
            kill_at: Some(cx.now.mono + self.rules.grace),
            killed: false,
        });
    }

    /// No generation serves: the next one starts after the backoff, which doubles with each
    /// failed attempt up to `restart.max`.
    pub(super) fn schedule_restart(&mut self, detail: String, cx: &mut Cx) {
        if cx.stopping {
            self.state = State::Stopping;
            return;
        }
        let exponent = self.restart_attempt.min(16);
        self.restart_attempt += 1;
        let delay = self
            .rules
            .backoff
            .saturating_mul(1 << exponent)
            .min(self.rules.backoff_max);
        self.state = State::Restarting {
            at: cx.now.mono + delay,
        };
        self.settled = true;
        cx.metrics.restart(&self.rules.name);
        let event = PhaseEvent {
            detail: Some(detail),
            ..self.event(cx, Phase::Restarting)
        };
        self.publish(cx, event, None);
    }

    pub(super) fn stop(&mut self, index: usize, cx: &mut Cx) {
        self.pending_reload = None;
        let gens = match std::mem::replace(&mut self.state, State::Stopping) {
            State::Starting(child) | State::Running(child) => vec![child],
            State::Idle | State::Restarting { .. } | State::Stopping => Vec::new(),
            State::Upgrading(upgrade) => upgrade.abandon(cx),
        };
        for child in &gens {
            self.retire(index, child, cx);
        }
        let event = self.event(cx, Phase::Stopping);
        self.publish(cx, event, None);
    }

    pub(super) fn stopped(&mut self, cx: &mut Cx) {
        let event = self.event(cx, Phase::Stopped);
        self.publish(cx, event, None);
    }

    /// The earliest deadline: the state's own, or a retiring generation's `SIGKILL`.
    pub(super) fn deadline(&self) -> Option<Instant> {
        let own = match &self.state {
            State::Starting(child) => Some(child.deadline),
            State::Restarting { at } => Some(*at),
            State::Upgrading(upgrade) => upgrade.deadline(),
            State::Idle | State::Running(_) | State::Stopping => None,
        };
        self.retiring
            .iter()
            .filter_map(|r| r.kill_at)
            .chain(own)
            .min()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.retiring.is_empty() && self.gens().is_empty()
    }

    /// The generations the service counts on (not the retiring ones).
    pub(super) fn gens(&self) -> Vec<&Gen> {
        match &self.state {
            State::Starting(child) | State::Running(child) => vec![child],
            State::Idle | State::Restarting { .. } | State::Stopping => Vec::new(),
            State::Upgrading(upgrade) => upgrade.gens(),
        }
    }

    fn gen_mut(&mut self, id: u64) -> Option<&mut Gen> {
        match &mut self.state {
            State::Starting(child) | State::Running(child) => Some(child).filter(|g| g.id == id),
            State::Idle | State::Restarting { .. } | State::Stopping => None,
            State::Upgrading(upgrade) => upgrade.gen_mut(id),
        }
    }

    /// The generation that serves (or is about to): what `svc status` shows.
    pub(super) fn active(&self) -> Option<&Gen> {
        match &self.state {
            State::Starting(child) | State::Running(child) => Some(child),
            State::Idle | State::Restarting { .. } | State::Stopping => None,
            State::Upgrading(upgrade) => upgrade.active(),
        }
    }

    pub(super) fn serving(&self) -> bool {
        self.active()
            .is_some_and(|g| g.readiness == Readiness::Ready)
    }

    pub(super) fn serving_release(&self) -> &Release {
        self.active().map_or(&self.release, |g| &g.release)
    }

    pub(super) fn live(&self) -> Vec<(u64, u32)> {
        self.gens()
            .into_iter()
            .filter_map(|g| g.pid.map(|pid| (g.id, pid)))
            .chain(
                self.retiring
                    .iter()
                    .filter_map(|r| r.pid.map(|pid| (r.id, pid))),
            )
            .collect()
    }

    /// Whether a `SIGHUP` naming `release` has nothing to change.
    pub(super) fn settled_on(&self, release: &str) -> bool {
        match &self.state {
            State::Upgrading(upgrade) => upgrade.involves(release),
            _ => self.serving_release().id() == release,
        }
    }

    pub(super) fn status(&self, restarts: u64) -> (ServiceStatus, Option<u64>) {
        let active = self.active();
        let release = self.serving_release();
        let status = ServiceStatus {
            name: self.rules.name.clone(),
            release: Some(release.id().to_owned()),
            go_version: release.provenance.go_version.clone(),
            revision: release.provenance.revision.clone(),
            pid: active.and_then(|g| g.pid),
            admin: None,
            phase: self.phase,
            since: release::rfc3339_utc(self.since),
            readiness: active.map_or(Readiness::NotReady, |g| g.readiness),
            status_text: active.and_then(|g| g.status_text.clone()),
            connections: Vec::new(),
            upgrading: match &self.state {
                State::Upgrading(upgrade) => Some(upgrade.info.id.clone()),
                _ => None,
            },
            last_upgrade: self.last_outcome.clone(),
            restarts,
        };
        (status, active.map(|g| g.id))
    }
}
