//! Command-line definitions: data only, no behaviour.
//!
//! Each capability has its own file under `cli/` with a subcommand enum that is flattened
//! into [`Command`], so the areas grow independently.

mod fleet;
mod governance;
mod impact;
mod inspect;
mod project;
mod service;
pub(crate) mod toolchain;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::printer::ColorChoice;

pub(crate) use fleet::{
    AgentArgs, EtcdArgs, FleetArgs, FleetCommand, FleetSetCommand, FleetVerb, RolloutArgs,
    RolloutControlArgs, RolloutHistoryArgs, SetToolchainArgs,
};
pub(crate) use governance::{
    AuditCommand, ExportFormat, GateArgs, GateFormat, GovernanceCommand, PolicyCommand,
    SnapshotCommand,
};
pub(crate) use impact::{ImpactArgs, ImpactFormat};
pub(crate) use inspect::{
    InspectArgs, InspectCommand, SbomArgs, ScanArgs, VulnCheckArgs, VulnCommand, VulnSyncArgs,
};
pub(crate) use project::{
    CompleteArgs, CompleteWhat, CompletionsArgs, ConfigCommand, EachArgs, ExecArgs, InitArgs,
    InitShell, ManpagesArgs, ModArgs, PinArgs, ProjectCommand, WhichArgs,
};
pub(crate) use service::{
    ControlArgs, ServiceCommand, SuperviseArgs, SvcCommand, SvcIncidentArgs, SvcIncidentsArgs,
    SvcLogsArgs, SvcRollbackArgs, SvcUpgradeArgs,
};
pub(crate) use toolchain::ToolchainCommand;

/// Examples shown after `goshift --help`.
macro_rules! examples {
    () => {
        "\
Examples:
  goshift install 1.22               the newest 1.22.x, verified against the index
  eval \"$(goshift init bash)\"        once, in ~/.bashrc: `go` follows each project
  goshift pin 1.22                   this directory runs 1.22 (writes .go-version)
  goshift current                    which Go runs here, and why
  goshift each --installed -- go test ./...
  goshift doctor                     what stands between this machine and a working Go"
    };
}

/// The environment variables, shown after `goshift --help` (the registry is
/// `goshift_fs::EnvVars`).
macro_rules! environment {
    () => {
        "\
Environment variables:
  GOSHIFT_HOME          toolchains, audit log and lock (default: $XDG_DATA_HOME/goshift)
  GOSHIFT_CACHE_DIR     verified archives for reinstalls (default: $XDG_CACHE_HOME/goshift)
  GOSHIFT_INDEX_URL     the release index (default: https://go.dev/dl/?mode=json&include=all)
  GOSHIFT_MIRROR        where archives are downloaded from; hashes still come from the index
  GOSHIFT_INDEX_TIMEOUT how long reading the release index may take (default: 60s)
  GOSHIFT_ALLOW_HTTP    `1` allows plain http to hosts other than loopback
  GOSHIFT_PLATFORM      install for another platform, as GOOS/GOARCH
  GOSHIFT_GO_VERSION    the exact Go version the `go` proxy runs, over any project file
  GOSHIFT_POLICY        the policy file (as --policy)
  GOSHIFT_ENV           this machine's environment for the policy (as --env)
  GOSHIFT_LOCK_TIMEOUT  how long to wait for the store lock (default: 60s)
  GOSHIFT_LOG           `debug` prints what goshift reads and fetches on stderr (as -v)
  HTTPS_PROXY           proxy for downloads from remote hosts
  NO_COLOR              no colours when set"
    };
}

/// Change Go safely: verified toolchains, atomic switches, policy, audit and zero-downtime
/// service upgrades.
#[derive(Debug, Parser)]
#[command(
    name = "goshift",
    version = crate::version::LONG,
    about,
    propagate_version = true,
    after_help = examples!(),
    after_long_help = concat!(examples!(), "\n\n", environment!()),
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Print data as JSON on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print only data and errors: no status lines, no progress.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    /// Print what goshift reads, resolves and fetches on stderr, as `debug:` lines (also
    /// `GOSHIFT_LOG=debug`).
    #[arg(long, short, global = true, conflicts_with = "quiet")]
    pub(crate) verbose: bool,
    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// The policy file (default: `GOSHIFT_POLICY`, `$GOSHIFT_HOME/policy.toml`,
    /// `/etc/goshift/policy.toml`).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// The environment this machine belongs to, for the policy (default: `GOSHIFT_ENV`, then
    /// the config file).
    #[arg(long = "env", global = true, value_name = "NAME")]
    pub(crate) environment: Option<String>,
}

/// Every command, grouped by capability.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    #[command(flatten)]
    Toolchain(ToolchainCommand),
    #[command(flatten)]
    Project(ProjectCommand),
    #[command(flatten)]
    Service(ServiceCommand),
    #[command(flatten)]
    Governance(GovernanceCommand),
    #[command(flatten)]
    Inspect(InspectCommand),
    /// Report what changes for a project when its Go version changes: GODEBUG defaults,
    /// language, security, build and tests under both versions, policy, and a verdict (exit 1
    /// when blocked).
    Impact(ImpactArgs),
    #[command(flatten)]
    Fleet(FleetCommand),
}
