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
    AuditCommand, Cli, Command, ConfigCommand, FleetCommand, GovernanceCommand, InspectCommand,
    ProjectCommand, ServiceCommand, SnapshotCommand, SvcCommand, VulnCommand,
};
use crate::error::hinted;
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
    if cli.global.json
        && let Some(name) = without_json(&cli.command)
    {
        return Err(hinted(
            format!("`goshift {name}` has no JSON output, so it refuses `--json`"),
            format!("run `goshift {name}` without `--json`"),
        ));
    }
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

/// The name of `command` when it has no JSON output; `None` when it prints its data as one
/// JSON document with `--json` (its schema is in `docs/json/v1/`). The others refuse `--json`
/// rather than print text where a script expects JSON: they print a shell script, run
/// something else, or print only status lines.
fn without_json(command: &Command) -> Option<&'static str> {
    Some(match command {
        Command::Project(ProjectCommand::Init(_)) => "init",
        Command::Project(ProjectCommand::Completions(_)) => "completions",
        Command::Project(ProjectCommand::Complete(_)) => "__complete",
        Command::Project(ProjectCommand::Manpages(_)) => "__manpages",
        Command::Project(ProjectCommand::Exec(_)) => "exec",
        Command::Project(ProjectCommand::Config(ConfigCommand::Set { .. })) => "config set",
        Command::Project(ProjectCommand::Config(ConfigCommand::Unset { .. })) => "config unset",
        Command::Service(ServiceCommand::Supervise(args)) if args.reload.is_none() => "supervise",
        Command::Service(ServiceCommand::Svc(SvcCommand::Stop(_))) => "svc stop",
        Command::Governance(GovernanceCommand::Audit(AuditCommand::Repair)) => "audit repair",
        Command::Governance(GovernanceCommand::Audit(AuditCommand::Export { .. })) => {
            "audit export"
        }
        Command::Governance(GovernanceCommand::Snapshot(SnapshotCommand::Restore { .. })) => {
            "snapshot restore"
        }
        Command::Fleet(FleetCommand::Agent(_)) => "agent",
        _ => return None,
    })
}
