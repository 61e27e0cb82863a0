//! The fleet board: every host, what it runs, whether its agent is alive, and where it
//! differs from the desired state, computed from one read of the prefix.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::decide::{self, RolloutView};
use crate::etcd::{KeyValue, Range};
use crate::keys::{KeyKind, Keys};
use crate::model::{
    self, DesiredToolchain, HostProgress, HostState, HostStatus, Rollout, RolloutState, Slot,
};

/// Everything `goshift fleet status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    /// The etcd revision the board was read at.
    pub revision: i64,
    /// Every host that ever reported, by name.
    pub hosts: Vec<HostBoard>,
    /// The desired state of every environment that has one.
    pub environments: BTreeMap<String, EnvironmentBoard>,
    /// Values under the prefix that do not parse: `key: reason`.
    pub invalid: Vec<String>,
}

/// One host on the board.
#[derive(Debug, Clone, Serialize)]
pub struct HostBoard {
    /// What its agent last reported.
    #[serde(flatten)]
    pub status: HostStatus,
    /// Whether its agent holds a live lease.
    pub alive: bool,
    /// Where it differs from the desired state.
    pub drift: Vec<String>,
}

/// The desired state of one environment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EnvironmentBoard {
    /// The desired toolchain.
    pub toolchain: Option<DesiredToolchain>,
    /// The revision of the toolchain key (what `fleet set toolchain --revision` compares).
    pub toolchain_revision: i64,
    /// The newest rollout of each service.
    pub rollouts: Vec<RolloutBoard>,
}

/// A rollout and its hosts.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutBoard {
    /// The rollout.
    pub rollout: Rollout,
    /// The revision of the rollout key.
    pub revision: i64,
    /// Each host's progress in it.
    pub hosts: BTreeMap<String, HostProgress>,
    /// The slots held, by number.
    pub slots: BTreeMap<u32, Slot>,
    /// The hosts a running or paused rollout still waits for before it completes, and why
    /// (`web-3: gone (its lease expired), not started`).
    pub pending: Vec<String>,
}

/// The values of one read of the prefix, sorted by kind.
#[derive(Default)]
struct Parsed {
    statuses: BTreeMap<String, HostStatus>,
    alive: BTreeSet<String>,
    environments: BTreeMap<String, EnvironmentBoard>,
    rollouts: BTreeMap<(String, String), RolloutBoard>,
    progress: BTreeMap<(String, String), BTreeMap<String, HostProgress>>,
    slots: BTreeMap<(String, String), BTreeMap<u32, Slot>>,
    invalid: Vec<String>,
}

impl Parsed {
    /// Sorts one key in; a value that does not parse goes to `invalid`.
    fn add(&mut self, keys: &Keys, kv: &KeyValue) {
        let parsed = match keys.kind(&kv.key) {
            KeyKind::Host { host } => model::parse::<HostStatus>(&kv.key, &kv.value)
                .map(|status| drop(self.statuses.insert(host, status))),
            KeyKind::Alive { host } => {
                self.alive.insert(host);
                Ok(())
            }
            KeyKind::Toolchain { environment } => model::parse(&kv.key, &kv.value).map(|desired| {
                let board = self.environments.entry(environment).or_default();
                board.toolchain = Some(desired);
                board.toolchain_revision = kv.mod_revision;
            }),
            KeyKind::Rollout {
                environment,
                service,
            } => model::parse(&kv.key, &kv.value).map(|rollout| {
                let board = RolloutBoard {
                    rollout,
                    revision: kv.mod_revision,
                    hosts: BTreeMap::new(),
                    slots: BTreeMap::new(),
                    pending: Vec::new(),
                };
                self.rollouts.insert((environment, service), board);
            }),
            KeyKind::Progress {
                environment,
                service,
                host,
            } => model::parse(&kv.key, &kv.value).map(|entry| {
                let entries = self.progress.entry((environment, service)).or_default();
                entries.insert(host, entry);
            }),
            KeyKind::Slot {
                environment,
                service,
                number,
            } => model::parse(&kv.key, &kv.value).map(|slot| {
                let held = self.slots.entry((environment, service)).or_default();
                held.insert(number, slot);
            }),
            KeyKind::History { .. } | KeyKind::Audit | KeyKind::Other => Ok(()),
        };
        if let Err(error) = parsed {
            self.invalid.push(format!("{}: {error}", kv.key));
        }
    }

    /// Puts each rollout, with its hosts' progress, slots and what keeps it from
    /// completing, under its environment.
    fn place_rollouts(&mut self) {
        for ((environment, service), mut board) in std::mem::take(&mut self.rollouts) {
            let key = (environment.clone(), service);
            board.hosts = self
                .progress
                .remove(&key)
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, p)| p.rollout == board.rollout.id)
                .collect();
            board.slots = self.slots.remove(&key).unwrap_or_default();
            board.pending = self.pending(&board);
            let rollouts = &mut self.environments.entry(environment).or_default().rollouts;
            rollouts.push(board);
        }
    }

    /// The hosts a running or paused rollout still waits for: `host: why`.
    fn pending(&self, board: &RolloutBoard) -> Vec<String> {
        if board.rollout.state.is_final() {
            return Vec::new();
        }
        let targets = decide::targets(&board.rollout, self.statuses.values(), &self.alive);
        let view = RolloutView {
            rollout: &board.rollout,
            progress: &board.hosts,
            slots: &board.slots,
            targets: &targets,
            now: 0,
        };
        view.pending()
            .into_iter()
            .map(|(host, why)| format!("{host}: {why}"))
            .collect()
    }
}

impl Board {
    /// Builds the board from a read of the whole prefix.
    pub fn from_range(keys: &Keys, range: &Range) -> Self {
        let mut parsed = Parsed::default();
        for kv in &range.kvs {
            parsed.add(keys, kv);
        }
        parsed.place_rollouts();
        let Parsed {
            statuses,
            alive,
            environments,
            invalid,
            ..
        } = parsed;
        let hosts = statuses
            .into_iter()
            .map(|(name, status)| {
                let drift = drift(&status, environments.get(&status.environment));
                HostBoard {
                    alive: alive.contains(&name),
                    status,
                    drift,
                }
            })
            .collect();
        Self {
            revision: range.revision,
            hosts,
            environments,
            invalid,
        }
    }
}

/// Where a host differs from its environment's desired state.
fn drift(status: &HostStatus, desired: Option<&EnvironmentBoard>) -> Vec<String> {
    let mut drift = Vec::new();
    let Some(desired) = desired else {
        return drift;
    };
    if let Some(toolchain) = &desired.toolchain {
        let want = format!("go{}", toolchain.version);
        if status.default_toolchain.as_deref() != Some(want.as_str()) {
            drift.push(format!(
                "default toolchain is {}, desired {want}",
                status.default_toolchain.as_deref().unwrap_or("none")
            ));
        }
    }
    for board in &desired.rollouts {
        let rollout = &board.rollout;
        if !status.services.iter().any(|s| s.name == rollout.service) {
            continue;
        }
        let state = board.hosts.get(&status.host).map(|p| p.state);
        let behind = match rollout.state {
            RolloutState::Running | RolloutState::Paused | RolloutState::Completed => {
                state != Some(HostState::Upgraded)
            }
            RolloutState::Failed => rollout.auto_revert && state == Some(HostState::Upgraded),
            RolloutState::Aborted => false,
        };
        if behind {
            drift.push(format!(
                "{} is not where rollout {} ({}) wants it{}",
                rollout.service,
                rollout.id,
                rollout.state.as_str(),
                state.map_or(String::new(), |s| format!(": {s:?}").to_lowercase())
            ));
        }
    }
    for service in &status.services {
        if !service.healthy {
            drift.push(format!(
                "{} is not healthy ({})",
                service.name, service.phase
            ));
        }
    }
    if let Some(audit) = &status.audit
        && !audit.intact
    {
        drift.push("the local audit log does not verify".to_owned());
    }
    drift.extend(status.problems.iter().cloned());
    drift
}
