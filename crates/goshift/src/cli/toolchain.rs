//! Commands of the toolchain store.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Install, switch and verify Go toolchains.
#[derive(Debug, Subcommand)]
pub(crate) enum ToolchainCommand {
    /// List installed toolchains, or the releases available for download.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Download, verify, smoke-test and install Go toolchains.
    Install(InstallArgs),
    /// Make an installed version the default.
    Use(UseArgs),
    /// Show the numbered history of default switches.
    History,
    /// Switch the default back to the previous one, or to the one set by switch N.
    ///
    /// A rollback is a switch like any other: a second `goshift rollback` undoes the first.
    /// To step further back, name the switch: `goshift rollback --to N` (see `goshift
    /// history`); each rollback says which N that is.
    Rollback(RollbackArgs),
    /// Remove an installed version.
    #[command(visible_alias = "rm")]
    Uninstall(UninstallArgs),
    /// Remove all but the newest N installed versions (never the default).
    Prune(PruneArgs),
    /// Copy an existing GOROOT (such as a distribution's Go package) into the store.
    Import(ImportArgs),
    /// Re-hash installed toolchains and compare them with their install-time manifests.
    Verify(VerifyArgs),
    /// Print goshift's home directory (`GOSHIFT_HOME`).
    Home,
    /// Show or empty the cache of verified archives (kept for offline reinstalls).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print the shell line of `goshift init` for scripts and CI: the `go` proxies first on
    /// `PATH`, so `go` follows `.go-version` and go.mod.
    ///
    /// Example: `eval "$(goshift env)"` in a CI step or a non-interactive shell.
    Env(EnvArgs),
}

/// `goshift cache`.
#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// Print the directory of the cached archives.
    Dir,
    /// Print how many archives the cache holds and their size.
    Size,
    /// Remove every cached archive (a reinstall then downloads again).
    Clean,
}

/// `goshift env`.
#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// Put the default toolchain itself on `PATH` and set `GOROOT` instead: `go` then ignores
    /// `.go-version` and go.mod.
    #[arg(long)]
    pub(crate) default_toolchain: bool,
}

/// Why and how hard: accepted by every command that changes the store.
#[derive(Debug, Args)]
pub(crate) struct ChangeArgs {
    /// Why this change is made (recorded in the audit log; policies may require it).
    #[arg(long, value_name = "TEXT")]
    pub(crate) reason: Option<String>,
}

/// `goshift list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// List the releases of the index instead of the installed versions.
    #[arg(long)]
    pub(crate) remote: bool,
    /// With `--remote`: include betas and release candidates.
    #[arg(long, requires = "remote")]
    pub(crate) all: bool,
}

/// `goshift install`.
#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is one independent switch of the command line"
)]
pub(crate) struct InstallArgs {
    /// Versions to install: exact (`1.22.10`), a line (`1.22`, newest patch) or `latest`.
    #[arg(required = true, value_name = "VERSION")]
    pub(crate) versions: Vec<String>,
    /// Install from this local `.tar.gz` archive instead of downloading (one exact VERSION).
    #[arg(long, value_name = "FILE")]
    pub(crate) archive: Option<PathBuf>,
    /// The archive's expected SHA-256 (default: from the release index).
    #[arg(long, value_name = "HEX")]
    pub(crate) sha256: Option<String>,
    /// Do not run the smoke test (`go version`, `go env GOROOT`, a hello-world build).
    #[arg(long)]
    pub(crate) no_smoke_test: bool,
    /// Reinstall versions that are already installed.
    #[arg(long)]
    pub(crate) reinstall: bool,
    /// Override a policy refusal (with `--reason`). It no longer reinstalls: that is
    /// `--reinstall`.
    #[arg(long)]
    pub(crate) force: bool,
    /// Install an archive whose SHA-256 cannot be checked (dangerous; recorded).
    #[arg(long)]
    pub(crate) allow_unverified: bool,
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
}

/// `goshift use`.
#[derive(Debug, Args)]
pub(crate) struct UseArgs {
    /// The installed version to make the default (`1.22.10`, or a line such as `1.22`).
    #[arg(value_name = "VERSION")]
    pub(crate) requested: String,
    /// Override a policy refusal (with `--reason`).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
}

/// `goshift rollback`.
#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// Go back to the version set by history entry N (see `goshift history`).
    #[arg(long, value_name = "N")]
    pub(crate) to: Option<u64>,
    /// Override a policy refusal (with `--reason`).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
}

/// `goshift uninstall`.
#[derive(Debug, Args)]
pub(crate) struct UninstallArgs {
    /// The installed version to remove.
    #[arg(value_name = "VERSION")]
    pub(crate) requested: String,
    /// Remove it even if it is the default (which leaves no default).
    #[arg(long)]
    pub(crate) remove_default: bool,
    /// Override a policy refusal (with `--reason`). It no longer removes the default: that is
    /// `--remove-default`.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
}

/// `goshift prune`.
#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// How many of the newest versions to keep (the default is always kept).
    #[arg(long, value_name = "N")]
    pub(crate) keep: usize,
    /// Override a policy refusal (with `--reason`).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
}

/// `goshift import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The GOROOT to copy (it must contain a `VERSION` file and `bin/go`).
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Do not run the smoke test.
    #[arg(long)]
    pub(crate) no_smoke_test: bool,
    /// Replace the version if it is already installed.
    #[arg(long)]
    pub(crate) reinstall: bool,
    /// Override a policy refusal (with `--reason`). It no longer replaces an installed
    /// version: that is `--reinstall`.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
}

/// `goshift verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The version to verify (default: every installed version).
    #[arg(value_name = "VERSION")]
    pub(crate) requested: Option<String>,
}
