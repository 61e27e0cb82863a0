//! The agent's loop: keep the host registered under a lease, read the environment's desired
//! state, converge the host, report, and wait for the next change.
//!
//! What converging means on a real host (installing a toolchain, upgrading a service) is the
//! caller's [`Host`]; this module decides when and records the outcome in etcd. The loop
//! re-reads the whole environment after every change it is woken by, resumes its watch from
//! the revision it read (so nothing is missed while it was busy), and starts over from a
//! fresh read after a compaction. While etcd is unreachable it changes nothing on the host
//! and retries with a growing pause.

mod lease;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lease::{Lease, sleep_unless_stopped, spawn_keeper};

use crate::decide::{RolloutView, Step};
use crate::etcd::{KeyValue, WatchOutcome, Write};
use crate::fleet::{Fleet, now_rfc3339, now_unix};
use crate::keys::{KeyKind, Keys};
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
        view: None,
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
        let failed = match agent.cycle(host, log) {
            Ok(wake) => {
                backoff = Duration::from_millis(500);
                agent.wait_for_change(wake, log).is_err()
            }
            Err(error) => {
                log(&format!(
                    "{error}; leaving the host as it is, trying again in {}ms",
                    backoff.as_millis()
                ));
                true
            }
        };
        if failed {
            sleep_unless_stopped(backoff, stop);
            backoff = (backoff * 2).min(Duration::from_secs(10));
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

struct Agent<'a> {
    fleet: &'a Fleet,
    config: &'a AgentConfig,
    lease: &'a Lease,
    last_change: Option<LastChange>,
    last_report: Vec<u8>,
    /// The environment's keys as the last cycle saw them, brought up to date with the events
    /// of the watch that woke the agent, so a change costs no read; `None` after a quiet
    /// watch, a compaction or an error: the next cycle reads everything.
    view: Option<View>,
}

/// The keys under `env/<env>/` as of one revision.
#[derive(Debug, Default)]
struct View {
    /// The revision: the watch resumes after it.
    revision: i64,
    kvs: BTreeMap<String, KeyValue>,
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

impl EnvironmentState {
    /// Adds one key read under `env/<env>/`; a value that does not parse is a problem.
    fn add(&mut self, keys: &Keys, kv: &KeyValue) {
        let parsed = match keys.kind(&kv.key) {
            KeyKind::Toolchain { .. } => {
                model::parse(&kv.key, &kv.value).map(|desired| self.toolchain = Some(desired))
            }
            KeyKind::Rollout { service, .. } => model::parse(&kv.key, &kv.value).map(|rollout| {
                self.rollouts.insert(service, (rollout, kv.mod_revision));
            }),
            KeyKind::Progress { service, host, .. } => {
                model::parse(&kv.key, &kv.value).map(|progress| {
                    let entries = self.progress.entry(service).or_default();
                    entries.insert(host, progress);
                })
            }
            KeyKind::Slot {
                service, number, ..
            } => model::parse(&kv.key, &kv.value).map(|slot| {
                let held = self.slots.entry(service).or_default();
                held.insert(number, (slot, kv.lease));
            }),
            _ => Ok(()),
        };
        if let Err(error) = parsed {
            self.problems.push(error.to_string());
        }
    }
}

/// One host's turn in the rollout of one service, as read at one revision.
struct Turn<'s> {
    state: &'s EnvironmentState,
    rollout: &'s Rollout,
    /// The rollout key's revision.
    revision: i64,
    /// This host's progress in it.
    mine: Option<&'s HostProgress>,
}

impl Agent<'_> {
    /// One pass: read, converge, report. Returns when to look again at the latest, if a
    /// rollout waits for a time.
    fn cycle(&mut self, host: &mut dyn Host, log: Log<'_>) -> Result<Option<u64>, FleetError> {
        let keys = self.fleet.keys();
        let view = match self.view.take() {
            Some(view) => view,
            None => self.read_view()?,
        };
        let mut state = EnvironmentState {
            revision: view.revision,
            ..EnvironmentState::default()
        };
        for kv in view.kvs.values() {
            state.add(keys, kv);
        }
        let mut problems = std::mem::take(&mut state.problems);
        for problem in &problems {
            log(problem);
        }
        if let Some(problem) = self.converge_toolchain(host, state.toolchain.as_ref(), log) {
            problems.push(problem);
        }
        let wake = self.drive_rollouts(host, &state, log)?;
        self.report(host, problems, state.revision)?;
        self.view = Some(view);
        Ok(wake)
    }

    /// Reads every key of the environment.
    fn read_view(&self) -> Result<View, FleetError> {
        let prefix = self.fleet.keys().environment(&self.config.environment);
        let range = self.fleet.etcd().get_prefix(&prefix)?;
        let kvs = range.kvs.into_iter().map(|kv| (kv.key.clone(), kv));
        Ok(View {
            revision: range.revision,
            kvs: kvs.collect(),
        })
    }

    /// Watches the environment after the revision of the last cycle's view, until a change,
    /// `wake` (seconds since the epoch) or the longest watch; brings the view up to date
    /// with what changed, keeps it when nothing did, or drops it (after a compaction or an
    /// error) so the next cycle reads everything. An error is logged and returned.
    fn wait_for_change(&mut self, wake: Option<u64>, log: Log<'_>) -> Result<(), EtcdError> {
        let mut wait = self.config.watch_wait;
        if let Some(at) = wake {
            let until = Duration::from_secs(at.saturating_sub(now_unix()));
            wait = wait.min(until.max(Duration::from_millis(200)));
        }
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        let prefix = self.fleet.keys().environment(&self.config.environment);
        let outcome = self
            .fleet
            .etcd()
            .watch_prefix(&prefix, view.revision + 1, wait);
        match outcome {
            Ok(WatchOutcome::Changed { revision, events }) => {
                for event in events {
                    if event.deleted {
                        view.kvs.remove(&event.kv.key);
                    } else {
                        view.kvs.insert(event.kv.key.clone(), event.kv);
                    }
                }
                view.revision = revision;
                return Ok(());
            }
            Ok(WatchOutcome::Compacted { compact_revision }) => log(&format!(
                "etcd compacted its history up to revision {compact_revision}; reading everything again"
            )),
            // Nothing changed: the view is still the environment as it is, and the next watch
            // starts where this one did.
            Ok(WatchOutcome::Quiet) => return Ok(()),
            Err(EtcdError::Compacted) => {}
            Err(error) => {
                log(&format!("watching etcd failed: {error}"));
                self.view = None;
                return Err(error);
            }
        }
        self.view = None;
        Ok(())
    }

    /// Brings the host to the desired toolchain; returns the problem when it cannot.
    fn converge_toolchain(
        &mut self,
        host: &mut dyn Host,
        desired: Option<&DesiredToolchain>,
        log: Log<'_>,
    ) -> Option<String> {
        match host.converge_toolchain(desired?) {
            Ok(Some(change)) => {
                log(&format!("{}: {}", change.what, change.result));
                self.last_change = Some(change);
                None
            }
            Ok(None) => None,
            Err(error) => {
                let problem = format!("cannot apply go{}: {error}", desired?.version);
                log(&problem);
                Some(problem)
            }
        }
    }

    /// Takes this host's next step in every rollout; returns the earliest wake-up.
    fn drive_rollouts(
        &mut self,
        host: &mut dyn Host,
        state: &EnvironmentState,
        log: Log<'_>,
    ) -> Result<Option<u64>, FleetError> {
        let mut wake: Option<u64> = None;
        for service in state.rollouts.keys() {
            match self.drive(host, state, service, log) {
                Ok(Some(at)) => wake = Some(wake.map_or(at, |w| w.min(at))),
                Ok(None) => {}
                // Another agent changed the same key first: look again at once.
                Err(FleetError::Conflict { .. }) => wake = Some(now_unix()),
                Err(error) => return Err(error),
            }
        }
        Ok(wake)
    }

    /// Writes the host's status when it changed since the last report.
    fn report(
        &mut self,
        host: &mut dyn Host,
        problems: Vec<String>,
        revision: i64,
    ) -> Result<(), FleetError> {
        let mut status = host.status();
        status.problems = problems;
        status.seen_revision = revision;
        status.last_change.clone_from(&self.last_change);
        let bytes = model::to_bytes(&status);
        if bytes != self.last_report {
            let key = self.fleet.keys().host(&self.config.host);
            self.fleet.etcd().put(&key, &bytes, 0)?;
            self.last_report = bytes;
        }
        Ok(())
    }

    /// Takes this host's next step in the rollout of `service`.
    fn drive(
        &mut self,
        host: &mut dyn Host,
        state: &EnvironmentState,
        service: &str,
        log: Log<'_>,
    ) -> Result<Option<u64>, FleetError> {
        let Some((rollout, revision)) = state.rollouts.get(service) else {
            return Ok(None);
        };
        if !host.status().services.iter().any(|s| s.name == *service) {
            return Ok(None);
        }
        let empty_progress = BTreeMap::new();
        let progress = state.progress.get(service).unwrap_or(&empty_progress);
        let slots: BTreeMap<u32, Slot> = state
            .slots
            .get(service)
            .into_iter()
            .flatten()
            .map(|(n, (slot, _))| (*n, slot.clone()))
            .collect();
        let targets = self.fleet.rollout_targets(rollout)?;
        let view = RolloutView {
            rollout,
            progress,
            slots: &slots,
            targets: &targets,
            now: now_unix(),
        };
        let turn = Turn {
            state,
            rollout,
            revision: *revision,
            mine: progress.get(&self.config.host),
        };
        match view.next_step(&self.config.host) {
            Step::Idle => Ok(None),
            Step::Wait { until, .. } => Ok(until),
            Step::Upgrade { slot } => self.upgrade(host, &turn, slot, log),
            Step::Resume => self.resume(host, &turn, log),
            Step::Revert => self.revert(host, &turn, log),
            Step::Watch { until } => self.watch_canary(host, &turn, until, log),
            Step::Complete => self.complete(&turn, targets.len(), log),
        }
    }

    /// Takes `slot` and this host's progress `upgrading` in one transaction, upgrades, and
    /// records how it ended.
    fn upgrade(
        &mut self,
        host: &mut dyn Host,
        turn: &Turn<'_>,
        slot: u32,
        log: Log<'_>,
    ) -> Result<Option<u64>, FleetError> {
        let lease = self.lease.id.load(Ordering::Relaxed);
        if lease == 0 {
            // No lease yet: a slot must die with this agent, so wait for one.
            return Ok(Some(now_unix() + 1));
        }
        let rollout = turn.rollout;
        let (me, service) = (&self.config.host, &rollout.service);
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
        let writes = [
            Write::Put {
                key: slot_key.clone(),
                value: model::to_bytes(&taken),
                lease,
            },
            Write::Put {
                key: keys.progress(&rollout.environment, service, me),
                value: model::to_bytes(&upgrading),
                lease: 0,
            },
        ];
        // Only if nothing in the environment changed since the read this step was decided
        // on: another host may have taken, used and freed the slot since, or failed the
        // rollout.
        let environment = keys.environment(&rollout.environment);
        let etcd = self.fleet.etcd();
        if !etcd.txn_if_prefix_unchanged(&environment, turn.state.revision, &writes)? {
            return Ok(Some(now_unix()));
        }
        log(&format!(
            "took slot {slot} of rollout {}: upgrading {service}",
            rollout.id
        ));
        let outcome = host.upgrade(rollout);
        self.finish(rollout, turn.revision, &upgrading, outcome, log)?;
        self.fleet.etcd().delete(&slot_key)?;
        Ok(Some(now_unix()))
    }

    /// After a restart in the middle of this host's upgrade: records how it ended.
    fn resume(
        &mut self,
        host: &mut dyn Host,
        turn: &Turn<'_>,
        log: Log<'_>,
    ) -> Result<Option<u64>, FleetError> {
        let Some(mine) = turn.mine.cloned() else {
            return Ok(None);
        };
        let service = &turn.rollout.service;
        log(&format!(
            "resuming: {service} was upgrading when the agent stopped; asking the supervisor how it ended"
        ));
        let outcome = host.resume(turn.rollout);
        self.finish(turn.rollout, turn.revision, &mine, outcome, log)?;
        self.free_my_slots(turn.state, service)?;
        Ok(Some(now_unix()))
    }

    /// Returns this host to the release before the failed rollout.
    fn revert(
        &mut self,
        host: &mut dyn Host,
        turn: &Turn<'_>,
        log: Log<'_>,
    ) -> Result<Option<u64>, FleetError> {
        let Some(mine) = turn.mine.cloned() else {
            return Ok(None);
        };
        let service = &turn.rollout.service;
        let (state, detail, result) = match host.revert(turn.rollout, &mine) {
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
        let reverted = HostProgress {
            state,
            since: now_unix(),
            detail: Some(detail),
            ..mine
        };
        self.put_progress(turn.rollout, &reverted)?;
        Ok(None)
    }

    /// A canary within `min_healthy`: fails the rollout when its service is not healthy.
    fn watch_canary(
        &mut self,
        host: &mut dyn Host,
        turn: &Turn<'_>,
        until: Option<u64>,
        log: Log<'_>,
    ) -> Result<Option<u64>, FleetError> {
        let Some(mine) = turn.mine.cloned() else {
            return Ok(None);
        };
        let (rollout, now) = (turn.rollout, now_unix());
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
        let me = self.config.host.clone();
        log(&format!("{} on {me}: {detail}", rollout.service));
        self.last_change = Some(LastChange {
            what: format!("watch {} ({})", rollout.service, rollout.id),
            result: "failure".to_owned(),
            at: now_rfc3339(),
            error: Some(detail.clone()),
        });
        // It stays `upgraded`: with `auto_revert` it returns like every other host.
        let watched = HostProgress {
            detail: Some(detail.clone()),
            ..mine
        };
        self.put_progress(rollout, &watched)?;
        self.fail_rollout(rollout, turn.revision, &format!("{me}: {detail}"), log)?;
        Ok(Some(now))
    }

    /// Marks the rollout completed: every one of its `targets` hosts runs the new release.
    fn complete(
        &mut self,
        turn: &Turn<'_>,
        targets: usize,
        log: Log<'_>,
    ) -> Result<Option<u64>, FleetError> {
        let rollout = turn.rollout;
        let mut done = rollout.clone();
        done.state = RolloutState::Completed;
        done.state_reason = Some(format!(
            "all {targets} targeted hosts run the new release, ready"
        ));
        done.changed = Some(self.stamp("every targeted host runs the new release"));
        let key = self
            .fleet
            .keys()
            .rollout(&rollout.environment, &rollout.service);
        let write = Write::Put {
            key: key.clone(),
            value: model::to_bytes(&done),
            lease: 0,
        };
        self.fleet
            .write_if_unchanged(&key, turn.revision, &[write])?;
        log(&format!(
            "rollout {} of {} completed",
            rollout.id, rollout.service
        ));
        Ok(None)
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
