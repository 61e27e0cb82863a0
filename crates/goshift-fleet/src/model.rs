//! The JSON values kept under the prefix (see `docs/fleet.md`). Unknown fields are refused,
//! so a value written by hand with a typo is reported instead of half-understood.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::FleetError;

/// Who made a change, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// The operator (`user@host`).
    pub changed_by: String,
    /// When, RFC 3339 in UTC.
    pub changed_at: String,
    /// Why.
    pub reason: String,
}

/// The default toolchain every host of an environment should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredToolchain {
    /// The exact Go version (`1.22.10`).
    pub version: String,
    /// The change.
    pub stamp: Stamp,
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    /// Hosts take slots and upgrade.
    Running,
    /// No host starts an upgrade; those under way finish.
    Paused,
    /// Stopped by an operator; nothing more happens.
    Aborted,
    /// A host's upgrade rolled back; nothing more upgrades (upgraded hosts revert with
    /// `auto_revert`).
    Failed,
    /// Every host it targets runs the new release.
    Completed,
}

impl RolloutState {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Aborted => "aborted",
            Self::Failed => "failed",
            Self::Completed => "completed",
        }
    }

    /// Whether the rollout is over.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Aborted | Self::Failed | Self::Completed)
    }
}

/// A release of a service rolling out across an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// Unique: the time it started and the operator.
    pub id: String,
    /// The service, as the hosts' supervisors name it.
    pub service: String,
    /// The environment.
    pub environment: String,
    /// Where the binary comes from: `https://`, `file://` or loopback `http://`.
    pub artifact: String,
    /// The binary's SHA-256, lowercase hex.
    pub sha256: String,
    /// How many hosts may upgrade at once.
    pub max_parallel: u32,
    /// How many hosts go first, alone, and must stay healthy for `min_healthy_seconds`.
    pub canary: u32,
    /// How long the canaries must stay healthy before the others start.
    pub min_healthy_seconds: u64,
    /// Whether upgraded hosts return to their previous release when the rollout fails.
    pub auto_revert: bool,
    /// Where it stands.
    pub state: RolloutState,
    /// Why it is in that state (the failing host and its error, the operator's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// Who started it.
    pub started: Stamp,
    /// The last change of its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Stamp>,
    /// The live hosts of the environment that ran the service when the rollout started:
    /// it completes only once each of them (and every live host that runs the service
    /// since) runs the new release, so one whose lease lapses meanwhile is waited for.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// Where one host stands in a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// The host holds a slot and is upgrading.
    Upgrading,
    /// The host runs the new release.
    Upgraded,
    /// The host's upgrade failed or rolled back.
    Failed,
    /// The host went back to its previous release after the rollout failed.
    Reverted,
    /// The host could not take part: the artifact or the policy refused it.
    Refused,
}

/// One host's progress in a rollout, written by its agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostProgress {
    /// The rollout's id.
    pub rollout: String,
    /// Where the host stands.
    pub state: HostState,
    /// The release it ran before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_release: Option<String>,
    /// The release it runs now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// When the state was reached, seconds since the epoch.
    pub since: u64,
    /// What happened, for the board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A rollout slot: held by one host while it upgrades, bound to its lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// The rollout's id.
    pub rollout: String,
    /// The host.
    pub host: String,
}

/// A supervised service, as the agent reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceReport {
    /// The service.
    pub name: String,
    /// The release it runs.
    pub release: Option<String>,
    /// Its Go version.
    pub go_version: Option<String>,
    /// The supervisor's phase (`running`, `upgrading`, …).
    pub phase: String,
    /// Whether it is ready.
    pub healthy: bool,
}

/// The last change an agent made, and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastChange {
    /// What (`use go1.22.10`, `upgrade api`).
    pub what: String,
    /// `success` or `failure`.
    pub result: String,
    /// When, RFC 3339.
    pub at: String,
    /// The error, for a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The head of a host's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    /// The number of the last record.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
    /// Whether the whole chain verified.
    pub intact: bool,
}

/// What an agent reports about its host, under its lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostStatus {
    /// The host's name.
    pub host: String,
    /// Its environment.
    pub environment: String,
    /// Its labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The agent's goshift version.
    pub goshift_version: String,
    /// Installed toolchains, newest first.
    #[serde(default)]
    pub toolchains: Vec<String>,
    /// The default toolchain.
    pub default_toolchain: Option<String>,
    /// The supervised services.
    #[serde(default)]
    pub services: Vec<ServiceReport>,
    /// The local audit log's head.
    pub audit: Option<AuditHead>,
    /// The last change the agent made.
    pub last_change: Option<LastChange>,
    /// What the agent could not apply, for the board.
    #[serde(default)]
    pub problems: Vec<String>,
    /// The etcd revision of the desired state the agent last applied.
    pub seen_revision: i64,
}

/// Parses a value read from `key`, naming the key when it does not parse.
pub fn parse<T: serde::de::DeserializeOwned>(key: &str, value: &[u8]) -> Result<T, FleetError> {
    serde_json::from_slice(value).map_err(|error| FleetError::BadValue {
        key: key.to_owned(),
        reason: error.to_string(),
    })
}

/// A value as written to etcd.
pub fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs (strings, numbers, maps with string keys) cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_refuse_typos() {
        let text = br#"{"version":"1.22.10","stamp":{"changed_by":"a@b","changed_at":"2026-01-01T00:00:00Z","reason":"r"}}"#;
        let desired: DesiredToolchain = parse("k", text).unwrap();
        assert_eq!(desired.version, "1.22.10");
        assert_eq!(
            parse::<DesiredToolchain>("k", &to_bytes(&desired)).unwrap(),
            desired
        );
        let typo =
            br#"{"versoin":"1.22.10","stamp":{"changed_by":"a","changed_at":"t","reason":"r"}}"#;
        let error = parse::<DesiredToolchain>("/goshift/env/prod/toolchain", typo).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("/goshift/env/prod/toolchain"), "{text}");
        assert!(text.contains("versoin"), "{text}");
    }
}
