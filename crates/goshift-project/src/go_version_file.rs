//! `.go-version`: a goenv-compatible pin of one Go version.
//!
//! The first line that is neither blank nor a `#` comment holds the version (`1.22.10` or
//! `go1.22.10`; a language version such as `1.22` means the newest installed patch of that
//! line). Anything else on later lines is an error, so a typo never silently picks a
//! different toolchain.

use std::path::{Path, PathBuf};

use goshift_version::GoVersion;

/// The pinned version and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoVersionPin {
    /// The version.
    pub version: GoVersion,
    /// The 1-based line it was read from.
    pub line: usize,
}

/// A `.go-version` that does not hold exactly one Go version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` line {line}: {reason}", path.display())]
pub struct GoVersionFileError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line (the last line for an empty file).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses the contents of a `.go-version` file; `path` is used in errors only.
pub fn parse_go_version_file(path: &Path, text: &str) -> Result<GoVersionPin, GoVersionFileError> {
    let error = |line: usize, reason: String| GoVersionFileError {
        path: path.to_owned(),
        line,
        reason,
    };
    let mut pin: Option<GoVersionPin> = None;
    let mut last = 1;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        last = number;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(first) = &pin {
            return Err(error(
                number,
                format!(
                    "a second version `{content}` after `{}` on line {}; keep one version per file",
                    first.version, first.line
                ),
            ));
        }
        let version = GoVersion::parse(content).map_err(|e| error(number, e.to_string()))?;
        let release_kind = matches!(version.prerelease_kind(), "" | "alpha" | "beta" | "rc");
        let numbered = !version.is_prerelease() || content.ends_with(|c: char| c.is_ascii_digit());
        if !release_kind || !numbered {
            return Err(error(
                number,
                format!(
                    "`{content}` is not a Go release (expected a version such as `1.22.10`, `1.22` or `1.23rc1`)"
                ),
            ));
        }
        pin = Some(GoVersionPin {
            version,
            line: number,
        });
    }
    pin.ok_or_else(|| {
        error(
            last,
            "the file holds no version; write one such as `1.22.10`".to_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GoVersionPin, GoVersionFileError> {
        parse_go_version_file(Path::new(".go-version"), text)
    }

    #[test]
    fn accepts_goenv_forms() {
        assert_eq!(parse("1.22.10\n").unwrap().version.to_string(), "1.22.10");
        assert_eq!(parse("go1.21.13").unwrap().version.to_string(), "1.21.13");
        let pin = parse("# pinned for the release\n\n  1.21rc2  \r\n").unwrap();
        assert_eq!((pin.version.to_string().as_str(), pin.line), ("1.21rc2", 3));
    }

    #[test]
    fn rejects_malformed() {
        let e = parse("1.22.x\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(
            e.to_string()
                .starts_with("`.go-version` line 1: `1.22.x` is not a Go version"),
            "{e}"
        );
        let e = parse("1.22.1\n1.21.0\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            parse("\n# nothing\n")
                .unwrap_err()
                .reason
                .contains("no version")
        );
        assert!(parse("").is_err());
        assert!(
            parse("1.2x\n")
                .unwrap_err()
                .reason
                .contains("not a Go release")
        );
        assert!(parse("1.23rc\n").is_err());
    }
}
