//! Rendering errors at the binary edge: the full cause chain, then hints.
//!
//! Library crates return typed errors whose messages name what failed. Commands add context
//! with `anyhow` and attach fixes with [`WithHint::hint`]; [`report`] prints
//! `error: …`, one `Caused by: …` per cause, and `hint: …` lines after a blank line.

use std::fmt::{self, Write as _};
use std::io::Write as _;

/// An error with a suggested fix attached.
#[derive(Debug)]
pub(crate) struct Hinted {
    hint: String,
    source: anyhow::Error,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.source()
    }
}

/// Attaches a hint (how to fix it) to an error.
pub(crate) trait WithHint<T> {
    /// Wraps the error so that [`report`] prints `hint` after it.
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> WithHint<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| {
            anyhow::Error::new(Hinted {
                hint: hint.into(),
                source: e.into(),
            })
        })
    }
}

/// Builds an error with a hint.
pub(crate) fn hinted(message: impl fmt::Display, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        hint: hint.into(),
        source: anyhow::anyhow!("{message}"),
    })
}

/// Prints an error, its causes and its hints to stderr.
pub(crate) fn report(error: &anyhow::Error) {
    let mut out = std::io::stderr().lock();
    let _ = write!(out, "{}", render(error));
}

/// The text [`report`] prints.
pub(crate) fn render(error: &anyhow::Error) -> String {
    let mut text = format!("error: {error}\n");
    let mut hints = Vec::new();
    let mut previous = error.to_string();
    for cause in error.chain() {
        if let Some(hinted) = cause.downcast_ref::<Hinted>() {
            hints.push(hinted.hint.clone());
        }
    }
    for cause in error.chain().skip(1) {
        let message = cause.to_string();
        // `Hinted` repeats its inner message; print each message once.
        if message != previous {
            let _ = writeln!(text, "  Caused by: {message}");
        }
        previous = message;
    }
    if !hints.is_empty() {
        text.push('\n');
        for hint in hints {
            let _ = writeln!(text, "hint: {hint}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn renders_chain_and_hint() {
        let inner: Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
        let error = inner
            .context("failed to write `manifest.json`")
            .hint("free some space and run the command again")
            .context("failed to install go1.22.10")
            .unwrap_err();
        assert_eq!(
            render(&error),
            "error: failed to install go1.22.10\n  Caused by: failed to write `manifest.json`\n  Caused by: disk full\n\nhint: free some space and run the command again\n"
        );
    }
}
