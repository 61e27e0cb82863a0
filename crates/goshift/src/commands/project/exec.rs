//! `goshift exec VERSION -- COMMAND…`: a command with one toolchain first on PATH.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use goshift_fs::EnvVars;

use crate::cli::ExecArgs;
use crate::commands::project::select_installed;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Replaces goshift with `COMMAND`, so its exit status and signals are the command's own.
pub(crate) fn exec(args: ExecArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let ExecArgs {
        request: version,
        command,
    } = args;
    let store = StoreView::new(&settings.dirs.home);
    let version = select_installed(&store, &version)?;
    crate::governance::authorize_run(settings, "exec", &version)?;
    let root = store.root(&version);
    let mut child = toolchain_command(&root, &command, settings)?;
    let error = child.exec();
    Err(hinted(
        format!("failed to run `{}`: {error}", command[0].to_string_lossy()),
        "check that the command exists and is executable",
    ))
}

/// A command that runs with the toolchain at `root`: its `bin` first on PATH, `GOROOT` set,
/// and `GOTOOLCHAIN=local` so Go never switches behind our back.
pub(crate) fn toolchain_command(
    root: &Path,
    command: &[OsString],
    settings: &GlobalSettings,
) -> anyhow::Result<Command> {
    let Some((program, rest)) = command.split_first() else {
        anyhow::bail!("no command given; write it after `--`");
    };
    let bin = root.join("bin");
    let path = settings.env.var_os(EnvVars::PATH).unwrap_or_default();
    let joined =
        std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(&path)))?;
    let mut child = Command::new(program_path(program, &bin));
    child
        .args(rest)
        .env(EnvVars::PATH, joined)
        .env(EnvVars::GOROOT, root)
        .env(EnvVars::GOTOOLCHAIN, "local")
        .current_dir(&settings.cwd);
    Ok(child)
}

/// `go` and `gofmt` run from the toolchain directly, so a shell alias or a proxy that comes
/// first on PATH cannot intercept them.
fn program_path(program: &OsStr, bin: &Path) -> OsString {
    if program == "go" || program == "gofmt" {
        bin.join(program).into_os_string()
    } else {
        program.to_owned()
    }
}
