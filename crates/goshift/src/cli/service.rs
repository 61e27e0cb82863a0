//! Commands of the service supervisor.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Run Go services and upgrade them without dropping connections.
#[derive(Debug, Subcommand)]
pub(crate) enum ServiceCommand {
    /// Run the services of a service file: own their sockets, start them, restart them, and
    /// upgrade them without dropping a connection.
    Supervise(SuperviseArgs),
    /// Talk to a running supervisor: status, upgrade, rollback, stop.
    #[command(subcommand)]
    Svc(SvcCommand),
}

/// `goshift supervise`.
#[derive(Debug, Args)]
pub(crate) struct SuperviseArgs {
    /// The service file (default: `GOSHIFT_SUPERVISOR_CONFIG`, then
    /// `$XDG_CONFIG_HOME/goshift/supervisor.toml`).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Reload the running supervisor with no connection refused: it hands its listening
    /// sockets and running services to a new process of the goshift binary at its path (an
    /// upgraded goshift runs next), which loads FILE (default: the running service file).
    /// Unchanged services keep their process; changed ones are upgraded in place; removed
    /// ones stop; added ones start. Waits for the upgrades; fails when one rolled back or the
    /// reload was refused (nothing changed then).
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        conflicts_with = "config"
    )]
    #[expect(
        clippy::option_option,
        reason = "clap's shape for a flag with an optional value: absent, `--reload`, `--reload FILE`"
    )]
    pub(crate) reload: Option<Option<PathBuf>>,
    /// With `--reload`: the control socket (default: `GOSHIFT_SUPERVISOR_SOCKET`, then
    /// `$GOSHIFT_HOME/run/supervisor.sock`).
    #[arg(long, value_name = "SOCKET", requires = "reload")]
    pub(crate) control: Option<PathBuf>,
    /// Print the format in which this goshift hands a running supervisor over, and exit: a
    /// supervisor asks its successor binary before a reload.
    #[arg(long, hide = true, conflicts_with_all = ["config", "reload", "control"])]
    pub(crate) handoff_format: bool,
}

/// `goshift svc …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SvcCommand {
    /// Show each service's release, Go version, pid, phase, readiness, connections and last
    /// upgrade.
    Status(ControlArgs),
    /// Stage BINARY as a new release of NAME and upgrade to it; exits 0 when upgraded, 1 when
    /// it rolled back.
    Upgrade(SvcUpgradeArgs),
    /// Go back to the release that served before the current one, without a drop.
    Rollback(SvcRollbackArgs),
    /// Drain and stop every service, then stop the supervisor.
    Stop(ControlArgs),
    /// Show the kept output (the last 64 KiB of stdout and stderr) of NAME's current and
    /// recent generations, and how many lines the log dropped.
    Logs(SvcLogsArgs),
    /// List the incidents recorded for NAME (or every service), oldest first.
    Incidents(SvcIncidentsArgs),
    /// Show one incident's report.
    Incident(SvcIncidentArgs),
}

/// `goshift svc incidents`.
#[derive(Debug, Args)]
pub(crate) struct SvcIncidentsArgs {
    /// Only this service's incidents.
    pub(crate) name: Option<String>,
}

/// `goshift svc incident`.
#[derive(Debug, Args)]
pub(crate) struct SvcIncidentArgs {
    /// The incident's id, as `goshift svc incidents` lists it.
    pub(crate) id: String,
}

/// Where the supervisor listens.
#[derive(Debug, Args)]
pub(crate) struct ControlArgs {
    /// The supervisor's control socket (default: `GOSHIFT_SUPERVISOR_SOCKET`, then
    /// `$GOSHIFT_HOME/run/supervisor.sock`).
    #[arg(long, value_name = "SOCKET")]
    pub(crate) control: Option<PathBuf>,
}

/// `goshift svc upgrade`.
#[derive(Debug, Args)]
pub(crate) struct SvcUpgradeArgs {
    /// The service.
    pub(crate) name: String,
    /// The new binary; it is copied into the release store first.
    pub(crate) binary: PathBuf,
    /// Why (recorded with the release and in the audit log).
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// Upgrade even though the policy denies it (needs `--reason`; the override is audited).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) control: ControlArgs,
}

/// `goshift svc logs`.
#[derive(Debug, Args)]
pub(crate) struct SvcLogsArgs {
    /// The service.
    pub(crate) name: String,
    /// Only this generation (as `svc logs` or the log names it).
    #[arg(long, value_name = "G")]
    pub(crate) generation: Option<u64>,
    #[command(flatten)]
    pub(crate) control: ControlArgs,
}

/// `goshift svc rollback`.
#[derive(Debug, Args)]
pub(crate) struct SvcRollbackArgs {
    /// The service.
    pub(crate) name: String,
    /// Why.
    #[arg(long)]
    pub(crate) reason: Option<String>,
    #[command(flatten)]
    pub(crate) control: ControlArgs,
}
