//! Command dispatch. One file per verb below `commands/`; a command orchestrates the domain
//! crates and prints, nothing else does.

mod agent;
mod audit;
mod fleet;
mod gate;
mod home;
mod impact;
mod inspect;
mod policy;
pub(crate) mod project;
mod sbom;
mod scan;
mod snapshot;
mod supervise;
mod svc;
pub(crate) mod toolchain;
mod vuln;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{
    Cli, Command, FleetCommand, GovernanceCommand, InspectCommand, ProjectCommand, ServiceCommand,
    SvcCommand, VulnCommand,
};
use crate::exit::ExitStatus;
use crate::settings::{ConfigErrors, Environment, GlobalSettings};

/// Parses the arguments and runs the command.
pub(crate) fn run(args: Vec<OsString>) -> anyhow::Result<ExitStatus> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with status 0, usage errors to stderr with 2.
            let _ = error.print();
            return Ok(if error.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Success
            });
        }
    };
    // `doctor` reports a broken config file instead of failing on it.
    let config_errors = match cli.command {
        Command::Project(ProjectCommand::Doctor) => ConfigErrors::Report,
        _ => ConfigErrors::Fail,
    };
    let settings = GlobalSettings::resolve(cli.global, Environment::capture(), config_errors)?;
    match cli.command {
        Command::Toolchain(command) => toolchain::run(command, &settings),
        Command::Project(command) => project::run(command, &settings),
        Command::Service(command) => match command {
            ServiceCommand::Supervise(args) => supervise::supervise(args, &settings),
            ServiceCommand::Svc(command) => match command {
                SvcCommand::Status(args) => svc::status(args, &settings),
                SvcCommand::Upgrade(args) => svc::upgrade(args, &settings),
                SvcCommand::Rollback(args) => svc::rollback(args, &settings),
                SvcCommand::Stop(args) => svc::stop(args, &settings),
                SvcCommand::Logs(args) => svc::logs(args, &settings),
                SvcCommand::Incidents(args) => svc::incidents(args, &settings),
                SvcCommand::Incident(args) => svc::incident(args, &settings),
            },
        },
        Command::Governance(command) => match command {
            GovernanceCommand::Policy(command) => policy::run(&settings, command),
            GovernanceCommand::Audit(command) => audit::run(&settings, command),
            GovernanceCommand::Gate(args) => gate::gate(&settings, args),
            GovernanceCommand::Snapshot(command) => snapshot::run(&settings, command),
        },
        Command::Inspect(command) => match command {
            InspectCommand::Inspect(args) => inspect::inspect(&settings, args),
            InspectCommand::Scan(args) => scan::scan(&settings, args),
            InspectCommand::Vuln(VulnCommand::Sync(args)) => vuln::sync::sync(&settings, args),
            InspectCommand::Vuln(VulnCommand::Check(args)) => vuln::check::check(&settings, args),
            InspectCommand::Sbom(args) => sbom::sbom(&settings, args),
        },
        Command::Impact(args) => impact::impact(&settings, args),
        Command::Fleet(FleetCommand::Agent(args)) => agent::agent(args, &settings),
        Command::Fleet(FleetCommand::Fleet(args)) => fleet::run(args, &settings),
    }
}
