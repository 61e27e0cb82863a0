//! Version ranges such as `>=1.21.0, <1.21.3`, as written in policy files.

use std::fmt;
use std::str::FromStr;

use crate::GoVersion;

/// A comparison operator in a [`Comparator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` or `==`, or a bare version.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// A bare `major.minor`: any version of that line, pre-releases included.
    Line,
}

/// One operator and version, such as `>=1.21.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Comparator {
    /// The operator.
    pub op: Op,
    /// The version compared against.
    pub version: GoVersion,
}

/// Comma-separated comparators that must all hold: `>=1.21.0, <1.21.3`.
///
/// A bare `major.minor` such as `1.22` without an operator means the whole line,
/// pre-releases included, so `allowed = ["1.22"]` reads as users expect.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionRange {
    text: String,
    comparators: Vec<Comparator>,
}

/// Why a string is not a version range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a version range: {reason} (expected e.g. `1.22.10`, `1.22` or `>=1.21.0, <1.21.3`)"
)]
pub struct ParseRangeError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl VersionRange {
    /// Parses a range.
    pub fn parse(input: &str) -> Result<Self, ParseRangeError> {
        let error = |reason: String| ParseRangeError {
            input: input.to_owned(),
            reason,
        };
        let mut comparators = Vec::new();
        for part in input.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(error("an empty comparator".to_owned()));
            }
            let (op, rest) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                (">", Op::Gt),
                ("<", Op::Lt),
                ("=", Op::Eq),
            ]
            .into_iter()
            .find_map(|(prefix, op)| part.strip_prefix(prefix).map(|rest| (Some(op), rest)))
            .unwrap_or((None, part));
            let version = GoVersion::parse(rest.trim())
                .map_err(|e| error(format!("`{}`: {}", e.input, e.reason)))?;
            match op {
                Some(op) => comparators.push(Comparator { op, version }),
                None if !version.is_prerelease()
                    && rest.trim().trim_start_matches("go").matches('.').count() == 1 =>
                {
                    comparators.push(Comparator {
                        op: Op::Line,
                        version,
                    });
                }
                None => comparators.push(Comparator {
                    op: Op::Eq,
                    version,
                }),
            }
        }
        Ok(Self {
            text: input.trim().to_owned(),
            comparators,
        })
    }

    /// Returns true if and only if `version` satisfies every comparator.
    pub fn contains(&self, version: &GoVersion) -> bool {
        self.comparators.iter().all(|c| match c.op {
            Op::Eq => version == &c.version,
            Op::Ne => version != &c.version,
            Op::Lt => version < &c.version,
            Op::Le => version <= &c.version,
            Op::Gt => version > &c.version,
            Op::Ge => version >= &c.version,
            Op::Line => version.same_line(&c.version),
        })
    }

    /// The comparators, in the order written.
    pub fn comparators(&self) -> &[Comparator] {
        &self.comparators
    }
}

impl FromStr for VersionRange {
    type Err = ParseRangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for VersionRange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for VersionRange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> GoVersion {
        GoVersion::parse(text).unwrap()
    }

    #[test]
    fn range_membership() {
        let r = VersionRange::parse(">=1.21.0, <1.21.3").unwrap();
        assert!(r.contains(&v("1.21.0")));
        assert!(r.contains(&v("1.21.2")));
        assert!(!r.contains(&v("1.21.3")));
        assert!(!r.contains(&v("1.20.14")));
        assert!(!r.contains(&v("1.21rc1")));

        let line = VersionRange::parse("1.22").unwrap();
        assert!(line.contains(&v("1.22.0")));
        assert!(line.contains(&v("1.22.10")));
        assert!(line.contains(&v("1.22rc1")));
        assert!(!line.contains(&v("1.23.0")));
        assert!(!line.contains(&v("1.21.13")));

        let exact = VersionRange::parse("1.22.10").unwrap();
        assert!(exact.contains(&v("go1.22.10")));
        assert!(!exact.contains(&v("1.22.9")));

        let line_before_121 = VersionRange::parse("1.20").unwrap();
        assert!(line_before_121.contains(&v("1.20.14")));
        assert!(line_before_121.contains(&v("1.20rc1")));
    }

    #[test]
    fn bad_ranges() {
        for bad in ["", ">=", ">=1.x", "1.21,", ">>1.21.0", "<1.21.0,,>1.20"] {
            assert!(VersionRange::parse(bad).is_err(), "{bad:?}");
        }
    }
}
