//! Semantic versions in `golang.org/x/mod/semver` order, read two ways: leniently as the Go
//! vulnerability database writes them ([`Semver::parse`]: `1.21.0-rc.1`, with or without a
//! `v`, shorthands `v1` and `v1.2`, build metadata ignored), and strictly as a main module's
//! go.mod must spell a module version ([`is_valid_module_version`]).

use std::cmp::Ordering;

/// A parsed semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Semver {
    numbers: [u64; 3],
    prerelease: Vec<String>,
}

impl Semver {
    /// Parses `1.2.3`, `v1.2.3-rc.1+meta`, or the shorthands `v1` and `v1.2`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let text = text.split_once('+').map_or(text, |(version, _)| version);
        Self::parse_parts(text).map(|(semver, _)| semver)
    }

    /// The version and how many of its three numbers were written, from `1.2.3-pre` without
    /// `v` or build metadata.
    fn parse_parts(text: &str) -> Option<(Self, usize)> {
        let (core, prerelease) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let mut numbers = [0u64; 3];
        let mut count = 0;
        for part in core.split('.') {
            if count == 3 || !is_number(part) {
                return None;
            }
            numbers[count] = part.parse().ok()?;
            count += 1;
        }
        if count == 0 {
            return None;
        }
        let prerelease = match prerelease {
            None => Vec::new(),
            Some(pre) => {
                let fields: Vec<String> = pre.split('.').map(ToOwned::to_owned).collect();
                if fields.iter().any(|f| {
                    f.is_empty() || !f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }) {
                    return None;
                }
                fields
            }
        };
        let semver = Self {
            numbers,
            prerelease,
        };
        Some((semver, count))
    }
}

/// Returns true if and only if `version` is a canonical module version as `go` accepts it in
/// a main module's go.mod: `vMAJOR.MINOR.PATCH`, an optional pre-release (which is how
/// pseudo-versions are spelled), and no build metadata except `+incompatible`.
pub fn is_valid_module_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let rest = rest.strip_suffix("+incompatible").unwrap_or(rest);
    if rest.contains('+') {
        return false;
    }
    Semver::parse_parts(rest).is_some_and(|(semver, count)| {
        // A numeric pre-release identifier has no leading zero.
        count == 3
            && semver
                .prerelease
                .iter()
                .all(|part| !part.bytes().all(|b| b.is_ascii_digit()) || is_number(part))
    })
}

/// A decimal number without a leading zero.
fn is_number(part: &str) -> bool {
    !part.is_empty()
        && part.bytes().all(|b| b.is_ascii_digit())
        && (part == "0" || !part.starts_with('0'))
}

impl Ord for Semver {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.prerelease, &other.prerelease),
            }
        })
    }
}

impl PartialOrd for Semver {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn compare_prerelease(left: &[String], right: &[String]) -> Ordering {
    for (a, b) in left.iter().zip(right) {
        let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let order = match (numeric(a), numeric(b)) {
            (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => a.cmp(b),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Semver {
        Semver::parse(text).unwrap()
    }

    #[test]
    fn order_follows_semver() {
        assert!(v("1.21.0-0") < v("1.21.0-rc.1"));
        assert!(v("1.21.0-rc.1") < v("1.21.0-rc.2"));
        assert!(v("1.21.0-rc.2") < v("1.21.0"));
        assert!(v("1.21.0") < v("1.21.3"));
        assert!(v("1.20.10") < v("1.21.0-0"));
        assert!(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
        assert!(v("1.0.0-alpha.beta") < v("1.0.0-beta"));
        assert!(v("1.0.0-beta.2") < v("1.0.0-beta.11"));
        assert_eq!(v("v4.1.2+incompatible"), v("4.1.2"));
        assert_eq!(v("v1.2"), v("1.2.0"));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "", "v", "1.2.3.4", "01.2.3", "1.2.3-", "1..2", "(devel)", "1.2.x",
        ] {
            assert!(Semver::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn module_versions() {
        for good in [
            "v1.2.3",
            "v0.0.0-20200722182040-012345abcdef",
            "v4.1.2+incompatible",
            "v2.0.1-20200722182040-012345abcdef+incompatible",
            "v1.0.0-rc.1",
        ] {
            assert!(is_valid_module_version(good), "{good}");
        }
        for bad in [
            "1.2.3",
            "v1.2",
            "v1.02.3",
            "v1.2.3+meta",
            "v1.2.3-",
            "v1.2.3-01",
            "latest",
            "",
        ] {
            assert!(!is_valid_module_version(bad), "{bad}");
        }
    }
}
