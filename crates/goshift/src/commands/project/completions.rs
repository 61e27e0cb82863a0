//! `goshift completions SHELL`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints the completion script for a shell.
pub(crate) fn completions(
    args: &CompletionsArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let CompletionsArgs { shell } = args;
    let mut script = Vec::new();
    clap_complete::generate(*shell, &mut Cli::command(), "goshift", &mut script);
    let text = String::from_utf8(script)?;
    settings.printer.data(text.trim_end());
    Ok(ExitStatus::Success)
}
