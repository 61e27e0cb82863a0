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

/// A `GOTOOLCHAIN` value Go refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid GOTOOLCHAIN `{value}`: {reason} (expected `auto`, `local`, `path`, a toolchain name such as `go1.22.10`, or one followed by `+auto` or `+path`)"
)]
pub struct GoToolchainError {
    /// The rejected value.
    pub value: String,
    /// Why Go refuses it.
    pub reason: &'static str,
}

impl GoToolchain {
    /// Parses a `GOTOOLCHAIN` value as Go does. A toolchain name may carry a suffix after `-`
    /// (`go1.22.1-bigcorp`), which compares equal to the base version; a blank or a tab
    /// (which Go's name reading would also cut at) is refused, because Go then looks for a
    /// program of that name with the blank in it and cannot download one.
    pub fn parse(value: &str) -> Result<Self, GoToolchainError> {
        let error = |reason| GoToolchainError {
            value: value.to_owned(),
            reason,
        };
        let (name, mode) = match value.split_once('+') {
            Some((name, mode @ ("auto" | "path"))) => (name, Some(mode)),
            Some(_) => return Err(error("only version suffixes are +auto and +path")),
            None => (value, None),
        };
        match (name, mode) {
            ("" | "auto" | "path", None) | ("local", Some(_)) => Ok(Self::Auto),
            ("local", None) => Ok(Self::Local),
            (name, mode) => {
                if name.contains([' ', '\t']) {
                    return Err(error(
                        "a toolchain name has no blanks or tabs, and Go cannot fetch one that does",
                    ));
                }
                if name.contains(['/', '\\']) {
                    return Err(error("a toolchain name has no path separators"));
                }
                let rest = name.strip_prefix("go").ok_or_else(|| {
                    error("a toolchain name starts with `go` followed by a version")
                })?;
                let version = GoVersion::parse(rest).map_err(|_| {
                    error("a toolchain name starts with `go` followed by a version")
                })?;
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
        for bad in [
            "1.22.10",
            "go1.22.x",
            "go1.22.10+never",
            "locale",
            "go",
            "go1.22.10 ",
            "go1.22.10\t+auto",
            "go1.22.10-../x",
        ] {
            assert!(GoToolchain::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            GoToolchain::parse("go1.22.10 ").unwrap_err().to_string(),
            "invalid GOTOOLCHAIN `go1.22.10 `: a toolchain name has no blanks or tabs, and Go cannot fetch one that does (expected `auto`, `local`, `path`, a toolchain name such as `go1.22.10`, or one followed by `+auto` or `+path`)"
        );
    }
}
