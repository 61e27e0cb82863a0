//! The only place that writes to stdout and stderr.
//!
//! Data goes to stdout (human text, or JSON with `--json`); progress, status and warnings go
//! to stderr and are silenced by `--quiet`. Colour is on only for a terminal without
//! `NO_COLOR`, and every message reads the same without it. A closed stdout (`| head`) is
//! not an error.

use std::io::{self, IsTerminal, Write};

/// Where and how a command's output goes.
#[derive(Debug, Clone, Copy)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about the output streams, each read on its own"
)]
pub(crate) struct Printer {
    /// Human text or JSON on stdout.
    pub(crate) format: Format,
    /// Silence status lines on stderr.
    pub(crate) quiet: bool,
    /// Use ANSI colours on stderr and stdout.
    pub(crate) color: bool,
    /// stderr is a terminal (progress bars may be drawn).
    pub(crate) stderr_is_terminal: bool,
    /// Print `debug:` lines (`-v`, `GOSHIFT_LOG=debug`).
    pub(crate) verbose: bool,
}

/// The output format of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Text for people.
    Human,
    /// One JSON document on stdout.
    Json,
}

/// A colour for a piece of text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Style {
    Bold,
    Green,
    Yellow,
    Red,
    Dim,
}

impl Printer {
    /// Returns true if and only if data is printed as JSON.
    pub(crate) fn json(self) -> bool {
        self.format == Format::Json
    }

    /// Writes a line of data to stdout.
    #[expect(
        clippy::unused_self,
        reason = "every write goes through the printer, so output stays in one place"
    )]
    pub(crate) fn data(self, line: impl AsRef<str>) {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{}", line.as_ref());
    }

    /// Writes a value as pretty JSON to stdout.
    pub(crate) fn json_value(self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.data(text);
        Ok(())
    }

    /// Writes a status line to stderr unless `--quiet`.
    pub(crate) fn status(self, line: impl AsRef<str>) {
        if !self.quiet {
            let mut err = io::stderr().lock();
            let _ = writeln!(err, "{}", line.as_ref());
        }
    }

    /// Writes a `debug:` line to stderr with `-v` or `GOSHIFT_LOG=debug`.
    pub(crate) fn debug(self, line: impl AsRef<str>) {
        if self.verbose {
            let mut err = io::stderr().lock();
            let prefix = self.paint(Style::Dim, "debug");
            let _ = writeln!(err, "{prefix}: {}", line.as_ref());
        }
    }

    /// Writes a warning to stderr, even with `--quiet`.
    pub(crate) fn warn(self, line: impl AsRef<str>) {
        let mut err = io::stderr().lock();
        let prefix = self.paint(Style::Yellow, "warning");
        let _ = writeln!(err, "{prefix}: {}", line.as_ref());
    }

    /// Writes raw text to stderr without a newline (progress bars).
    #[expect(
        clippy::unused_self,
        reason = "every write goes through the printer, so output stays in one place"
    )]
    pub(crate) fn stderr_raw(self, text: &str) {
        let mut err = io::stderr().lock();
        let _ = write!(err, "{text}");
        let _ = err.flush();
    }

    /// A child process's stdout that writes to our stderr, for commands whose stdout must
    /// stay data only (`--json`).
    #[expect(
        clippy::unused_self,
        reason = "every write goes through the printer, so output stays in one place"
    )]
    pub(crate) fn stderr_for_child(self) -> std::process::Stdio {
        std::process::Stdio::from(io::stderr())
    }

    /// Wraps `text` in a colour when colour is on.
    pub(crate) fn paint(self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match style {
            Style::Bold => "1",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Decides colour from the `--color` choice, `NO_COLOR` and whether stdout is a terminal.
    pub(crate) fn detect(
        format: Format,
        quiet: bool,
        verbose: bool,
        choice: ColorChoice,
        no_color: bool,
    ) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && io::stdout().is_terminal(),
        };
        Self {
            format,
            quiet,
            color,
            stderr_is_terminal: io::stderr().is_terminal(),
            verbose,
        }
    }
}

/// The `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour on a terminal unless `NO_COLOR` is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `go1.21.2` as `1.21.2`, the spelling of a Go version in every JSON output
/// (`docs/json/README.md`); anything else as it is.
pub(crate) fn without_go_prefix(version: &str) -> &str {
    version
        .strip_prefix("go")
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(version)
}

/// Rewrites a JSON string holding `go1.21.2` as `1.21.2`; leaves anything else (a missing
/// field, `null`) alone.
pub(crate) fn strip_go_prefix(value: Option<&mut serde_json::Value>) {
    if let Some(value) = value
        && let Some(text) = value.as_str()
    {
        *value = without_go_prefix(text).into();
    }
}
