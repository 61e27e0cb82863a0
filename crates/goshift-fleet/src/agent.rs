//! The agent's loop: keep the host registered under a lease, read the environment's desired
//! state, converge the host, report, and wait for the next change.
//!
//! What converging means on a real host (installing a toolchain, upgrading a service) is the
//! caller's [`Host`]; this module decides when and records the outcome in etcd. The loop
//! re-reads the whole environment after every change it is woken by, resumes its watch from
//! the revision it read (so nothing is missed while it was busy), and starts over from a
//! fresh read after a compaction. While etcd is unreachable it changes nothing on the host
//! and retries with a growing pause.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::decide::{RolloutView, Step};
use crate::etcd::{WatchOutcome, Write};
use crate::fleet::{Fleet, now_rfc3339, now_unix};
use crate::keys::KeyKind;
use crate::model::{
    self, DesiredToolchain, HostProgress, HostState, HostStatus, LastChange, Rollout, RolloutState,
    Slot, Stamp,
};
use crate::{EtcdError, FleetError};

/// How a local upgrade ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeOutcome {
    /// The service runs the new release.
    Upgraded {
        /// The release before.
        from: Option<String>,
        /// The new release.
        to: String,
    },
    /// The new release failed and the service is back on the old one.
    RolledBack {
        /// The release it runs again.
        from: Option<String>,
        /// Why.
        reason: String,
    },
    /// Nothing was started: the artifact, its hash or the policy refused it.
    Refused {
        /// Why.
        reason: String,
    },
}

/// What the agent changes and observes on its host.
pub trait Host {
    /// Makes `desired` the default toolchain; `Ok(None)` when it already is.
    fn converge_toolchain(
        &mut self,
        desired: &DesiredToolchain,
    ) -> Result<Option<LastChange>, String>;
    /// Upgrades the rollout's service to its artifact.
    fn upgrade(&mut self, rollout: &Rollout) -> UpgradeOutcome;
    /// After a restart in the middle of an upgrade: how the local upgrade ended.
    fn resume(&mut self, rollout: &Rollout) -> UpgradeOutcome;
    /// Returns the service to the release it ran before the rollout.
    fn revert(&mut self, rollout: &Rollout, progress: &HostProgress) -> Result<String, String>;
    /// The host's current status (`problems`, `seen_revision` and `last_change` are filled in
    /// by the agent).
    fn status(&mut self) -> HostStatus;
    /// Whether the rollout's service on this canary host is healthy, asked at least once a
    /// second from its upgrade until `min_healthy` has passed; an unhealthy answer fails the
    /// rollout. By default the service's report in [`status`](Self::status): it must run
    /// the release the upgrade installed (a rollback by the supervisor changes it) and be
    /// ready. A host with more to judge by (the supervisor's analysis verdicts, its
    /// incidents) adds it here.
    fn canary_health(&mut self, rollout: &Rollout, progress: &HostProgress) -> CanaryHealth {
        let status = self.status();
        let Some(service) = status.services.iter().find(|s| s.name == rollout.service) else {
            return CanaryHealth::Unhealthy(format!(
                "{} is no longer supervised here",
                rollout.service
            ));
        };
        if service.release != progress.release {
            return CanaryHealth::Unhealthy(format!(
                "it runs release {}, not {} (rolled back)",
                service.release.as_deref().unwrap_or("none"),
                progress.release.as_deref().unwrap_or("none")
            ));
        }
        if !service.healthy {
            return CanaryHealth::Unhealthy(format!("it is not ready (phase {})", service.phase));
        }
        CanaryHealth::Healthy
    }
}

/// A canary's health during `min_healthy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanaryHealth {
    /// Fine so far.
    Healthy,
    /// Not fine: why.
    Unhealthy(String),
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The host's name.
    pub host: String,
    /// Its environment.
    pub environment: String,
    /// The lease's time to live: a dead agent's slots free themselves after this long.
    pub lease_ttl: Duration,
    /// The longest single watch; the agent looks again after it even when nothing changed.
    pub watch_wait: Duration,
}

/// What the agent reports as it works.
pub type Log<'a> = &'a mut dyn FnMut(&str);

/// The lease shared by the loop and the keep-alive thread.
#[derive(Debug)]
struct Lease {
    id: AtomicI64,
}

/// Runs the agent until `stop` is set.
pub fn run(
    fleet: &Fleet,
    config: &AgentConfig,
    host: &mut dyn Host,
    stop: &AtomicBool,
    log: Log<'_>,
) -> Result<(), FleetError> {
    crate::check_name("a host", &config.host)?;
    crate::check_name("an environment", &config.environment)?;
    let lease = Arc::new(Lease {
        id: AtomicI64::new(0),
    });
    let messages: Arc<Mutex<Vec<String>>> = Arc::default();
    let keeper = spawn_keeper(fleet, config, &lease, stop, &messages);
    let mut agent = Agent {
        fleet,
        config,
        lease: &lease,
        last_change: None,
        last_report: Vec::new(),
        revision: 0,
    };
    let mut backoff = Duration::from_millis(500);
    while !stop.load(Ordering::Relaxed) {
        for message in messages
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
        {
            log(&message);
        }
        let wake = match agent.cycle(host, log) {
            Ok(wake) => {
                backoff = Duration::from_millis(500);
                wake
            }
            Err(error) => {
                log(&format!(
                    "{error}; leaving the host as it is, trying again in {}ms",
                    backoff.as_millis()
                ));
                sleep_unless_stopped(backoff, stop);
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        let mut wait = config.watch_wait;
        if let Some(at) = wake {
            wait = wait.min(
                Duration::from_secs(at.saturating_sub(now_unix())).max(Duration::from_millis(200)),
            );
        }
        let prefix = fleet.keys().environment(&config.environment);
        match fleet.etcd().watch_prefix(&prefix, agent.revision + 1, wait) {
            Ok(WatchOutcome::Changed { .. } | WatchOutcome::Quiet) => {}
            Ok(WatchOutcome::Compacted { compact_revision }) => {
                log(&format!(
                    "etcd compacted its history up to revision {compact_revision}; reading everything again"
                ));
                agent.revision = 0;
            }
            Err(EtcdError::Compacted) => agent.revision = 0,
            Err(error) => {
                log(&format!("watching etcd failed: {error}"));
                sleep_unless_stopped(backoff, stop);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
    drop(keeper);
    let id = lease.id.load(Ordering::Relaxed);
    if id != 0 {
        // A clean stop frees the slots and marks the host gone at once.
        let _ = fleet.etcd().revoke_lease(id);
    }
    Ok(())
}

fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let end = Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
    }
}

/// Renews the lease every third of its time to live; grants a new one (and marks the host
/// alive under it) when it expired or none exists yet. Stops with `stop`.
fn spawn_keeper(
    fleet: &Fleet,
    config: &AgentConfig,
    lease: &Arc<Lease>,
    stop: &AtomicBool,
    messages: &Arc<Mutex<Vec<String>>>,
) -> Keeper {
    let fleet = fleet.clone();
    let lease = Arc::clone(lease);
    let messages = Arc::clone(messages);
    let done = Arc::new(AtomicBool::new(stop.load(Ordering::Relaxed)));
    let done_here = Arc::clone(&done);
    let ttl = config.lease_ttl.max(Duration::from_secs(2));
    let host = config.host.clone();
    let environment = config.environment.clone();
    let thread = std::thread::spawn(move || {
        let say = |text: String| {
            if let Ok(mut m) = messages.lock() {
                m.push(text);
            }
        };
        // A first lease before the loop's first report.
        let _ = renew(&fleet, &lease, ttl, &host, &environment);
        while !done_here.load(Ordering::Relaxed) {
            sleep_unless_stopped(ttl / 3, &done_here);
            if done_here.load(Ordering::Relaxed) {
                break;
            }
            if let Err(error) = renew(&fleet, &lease, ttl, &host, &environment) {
                say(format!("renewing the lease failed: {error}"));
            }
        }
    });
    Keeper {
        done,
        thread: Some(thread),
    }
}

/// Stops the keep-alive thread when dropped.
struct Keeper {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn renew(
    fleet: &Fleet,
    lease: &Lease,
    ttl: Duration,
    host: &str,
    environment: &str,
) -> Result<(), EtcdError> {
    let id = lease.id.load(Ordering::Relaxed);
    if id != 0 && fleet.etcd().keep_alive(id)? > 0 {
        return Ok(());
    }
    let ttl_seconds = i64::try_from(ttl.as_secs()).unwrap_or(60);
    let id = fleet.etcd().grant_lease(ttl_seconds)?;
    let alive = serde_json::json!({ "environment": environment, "lease": id.to_string() });
    fleet
        .etcd()
        .put(&fleet.keys().alive(host), alive.to_string().as_bytes(), id)?;
    lease.id.store(id, Ordering::Relaxed);
    Ok(())
}

struct Agent<'a> {
    fleet: &'a Fleet,
    config: &'a AgentConfig,
    lease: &'a Lease,
    last_change: Option<LastChange>,
    last_report: Vec<u8>,
    /// The revision of the last full read: the watch resumes after it.
    revision: i64,
}

/// What one read of the environment holds.
#[derive(Debug, Default)]
struct EnvironmentState {
    /// The revision the environment was read at.
    revision: i64,
    toolchain: Option<DesiredToolchain>,
    rollouts: BTreeMap<String, (Rollout, i64)>,
    progress: BTreeMap<String, BTreeMap<String, HostProgress>>,
    slots: BTreeMap<String, BTreeMap<u32, (Slot, i64)>>,
    problems: Vec<String>,
}

impl Agent<'_> {
    /// One pass: read, converge, report. Returns when to look again at the latest, if a
    /// rollout waits for a time.
    fn cycle(&mut self, host: &mut dyn Host, log: Log<'_>) -> Result<Option<u64>, FleetError> {
        let keys = self.fleet.keys();
        let range = self
            .fleet
            .etcd()
            .get_prefix(&keys.environment(&self.config.environment))?;
        let mut state = EnvironmentState {
            revision: range.revision,
            ..EnvironmentState::default()
        };
        for kv in &range.kvs {
            let mut bad = |error: FleetError| state.problems.push(error.to_string());
            match keys.kind(&kv.key) {
                KeyKind::Toolchain { .. } => match model::parse(&kv.key, &kv.value) {
                    Ok(desired) => state.toolchain = Some(desired),
                    Err(error) => bad(error),
                },
                KeyKind::Rollout { service, .. } => {
                    match model::parse::<Rollout>(&kv.key, &kv.value) {
                        Ok(rollout) => {
                            state.rollouts.insert(service, (rollout, kv.mod_revision));
                        }
                        Err(error) => bad(error),
                    }
                }
                KeyKind::Progress { service, host, .. } => match model::parse(&kv.key, &kv.value) {
                    Ok(progress) => {
                        state
                            .progress
                            .entry(service)
                            .or_default()
                            .insert(host, progress);
                    }
                    Err(error) => bad(error),
                },
                KeyKind::Slot {
                    service, number, ..
                } => match model::parse(&kv.key, &kv.value) {
                    Ok(slot) => {
                        state
                            .slots
                            .entry(service)
                            .or_default()
                            .insert(number, (slot, kv.lease));
                    }
                    Err(error) => bad(error),
                },
                _ => {}
            }
        }
        let mut problems = std::mem::take(&mut state.problems);
        for problem in &problems {
            log(problem);
        }
        if let Some(desired) = &state.toolchain {
            match host.converge_toolchain(desired) {
                Ok(Some(change)) => {
                    log(&format!("{}: {}", change.what, change.result));
                    self.last_change = Some(change);
                }
                Ok(None) => {}
                Err(error) => {
                    let problem = format!("cannot apply go{}: {error}", desired.version);
                    log(&problem);
                    problems.push(problem);
                }
            }
        }
        let mut wake: Option<u64> = None;
        let services: Vec<String> = state.rollouts.keys().cloned().collect();
        for service in services {
            match self.drive(host, &state, &service, log) {
                Ok(Some(at)) => wake = Some(wake.map_or(at, |w| w.min(at))),
                Ok(None) => {}
                // Another agent changed the same key first: look again at once.
                Err(FleetError::Conflict { .. }) => wake = Some(now_unix()),
                Err(error) => return Err(error),
            }
        }
        let mut status = host.status();
        status.problems = problems;
        status.seen_revision = range.revision;
        status.last_change.clone_from(&self.last_change);
        let bytes = model::to_bytes(&status);
        if bytes != self.last_report {
            self.fleet
                .etcd()
                .put(&keys.host(&self.config.host), &bytes, 0)?;
            self.last_report = bytes;
        }
        self.revision = range.revision;
        Ok(wake)
    }

    /// Takes this host's next step in the rollout of `service`.
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per step of the decision table, each a few writes"
    )]
    fn drive(
        &mut self,
        host: &mut dyn Host,
        state: &EnvironmentState,
        service: &str,
        log: Log<'_>,
    ) -> Result<Option<u64>, FleetError> {
        let Some((rollout, rollout_revision)) = state.rollouts.get(service) else {
            return Ok(None);
        };
        if !host
            .status()
            .services
            .iter()
            .any(|s| s.name == rollout.service)
        {
            return Ok(None);
        }
        let empty_progress = BTreeMap::new();
        let progress = state.progress.get(service).unwrap_or(&empty_progress);
        let slots: BTreeMap<u32, Slot> = state
            .slots
            .get(service)
            .map(|held| {
                held.iter()
                    .map(|(n, (slot, _))| (*n, slot.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let live = self.live_hosts(service)?;
        let view = RolloutView {
            rollout,
            progress,
            slots: &slots,
            live_hosts: &live,
            now: now_unix(),
        };
        let me = self.config.host.clone();
        match view.next_step(&me) {
            Step::Idle => Ok(None),
            Step::Wait { until, .. } => Ok(until),
            Step::Upgrade { slot } => {
                let lease = self.lease.id.load(Ordering::Relaxed);
                if lease == 0 {
                    // No lease yet: a slot must die with this agent, so wait for one.
                    return Ok(Some(now_unix() + 1));
                }
                let keys = self.fleet.keys();
                let slot_key = keys.slot(&rollout.environment, service, slot);
                let taken = Slot {
                    rollout: rollout.id.clone(),
                    host: me.clone(),
                };
                let from = current_release(host, service);
                let upgrading = HostProgress {
                    rollout: rollout.id.clone(),
                    state: HostState::Upgrading,
                    from_release: from.clone(),
                    release: from,
                    since: now_unix(),
                    detail: Some(format!("holds slot {slot}")),
                };
                let progress_key = keys.progress(&rollout.environment, service, &me);
                // Only if nothing in the environment changed since the read this step was
                // decided on: another host may have taken, used and freed the slot since, or
                // failed the rollout.
                let taken = self.fleet.etcd().txn_if_prefix_unchanged(
                    &keys.environment(&rollout.environment),
                    state.revision,
                    &[
                        Write::Put {
                            key: slot_key.clone(),
                            value: model::to_bytes(&taken),
                            lease,
                        },
                        Write::Put {
                            key: progress_key,
                            value: model::to_bytes(&upgrading),
                            lease: 0,
                        },
                    ],
                )?;
                if !taken {
                    return Ok(Some(now_unix()));
                }
                log(&format!(
                    "took slot {slot} of rollout {}: upgrading {service}",
                    rollout.id
                ));
                let outcome = host.upgrade(rollout);
                self.finish(rollout, *rollout_revision, &upgrading, outcome, log)?;
                self.fleet.etcd().delete(&slot_key)?;
                Ok(Some(now_unix()))
            }
            Step::Resume => {
                let Some(mine) = progress.get(&me).cloned() else {
                    return Ok(None);
                };
                log(&format!(
                    "resuming: {service} was upgrading when the agent stopped; asking the supervisor how it ended"
                ));
                let outcome = host.resume(rollout);
                self.finish(rollout, *rollout_revision, &mine, outcome, log)?;
                self.free_my_slots(state, service)?;
                Ok(Some(now_unix()))
            }
            Step::Revert => {
                let Some(mine) = progress.get(&me).cloned() else {
                    return Ok(None);
                };
                let (state, detail, result) = match host.revert(rollout, &mine) {
                    Ok(release) => (HostState::Reverted, format!("back on {release}"), "success"),
                    Err(error) => (
                        HostState::Upgraded,
                        format!("revert failed: {error}"),
                        "failure",
                    ),
                };
                log(&format!("revert of {service}: {detail}"));
                self.last_change = Some(LastChange {
                    what: format!("revert {service}"),
                    result: result.to_owned(),
                    at: now_rfc3339(),
                    error: (result == "failure").then(|| detail.clone()),
                });
                self.put_progress(
                    rollout,
                    &HostProgress {
                        state,
                        since: now_unix(),
                        detail: Some(detail),
                        ..mine
                    },
                )?;
                Ok(None)
            }
            Step::Watch { until } => {
                let Some(mine) = progress.get(&me).cloned() else {
                    return Ok(None);
                };
                let now = now_unix();
                let reason = match host.canary_health(rollout, &mine) {
                    CanaryHealth::Healthy => {
                        return Ok(Some(until.map_or(now + 1, |until| until.min(now + 1))));
                    }
                    CanaryHealth::Unhealthy(reason) => reason,
                };
                let detail = format!(
                    "canary unhealthy within min_healthy ({}s): {reason}",
                    rollout.min_healthy_seconds
                );
                log(&format!("{service} on {me}: {detail}"));
                self.last_change = Some(LastChange {
                    what: format!("watch {service} ({})", rollout.id),
                    result: "failure".to_owned(),
                    at: now_rfc3339(),
                    error: Some(detail.clone()),
                });
                // It stays `upgraded`: with `auto_revert` it returns like every other host.
                self.put_progress(
                    rollout,
                    &HostProgress {
                        detail: Some(detail.clone()),
                        ..mine
                    },
                )?;
                self.fail_rollout(rollout, *rollout_revision, &format!("{me}: {detail}"), log)?;
                Ok(Some(now))
            }
            Step::Complete => {
                let mut done = rollout.clone();
                done.state = RolloutState::Completed;
                done.state_reason = Some(format!("all {} live hosts upgraded", live.len()));
                done.changed = Some(self.stamp("every live host runs the new release"));
                let key = self.fleet.keys().rollout(&rollout.environment, service);
                self.fleet.write_if_unchanged(
                    &key,
                    *rollout_revision,
                    &[Write::Put {
                        key: key.clone(),
                        value: model::to_bytes(&done),
                        lease: 0,
                    }],
                )?;
                log(&format!("rollout {} of {service} completed", rollout.id));
                Ok(None)
            }
        }
    }

    /// Records how this host's upgrade ended; a failure stops the rollout.
    fn finish(
        &mut self,
        rollout: &Rollout,
        rollout_revision: i64,
        before: &HostProgress,
        outcome: UpgradeOutcome,
        log: Log<'_>,
    ) -> Result<(), FleetError> {
        let service = &rollout.service;
        let me = self.config.host.clone();
        let (state, release, detail, error) = match outcome {
            UpgradeOutcome::Upgraded { from: _, to } => (
                HostState::Upgraded,
                Some(to.clone()),
                format!("upgraded to {to}"),
                None,
            ),
            UpgradeOutcome::RolledBack { from, reason } => (
                HostState::Failed,
                from,
                format!("rolled back: {reason}"),
                Some(reason),
            ),
            UpgradeOutcome::Refused { reason } => (
                HostState::Refused,
                before.from_release.clone(),
                format!("refused: {reason}"),
                Some(reason),
            ),
        };
        log(&format!("{service} on {me}: {detail}"));
        self.last_change = Some(LastChange {
            what: format!("upgrade {service} ({})", rollout.id),
            result: if error.is_none() {
                "success"
            } else {
                "failure"
            }
            .to_owned(),
            at: now_rfc3339(),
            error: error.clone(),
        });
        let updated = HostProgress {
            rollout: rollout.id.clone(),
            state,
            from_release: before.from_release.clone(),
            release,
            since: now_unix(),
            detail: Some(detail.clone()),
        };
        let keys = self.fleet.keys();
        self.fleet.etcd().put(
            &keys.progress(&rollout.environment, service, &me),
            &model::to_bytes(&updated),
            0,
        )?;
        if error.is_some() {
            self.fail_rollout(rollout, rollout_revision, &format!("{me}: {detail}"), log)?;
        }
        Ok(())
    }

    /// Writes this host's progress in `rollout`.
    fn put_progress(&self, rollout: &Rollout, progress: &HostProgress) -> Result<(), FleetError> {
        let key =
            self.fleet
                .keys()
                .progress(&rollout.environment, &rollout.service, &self.config.host);
        self.fleet.etcd().put(&key, &model::to_bytes(progress), 0)?;
        Ok(())
    }

    /// Marks the rollout failed, unless someone already moved it on.
    fn fail_rollout(
        &mut self,
        rollout: &Rollout,
        mut revision: i64,
        reason: &str,
        log: Log<'_>,
    ) -> Result<(), FleetError> {
        let key = self
            .fleet
            .keys()
            .rollout(&rollout.environment, &rollout.service);
        for _ in 0..3 {
            let current = if revision == 0 {
                let read = self.fleet.read::<Rollout>(&key)?;
                revision = read.revision;
                match read.value {
                    Some(current) if current.id == rollout.id => current,
                    _ => return Ok(()),
                }
            } else {
                rollout.clone()
            };
            if current.state.is_final() {
                return Ok(());
            }
            let mut failed = current;
            failed.state = RolloutState::Failed;
            failed.state_reason = Some(reason.to_owned());
            failed.changed = Some(self.stamp(reason));
            match self.fleet.write_if_unchanged(
                &key,
                revision,
                &[Write::Put {
                    key: key.clone(),
                    value: model::to_bytes(&failed),
                    lease: 0,
                }],
            ) {
                Ok(_) => {
                    log(&format!("rollout {} failed: {reason}", rollout.id));
                    return Ok(());
                }
                Err(FleetError::Conflict { .. }) => revision = 0,
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    fn free_my_slots(&self, state: &EnvironmentState, service: &str) -> Result<(), FleetError> {
        let keys = self.fleet.keys();
        for (number, (slot, _)) in state.slots.get(service).into_iter().flatten() {
            if slot.host == self.config.host {
                self.fleet
                    .etcd()
                    .delete(&keys.slot(&self.config.environment, service, *number))?;
            }
        }
        Ok(())
    }

    /// The hosts of this environment that run `service` and whose agents hold a lease.
    fn live_hosts(&self, service: &str) -> Result<BTreeSet<String>, FleetError> {
        let keys = self.fleet.keys();
        let alive: BTreeSet<String> = self
            .fleet
            .etcd()
            .get_prefix(&keys.alive_all())?
            .kvs
            .iter()
            .filter_map(|kv| match keys.kind(&kv.key) {
                KeyKind::Alive { host } => Some(host),
                _ => None,
            })
            .collect();
        let statuses = self.fleet.etcd().get_prefix(&keys.hosts())?;
        Ok(statuses
            .kvs
            .iter()
            .filter_map(|kv| model::parse::<HostStatus>(&kv.key, &kv.value).ok())
            .filter(|status| {
                status.environment == self.config.environment
                    && alive.contains(&status.host)
                    && status.services.iter().any(|s| s.name == service)
            })
            .map(|status| status.host)
            .collect())
    }

    fn stamp(&self, reason: &str) -> Stamp {
        Stamp {
            changed_by: format!("agent on {}", self.config.host),
            changed_at: now_rfc3339(),
            reason: reason.to_owned(),
        }
    }
}

fn current_release(host: &mut dyn Host, service: &str) -> Option<String> {
    host.status()
        .services
        .into_iter()
        .find(|s| s.name == service)
        .and_then(|s| s.release)
}
