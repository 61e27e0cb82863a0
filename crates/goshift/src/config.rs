//! The config file, `$XDG_CONFIG_HOME/goshift/config.toml`: machine-wide choices that are not
//! worth a flag on every command.
//!
//! ```toml
//! mirror = "https://mirror.example.com/golang/"
//! index_url = "file:///srv/go/index.json"
//! environment = "prod"
//! auto_install = false
//! toolchain_selection = "newest"
//! policy = "/etc/goshift/policy.toml"
//!
//! [toolchain]
//! index_url = "file:///srv/go/index.json"
//! mirror = "https://mirror.example.com/golang/"
//! allow_http = false
//! platform = "linux-arm64"
//! ```
//!
//! The `[toolchain]` table's `index_url` and `mirror` win over the top-level keys of the same
//! name (which `goshift config set` writes); the environment wins over both.
//!
//! Unknown keys are errors (a typo must not silently do nothing). The `go` proxy never reads
//! this file on its fast path; it reads it only to learn `auto_install` when a toolchain is
//! missing, and `toolchain_selection` when a go.mod asks for a release that is not installed
//! exactly.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use goshift_fs::fs;
use serde::{Deserialize, Serialize};

/// The settings of the config file. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Base URL archives are downloaded from (hashes still come from the index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mirror: Option<String>,
    /// The release index (`https://…` or `file://…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index_url: Option<String>,
    /// This machine's environment name for the policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) environment: Option<String>,
    /// Install a missing toolchain when the `go` proxy needs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) auto_install: Option<bool>,
    /// What runs when a go.mod or go.work asks for a release that is not installed: `newest`
    /// (the newest installed release that satisfies it, the default) or `exact` (exactly the
    /// release Go itself would switch to, installed on demand with `auto_install`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) toolchain_selection: Option<ToolchainSelection>,
    /// The policy file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) policy: Option<PathBuf>,
    /// The `[toolchain]` table: where the toolchain commands get releases, and for which
    /// platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) toolchain: Option<ToolchainTable>,
    /// The `[fleet]` table: how `goshift agent` and `goshift fleet` reach etcd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fleet: Option<FleetConfig>,
}

/// The `[toolchain]` table of the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolchainTable {
    /// The release index (`https://…` or `file://…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index_url: Option<String>,
    /// Base URL archives are downloaded from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mirror: Option<String>,
    /// Accept plain `http://` for hosts other than loopback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allow_http: Option<bool>,
    /// The platform whose archives are installed (`linux-arm64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) platform: Option<String>,
}

/// The `[fleet]` table of the config file; flags override each key.
///
/// ```toml
/// [fleet]
/// etcd = ["https://etcd-1:2379", "https://etcd-2:2379"]
/// prefix = "/goshift/"
/// ca = "/etc/goshift/etcd-ca.pem"
/// cert = "/etc/goshift/etcd-client.pem"
/// key = "/etc/goshift/etcd-client-key.pem"
/// user = "agent-web-1"
/// password_file = "/etc/goshift/etcd-password"
/// host = "web-1"
/// labels = { rack = "r12", role = "build" }
/// lease_ttl = "60s"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FleetConfig {
    /// etcd's client URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) etcd: Vec<String>,
    /// The key prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) prefix: Option<String>,
    /// CA certificates (PEM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ca: Option<PathBuf>,
    /// Client certificate (PEM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cert: Option<PathBuf>,
    /// Client key (PEM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<PathBuf>,
    /// etcd user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    /// File holding the etcd user's password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) password_file: Option<PathBuf>,
    /// This host's name in the fleet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) host: Option<String>,
    /// This host's labels.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub(crate) labels: std::collections::BTreeMap<String, String>,
    /// The agent's lease time to live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lease_ttl: Option<String>,
}

/// The `toolchain_selection` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ToolchainSelection {
    /// The newest installed release that satisfies the minimum.
    Newest,
    /// Exactly what Go would run.
    Exact,
}

impl ToolchainSelection {
    /// The resolver's form.
    pub(crate) fn selection(self) -> goshift_project::Selection {
        match self {
            Self::Newest => goshift_project::Selection::NewestInstalled,
            Self::Exact => goshift_project::Selection::Exact,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Exact => "exact",
        }
    }
}

/// A key of the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum ConfigKey {
    /// `mirror`
    Mirror,
    /// `index_url`
    IndexUrl,
    /// `environment`
    Environment,
    /// `auto_install`
    AutoInstall,
    /// `toolchain_selection`
    ToolchainSelection,
    /// `policy`
    Policy,
}

impl ConfigKey {
    /// Every key, in file order.
    pub(crate) const ALL: [Self; 6] = [
        Self::Mirror,
        Self::IndexUrl,
        Self::Environment,
        Self::AutoInstall,
        Self::ToolchainSelection,
        Self::Policy,
    ];

    /// The key as written in the file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Mirror => "mirror",
            Self::IndexUrl => "index_url",
            Self::Environment => "environment",
            Self::AutoInstall => "auto_install",
            Self::ToolchainSelection => "toolchain_selection",
            Self::Policy => "policy",
        }
    }
}

impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Config {
    /// Reads the config file; a missing file is the empty config. An unreadable or invalid
    /// file is an error naming the file and, from the TOML parser, the line.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => return Err(error.into()),
        };
        Self::parse(&text).with_context(|| format!("invalid config file `{}`", path.display()))
    }

    /// Parses config text.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
        if let Some(url) = &config.mirror {
            check_url(ConfigKey::Mirror, url)?;
        }
        if let Some(url) = &config.index_url {
            check_url(ConfigKey::IndexUrl, url)?;
        }
        if let Some(table) = &config.toolchain {
            if let Some(url) = &table.mirror {
                check_url(ConfigKey::Mirror, url)?;
            }
            if let Some(url) = &table.index_url {
                check_url(ConfigKey::IndexUrl, url)?;
            }
        }
        Ok(config)
    }

    /// The value of `key` as text, if set.
    pub(crate) fn get(&self, key: ConfigKey) -> Option<String> {
        match key {
            ConfigKey::Mirror => self.mirror.clone(),
            ConfigKey::IndexUrl => self.index_url.clone(),
            ConfigKey::Environment => self.environment.clone(),
            ConfigKey::AutoInstall => self.auto_install.map(|b| b.to_string()),
            ConfigKey::ToolchainSelection => self.toolchain_selection.map(|s| s.name().to_owned()),
            ConfigKey::Policy => self.policy.as_ref().map(|p| p.display().to_string()),
        }
    }

    /// Sets `key` from text, checking the value; `None` removes the key.
    pub(crate) fn set(&mut self, key: ConfigKey, value: Option<&str>) -> anyhow::Result<()> {
        match key {
            ConfigKey::Mirror | ConfigKey::IndexUrl => {
                if let Some(url) = value {
                    check_url(key, url)?;
                }
                let slot = if key == ConfigKey::Mirror {
                    &mut self.mirror
                } else {
                    &mut self.index_url
                };
                *slot = value.map(ToOwned::to_owned);
            }
            ConfigKey::Environment => {
                if value.is_some_and(str::is_empty) {
                    anyhow::bail!("`environment` cannot be empty");
                }
                self.environment = value.map(ToOwned::to_owned);
            }
            ConfigKey::AutoInstall => {
                self.auto_install = match value {
                    None => None,
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    Some(other) => {
                        anyhow::bail!("`auto_install` is `true` or `false`, not `{other}`")
                    }
                };
            }
            ConfigKey::ToolchainSelection => {
                self.toolchain_selection = match value {
                    None => None,
                    Some("newest") => Some(ToolchainSelection::Newest),
                    Some("exact") => Some(ToolchainSelection::Exact),
                    Some(other) => anyhow::bail!(
                        "`toolchain_selection` is `newest` (the newest installed release that satisfies go.mod) or `exact` (exactly the release Go would run), not `{other}`"
                    ),
                };
            }
            ConfigKey::Policy => {
                if let Some(path) = value
                    && !Path::new(path).is_absolute()
                {
                    anyhow::bail!("`policy` must be an absolute path, not `{path}`");
                }
                self.policy = value.map(PathBuf::from);
            }
        }
        Ok(())
    }

    /// The file's text.
    pub(crate) fn to_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string(self)?)
    }
}

fn check_url(key: ConfigKey, url: &str) -> anyhow::Result<()> {
    let known = ["https://", "http://", "file://"]
        .iter()
        .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len());
    if known {
        Ok(())
    } else {
        anyhow::bail!("`{key}` must be an `https://`, `http://` or `file://` URL, not `{url}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_selection(text: &str) -> bool {
        Config::parse(text).unwrap().toolchain_selection == Some(ToolchainSelection::Exact)
    }

    #[test]
    fn round_trip() {
        let mut config = Config::parse("environment = \"prod\"\nauto_install = true\n").unwrap();
        assert_eq!(config.get(ConfigKey::AutoInstall).as_deref(), Some("true"));
        config
            .set(ConfigKey::Mirror, Some("https://mirror.example/go/"))
            .unwrap();
        let text = config.to_toml().unwrap();
        assert_eq!(Config::parse(&text).unwrap(), config);
        config.set(ConfigKey::Environment, None).unwrap();
        assert_eq!(config.get(ConfigKey::Environment), None);
    }

    #[test]
    fn errors_name_the_problem() {
        let error = Config::parse("environment = \"prod\"\nauto_instal = true\n").unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("auto_instal"), "{text}");
        assert!(Config::parse("auto_install = \"yes\"").is_err());
        assert!(Config::parse("toolchain_selection = \"oldest\"").is_err());
        assert!(config_selection("toolchain_selection = \"exact\"\n"));
        assert!(Config::parse("mirror = \"ftp://x\"").is_err());
        assert!(Config::parse("[toolchain]\nmirror = \"ftp://x\"").is_err());
        assert!(Config::parse("[toolchain]\nplatfrom = \"linux-arm64\"").is_err());
        let table = Config::parse("[toolchain]\nplatform = \"linux-arm64\"\nallow_http = true\n")
            .unwrap()
            .toolchain
            .unwrap();
        assert_eq!(table.platform.as_deref(), Some("linux-arm64"));
        assert_eq!(table.allow_http, Some(true));
        let mut config = Config::default();
        assert!(config.set(ConfigKey::AutoInstall, Some("yes")).is_err());
        assert!(
            config
                .set(ConfigKey::Policy, Some("relative.toml"))
                .is_err()
        );
    }
}
