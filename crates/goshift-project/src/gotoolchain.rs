//! The `GOTOOLCHAIN` setting, as goshift honours it while resolving.

use goshift_version::GoVersion;

/// What a `GOTOOLCHAIN` value asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoToolchain {
    /// Unset, empty, `auto`, `path`, `local+auto` or `local+path`: the project files decide.
    Auto,
    /// `local`: the default toolchain, whatever the project files say.
    Local,
    /// `go1.22.10`: exactly this version.
    Force(GoVersion),
    /// `go1.22.10+auto` or `go1.22.10+path`: this version instead of the default, raised by
    /// go.mod or go.work lines that need more.
    Floor(GoVersion),
}

/// A `GOTOOLCHAIN` value goshift cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid GOTOOLCHAIN `{value}`: expected `auto`, `local`, `path`, a toolchain name such as `go1.22.10`, or one followed by `+auto` or `+path`"
)]
pub struct GoToolchainError {
    /// The rejected value.
    pub value: String,
}

impl GoToolchain {
    /// Parses a `GOTOOLCHAIN` value. Toolchain names may carry a suffix after `-`
    /// (`go1.22.1-bigcorp`), which compares equal to the base version, as in Go.
    pub fn parse(value: &str) -> Result<Self, GoToolchainError> {
        let error = || GoToolchainError {
            value: value.to_owned(),
        };
        let (name, mode) = match value.split_once('+') {
            Some((name, mode @ ("auto" | "path"))) => (name, Some(mode)),
            Some(_) => return Err(error()),
            None => (value, None),
        };
        match (name, mode) {
            ("" | "auto" | "path", None) | ("local", Some(_)) => Ok(Self::Auto),
            ("local", None) => Ok(Self::Local),
            (name, mode) => {
                let base = name
                    .strip_prefix("go")
                    .ok_or_else(error)?
                    .split(['-', ' ', '\t'])
                    .next()
                    .unwrap_or_default();
                let version = GoVersion::parse(base).map_err(|_| error())?;
                Ok(match mode {
                    None => Self::Force(version),
                    Some(_) => Self::Floor(version),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> GoVersion {
        text.parse().unwrap()
    }

    #[test]
    fn forms() {
        for auto in ["", "auto", "path", "local+auto", "local+path"] {
            assert_eq!(
                GoToolchain::parse(auto).unwrap(),
                GoToolchain::Auto,
                "{auto}"
            );
        }
        assert_eq!(GoToolchain::parse("local").unwrap(), GoToolchain::Local);
        assert_eq!(
            GoToolchain::parse("go1.22.10").unwrap(),
            GoToolchain::Force(v("1.22.10"))
        );
        assert_eq!(
            GoToolchain::parse("go1.21.3+auto").unwrap(),
            GoToolchain::Floor(v("1.21.3"))
        );
        assert_eq!(
            GoToolchain::parse("go1.22.1-bigcorp+path").unwrap(),
            GoToolchain::Floor(v("1.22.1"))
        );
        for bad in ["1.22.10", "go1.22.x", "go1.22.10+never", "locale", "go"] {
            assert!(GoToolchain::parse(bad).is_err(), "{bad}");
        }
    }
}
