//! `goshift audit log|verify|head|export`.

mod export;
mod head;
mod log;
mod repair;
mod verify;

use crate::cli::AuditCommand;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Runs a `goshift audit` command.
pub(crate) fn run(settings: &GlobalSettings, command: AuditCommand) -> anyhow::Result<ExitStatus> {
    match command {
        AuditCommand::Log { since, action } => {
            log::log(settings, since.as_deref(), action.as_deref())
        }
        AuditCommand::Verify { anchor } => verify::verify(settings, anchor.as_deref()),
        AuditCommand::Head => head::head(settings),
        AuditCommand::Repair => repair::repair(settings),
        AuditCommand::Export { format } => export::export(settings, format),
    }
}
