//! The sans-I/O core: every service's lifecycle as a state machine.
//!
//! [`Core::handle`] takes one [`Input`] and the time it is handled at and returns the
//! [`Effect`]s to carry out, in order. It performs no I/O, reads no clock and forks nothing;
//! `Supervisor::run` is the one place that carries effects out and feeds their results back
//! (a [`Effect::Spawn`] is answered by [`Input::Started`] or [`Input::SpawnFailed`], a
//! [`Effect::Stop`] by [`Input::StopSent`]). Each state holds its own data and deadline
//! (`Starting`, `Running`, `Restarting { at }`, and during an upgrade `Spawned`,
//! `Baking { until }`, `Draining`, `Watching { until }`, `RollingBack { reason }`), and [`Core::next_deadline`] is the
//! earliest of them: the loop sleeps exactly until then and hands in [`Input::Timer`].
//!
//! Invariants, checked by the table tests and the property test in this module:
//!
//! - the listeners never close while the supervisor runs (the core never asks to close them;
//!   they belong to the driver until `run` returns);
//! - the old generation never gets its stop signal before the new one is ready, nor, with
//!   `bake`, before the bake passed; an abort of the bake never stops it;
//! - at most one upgrade per service at a time;
//! - once a first generation was ready, a ready generation exists at every moment except
//!   while restarting after a crash (a death, a failed rollback) or stopping;
//! - every spawned child is reaped: each generation is tracked until its exit is handed in;
//! - every upgrade ends with exactly one outcome.
//!
//! Analysis (`analysis.rs`, `upgrade/measured.rs`): from the new generation's readiness to
//! the end of the watch window the core asks for each configured check's measurement on its
//! interval ([`Effect::Measure`]); the driver measures off the loop and hands the judged
//! result back ([`Input::Measured`]). A check's failures in a row decide an alert (a
//! published event) or a rollback with the check's own [`RollbackReason`], which first asks
//! for an incident of the failed generation ([`Effect::Incident`]). A generation given up on
//! (killed unready, rolled back by a check, past its grace, dead after the cutover) gets an
//! incident before its `SIGKILL`.
//!
//! Adding a rollback trigger takes one [`Input`] variant, one [`RollbackReason`] and one
//! match arm in `service.rs`.

mod analysis;
mod handoff;
mod service;
mod upgrade;

#[cfg(test)]
mod analysis_tests;
#[cfg(test)]
mod bake_tests;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant, SystemTime};

use crate::analysis::Measurement;
use crate::config::ServiceConfig;
use crate::control::Reply;
use crate::metrics::{Metrics, ReleaseInfo};
use crate::notify::NotifyMessage;
use crate::phase::{PhaseEvent, ServiceStatus};
use crate::release::Release;

pub(crate) use analysis::{Check, CheckRule, Role};
pub(crate) use handoff::{Adopted, Running};
pub(crate) use upgrade::Kind;

use service::Service;

/// The time an input is handled at: the monotonic clock for deadlines and durations, the
/// wall clock for what is shown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub(crate) mono: Instant,
    pub(crate) wall: SystemTime,
}

/// Who waits for the replies of a request; the driver maps it to a channel.
pub(crate) type WaiterId = u64;

/// What the core needs of a service's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) name: String,
    /// `READY=1` makes a generation ready (`ready.notify`).
    pub(crate) notify_ready: bool,
    pub(crate) ready_timeout: Duration,
    pub(crate) stop_signal: i32,
    pub(crate) grace: Duration,
    pub(crate) watch: Duration,
    /// Both generations serve this long once the new one is ready (`bake`), before the old
    /// one gets its stop signal.
    pub(crate) bake: Option<Duration>,
    pub(crate) backoff: Duration,
    pub(crate) backoff_max: Duration,
    /// The `[analysis]` checks, measured from the cutover to the end of the watch window.
    pub(crate) checks: Vec<CheckRule>,
}

impl Rules {
    pub(crate) fn new(config: &ServiceConfig) -> Self {
        Self {
            name: config.name.clone(),
            notify_ready: config.ready.notify,
            ready_timeout: config.ready.timeout,
            stop_signal: config.stop.signal,
            grace: config.stop.grace,
            watch: config.watch,
            bake: config.bake,
            backoff: config.restart.backoff,
            backoff_max: config.restart.max,
            checks: analysis::rules(&config.analysis),
        }
    }
}

/// An upgrade or rollback asked for, with the release already looked up by the driver.
#[derive(Debug)]
pub(crate) struct UpgradeRequest {
    pub(crate) service: String,
    pub(crate) kind: Kind,
    /// The release, or why it cannot be used (missing, not a program, no previous one).
    pub(crate) release: Result<Release, String>,
    pub(crate) reason: Option<String>,
    pub(crate) waiter: WaiterId,
}

/// What `current` named for one service when `SIGHUP` arrived.
#[derive(Debug, Clone)]
pub(crate) struct ReloadTarget {
    pub(crate) id: String,
    pub(crate) release: Result<Release, String>,
}

/// Everything that can happen to the core.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "handed over once per event, never stored"
)]
pub(crate) enum Input {
    /// The generation an [`Effect::Spawn`] asked for runs as `pid`.
    Started {
        service: usize,
        generation: u64,
        pid: u32,
    },
    /// It could not be started.
    SpawnFailed {
        service: usize,
        generation: u64,
        error: String,
    },
    /// The stop signal of an [`Effect::Stop`] was sent at `at`.
    StopSent {
        service: usize,
        generation: u64,
        at: Instant,
    },
    /// A generation exited and was reaped (at `at`).
    Exited {
        service: usize,
        generation: u64,
        status: String,
        at: Instant,
    },
    /// A datagram on a generation's notify socket.
    Notify {
        service: usize,
        generation: u64,
        message: NotifyMessage,
    },
    /// A generation passed its readiness probe.
    ProbeReady { service: usize, generation: u64 },
    /// The driver measured and judged what an [`Effect::Measure`] asked for.
    Measured {
        service: usize,
        generation: u64,
        check: Check,
        role: Role,
        measurement: Measurement,
    },
    /// The earliest deadline passed.
    Timer,
    /// `svc upgrade` or `svc rollback`.
    Upgrade(UpgradeRequest),
    /// `SIGHUP`: per service (in order), what `current` names, if it could be read.
    Reload(Vec<Option<ReloadTarget>>),
    /// `SIGTERM`, `SIGINT` or `svc stop`.
    Stop,
}

/// What the driver carries out, in order.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Start generation `generation` of `release`; answer with `Started` or `SpawnFailed`.
    Spawn {
        service: usize,
        generation: u64,
        release: Release,
    },
    /// Send the service's stop signal; answer with `StopSent`.
    Stop {
        service: usize,
        generation: u64,
        pid: u32,
        signal: i32,
    },
    /// `SIGKILL`.
    Kill { pid: u32 },
    /// Measure `check` on `pid` (I/O, off the loop) and hand the judged result back as
    /// [`Input::Measured`]; a baseline measurement is kept by the driver, not handed back.
    Measure {
        service: usize,
        generation: u64,
        pid: u32,
        check: Check,
        role: Role,
    },
    /// Record incident `id` of `pid` before it goes: the `/proc` snapshot first, then the
    /// goroutine dump (`SIGQUIT`, which also ends a Go program), the output tail, profiles
    /// and the upgrade's timeline. With [`AfterDump::Kill`] a `SIGKILL` effect follows and
    /// the driver waits (bounded) for the dump before carrying it out.
    Incident(Box<IncidentRequest>),
    /// A phase event for the subscribers and, when given, the waiter of its upgrade.
    Publish {
        event: PhaseEvent,
        waiter: Option<WaiterId>,
    },
    /// The last reply to a waiter (an outcome or a refusal).
    Reply { waiter: WaiterId, reply: Reply },
    /// Point `services/NAME/current` at `release`; with `only_if`, only while it still names
    /// that release. A failure is added to the reason of the outcome that follows.
    SetCurrent {
        service: usize,
        release: String,
        only_if: Option<String>,
    },
    /// A message for the service manager (`NOTIFY_SOCKET` of the supervisor itself).
    Manager(String),
}

/// What an [`Effect::Incident`] records.
#[derive(Debug)]
pub(crate) struct IncidentRequest {
    pub(crate) service: usize,
    pub(crate) generation: u64,
    pub(crate) pid: u32,
    /// The id the incident is recorded under, already named in the events and the outcome.
    pub(crate) id: String,
    pub(crate) upgrade_id: Option<String>,
    pub(crate) trigger: crate::incident::Trigger,
    pub(crate) release: Option<Release>,
    /// The failed measurements, `(check, reasons)`, oldest first.
    pub(crate) measurements: Vec<(String, Vec<String>)>,
    pub(crate) after: AfterDump,
}

/// What ends the generation after its goroutine dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterDump {
    /// `SIGQUIT` ends a Go program; `SIGKILL` follows from the core after the grace period
    /// if it does not.
    Quit,
    /// A `SIGKILL` effect follows at once.
    Kill,
    /// It is already gone: no snapshot, no signal; its output holds what it said last.
    Gone,
}

/// State shared by every service's machine while one input is handled.
#[derive(Debug)]
struct Cx {
    now: Now,
    started: Instant,
    next_generation: u64,
    next_upgrade: u64,
    stopping: bool,
    metrics: Metrics,
    analysis: analysis::Counters,
    effects: Vec<Effect>,
    /// Upgrades `SIGHUP` asked for that have not ended yet.
    reloads_pending: usize,
    /// The last of them ended during this input: tell the service manager.
    reload_over: bool,
    /// Why reloads since the last `RELOADING=1` did not upgrade (rolled back, refused).
    reload_failures: Vec<String>,
}

impl Cx {
    fn generation(&mut self) -> u64 {
        let id = self.next_generation;
        self.next_generation += 1;
        id
    }

    /// A new upgrade's id: its start time, the service, a count that keeps two upgrades of
    /// the same second apart.
    fn upgrade_id(&mut self, service: &str) -> String {
        let id = format!(
            "{}-{service}-{}",
            crate::release::compact_utc(self.now.wall),
            self.next_upgrade
        );
        self.next_upgrade += 1;
        id
    }

    fn emit(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    fn reload_ended(&mut self) {
        self.reloads_pending = self.reloads_pending.saturating_sub(1);
        if self.reloads_pending == 0 {
            self.reload_over = true;
        }
    }
}

/// Every service's machine and what they share.
#[derive(Debug)]
pub(crate) struct Core {
    services: Vec<Service>,
    cx: Cx,
    /// `READY=1` was sent after the start.
    announced: bool,
    /// The last `STATUS=` text sent.
    status_line: String,
    /// Every service stopped and `Stopped` was published.
    done: bool,
}

impl Core {
    /// A core for `services` (rules and first release each), nothing started yet.
    pub(crate) fn new(services: Vec<(Rules, Release)>, now: Now) -> Self {
        let names: Vec<String> = services.iter().map(|(r, _)| r.name.clone()).collect();
        let checks: Vec<(String, Vec<CheckRule>)> = services
            .iter()
            .map(|(r, _)| (r.name.clone(), r.checks.clone()))
            .collect();
        Self {
            services: services
                .into_iter()
                .map(|(rules, release)| Service::new(rules, release, now.wall))
                .collect(),
            cx: Cx {
                now,
                started: now.mono,
                next_generation: 1,
                next_upgrade: 1,
                stopping: false,
                metrics: Metrics::new(&names),
                analysis: analysis::Counters::new(&checks),
                effects: Vec::new(),
                reloads_pending: 0,
                reload_over: false,
                reload_failures: Vec::new(),
            },
            announced: false,
            status_line: String::new(),
            done: false,
        }
    }

    /// Starts every service's first generation.
    pub(crate) fn start(&mut self, now: Now) -> Vec<Effect> {
        self.cx.now = now;
        for (index, service) in self.services.iter_mut().enumerate() {
            service.start(index, &mut self.cx);
        }
        self.after()
    }

    /// Handles one input at `now`.
    pub(crate) fn handle(&mut self, input: Input, now: Now) -> Vec<Effect> {
        self.cx.now = now;
        match input {
            Input::Upgrade(request) => self.request(request),
            Input::Reload(targets) => self.reload(targets),
            Input::Stop => self.stop(),
            Input::Timer => {
                for (index, service) in self.services.iter_mut().enumerate() {
                    service.timer(index, &mut self.cx);
                }
            }
            other => {
                let index = service_of(&other);
                if let Some(service) = self.services.get_mut(index) {
                    service.handle(index, other, &mut self.cx);
                }
            }
        }
        self.after()
    }

    /// The earliest deadline of any state or draining generation.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.services.iter().filter_map(Service::deadline).min()
    }

    /// The supervisor stopped: every generation was reaped and `Stopped` published.
    pub(crate) fn done(&self) -> bool {
        self.done
    }

    pub(crate) fn service_names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.rules.name.clone()).collect()
    }

    /// The release `svc rollback` goes back to.
    pub(crate) fn previous(&self, name: &str) -> Option<&Release> {
        self.services
            .iter()
            .find(|s| s.rules.name == name)
            .and_then(|s| s.previous.as_ref())
    }

    /// The release generation `generation` of service `service` runs; empty when the
    /// generation is gone.
    pub(crate) fn release_of(&self, service: usize, generation: u64) -> &str {
        self.services
            .get(service)
            .and_then(|s| s.gens().into_iter().find(|g| g.id == generation))
            .map_or("", |g| g.release.id())
    }

    /// Every live generation: `(service, generation, pid)`.
    pub(crate) fn live(&self) -> Vec<(usize, u64, u32)> {
        let mut live = Vec::new();
        for (index, service) in self.services.iter().enumerate() {
            for (generation, pid) in service.live() {
                live.push((index, generation, pid));
            }
        }
        live
    }

    /// Each service's status without connection counts and admin address, and the id of
    /// its serving generation for the driver to add them.
    pub(crate) fn status(&self) -> Vec<(ServiceStatus, Option<u64>)> {
        self.services
            .iter()
            .map(|s| s.status(self.cx.metrics.restarts(&s.rules.name)))
            .collect()
    }

    /// The analysis checks' measurement and verdict counters, as Prometheus text.
    pub(crate) fn analysis_metrics(&self) -> String {
        self.cx.analysis.render()
    }

    pub(crate) fn metrics(&self) -> (&Metrics, Vec<ReleaseInfo>) {
        let releases = self
            .services
            .iter()
            .map(|s| {
                let release = s.serving_release();
                ReleaseInfo {
                    service: s.rules.name.clone(),
                    release: release.id().to_owned(),
                    go_version: release.provenance.go_version.clone().unwrap_or_default(),
                    revision: release.provenance.revision.clone().unwrap_or_default(),
                }
            })
            .collect();
        (&self.cx.metrics, releases)
    }

    fn request(&mut self, request: UpgradeRequest) {
        let waiter = request.waiter;
        let refusal = match self.find(&request.service) {
            Err(message) => Some(message),
            Ok(index) => {
                let service = &mut self.services[index];
                let UpgradeRequest {
                    kind,
                    release,
                    reason,
                    ..
                } = request;
                match service.begin_upgrade(
                    index,
                    kind,
                    release,
                    reason,
                    Some(waiter),
                    &mut self.cx,
                ) {
                    upgrade::Begun::Started => None,
                    upgrade::Begun::Refused(message) => Some(message),
                    upgrade::Begun::Unchanged(outcome) | upgrade::Begun::Ended(outcome) => {
                        self.cx.emit(Effect::Reply {
                            waiter,
                            reply: Reply::Outcome { outcome: *outcome },
                        });
                        None
                    }
                }
            }
        };
        if let Some(message) = refusal {
            self.cx.emit(Effect::Reply {
                waiter,
                reply: Reply::Error { message },
            });
        }
    }

    fn find(&self, name: &str) -> Result<usize, String> {
        if self.cx.stopping {
            return Err("the supervisor is stopping".into());
        }
        self.services
            .iter()
            .position(|s| s.rules.name == name)
            .ok_or_else(|| {
                format!(
                    "no service `{name}` (this supervisor runs: {})",
                    self.service_names().join(", ")
                )
            })
    }

    /// `SIGHUP`: every service whose `current` release is neither serving nor involved in
    /// its running upgrade gets an upgrade to it, now or once it is free.
    fn reload(&mut self, targets: Vec<Option<ReloadTarget>>) {
        if self.cx.stopping {
            return;
        }
        self.cx.emit(Effect::Manager(
            "RELOADING=1\nSTATUS=upgrading to the current releases".into(),
        ));
        for (service, target) in self.services.iter_mut().zip(targets) {
            if let Some(target) = target
                && (service.settings_changed || !service.settled_on(&target.id))
                && service.pending_reload.replace(target).is_none()
            {
                self.cx.reloads_pending += 1;
            }
        }
        if self.cx.reloads_pending == 0 {
            self.cx.reload_over = true;
        }
    }

    fn stop(&mut self) {
        if self.cx.stopping {
            return;
        }
        self.cx.stopping = true;
        self.cx
            .emit(Effect::Manager("STOPPING=1\nSTATUS=draining".into()));
        for (index, service) in self.services.iter_mut().enumerate() {
            service.stop(index, &mut self.cx);
        }
    }

    /// What follows every input: pending reloads start, the stop completes, the service
    /// manager hears about readiness.
    fn after(&mut self) -> Vec<Effect> {
        if !self.cx.stopping {
            for (index, service) in self.services.iter_mut().enumerate() {
                service.start_pending_reload(index, &mut self.cx);
            }
        }
        if self.cx.stopping && !self.done && self.services.iter().all(Service::is_empty) {
            self.done = true;
            for service in &mut self.services {
                service.stopped(&mut self.cx);
            }
        }
        self.tell_manager();
        std::mem::take(&mut self.cx.effects)
    }

    /// `READY=1` once every service was ready or failed its first start (a crash-looping
    /// service does not hold back the others), and again when a reload is over; `STATUS=`
    /// names the services that do not serve, and changes when that set changes.
    fn tell_manager(&mut self) {
        if self.cx.stopping {
            return;
        }
        let line = self.status_text();
        if !self.announced {
            if self.services.iter().all(|s| s.settled) {
                self.announced = true;
                self.cx
                    .emit(Effect::Manager(format!("READY=1\nSTATUS={line}")));
                self.status_line = line;
            }
            return;
        }
        if std::mem::take(&mut self.cx.reload_over) {
            // The reload is over either way (`READY=1` ends it for `Type=notify-reload`); one
            // that did not upgrade says so in `STATUS=`.
            let failures = std::mem::take(&mut self.cx.reload_failures);
            let status = if failures.is_empty() {
                line.clone()
            } else {
                format!("reload failed: {}; {line}", failures.join("; "))
            };
            self.cx
                .emit(Effect::Manager(format!("READY=1\nSTATUS={status}")));
            self.status_line = line;
        } else if self.cx.reloads_pending == 0 && line != self.status_line {
            self.cx.emit(Effect::Manager(format!("STATUS={line}")));
            self.status_line = line;
        }
    }

    fn status_text(&self) -> String {
        let down: Vec<String> = self
            .services
            .iter()
            .filter(|s| !s.serving())
            .map(|s| format!("{} ({})", s.rules.name, s.phase.label()))
            .collect();
        if down.is_empty() {
            "running".into()
        } else {
            format!("running; not serving: {}", down.join(", "))
        }
    }
}

fn service_of(input: &Input) -> usize {
    match input {
        Input::Started { service, .. }
        | Input::SpawnFailed { service, .. }
        | Input::StopSent { service, .. }
        | Input::Exited { service, .. }
        | Input::Notify { service, .. }
        | Input::ProbeReady { service, .. }
        | Input::Measured { service, .. } => *service,
        Input::Timer | Input::Upgrade(_) | Input::Reload(_) | Input::Stop => usize::MAX,
    }
}
