//! Commands of the fleet: the agent each host runs, and the operators' `fleet` commands.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Desired Go versions and service releases for many hosts, kept in etcd.
#[derive(Debug, Subcommand)]
pub(crate) enum FleetCommand {
    /// Run this host's agent: register it in etcd under a lease, follow the desired state of
    /// its environment (`--env`), install and switch toolchains and upgrade services so the
    /// host matches it. Runs until stopped (SIGTERM or SIGINT).
    Agent(AgentArgs),
    /// The fleet, for operators: status, desired toolchains, rollouts.
    Fleet(FleetArgs),
}

/// `goshift fleet [ETCD OPTIONS] VERB`.
#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    #[command(flatten)]
    pub(crate) etcd: EtcdArgs,
    #[command(subcommand)]
    pub(crate) verb: FleetVerb,
}

/// How to reach etcd: flags, else the `[fleet]` table of the config file.
#[derive(Debug, Clone, Args)]
pub(crate) struct EtcdArgs {
    /// etcd's client URLs, comma-separated (`http://10.0.0.1:2379,http://10.0.0.2:2379`).
    #[arg(
        long = "etcd",
        global = true,
        value_name = "URL[,URL…]",
        value_delimiter = ','
    )]
    pub(crate) endpoints: Vec<String>,
    /// The key prefix the fleet lives under (default `/goshift/`).
    #[arg(long = "etcd-prefix", global = true, value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
    /// PEM file of the certificate authorities that sign etcd's certificates.
    #[arg(long = "etcd-ca", global = true, value_name = "FILE")]
    pub(crate) ca: Option<PathBuf>,
    /// PEM client certificate, for etcd members that require one (with `--etcd-key`).
    #[arg(long = "etcd-cert", global = true, value_name = "FILE")]
    pub(crate) cert: Option<PathBuf>,
    /// PEM key of the client certificate.
    #[arg(long = "etcd-key", global = true, value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,
    /// An etcd user (etcd's own authentication), with `--etcd-password-file`.
    #[arg(long = "etcd-user", global = true, value_name = "NAME")]
    pub(crate) user: Option<String>,
    /// A file holding the etcd user's password (first line).
    #[arg(long = "etcd-password-file", global = true, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
}

/// `goshift agent`.
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    #[command(flatten)]
    pub(crate) etcd: EtcdArgs,
    /// This host's name in the fleet (default: the config file's `[fleet] host`, then the
    /// machine's host name).
    #[arg(long, value_name = "NAME")]
    pub(crate) host: Option<String>,
    /// Labels shown on the board, `key=value` comma-separated.
    #[arg(long, value_name = "K=V[,K=V…]", value_delimiter = ',')]
    pub(crate) labels: Vec<String>,
    /// How long the lease lives without renewal: a dead agent's rollout slot frees after
    /// this long (default 60s).
    #[arg(long, value_name = "DURATION")]
    pub(crate) lease_ttl: Option<String>,
    /// The local supervisor's control socket (default: `GOSHIFT_SUPERVISOR_SOCKET`, then
    /// `$GOSHIFT_HOME/run/supervisor.sock`).
    #[arg(long, value_name = "SOCKET")]
    pub(crate) control: Option<PathBuf>,
    /// Skip the smoke test of toolchains the agent installs.
    #[arg(long)]
    pub(crate) no_smoke_test: bool,
}

/// `goshift fleet …`.
#[derive(Debug, Subcommand)]
pub(crate) enum FleetVerb {
    /// The board: every host, its environment, labels, default toolchain, services, last
    /// change, whether its agent is alive, and its drift from the desired state (exit 1 when
    /// a host drifts or is gone).
    Status,
    /// Set part of the desired state of the environment given with `--env`.
    #[command(subcommand)]
    Set(FleetSetCommand),
    /// Roll a new build of SERVICE out across the environment given with `--env`, a few
    /// hosts at a time.
    Rollout(RolloutArgs),
    /// Stop starting upgrades of SERVICE's rollout (those under way finish).
    Pause(RolloutControlArgs),
    /// Let a paused rollout go on.
    Resume(RolloutControlArgs),
    /// Stop a rollout for good (hosts keep the release they run).
    Abort(RolloutControlArgs),
    /// Every rollout of SERVICE in the environment, oldest first.
    History(RolloutHistoryArgs),
}

/// `goshift fleet set …`.
#[derive(Debug, Subcommand)]
pub(crate) enum FleetSetCommand {
    /// The default Go toolchain of every host of the environment (refused when the policy
    /// blocks it there).
    Toolchain(SetToolchainArgs),
}

/// `goshift fleet set toolchain`.
#[derive(Debug, Args)]
pub(crate) struct SetToolchainArgs {
    /// An exact Go version (`1.22.10`).
    #[arg(value_name = "VERSION")]
    pub(crate) requested: String,
    /// Why (kept in etcd and in the audit log).
    #[arg(long, value_name = "TEXT")]
    pub(crate) reason: String,
    /// The revision of the key you based this change on (`fleet status --json` shows it);
    /// the change is refused if someone changed it since. Default: the revision read now.
    #[arg(long, value_name = "N")]
    pub(crate) revision: Option<i64>,
}

/// `goshift fleet rollout`.
#[derive(Debug, Args)]
pub(crate) struct RolloutArgs {
    /// The service, as the hosts' supervisors name it.
    pub(crate) service: String,
    /// Where hosts fetch the binary: `https://…`, `file://…` (loopback `http://` for tests).
    pub(crate) artifact: String,
    /// The binary's SHA-256; every host checks it before staging.
    #[arg(long, value_name = "HEX")]
    pub(crate) sha256: String,
    /// How many hosts may upgrade at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) max_parallel: u32,
    /// How many hosts go first, alone.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) canary: u32,
    /// How long the canaries must stay up before the others start.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub(crate) min_healthy: String,
    /// If a host's upgrade rolls back, return every upgraded host to its previous release.
    #[arg(long)]
    pub(crate) auto_revert: bool,
    /// Why.
    #[arg(long, value_name = "TEXT")]
    pub(crate) reason: String,
}

/// `goshift fleet pause|resume|abort`.
#[derive(Debug, Args)]
pub(crate) struct RolloutControlArgs {
    /// The service.
    pub(crate) service: String,
    /// Why.
    #[arg(long, value_name = "TEXT")]
    pub(crate) reason: String,
}

/// `goshift fleet history`.
#[derive(Debug, Args)]
pub(crate) struct RolloutHistoryArgs {
    /// The service.
    pub(crate) service: String,
}
