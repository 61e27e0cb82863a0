//! Module versions as go.mod requires them: canonical semantic versions.

/// Returns true if and only if `version` is a canonical module version as `go` accepts it in
/// a main module's go.mod: `vMAJOR.MINOR.PATCH`, an optional pre-release (which is how
/// pseudo-versions are spelled), and no build metadata except `+incompatible`.
pub fn is_valid_module_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let rest = rest.strip_suffix("+incompatible").unwrap_or(rest);
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let mut numbers = core.split('.');
    let numeric_ok =
        (0..3).all(|_| numbers.next().is_some_and(is_number)) && numbers.next().is_none();
    numeric_ok && pre.is_none_or(|pre| pre.split('.').all(is_prerelease_identifier))
}

fn is_number(part: &str) -> bool {
    !part.is_empty()
        && part.bytes().all(|b| b.is_ascii_digit())
        && (part == "0" || !part.starts_with('0'))
}

fn is_prerelease_identifier(part: &str) -> bool {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return false;
    }
    // A numeric identifier has no leading zero.
    !part.bytes().all(|b| b.is_ascii_digit()) || is_number(part)
}

#[cfg(test)]
mod tests {
    use super::is_valid_module_version as valid;

    #[test]
    fn versions() {
        for good in [
            "v1.2.3",
            "v0.0.0-20200722182040-012345abcdef",
            "v4.1.2+incompatible",
            "v2.0.1-20200722182040-012345abcdef+incompatible",
            "v1.0.0-rc.1",
        ] {
            assert!(valid(good), "{good}");
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
            assert!(!valid(bad), "{bad}");
        }
    }
}
