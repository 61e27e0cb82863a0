//! Commands of the toolchain store.

use clap::Subcommand;

/// Install, switch and verify Go toolchains.
#[derive(Debug, Subcommand)]
pub(crate) enum ToolchainCommand {
    /// Print goshift's home directory (`GOSHIFT_HOME`).
    Home,
}
