//! The [`GoVersion`] type: parsing, display and Go's ordering.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// A well-formed Go version such as `1.22.10`, `1.21rc2`, `1.18beta1`, `1.20` or
/// `1.21.3-bigcorp`.
///
/// The grammar and order are those of Go's `go/version` package (on top of `internal/gover`):
/// `major[.minor[.patch]][kind[pre]]` where a patch release has no pre-release (`1.21.0rc1` is
/// not a version), numbers have no leading zeros and any number of digits, and anything after
/// the first `-` is a vendor suffix that does not take part in comparisons
/// (`1.21.3-bigcorp == 1.21.3`). Equality and order are Go's: `1.20` equals `1.20.0` (before
/// Go 1.21 a missing patch means `.0`), while `1.21` is the language version that sorts before
/// `1.21rc1` and `1.21.0`. [`Display`](fmt::Display) prints the version as it was written,
/// without the `go` prefix.
#[derive(Debug, Clone)]
pub struct GoVersion {
    text: Box<str>,
    major: Number,
    minor: Option<Number>,
    patch: Option<Number>,
    kind: Box<str>,
    pre: Option<Number>,
}

/// A decimal number without leading zeros, of any length; compared as a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Number(Box<str>);

impl Number {
    fn is(&self, value: &str) -> bool {
        &*self.0 == value
    }

    /// The value, or `u64::MAX` for a number beyond 64 bits.
    fn saturated(&self) -> u64 {
        self.0.parse().unwrap_or(u64::MAX)
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        // Without leading zeros, the longer number is the larger one.
        (self.0.len(), &self.0).cmp(&(other.0.len(), &other.0))
    }
}

/// Why a string is not a Go version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a Go version: {reason} (expected a version such as `1.22.10`, `1.22` or `1.23rc1`)"
)]
pub struct ParseVersionError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl GoVersion {
    /// Parses a version, with or without the `go` prefix (`go1.22.10` or `1.22.10`), and with
    /// or without a vendor suffix after `-` (`go1.22.10-bigcorp`).
    pub fn parse(input: &str) -> Result<Self, ParseVersionError> {
        let error = |reason| ParseVersionError {
            input: input.to_owned(),
            reason,
        };
        let text = input.strip_prefix("go").unwrap_or(input);
        // Go's `go/version` cuts the suffix off first: `go1.21-bigcorp` is `go1.21`.
        let base = text.split_once('-').map_or(text, |(base, _)| base);
        if base.is_empty() {
            return Err(error("it is empty"));
        }
        let (major, rest) =
            cut_int(base).ok_or_else(|| error("the major version is not a number"))?;
        let mut version = Self {
            text: text.into(),
            major,
            minor: None,
            patch: None,
            kind: "".into(),
            pre: None,
        };
        if rest.is_empty() {
            // Go reads "1" as "1.0.0".
            version.minor = Some(Number("0".into()));
            version.patch = Some(Number("0".into()));
            return Ok(version);
        }
        let rest = rest
            .strip_prefix('.')
            .ok_or_else(|| error("a `.` must follow the major version"))?;
        let (minor, rest) =
            cut_int(rest).ok_or_else(|| error("the minor version is not a number"))?;
        if rest.is_empty() {
            // Before Go 1.21 a missing patch is the same as `.0`; from 1.21 on `1.N` is the
            // language version, which sorts before every release of that line.
            if minor < Number("21".into()) {
                version.patch = Some(Number("0".into()));
            }
            version.minor = Some(minor);
            return Ok(version);
        }
        version.minor = Some(minor);
        if let Some(rest) = rest.strip_prefix('.') {
            let (patch, rest) =
                cut_int(rest).ok_or_else(|| error("the patch version is not a number"))?;
            if !rest.is_empty() {
                // As in Go: a patch release has no pre-releases (`1.21.0rc1` is invalid).
                return Err(error(
                    "nothing may follow the patch version (patch releases have no pre-releases)",
                ));
            }
            version.patch = Some(patch);
            return Ok(version);
        }
        let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        if letters == 0 {
            return Err(error("unexpected characters after the version numbers"));
        }
        let (kind, rest) = rest.split_at(letters);
        version.kind = kind.into();
        if rest.is_empty() {
            return Ok(version);
        }
        let (pre, rest) =
            cut_int(rest).ok_or_else(|| error("the pre-release number is not a number"))?;
        if !rest.is_empty() {
            return Err(error("unexpected characters after the pre-release number"));
        }
        version.pre = Some(pre);
        Ok(version)
    }

    /// The major version: `1` in `1.22.10` (`u64::MAX` for a number beyond 64 bits, which Go
    /// accepts).
    pub fn major(&self) -> u64 {
        self.major.saturated()
    }

    /// The minor version: `22` in `1.22.10` (`u64::MAX` for a number beyond 64 bits).
    pub fn minor(&self) -> u64 {
        self.minor.as_ref().map_or(0, Number::saturated)
    }

    /// The patch number when one was written (or implied, before Go 1.21); `u64::MAX` for a
    /// number beyond 64 bits.
    pub fn patch(&self) -> Option<u64> {
        self.patch.as_ref().map(Number::saturated)
    }

    /// Returns true if and only if every number of the version fits in 64 bits, so that
    /// [`major`](Self::major), [`minor`](Self::minor) and [`patch`](Self::patch) are exact.
    pub fn fits_u64(&self) -> bool {
        [
            Some(&self.major),
            self.minor.as_ref(),
            self.patch.as_ref(),
            self.pre.as_ref(),
        ]
        .into_iter()
        .flatten()
        .all(|number| number.0.parse::<u64>().is_ok())
    }

    /// The pre-release kind (`alpha`, `beta`, `rc`), empty for a release.
    pub fn prerelease_kind(&self) -> &str {
        &self.kind
    }

    /// The vendor suffix after `-` (`bigcorp` in `1.21.3-bigcorp`), if one was written.
    pub fn suffix(&self) -> Option<&str> {
        self.text.split_once('-').map(|(_, suffix)| suffix)
    }

    /// Returns true if and only if this is a pre-release (`1.21rc1`, `1.18beta2`).
    pub fn is_prerelease(&self) -> bool {
        !self.kind.is_empty()
    }

    /// Returns true if and only if this is a released toolchain: not a pre-release and not a
    /// bare language version such as `1.22` (whose first release is `1.22.0`).
    pub fn is_stable(&self) -> bool {
        !self.is_prerelease() && self.patch.is_some()
    }

    /// Returns true if and only if this names a language version (`1.21`, `1.22`), not a
    /// toolchain release. Versions before 1.21 written as `1.N` are releases (`1.20` is
    /// `1.20.0`), as in Go.
    pub fn is_lang(&self) -> bool {
        self.patch.is_none() && self.kind.is_empty()
    }

    /// The language version of the line, as Go's `Lang`: `1.22` for `1.22.10` and `1.22rc1`,
    /// and `1` for `1`, `1.0` and `1.0.3`.
    #[must_use]
    pub fn lang(&self) -> Self {
        let minor = self.minor.as_ref().map_or("0", |minor| &minor.0);
        let text = if self.major.is("1") && minor == "0" {
            "1".to_owned()
        } else {
            format!("{}.{minor}", self.major.0)
        };
        // A version built from two valid numbers always parses.
        Self::parse(&text).unwrap_or_else(|_| self.clone())
    }

    /// Returns true if and only if both versions are on the same `major.minor` line.
    pub fn same_line(&self, other: &Self) -> bool {
        self.major == other.major && self.minor == other.minor
    }

    /// The toolchain name as Go writes it: `go1.22.10`.
    pub fn toolchain_name(&self) -> String {
        format!("go{}", self.text)
    }

    /// The version in semantic-versioning form, as the Go vulnerability database uses it:
    /// `1.21rc1` → `1.21.0-rc.1`, `1.21` → `1.21.0`, `1.20` → `1.20.0`. A vendor suffix is
    /// left out.
    pub fn to_semver(&self) -> String {
        let number = |n: Option<&Number>| n.map_or_else(|| "0".to_owned(), |n| n.0.to_string());
        let mut out = format!(
            "{}.{}.{}",
            self.major.0,
            number(self.minor.as_ref()),
            number(self.patch.as_ref())
        );
        if !self.kind.is_empty() {
            out.push('-');
            out.push_str(&self.kind);
            if let Some(pre) = &self.pre {
                out.push('.');
                out.push_str(&pre.0);
            }
        }
        out
    }

    /// The comparison key, in Go's order: numbers as numbers, a missing part before a present
    /// one, and kinds in byte order (`""` < `alpha` < `beta` < `rc`). Patch releases have no
    /// pre-release, so the kind only ever decides between versions without a patch.
    fn key(
        &self,
    ) -> (
        &Number,
        Option<&Number>,
        Option<&Number>,
        &str,
        Option<&Number>,
    ) {
        (
            &self.major,
            self.minor.as_ref(),
            self.patch.as_ref(),
            &self.kind,
            self.pre.as_ref(),
        )
    }
}

/// Cuts a decimal number without leading zeros off the front of `text`.
fn cut_int(text: &str) -> Option<(Number, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && text.starts_with('0')) {
        return None;
    }
    let (number, rest) = text.split_at(digits);
    Some((Number(number.into()), rest))
}

impl FromStr for GoVersion {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for GoVersion {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for GoVersion {}

impl Hash for GoVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for GoVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GoVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl serde::Serialize for GoVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for GoVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(text: &str) -> GoVersion {
        GoVersion::parse(text).unwrap()
    }

    /// The comparison table of Go's `internal/gover` tests, plus the documented orders.
    #[test]
    fn compare_table() {
        let cases = [
            ("1.19", "1.19.0", Ordering::Equal),
            ("1.20", "1.20.0", Ordering::Equal),
            ("1.21", "1.21.0", Ordering::Less),
            ("1.21", "1.21rc1", Ordering::Less),
            ("1.21rc1", "1.21.0", Ordering::Less),
            ("1.19alpha3", "1.19beta2", Ordering::Less),
            ("1.19beta2", "1.19rc1", Ordering::Less),
            ("1.5", "1.10", Ordering::Less),
            ("1.6", "1.6.1", Ordering::Less),
            ("1.19", "1.19.1", Ordering::Less),
            ("1.21rc2", "1.21.0", Ordering::Less),
            ("1.21rc1", "1.21rc2", Ordering::Less),
            ("1.20rc1", "1.20", Ordering::Less),
            ("1.18beta1", "1.18beta2", Ordering::Less),
            ("1.18beta2", "1.18rc1", Ordering::Less),
            ("1.18rc1", "1.18", Ordering::Less),
            ("1.18", "1.18.1", Ordering::Less),
            ("1.9.2", "1.9.3", Ordering::Less),
            (
                "1.99999999999999999999",
                "1.100000000000000000000",
                Ordering::Less,
            ),
            (
                "1.18446744073709551616",
                "1.18446744073709551615",
                Ordering::Greater,
            ),
            ("1.21.3-bigcorp", "1.21.3", Ordering::Equal),
            ("1.21-pre4", "1.21rc1", Ordering::Less),
            ("1", "1.0.0", Ordering::Equal),
            ("1.22.10", "1.22.9", Ordering::Greater),
            ("go1.22.10", "1.22.10", Ordering::Equal),
            ("2", "1.99.99", Ordering::Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(v(a).cmp(&v(b)), want, "{a} vs {b}");
            assert_eq!(v(b).cmp(&v(a)), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn documented_chains_are_sorted() {
        for chain in [
            ["1.21", "1.21rc1", "1.21rc2", "1.21.0", "1.21.1", "1.21.2"].as_slice(),
            ["1.20rc1", "1.20rc2", "1.20rc3", "1.20", "1.20.1"].as_slice(),
            ["1.18beta1", "1.18beta2", "1.18rc1", "1.18", "1.18.1"].as_slice(),
        ] {
            for pair in chain.windows(2) {
                assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
            }
        }
    }

    #[test]
    fn malformed_versions_are_errors() {
        for bad in [
            "",
            "go",
            "1.",
            "1..2",
            "01.2",
            "1.02",
            "1.2.03",
            "1.21RC1",
            "1.21rc01",
            "1.21rc1x",
            "v1.21",
            "1.21.0.1",
            " 1.21",
            "1.21 ",
            "x",
            "1.2.",
            "1.21rc",
            "-1",
            "go-1.21",
            "1.21.0rc1",
            "1.9.2rc2",
            "go1.21.0rc1-x",
            "1.21.0beta",
            "-",
        ] {
            // "1.21rc" has a kind without a number, which Go accepts.
            if bad == "1.21rc" {
                assert!(GoVersion::parse(bad).is_ok());
                continue;
            }
            assert!(GoVersion::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    /// `go/version` accepts a vendor suffix after `-` and compares it away; goshift keeps it
    /// for display only.
    #[test]
    fn vendor_suffixes() {
        for (text, base) in [
            ("go1.21-bigcorp", "1.21"),
            ("go1.20-pre4", "1.20"),
            ("1.21.3-bigcorp", "1.21.3"),
            ("1.21-", "1.21"),
            ("1.22rc1-x-y", "1.22rc1"),
        ] {
            let version = v(text);
            assert_eq!(version, v(base), "{text}");
            assert_eq!(version.to_string(), text.trim_start_matches("go"));
            assert_eq!(version.to_semver(), v(base).to_semver());
        }
        assert_eq!(v("go1.21-bigcorp").suffix(), Some("bigcorp"));
        assert_eq!(v("1.21").suffix(), None);
    }

    /// Go's numbers are decimal strings of any length: nothing overflows.
    #[test]
    fn numbers_beyond_64_bits() {
        let huge = v("1.99999999999999999999999.1");
        assert!(huge > v("1.18446744073709551615.0"));
        assert!(!huge.fits_u64());
        assert!(v("1.22.10").fits_u64());
        assert_eq!(huge.minor(), u64::MAX);
        assert_eq!(huge.to_semver(), "1.99999999999999999999999.1");
        assert_eq!(huge.lang().to_string(), "1.99999999999999999999999");
        assert!(!huge.same_line(&v("1.18446744073709551615")));
    }

    /// `Lang` as in Go: `go1` and `go1.0` are language version `go1`.
    #[test]
    fn language_versions() {
        for (text, lang) in [
            ("1", "1"),
            ("1.0", "1"),
            ("1.0.3", "1"),
            ("1.21rc2", "1.21"),
            ("1.21.2", "1.21"),
            ("1.21", "1.21"),
            ("2", "2.0"),
            ("2.0.1", "2.0"),
            ("1.21-bigcorp", "1.21"),
        ] {
            assert_eq!(v(text).lang().to_string(), lang, "{text}");
        }
    }

    #[test]
    fn display_keeps_the_written_form() {
        assert_eq!(v("go1.21rc2").to_string(), "1.21rc2");
        assert_eq!(v("1.20").to_string(), "1.20");
        assert_eq!(v("1.22.10").toolchain_name(), "go1.22.10");
    }

    #[test]
    fn semver_mapping() {
        for (go, semver) in [
            ("1.21rc1", "1.21.0-rc.1"),
            ("1.18beta2", "1.18.0-beta.2"),
            ("1.21", "1.21.0"),
            ("1.21.3", "1.21.3"),
            ("1", "1.0.0"),
        ] {
            assert_eq!(v(go).to_semver(), semver, "{go}");
        }
    }

    #[test]
    fn stability_and_lines() {
        assert!(v("1.22.10").is_stable());
        assert!(v("1.20").is_stable());
        assert!(!v("1.22").is_stable());
        assert!(!v("1.22rc1").is_stable());
        assert!(v("1.22").is_lang());
        assert_eq!(v("1.22.10").lang(), v("1.22"));
        assert!(v("1.22.10").same_line(&v("1.22rc1")));
    }

    fn version_strategy() -> impl Strategy<Value = String> {
        let kind = prop_oneof![
            Just(String::new()),
            (
                prop_oneof![Just("alpha"), Just("beta"), Just("rc")],
                0u64..4
            )
                .prop_map(|(k, n)| {
                    if n == 0 {
                        k.to_owned()
                    } else {
                        format!("{k}{n}")
                    }
                }),
        ];
        (
            1u64..3,
            proptest::option::of(15u64..25),
            proptest::option::of(0u64..4),
            kind,
        )
            .prop_map(|(major, minor, patch, kind)| match (minor, patch) {
                (None, _) => format!("{major}"),
                (Some(minor), None) => format!("{major}.{minor}{kind}"),
                (Some(minor), Some(patch)) => format!("{major}.{minor}.{patch}"),
            })
    }

    proptest! {
        #[test]
        fn order_is_total_and_consistent(a in version_strategy(), b in version_strategy(), c in version_strategy()) {
            let (a, b, c) = (v(&a), v(&b), v(&c));
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
            if a <= b && b <= c {
                prop_assert!(a <= c);
            }
        }

        #[test]
        fn display_round_trips(a in version_strategy()) {
            let parsed = v(&a);
            prop_assert_eq!(parsed.to_string(), a.clone());
            prop_assert_eq!(v(&parsed.to_string()), parsed);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,12}") {
            let _ = GoVersion::parse(&s);
        }
    }
}
