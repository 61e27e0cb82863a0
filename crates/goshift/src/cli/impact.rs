//! `goshift impact`: what changes for a project when its Go version changes.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// `goshift impact [--from V] --to V [DIR]`
#[derive(Debug, Args)]
pub(crate) struct ImpactArgs {
    /// The version now (default: what DIR resolves to).
    #[arg(long, value_name = "VERSION")]
    pub(crate) from: Option<String>,
    /// The target version: exact (`1.22.10`), a line (`1.22`: its newest installed patch) or
    /// `latest`.
    #[arg(long, value_name = "VERSION")]
    pub(crate) to: String,
    /// The report format (`--json` prints JSON).
    #[arg(long, value_enum, default_value_t = ImpactFormat::Text)]
    pub(crate) format: ImpactFormat,
    /// Skip `go build`, `go vet` and `go test` under both versions.
    #[arg(long)]
    pub(crate) no_run: bool,
    /// Also run the benchmarks under both versions (`go test -run ^$ -bench . -benchmem`)
    /// and show their results side by side.
    #[arg(long, conflicts_with = "no_run")]
    pub(crate) bench: bool,
    /// The project directory (default: the current directory).
    pub(crate) dir: Option<PathBuf>,
}

/// Formats of `goshift impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ImpactFormat {
    /// Sections for people.
    Text,
    /// Markdown, for a pull-request comment.
    Markdown,
    /// One JSON document (same as `--json`).
    Json,
}
