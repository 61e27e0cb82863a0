//! Commands of per-project toolchains: resolution, the shell setup, running commands under
//! chosen toolchains, diagnostics, the config file and go.mod inspection.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::ConfigKey;

/// Choose, pin and run Go toolchains per project.
#[derive(Debug, Subcommand)]
pub(crate) enum ProjectCommand {
    /// Print the path of the Go tool that runs in the current directory.
    Which(WhichArgs),
    /// Print the Go version that runs in the current directory, and why.
    Current,
    /// Pin a Go version for the current directory (writes `.go-version`), or show the pin.
    ///
    /// The version must meet the `go` line of the module's go.mod (or go.work). When the
    /// directory has a `.tool-versions` (asdf, mise) with a `golang` or `go` line, that line
    /// decides before `.go-version`, so `pin` sets it instead.
    ///
    /// Examples: `goshift pin 1.22` (newest installed 1.22.x), `goshift pin` (show the pin
    /// and its file), `goshift pin --go-mod 1.22.10` (write go.mod's `toolchain` line, which
    /// Renovate and Dependabot keep up to date).
    Pin(PinArgs),
    /// Remove the pin of the current directory (`.go-version`, or the Go line of
    /// `.tool-versions`): `go` follows go.mod again.
    Unpin,
    /// Print the shell setup: goshift's `go` first on PATH, and completions.
    ///
    /// Add `eval "$(goshift init bash)"` to ~/.bashrc, `eval "$(goshift init zsh)"` to
    /// ~/.zshrc, or `goshift init fish | source` to ~/.config/fish/config.fish.
    Init(InitArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print the words completions offer for a version argument, one a line (used by the
    /// completion scripts).
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
    /// Write man pages for goshift and each of its commands into a directory (for packagers).
    #[command(name = "__manpages", hide = true)]
    Manpages(ManpagesArgs),
    /// Run a command with a Go toolchain first on PATH.
    Exec(ExecArgs),
    /// Run a command once per Go version and print a table of exit codes and times.
    Each(EachArgs),
    /// Check the machine for problems with Go and goshift (exit 1 when something is broken).
    Doctor,
    /// Read and change the config file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print what a go.mod or go.work file declares.
    Mod(ModArgs),
}

/// `goshift which`.
#[derive(Debug, Args)]
pub(crate) struct WhichArgs {
    /// The tool (`go`, `gofmt`, or any file in the toolchain's `bin/`).
    #[arg(default_value = "go")]
    pub(crate) tool: String,
}

/// `goshift pin`.
#[derive(Debug, Args)]
pub(crate) struct PinArgs {
    /// The version: exact (`1.22.10`), a line (`1.22`: its newest installed patch) or
    /// `latest` (the newest installed release). Without it, print the pin and its file.
    #[arg(value_name = "VERSION")]
    pub(crate) request: Option<String>,
    /// Pin an exact version even when it is not installed yet.
    #[arg(long, requires = "request")]
    pub(crate) allow_missing: bool,
    /// Write the `toolchain` line of the nearest go.work or go.mod instead of `.go-version`.
    #[arg(long, requires = "request")]
    pub(crate) go_mod: bool,
}

/// A shell goshift can set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum InitShell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// `goshift init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The shell.
    pub(crate) shell: InitShell,
}

/// `goshift completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    pub(crate) shell: clap_complete::Shell,
}

/// What a completion script asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CompleteWhat {
    /// Installed versions, newest first.
    Installed,
    /// Stable releases of the index, newest first, and `latest`.
    Remote,
}

/// `goshift __complete`.
#[derive(Debug, Args)]
pub(crate) struct CompleteArgs {
    /// Which versions.
    pub(crate) what: CompleteWhat,
}

/// `goshift __manpages`.
#[derive(Debug, Args)]
pub(crate) struct ManpagesArgs {
    /// The directory to write `goshift.1` and `goshift-<command>.1` into (created if missing).
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
}

/// `goshift exec`.
#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The version: exact, a line (`1.22`) or `latest`, among installed versions.
    #[arg(value_name = "VERSION")]
    pub(crate) request: String,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
}

/// `goshift each`.
#[derive(Debug, Args)]
pub(crate) struct EachArgs {
    /// The versions (exact, a line or `latest`, among installed versions).
    #[arg(required_unless_present = "installed", conflicts_with = "installed")]
    pub(crate) versions: Vec<String>,
    /// Every installed version, oldest first.
    #[arg(long)]
    pub(crate) installed: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
}

/// `goshift config`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print one setting (nothing, exit 1, when it is not set).
    Get {
        /// The key.
        key: ConfigKey,
    },
    /// Change one setting.
    Set {
        /// The key.
        key: ConfigKey,
        /// The value.
        value: String,
    },
    /// Remove one setting.
    Unset {
        /// The key.
        key: ConfigKey,
    },
    /// Print every setting and the file's path.
    List,
}

/// `goshift mod`.
#[derive(Debug, Args)]
pub(crate) struct ModArgs {
    /// The go.mod or go.work file (a directory means its go.mod).
    #[arg(default_value = "go.mod")]
    pub(crate) file: PathBuf,
}
