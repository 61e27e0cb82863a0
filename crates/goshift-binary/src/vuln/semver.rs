//! Semantic versions as the Go vulnerability database uses them (`golang.org/x/mod/semver`
//! order): `1.21.0-rc.1`, with or without a `v`; build metadata (`+incompatible`, `+dirty`)
//! is ignored.

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
        let (core, prerelease) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let mut numbers = [0u64; 3];
        let mut count = 0;
        for part in core.split('.') {
            if count == 3 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if part.len() > 1 && part.starts_with('0') {
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
        Some(Self {
            numbers,
            prerelease,
        })
    }
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
}
