//! Command dispatch. One file per verb below `commands/`; a command orchestrates the domain
//! crates and prints, nothing else does.

mod audit;
mod gate;
mod home;
mod policy;
pub(crate) mod project;
mod snapshot;
mod toolchain;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command, GovernanceCommand, ProjectCommand};
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
        Command::Governance(command) => match command {
            GovernanceCommand::Policy(command) => policy::run(&settings, command),
            GovernanceCommand::Audit(command) => audit::run(&settings, command),
            GovernanceCommand::Gate(args) => gate::gate(&settings, args),
            GovernanceCommand::Snapshot(command) => snapshot::run(&settings, command),
        },
    }
}
