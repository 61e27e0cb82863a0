//! Command dispatch. One file per verb below `commands/`; a command orchestrates the domain
//! crates and prints, nothing else does.

mod audit;
mod home;
mod policy;
mod supervise;
mod svc;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command, GovernanceCommand, ServiceCommand, SvcCommand, ToolchainCommand};
use crate::exit::ExitStatus;
use crate::settings::{Environment, GlobalSettings};

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
    let settings = GlobalSettings::resolve(cli.global, Environment::capture())?;
    match cli.command {
        Command::Toolchain(command) => match command {
            ToolchainCommand::Home => home::home(&settings),
        },
        Command::Service(command) => match command {
            ServiceCommand::Supervise(args) => supervise::supervise(args, &settings),
            ServiceCommand::Svc(command) => match command {
                SvcCommand::Status(args) => svc::status(args, &settings),
                SvcCommand::Upgrade(args) => svc::upgrade(args, &settings),
                SvcCommand::Rollback(args) => svc::rollback(args, &settings),
                SvcCommand::Stop(args) => svc::stop(args, &settings),
            },
        },
        Command::Governance(command) => match command {
            GovernanceCommand::Policy(command) => policy::run(&settings, command),
            GovernanceCommand::Audit(command) => audit::run(&settings, command),
        },
    }
}
