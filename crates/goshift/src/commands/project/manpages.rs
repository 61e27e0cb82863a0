//! `goshift __manpages DIR`: man pages generated from the command-line definitions, so they
//! never drift from `--help`. One page for `goshift`, one per command (`goshift-install.1`,
//! `goshift-audit-verify.1`); hidden commands and clap's `help` get none.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::{Cli, ManpagesArgs};
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Writes the pages and lists them on stdout.
pub(crate) fn manpages(
    args: &ManpagesArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let ManpagesArgs { dir } = args;
    goshift_fs::fs::create_dir_all(dir)?;
    let mut command = Cli::command();
    command.build();
    let mut written = Vec::new();
    write_pages(&command, dir, &mut written)?;
    for path in &written {
        settings.printer.data(path.display().to_string());
    }
    settings.printer.status(format!(
        "Wrote {} man pages into {}",
        written.len(),
        dir.display()
    ));
    Ok(ExitStatus::Success)
}

/// Writes the page of `command` (named after its display name, which `build` sets to
/// `goshift-install` and the like), then those of its visible subcommands.
fn write_pages(
    command: &clap::Command,
    dir: &Path,
    written: &mut Vec<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(command.clone());
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)
        .with_context(|| format!("failed to render `{}`", path.display()))?;
    goshift_fs::write_atomic(&path, &page)?;
    written.push(path);
    // `help` documents nothing a page does not already say.
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}
