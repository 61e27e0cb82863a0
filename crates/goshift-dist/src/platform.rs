//! Operating system and architecture, spelled the way Go spells them (`GOOS/GOARCH`).

use std::fmt;
use std::str::FromStr;

/// A target platform in Go's names: `linux/amd64`, `darwin/arm64`, `linux/armv6l`.
///
/// The architecture is the one used in go.dev archive names, which differs from `GOARCH`
/// only for 32-bit ARM (`armv6l` where Go says `arm`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// Operating system (`GOOS`): `linux`, `darwin`, `windows`, `freebsd`, …
    pub os: String,
    /// Architecture as in archive names: `amd64`, `arm64`, `386`, `armv6l`, …
    pub arch: String,
}

/// Why a string is not a `GOOS/GOARCH` platform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a platform: expected `GOOS/GOARCH`, such as `linux/amd64` or `darwin/arm64`"
)]
pub struct ParsePlatformError {
    /// The rejected input.
    pub input: String,
}

impl Platform {
    /// The platform this program runs on, mapped from Rust's names to Go's.
    pub fn host() -> Self {
        Self {
            os: go_os(std::env::consts::OS).to_owned(),
            arch: go_arch(std::env::consts::ARCH).to_owned(),
        }
    }

    /// Parses `GOOS/GOARCH`. Go's `arm` is accepted and stored as `armv6l`, the name of the
    /// only 32-bit ARM archive go.dev publishes.
    pub fn parse(input: &str) -> Result<Self, ParsePlatformError> {
        let error = || ParsePlatformError {
            input: input.to_owned(),
        };
        let (os, arch) = input.trim().split_once('/').ok_or_else(error)?;
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        if !valid(os) || !valid(arch) {
            return Err(error());
        }
        let arch = if arch == "arm" { "armv6l" } else { arch };
        Ok(Self {
            os: os.to_owned(),
            arch: arch.to_owned(),
        })
    }
}

impl FromStr for Platform {
    type Err = ParsePlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)
    }
}

/// Rust's `std::env::consts::OS` → `GOOS`.
fn go_os(os: &str) -> &str {
    match os {
        "macos" => "darwin",
        other => other,
    }
}

/// Rust's `std::env::consts::ARCH` → the go.dev archive architecture.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "armv6l",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_rust_names_to_go_names() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("x86"), "386");
        assert_eq!(go_arch("s390x"), "s390x");
        assert_eq!(go_os("macos"), "darwin");
        assert_eq!(go_os("linux"), "linux");
        let host = Platform::host();
        assert!(!host.os.is_empty() && !host.arch.is_empty());
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(host.to_string(), "linux/amd64");
        }
    }

    #[test]
    fn parses_and_displays() {
        let platform = Platform::parse("linux/arm64").unwrap();
        assert_eq!(platform.os, "linux");
        assert_eq!(platform.arch, "arm64");
        assert_eq!(platform.to_string(), "linux/arm64");
        assert_eq!(Platform::parse("linux/arm").unwrap().arch, "armv6l");
        for bad in [
            "linux",
            "linux/",
            "/amd64",
            "Linux/amd64",
            "linux/amd64/v3",
            "",
        ] {
            let error = Platform::parse(bad).unwrap_err();
            assert_eq!(error.input, bad);
            assert!(error.to_string().contains("GOOS/GOARCH"));
        }
    }
}
