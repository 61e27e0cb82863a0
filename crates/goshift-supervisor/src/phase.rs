//! The lifecycle a service goes through, as published to subscribers, the control socket and
//! the logs. A phase is published only once it is true: `Ready` after the generation said so,
//! `Draining` after the old one got its stop signal, `Watching` after the old one was reaped.

use serde::{Deserialize, Serialize};

/// A service's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A generation was started outside an upgrade (first start or restart) and is not ready.
    Starting,
    /// Serving, no upgrade in progress.
    Running,
    /// Upgrade: the new generation was started.
    Spawned,
    /// Upgrade: the new generation is ready.
    Ready,
    /// Upgrade with `bake`: both generations serve from the shared listeners; the checks judge
    /// the new one, and the old one gets no stop signal before the bake passes.
    Baking,
    /// Upgrade: the old generation got its stop signal.
    Draining,
    /// Upgrade: the old generation is gone; a death now rolls back.
    Watching,
    /// Upgrade: done, the new release is current.
    Upgraded,
    /// Upgrade failed after the cutover; the previous release is being started again.
    RollingBack,
    /// Upgrade failed; the previous release serves.
    RolledBack,
    /// A generation died outside an upgrade; a restart is scheduled.
    Restarting,
    /// Stopping: every generation got its stop signal.
    Stopping,
    /// Every generation is gone.
    Stopped,
}

impl Phase {
    /// The name used in logs and JSON (`rolling_back`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Spawned => "spawned",
            Self::Ready => "ready",
            Self::Baking => "baking",
            Self::Draining => "draining",
            Self::Watching => "watching",
            Self::Upgraded => "upgraded",
            Self::RollingBack => "rolling_back",
            Self::RolledBack => "rolled_back",
            Self::Restarting => "restarting",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }
}

/// Whether a generation can take traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Started, not ready yet.
    Starting,
    /// Said `READY=1` or passed its probe.
    Ready,
    /// Not serving (stopping, or nothing running).
    NotReady,
}

/// One published phase change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseEvent {
    /// Wall-clock time (RFC 3339, UTC).
    pub time: String,
    /// Milliseconds since the supervisor started (monotonic).
    pub at_ms: f64,
    /// The service.
    pub service: String,
    /// The new phase.
    pub phase: Phase,
    /// The upgrade this belongs to, if any.
    pub upgrade_id: Option<String>,
    /// The release involved.
    pub release: Option<String>,
    /// The pid being replaced.
    pub old_pid: Option<u32>,
    /// The pid taking over.
    pub new_pid: Option<u32>,
    /// Extra detail: a reason, an exit status.
    pub detail: Option<String>,
    /// What started the upgrade this event belongs to, if any.
    pub trigger: Option<Trigger>,
    /// In `rolling_back` and `rolled_back`: the pid of the new generation that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_pid: Option<u32>,
    /// In `rolling_back` and `rolled_back`: the incident recorded for the failed generation
    /// (`goshift svc incident ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// Why an upgrade rolled back, with one stable label each for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackReason {
    /// The new generation exited before it was ready.
    ExitedBeforeReady,
    /// The new generation was not ready within `ready.timeout`.
    ReadyTimeout,
    /// The new release could not be started at all.
    SpawnFailed,
    /// The new generation died after the cutover, within the watch window.
    DiedInWatch,
    /// The new generation died during the bake; the old one never stopped serving.
    DiedInBake,
    /// An operator asked for the previous release (`svc rollback`).
    Requested,
    /// `analysis.not_accepting`: connections queued while the new generation accepted none.
    NotAccepting,
    /// `analysis.process`: the new generation's resource use was over its limits.
    #[serde(rename = "process")]
    ProcessSignals,
    /// `analysis.probe`: the probe requests failed or were too slow.
    Probe,
    /// `analysis.metrics`: the service's own metrics showed errors or slowness.
    #[serde(rename = "metrics")]
    ServiceMetrics,
    /// `analysis.prometheus`: a `PromQL` query's run failed, was inconclusive or erred.
    Prometheus,
}

impl RollbackReason {
    /// Every reason, in label order of the metrics.
    pub const ALL: [Self; 11] = [
        Self::ExitedBeforeReady,
        Self::ReadyTimeout,
        Self::SpawnFailed,
        Self::DiedInWatch,
        Self::DiedInBake,
        Self::Requested,
        Self::NotAccepting,
        Self::ProcessSignals,
        Self::Probe,
        Self::ServiceMetrics,
        Self::Prometheus,
    ];

    /// The stable label (`goshift_rollbacks_total{reason=…}`).
    pub fn label(self) -> &'static str {
        match self {
            Self::ExitedBeforeReady => "exited_before_ready",
            Self::ReadyTimeout => "ready_timeout",
            Self::SpawnFailed => "spawn_failed",
            Self::DiedInWatch => "died_in_watch",
            Self::DiedInBake => "died_in_bake",
            Self::Requested => "requested",
            Self::NotAccepting => "not_accepting",
            Self::ProcessSignals => "process",
            Self::Probe => "probe",
            Self::ServiceMetrics => "metrics",
            Self::Prometheus => "prometheus",
        }
    }
}

/// What started an upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An upgrade request on the control socket.
    Request,
    /// A rollback request on the control socket.
    Rollback,
    /// `SIGHUP`: upgrade to `current`.
    Reload,
}

/// How an upgrade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpgradeResult {
    /// The new release serves.
    Upgraded,
    /// The previous release serves again.
    RolledBack,
    /// The release was already running; nothing was done.
    Unchanged,
}

/// The outcome of one upgrade or rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The service.
    pub service: String,
    /// The upgrade id.
    pub upgrade_id: String,
    /// The result.
    pub result: UpgradeResult,
    /// The release before.
    pub from: Option<String>,
    /// The release asked for.
    pub to: String,
    /// Why it rolled back.
    pub reason: Option<String>,
    /// When it ended (RFC 3339).
    pub finished: String,
    /// How long it took, from request to outcome.
    pub duration_seconds: f64,
    /// The supervisor's own part of the handoff: from the new generation's readiness to the
    /// old one's stop signal, plus from the old one's exit to its reaping, in milliseconds.
    pub handoff_overhead_ms: Option<f64>,
    /// Whether the old generation had to be killed after its grace period.
    pub old_killed: bool,
    /// Why it rolled back, as a stable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_reason: Option<RollbackReason>,
    /// The pid of the new generation that failed, when one was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_pid: Option<u32>,
    /// The incident recorded for the failed generation, when one was (`goshift svc incident
    /// ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// One service as `svc status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The service.
    pub name: String,
    /// The serving release.
    pub release: Option<String>,
    /// Its Go version, when known.
    pub go_version: Option<String>,
    /// Its `vcs.revision`, when known.
    pub revision: Option<String>,
    /// The serving generation's pid.
    pub pid: Option<u32>,
    /// The serving generation's private admin address.
    pub admin: Option<String>,
    /// The phase.
    pub phase: Phase,
    /// Since when (RFC 3339).
    pub since: String,
    /// The serving generation's readiness.
    pub readiness: Readiness,
    /// Its last `STATUS=` text.
    pub status_text: Option<String>,
    /// Established connections held by each live generation, by pid.
    pub connections: Vec<(u32, usize)>,
    /// The running upgrade, if any.
    pub upgrading: Option<String>,
    /// The last upgrade's outcome.
    pub last_upgrade: Option<Outcome>,
    /// Restarts outside upgrades since start.
    pub restarts: u64,
}
