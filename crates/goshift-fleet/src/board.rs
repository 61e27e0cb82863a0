//! The fleet board: every host, what it runs, whether its agent is alive, and where it
//! differs from the desired state, computed from one read of the prefix.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::etcd::Range;
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
}

impl Board {
    /// Builds the board from a read of the whole prefix.
    #[expect(clippy::too_many_lines, reason = "one arm per kind of key")]
    pub fn from_range(keys: &Keys, range: &Range) -> Self {
        let mut statuses = BTreeMap::new();
        let mut alive = BTreeSet::new();
        let mut environments: BTreeMap<String, EnvironmentBoard> = BTreeMap::new();
        let mut rollouts: BTreeMap<(String, String), RolloutBoard> = BTreeMap::new();
        let mut progress: BTreeMap<(String, String), BTreeMap<String, HostProgress>> =
            BTreeMap::new();
        let mut slots: BTreeMap<(String, String), BTreeMap<u32, Slot>> = BTreeMap::new();
        let mut invalid = Vec::new();
        for kv in &range.kvs {
            let mut bad = |reason: String| invalid.push(format!("{}: {reason}", kv.key));
            match keys.kind(&kv.key) {
                KeyKind::Host { host } => match model::parse::<HostStatus>(&kv.key, &kv.value) {
                    Ok(status) => {
                        statuses.insert(host, status);
                    }
                    Err(error) => bad(error.to_string()),
                },
                KeyKind::Alive { host } => {
                    alive.insert(host);
                }
                KeyKind::Toolchain { environment } => {
                    match model::parse::<DesiredToolchain>(&kv.key, &kv.value) {
                        Ok(desired) => {
                            let board = environments.entry(environment).or_default();
                            board.toolchain = Some(desired);
                            board.toolchain_revision = kv.mod_revision;
                        }
                        Err(error) => bad(error.to_string()),
                    }
                }
                KeyKind::Rollout {
                    environment,
                    service,
                } => match model::parse::<Rollout>(&kv.key, &kv.value) {
                    Ok(rollout) => {
                        rollouts.insert(
                            (environment, service),
                            RolloutBoard {
                                rollout,
                                revision: kv.mod_revision,
                                hosts: BTreeMap::new(),
                                slots: BTreeMap::new(),
                            },
                        );
                    }
                    Err(error) => bad(error.to_string()),
                },
                KeyKind::Progress {
                    environment,
                    service,
                    host,
                } => match model::parse::<HostProgress>(&kv.key, &kv.value) {
                    Ok(entry) => {
                        progress
                            .entry((environment, service))
                            .or_default()
                            .insert(host, entry);
                    }
                    Err(error) => bad(error.to_string()),
                },
                KeyKind::Slot {
                    environment,
                    service,
                    number,
                } => match model::parse::<Slot>(&kv.key, &kv.value) {
                    Ok(slot) => {
                        slots
                            .entry((environment, service))
                            .or_default()
                            .insert(number, slot);
                    }
                    Err(error) => bad(error.to_string()),
                },
                KeyKind::History { .. } | KeyKind::Audit | KeyKind::Other => {}
            }
        }
        for ((environment, service), mut board) in rollouts {
            board.hosts = progress
                .remove(&(environment.clone(), service.clone()))
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, p)| p.rollout == board.rollout.id)
                .collect();
            board.slots = slots
                .remove(&(environment.clone(), service))
                .unwrap_or_default();
            environments
                .entry(environment)
                .or_default()
                .rollouts
                .push(board);
        }
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
