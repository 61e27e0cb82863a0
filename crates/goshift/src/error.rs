//! Rendering errors at the binary edge: the full cause chain, then hints.
//!
//! Library crates return typed errors whose messages name what failed. A domain error that
//! knows the fix for some of its cases implements [`Hint`], so plain `?` carries the fix;
//! commands add context with `anyhow` and attach other fixes with [`WithHint::hint`].
//! [`report`] prints `error: …`, one `Caused by: …` per cause, and `hint: …` lines (from
//! every cause in the chain) after a blank line.

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

/// The fix for a domain error, where it has an obvious one, in the user's terms (the command
/// to run). Implemented here, in the binary, for the library crates' error types: the hints
/// name goshift's commands, which the library crates do not know.
pub(crate) trait Hint {
    /// The fix, if this case has one.
    fn hint(&self) -> Option<String>;
}

/// The hint of one cause of the chain: attached with [`WithHint::hint`], or known to the
/// cause's own type.
fn cause_hint(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(hinted) = cause.downcast_ref::<Hinted>() {
        return Some(hinted.hint.clone());
    }
    cause
        .downcast_ref::<goshift_store::StoreError>()
        .and_then(Hint::hint)
}

/// Attaches a hint (how to fix it) to an error.
pub(crate) trait WithHint<T> {
    /// Wraps the error so that [`report`] prints `hint` after it.
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> WithHint<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| with_hint(e.into(), hint))
    }
}

/// Attaches a hint to an error that is already at hand.
pub(crate) fn with_hint(error: anyhow::Error, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        hint: hint.into(),
        source: error,
    })
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
        hints.extend(cause_hint(cause));
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

    #[test]
    fn finds_hints_on_the_causes() {
        let version: goshift_version::GoVersion = "1.22.10".parse().unwrap();
        let inner: Result<(), _> = Err(goshift_store::StoreError::IsDefault {
            version: Box::new(version),
        });
        let error = inner.context("failed to uninstall go1.22.10").unwrap_err();
        assert_eq!(
            render(&error),
            "error: failed to uninstall go1.22.10\n  Caused by: go1.22.10 is the default toolchain\n\nhint: switch to another version first (`goshift use VERSION`), or pass `--remove-default` to remove go1.22.10 and leave no default\n"
        );
    }
}
