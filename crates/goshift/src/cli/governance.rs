//! Commands of governance: policy, audit log, CI gate, snapshots.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Policy, audit log, CI gate and snapshots.
#[derive(Debug, Subcommand)]
pub(crate) enum GovernanceCommand {
    /// Check, show and explain the policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Read, verify and export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check projects against the policy, for CI: the `go` and `toolchain` lines of every
    /// go.mod and go.work under PATH, and the toolchain each directory resolves to (exit 0
    /// clean, 1 violations, 2 usage or configuration errors).
    Gate(GateArgs),
    /// Save the machine's Go setup to one file, or restore it.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

/// `goshift snapshot …`
#[derive(Debug, Subcommand)]
pub(crate) enum SnapshotCommand {
    /// Write the installed versions and their archive hashes, the default and history, the
    /// policy in force, the audit head, `go env` of the default and the `$GOPATH/bin`
    /// inventory to one self-checking file.
    Create {
        /// Where to write it (default: `goshift-HOST-TIME.snapshot` here).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Verify a snapshot and restore it: reinstall missing toolchains (archive cache, else
    /// the mirror; verified), the default and the history; print `go install` lines for
    /// missing tools.
    Restore {
        /// The snapshot file.
        file: PathBuf,
        /// Say what would be done; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Override a policy refusal (with `--reason`).
        #[arg(long)]
        force: bool,
        /// Why (recorded in the audit log; policies may require it).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
}

/// `goshift policy …`
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Validate a policy file (default: the policy in force); errors carry line and column.
    Check {
        /// The file to check.
        file: Option<PathBuf>,
    },
    /// Print the version status board: environment, version, since, status, notes.
    Show,
    /// Print the decision for a version and every rule that applied (`--env` picks the
    /// environment).
    Explain {
        /// The Go version, such as `1.22.10` or `go1.22.10`.
        #[arg(value_name = "VERSION")]
        go_version: String,
    },
}

/// `goshift audit …`
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Print the records of the audit log, oldest first.
    Log {
        /// Only records at or after this time: RFC 3339 (`2024-03-01T12:00:00Z`), a date
        /// (`2024-03-01`) or an age (`2h`, `7days`).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only records of this action (`install`, `use`, …).
        #[arg(long, value_name = "ACTION")]
        action: Option<String>,
    },
    /// Verify the hash chain; exit 1 naming the first bad line.
    Verify {
        /// Also require the record `SEQ` to have hash `HASH` (as printed by `goshift audit
        /// head` earlier), which catches records removed from the end.
        #[arg(long, value_name = "SEQ:HASH")]
        anchor: Option<String>,
    },
    /// Print the last record's `seq` and `hash`, for anchoring elsewhere.
    Head,
    /// Repair what an interrupted write left: cut an incomplete last line off the audit log
    /// and the history (recording it), and record the outcome of changes whose process died
    /// before recording it, as the store shows them now.
    Repair,
    /// Export every record to stdout.
    Export {
        /// The output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
}

/// Formats of `goshift audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// One JSON record per line, exactly as stored.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}

/// `goshift gate`
#[derive(Debug, Args)]
pub(crate) struct GateArgs {
    /// The report format.
    #[arg(long, value_enum, default_value_t = GateFormat::Text)]
    pub(crate) format: GateFormat,
    /// Directories to scan for go.mod and go.work files (default: the current directory).
    pub(crate) paths: Vec<PathBuf>,
}

/// Formats of `goshift gate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GateFormat {
    /// Lines for people.
    Text,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}
