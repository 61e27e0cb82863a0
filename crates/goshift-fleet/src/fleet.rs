//! The operators' side: read and change the desired state, each change compared against the
//! revision it was based on.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::FleetError;
use crate::board::Board;
use crate::decide::{self, Target};
use crate::etcd::{Etcd, KeyValue, TxnOutcome, Write};
use crate::keys::{KeyKind, Keys, check_name};
use crate::model::{self, DesiredToolchain, HostStatus, Rollout, RolloutState, Stamp};

/// A value read from etcd and the revision it was last changed at (0: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read<T> {
    /// The value, if the key exists.
    pub value: Option<T>,
    /// The key's `mod_revision`, 0 when it does not exist: what a change compares against.
    pub revision: i64,
}

/// A copy of an operator's audit record, written under `audit/<id>` in the same transaction
/// as the change it records: the change is in etcd exactly when its copy is, which is how an
/// interrupted command's intent is reconciled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCopy {
    /// The key's last segment.
    pub id: String,
    /// The value (JSON).
    pub value: Vec<u8>,
}

/// The fleet under one prefix of one etcd cluster.
#[derive(Debug, Clone)]
pub struct Fleet {
    etcd: Etcd,
    keys: Keys,
}

impl Fleet {
    /// The fleet kept by `etcd` under `keys`.
    pub fn new(etcd: Etcd, keys: Keys) -> Self {
        Self { etcd, keys }
    }

    /// The etcd client.
    pub fn etcd(&self) -> &Etcd {
        &self.etcd
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Reads and parses one key.
    pub fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Read<T>, FleetError> {
        let (kv, _) = self.etcd.get(key)?;
        match kv {
            None => Ok(Read {
                value: None,
                revision: 0,
            }),
            Some(kv) => Ok(Read {
                value: Some(model::parse(key, &kv.value)?),
                revision: kv.mod_revision,
            }),
        }
    }

    /// The desired toolchain of `environment`.
    pub fn desired_toolchain(
        &self,
        environment: &str,
    ) -> Result<Read<DesiredToolchain>, FleetError> {
        check_name("an environment", environment)?;
        self.read(&self.keys.toolchain(environment))
    }

    /// Sets the desired toolchain of `environment`, if the key is still at `read_revision`,
    /// with `audit`'s copy in the same transaction.
    pub fn set_toolchain(
        &self,
        environment: &str,
        desired: &DesiredToolchain,
        read_revision: i64,
        audit: Option<&AuditCopy>,
    ) -> Result<i64, FleetError> {
        check_name("an environment", environment)?;
        let key = self.keys.toolchain(environment);
        let mut writes = vec![Write::Put {
            key: key.clone(),
            value: model::to_bytes(desired),
            lease: 0,
        }];
        writes.extend(self.audit_write(audit));
        self.write_if_unchanged(&key, read_revision, &writes)
    }

    /// The rollout of `service` in `environment`.
    pub fn rollout(&self, environment: &str, service: &str) -> Result<Read<Rollout>, FleetError> {
        check_name("an environment", environment)?;
        check_name("a service", service)?;
        self.read(&self.keys.rollout(environment, service))
    }

    /// Starts `rollout`, if the service's rollout key is still at `read_revision`. A rollout
    /// that is running or paused must be aborted first; a finished one moves to the history
    /// in the same transaction, and so does `audit`'s copy. Hosts' progress in older rollouts
    /// stays until each host's next step overwrites it; it names its rollout, so nothing
    /// mistakes it for the new one.
    pub fn start_rollout(
        &self,
        rollout: &Rollout,
        previous: &Read<Rollout>,
        audit: Option<&AuditCopy>,
    ) -> Result<i64, FleetError> {
        check_name("an environment", &rollout.environment)?;
        check_name("a service", &rollout.service)?;
        let environment = &rollout.environment;
        let service = &rollout.service;
        let key = self.keys.rollout(environment, service);
        let mut writes = Vec::new();
        if let Some(old) = &previous.value {
            if !old.state.is_final() {
                return Err(FleetError::RolloutState {
                    service: service.clone(),
                    id: old.id.clone(),
                    state: old.state.as_str().to_owned(),
                    wanted: "replaced by a new rollout",
                });
            }
            writes.push(Write::Put {
                key: self.keys.history(environment, service, &old.id),
                value: model::to_bytes(old),
                lease: 0,
            });
        }
        writes.push(Write::Put {
            key: key.clone(),
            value: model::to_bytes(rollout),
            lease: 0,
        });
        writes.extend(self.audit_write(audit));
        self.write_if_unchanged(&key, previous.revision, &writes)
    }

    /// Moves the rollout of `service` to `wanted` (`paused`, `running`, `aborted`), checking
    /// the transition, with `audit`'s copy in the same transaction; returns the rollout as
    /// written and the revision of the write.
    pub fn change_rollout(
        &self,
        environment: &str,
        service: &str,
        wanted: RolloutState,
        stamp: Stamp,
        audit: Option<&AuditCopy>,
    ) -> Result<(Rollout, i64), FleetError> {
        let read = self.rollout(environment, service)?;
        let Some(mut rollout) = read.value else {
            return Err(FleetError::NoRollout {
                environment: environment.to_owned(),
                service: service.to_owned(),
            });
        };
        let allowed = match wanted {
            RolloutState::Paused => rollout.state == RolloutState::Running,
            RolloutState::Running => rollout.state == RolloutState::Paused,
            RolloutState::Aborted => !rollout.state.is_final(),
            RolloutState::Failed | RolloutState::Completed => false,
        };
        if !allowed {
            return Err(FleetError::RolloutState {
                service: service.to_owned(),
                id: rollout.id.clone(),
                state: rollout.state.as_str().to_owned(),
                wanted: match wanted {
                    RolloutState::Paused => "paused",
                    RolloutState::Running => "resumed",
                    RolloutState::Aborted => "aborted",
                    RolloutState::Failed => "failed",
                    RolloutState::Completed => "completed",
                },
            });
        }
        rollout.state = wanted;
        rollout.state_reason = Some(stamp.reason.clone());
        rollout.changed = Some(stamp);
        let key = self.keys.rollout(environment, service);
        let mut writes = vec![Write::Put {
            key: key.clone(),
            value: model::to_bytes(&rollout),
            lease: 0,
        }];
        writes.extend(self.audit_write(audit));
        let revision = self.write_if_unchanged(&key, read.revision, &writes)?;
        Ok((rollout, revision))
    }

    /// Every rollout of `service`, oldest first, the current one last.
    pub fn history(&self, environment: &str, service: &str) -> Result<Vec<Rollout>, FleetError> {
        check_name("an environment", environment)?;
        check_name("a service", service)?;
        let range = self
            .etcd
            .get_prefix(&self.keys.history_all(environment, service))?;
        let mut rollouts = range
            .kvs
            .iter()
            .map(|kv| model::parse::<Rollout>(&kv.key, &kv.value))
            .collect::<Result<Vec<_>, _>>()?;
        rollouts.sort_by(|a, b| a.started.changed_at.cmp(&b.started.changed_at));
        if let Some(current) = self.rollout(environment, service)?.value {
            rollouts.push(current);
        }
        Ok(rollouts)
    }

    /// Every host's last report (values that do not parse are left out: the board names
    /// them) and the hosts whose agents hold a lease.
    pub fn hosts(&self) -> Result<(Vec<HostStatus>, BTreeSet<String>), FleetError> {
        let alive = self
            .etcd
            .get_prefix(&self.keys.alive_all())?
            .kvs
            .iter()
            .filter_map(|kv| match self.keys.kind(&kv.key) {
                KeyKind::Alive { host } => Some(host),
                _ => None,
            })
            .collect();
        let statuses = self
            .etcd
            .get_prefix(&self.keys.hosts())?
            .kvs
            .iter()
            .filter_map(|kv| model::parse::<HostStatus>(&kv.key, &kv.value).ok())
            .collect();
        Ok((statuses, alive))
    }

    /// The hosts `rollout` must bring to its release before it completes, as they last
    /// reported (see [`decide::targets`]).
    pub fn rollout_targets(
        &self,
        rollout: &Rollout,
    ) -> Result<BTreeMap<String, Target>, FleetError> {
        let (statuses, alive) = self.hosts()?;
        Ok(decide::targets(rollout, &statuses, &alive))
    }

    /// The whole board, from one read of the prefix.
    pub fn board(&self) -> Result<Board, FleetError> {
        let range = self.etcd.get_prefix(self.keys.prefix())?;
        Ok(Board::from_range(&self.keys, &range))
    }

    /// Keeps a copy of an audit record under the prefix, replacing the one with that id.
    pub fn mirror_audit(&self, copy: &AuditCopy) -> Result<(), FleetError> {
        self.etcd.put(&self.keys.audit(&copy.id), &copy.value, 0)?;
        Ok(())
    }

    /// The copy of an audit record kept under `id`, if etcd has it, with its revision.
    pub fn audit_copy(&self, id: &str) -> Result<Option<(Vec<u8>, i64)>, FleetError> {
        let (kv, _) = self.etcd.get(&self.keys.audit(id))?;
        Ok(kv.map(|kv| (kv.value, kv.mod_revision)))
    }

    fn audit_write(&self, audit: Option<&AuditCopy>) -> Option<Write> {
        audit.map(|copy| Write::Put {
            key: self.keys.audit(&copy.id),
            value: copy.value.clone(),
            lease: 0,
        })
    }

    /// Makes `writes` if `key` is still at `read_revision`; the conflict names who changed it.
    pub fn write_if_unchanged(
        &self,
        key: &str,
        read_revision: i64,
        writes: &[Write],
    ) -> Result<i64, FleetError> {
        match self.etcd.txn_if_unchanged(key, read_revision, writes)? {
            TxnOutcome::Written { revision } => Ok(revision),
            TxnOutcome::Conflict { current } => Err(conflict(key, read_revision, current.as_ref())),
        }
    }
}

/// The conflict error for `key`, naming who wrote what is there now.
fn conflict(key: &str, read_revision: i64, current: Option<&KeyValue>) -> FleetError {
    let Some(current) = current else {
        return FleetError::Conflict {
            key: key.to_owned(),
            changed_by: "someone".to_owned(),
            changed_at: "an unknown time (the key was deleted)".to_owned(),
            revision: 0,
            read_revision,
        };
    };
    let value: Value = serde_json::from_slice(&current.value).unwrap_or(Value::Null);
    // Desired toolchains carry `stamp`; rollouts `changed`, else `started`.
    let stamp = ["stamp", "changed", "started"]
        .iter()
        .map(|field| &value[*field])
        .find(|stamp| stamp.is_object());
    let field = |name: &str, fallback: &str| {
        stamp
            .and_then(|stamp| stamp[name].as_str())
            .unwrap_or(fallback)
            .to_owned()
    };
    FleetError::Conflict {
        key: key.to_owned(),
        changed_by: field("changed_by", "an unknown writer"),
        changed_at: field("changed_at", "an unknown time"),
        revision: current.mod_revision,
        read_revision,
    }
}

/// Seconds since the epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Now, RFC 3339 in UTC to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_name_the_writer() {
        let kv = KeyValue {
            key: "k".into(),
            value: br#"{"version":"1.22.10","stamp":{"changed_by":"alice@ops","changed_at":"2026-12-03T08:00:00Z","reason":"r"}}"#.to_vec(),
            create_revision: 3,
            mod_revision: 7,
            lease: 0,
        };
        let text = conflict("/goshift/env/prod/toolchain", 5, Some(&kv)).to_string();
        assert!(text.contains("alice@ops"), "{text}");
        assert!(text.contains("2026-12-03T08:00:00Z"), "{text}");
        assert!(text.contains("revision 7"), "{text}");
        assert!(text.contains("revision 5"), "{text}");
        let gone = conflict("k", 5, None).to_string();
        assert!(gone.contains("deleted"), "{gone}");
    }
}
