//! What a user asks for: an exact version, a line, or the latest release.

use std::fmt;
use std::str::FromStr;

use crate::{GoVersion, ParseVersionError};

/// A version as a user asks for it on the command line or in a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VersionRequest {
    /// The newest stable release.
    Latest,
    /// The newest stable patch release of a `major.minor` line (`1.22`).
    Line {
        /// The major version.
        major: u64,
        /// The minor version.
        minor: u64,
    },
    /// Exactly this version (`1.22.10`, `1.21rc2`).
    Exact(GoVersion),
}

impl VersionRequest {
    /// Parses `latest`, a line (`1.22`, `go1.22`) or an exact version.
    ///
    /// A bare `major.minor` is a line, also for versions before 1.21 where Go itself
    /// would read `1.20` as `1.20.0`: a user typing `install 1.20` wants that line's newest
    /// patch, which is what every toolchain manager does.
    pub fn parse(input: &str) -> Result<Self, ParseVersionError> {
        let trimmed = input.trim();
        if trimmed == "latest" || trimmed == "stable" {
            return Ok(Self::Latest);
        }
        let version = GoVersion::parse(trimmed).map_err(|mut error| {
            input.clone_into(&mut error.input);
            error
        })?;
        let text = version.to_string();
        let base = text.split_once('-').map_or(text.as_str(), |(base, _)| base);
        // A line beyond 64 bits has no release; it stays an exact request that finds none.
        if !version.is_prerelease() && base.matches('.').count() == 1 && version.fits_u64() {
            return Ok(Self::Line {
                major: version.major(),
                minor: version.minor(),
            });
        }
        Ok(Self::Exact(version))
    }

    /// Returns true if and only if `version` satisfies this request, ignoring stability.
    pub fn matches(&self, version: &GoVersion) -> bool {
        match self {
            Self::Latest => version.is_stable(),
            Self::Line { major, minor } => {
                version.is_stable() && version.major() == *major && version.minor() == *minor
            }
            Self::Exact(exact) => exact == version,
        }
    }

    /// Picks the best version for this request among `candidates`: the exact one, or the
    /// newest stable one on the line (or overall, for `latest`).
    pub fn select<'a, I>(&self, candidates: I) -> Option<&'a GoVersion>
    where
        I: IntoIterator<Item = &'a GoVersion>,
    {
        candidates.into_iter().filter(|v| self.matches(v)).max()
    }
}

impl FromStr for VersionRequest {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for VersionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::Line { major, minor } => write!(f, "{major}.{minor}"),
            Self::Exact(version) => write!(f, "{version}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<GoVersion> {
        list.iter().map(|v| GoVersion::parse(v).unwrap()).collect()
    }

    #[test]
    fn parses_each_form() {
        assert_eq!(
            VersionRequest::parse("latest").unwrap(),
            VersionRequest::Latest
        );
        assert_eq!(
            VersionRequest::parse("go1.22").unwrap(),
            VersionRequest::Line {
                major: 1,
                minor: 22
            }
        );
        assert_eq!(
            VersionRequest::parse("1.20").unwrap(),
            VersionRequest::Line {
                major: 1,
                minor: 20
            }
        );
        assert!(matches!(
            VersionRequest::parse("1.21rc2").unwrap(),
            VersionRequest::Exact(_)
        ));
        assert!(matches!(
            VersionRequest::parse("1.22.10").unwrap(),
            VersionRequest::Exact(_)
        ));
        let error = VersionRequest::parse("1.x").unwrap_err();
        assert_eq!(error.input, "1.x");
    }

    #[test]
    fn selects_newest_stable_on_line() {
        let all = versions(&[
            "1.21.13", "1.22.9", "1.22.10", "1.23rc1", "1.22rc2", "1.23.0",
        ]);
        let pick = |r: &str| {
            VersionRequest::parse(r)
                .unwrap()
                .select(&all)
                .map(ToString::to_string)
        };
        assert_eq!(pick("1.22").as_deref(), Some("1.22.10"));
        assert_eq!(pick("latest").as_deref(), Some("1.23.0"));
        assert_eq!(pick("1.22rc2").as_deref(), Some("1.22rc2"));
        assert_eq!(pick("1.24"), None);
    }
}
