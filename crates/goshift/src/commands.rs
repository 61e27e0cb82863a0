//! Command dispatch. One file per verb below `commands/`; a command orchestrates the domain
//! crates and prints, nothing else does.

mod audit;
mod home;
mod inspect;
mod policy;
mod sbom;
mod scan;
mod vuln;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command, GovernanceCommand, InspectCommand, ToolchainCommand, VulnCommand};
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
        Command::Inspect(command) => match command {
            InspectCommand::Inspect(args) => inspect::inspect(&settings, args),
            InspectCommand::Scan(args) => scan::scan(&settings, args),
            InspectCommand::Vuln(VulnCommand::Sync(args)) => vuln::sync::sync(&settings, args),
            InspectCommand::Vuln(VulnCommand::Check(args)) => vuln::check::check(&settings, args),
            InspectCommand::Sbom(args) => sbom::sbom(&settings, args),
        },
        Command::Governance(command) => match command {
            GovernanceCommand::Policy(command) => policy::run(&settings, command),
            GovernanceCommand::Audit(command) => audit::run(&settings, command),
        },
    }
}
