//! Commands that inspect Go binaries: build info, scans, vulnerabilities, SBOMs.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Read what Go binaries were built with, and whether it is known to be vulnerable.
#[derive(Debug, Subcommand)]
pub(crate) enum InspectCommand {
    /// Show the build information of Go binaries: Go version, modules, settings, build ID.
    Inspect(InspectArgs),
    /// Find Go binaries in directory trees and summarise each on one row.
    Scan(ScanArgs),
    /// Sync the Go vulnerability database and check binaries against it.
    #[command(subcommand)]
    Vuln(VulnCommand),
    /// Write a CycloneDX SBOM (JSON) for a Go binary.
    Sbom(SbomArgs),
}

/// `goshift inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The binaries to read.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Print exactly what `go version -m FILE` prints.
    #[arg(long = "go-version-m", conflicts_with = "json")]
    pub(crate) go_version_m: bool,
}

/// `goshift scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Directories (or files) to search.
    #[arg(required = true, value_name = "DIR")]
    pub(crate) dirs: Vec<PathBuf>,
    /// Worker threads (default: one more than the CPUs, at least 3, so a thread waiting on the
    /// disk leaves no CPU idle).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Also read Go binaries that symbolic links name outside the scanned trees (links to
    /// binaries inside them are always reported once, by their target; links to directories
    /// are never followed).
    #[arg(long)]
    pub(crate) follow: bool,
}

/// `goshift vuln …`.
#[derive(Debug, Subcommand)]
pub(crate) enum VulnCommand {
    /// Download the vulnerability database into the cache; later checks work offline.
    Sync(VulnSyncArgs),
    /// Check binaries (or every Go binary under a directory) against the synced database.
    Check(VulnCheckArgs),
}

/// `goshift vuln sync`.
#[derive(Debug, Args)]
pub(crate) struct VulnSyncArgs {
    /// Where to sync from: `https://…` (default `https://vuln.go.dev`), a loopback
    /// `http://…` mirror, `file://…` or a directory in the database's layout.
    #[arg(long, value_name = "URL|DIR")]
    pub(crate) from: Option<String>,
}

/// `goshift vuln check`.
#[derive(Debug, Args)]
pub(crate) struct VulnCheckArgs {
    /// Binaries or directories.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub(crate) paths: Vec<PathBuf>,
    /// Report every advisory whose module and version are in a binary, without checking
    /// that its vulnerable functions are (by default they are checked in the binary's
    /// function table, as govulncheck's binary mode does, when the table can be read).
    #[arg(long)]
    pub(crate) module_level: bool,
}

/// `goshift sbom`.
#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    /// The binary.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// CycloneDX specification version.
    #[arg(long, value_name = "VERSION", default_value = "1.6", value_parser = ["1.5", "1.6"])]
    pub(crate) spec: String,
    /// Write the document to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}
