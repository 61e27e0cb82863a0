//! `goshift policy check|show|explain`.

mod check;
mod explain;
mod show;

use crate::cli::PolicyCommand;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Runs a `goshift policy` command.
pub(crate) fn run(settings: &GlobalSettings, command: PolicyCommand) -> anyhow::Result<ExitStatus> {
    match command {
        PolicyCommand::Check { file } => check::check(settings, file.as_deref()),
        PolicyCommand::Show => show::show(settings),
        PolicyCommand::Explain { go_version } => explain::explain(settings, &go_version),
    }
}

/// The policy in force, or an error saying where goshift looked.
fn required(settings: &GlobalSettings) -> anyhow::Result<crate::governance::LoadedPolicy> {
    crate::governance::load_policy(settings)?.ok_or_else(|| {
        crate::error::hinted(
            format!(
                "no policy file found (looked for `--policy`, GOSHIFT_POLICY, `{}` and `{}`)",
                settings.dirs.in_home("policy.toml").display(),
                crate::governance::SYSTEM_POLICY
            ),
            "write one (see `goshift policy check --help`) or pass `--policy FILE`",
        )
    })
}
