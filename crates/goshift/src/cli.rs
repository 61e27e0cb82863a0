//! Command-line definitions: data only, no behaviour.
//!
//! Each capability has its own file under `cli/` with a subcommand enum that is flattened
//! into [`Command`], so the areas grow independently.

mod governance;
mod inspect;
mod project;
mod service;
pub(crate) mod toolchain;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::printer::ColorChoice;

pub(crate) use governance::{
    AuditCommand, ExportFormat, GateArgs, GateFormat, GovernanceCommand, PolicyCommand,
    SnapshotCommand,
};
pub(crate) use inspect::{
    InspectArgs, InspectCommand, SbomArgs, ScanArgs, VulnCheckArgs, VulnCommand, VulnSyncArgs,
};
pub(crate) use project::{
    CompletionsArgs, ConfigCommand, EachArgs, ExecArgs, InitArgs, InitShell, ModArgs, PinArgs,
    ProjectCommand, WhichArgs,
};
pub(crate) use service::{
    ControlArgs, ServiceCommand, SuperviseArgs, SvcCommand, SvcIncidentArgs, SvcIncidentsArgs,
    SvcRollbackArgs, SvcUpgradeArgs,
};
pub(crate) use toolchain::ToolchainCommand;

/// Change Go safely: verified toolchains, atomic switches, policy, audit and zero-downtime
/// service upgrades.
#[derive(Debug, Parser)]
#[command(name = "goshift", version, about, propagate_version = true)]
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
}
