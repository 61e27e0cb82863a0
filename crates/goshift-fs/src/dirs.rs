//! goshift's directories, resolved from an environment the caller passes in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::EnvVars;

/// The directories goshift uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// `$GOSHIFT_HOME`: the store, audit log, lock (default `$XDG_DATA_HOME/goshift`).
    pub home: PathBuf,
    /// The config directory (default `$XDG_CONFIG_HOME/goshift`).
    pub config: PathBuf,
    /// `$GOSHIFT_CACHE_DIR`: what can be fetched again, such as verified archives (default
    /// `$XDG_CACHE_HOME/goshift`, else `~/.cache/goshift`, else `$GOSHIFT_HOME/cache`).
    pub cache: PathBuf,
}

/// The home directory could not be determined.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DirsError {
    /// Neither `GOSHIFT_HOME`, `XDG_DATA_HOME` nor `HOME` is set.
    #[error("cannot find a home for goshift: set GOSHIFT_HOME (or HOME)")]
    NoHome,
    /// A variable holds a relative path.
    #[error("{var} must be an absolute path, not `{}`", value.display())]
    Relative {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: PathBuf,
    },
}

impl Dirs {
    /// Resolves the directories from `env` (a lookup such as `|k| std::env::var_os(k)`).
    pub fn from_env(env: impl Fn(&str) -> Option<OsString>) -> Result<Self, DirsError> {
        let absolute = |var: &'static str| -> Result<Option<PathBuf>, DirsError> {
            match env(var).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(value) => {
                    let path = PathBuf::from(value);
                    if path.is_absolute() {
                        Ok(Some(path))
                    } else {
                        Err(DirsError::Relative { var, value: path })
                    }
                }
            }
        };
        let user_home = absolute(EnvVars::HOME)?;
        let home = match absolute(EnvVars::GOSHIFT_HOME)? {
            Some(home) => home,
            None => match absolute(EnvVars::XDG_DATA_HOME)? {
                Some(data) => data.join("goshift"),
                None => user_home
                    .as_deref()
                    .map(|h| h.join(".local/share/goshift"))
                    .ok_or(DirsError::NoHome)?,
            },
        };
        let config = match absolute(EnvVars::XDG_CONFIG_HOME)? {
            Some(config) => config.join("goshift"),
            None => user_home
                .as_deref()
                .map_or_else(|| home.join("config"), |h| h.join(".config/goshift")),
        };
        let cache = match absolute(EnvVars::GOSHIFT_CACHE_DIR)? {
            Some(cache) => cache,
            None => match absolute(EnvVars::XDG_CACHE_HOME)? {
                Some(cache) => cache.join("goshift"),
                None => user_home
                    .as_deref()
                    .map_or_else(|| home.join("cache"), |h| h.join(".cache/goshift")),
            },
        };
        Ok(Self {
            home,
            config,
            cache,
        })
    }

    /// The config file: `<config>/config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.config.join("config.toml")
    }

    /// A path inside the home directory.
    pub fn in_home(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.home.join(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn dirs(vars: &[(&str, &str)]) -> Result<Dirs, DirsError> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        Dirs::from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn precedence() {
        let d = dirs(&[("HOME", "/h")]).unwrap();
        assert_eq!(d.home, Path::new("/h/.local/share/goshift"));
        assert_eq!(d.config, Path::new("/h/.config/goshift"));
        assert_eq!(d.cache, Path::new("/h/.cache/goshift"));
        let d = dirs(&[
            ("HOME", "/h"),
            ("XDG_DATA_HOME", "/d"),
            ("XDG_CONFIG_HOME", "/c"),
            ("XDG_CACHE_HOME", "/k"),
        ])
        .unwrap();
        assert_eq!(d.home, Path::new("/d/goshift"));
        assert_eq!(d.config, Path::new("/c/goshift"));
        assert_eq!(d.cache, Path::new("/k/goshift"));
        let d = dirs(&[
            ("HOME", "/h"),
            ("XDG_CACHE_HOME", "/k"),
            ("GOSHIFT_CACHE_DIR", "/own"),
        ])
        .unwrap();
        assert_eq!(d.cache, Path::new("/own"));
        assert!(matches!(
            dirs(&[("HOME", "/h"), ("GOSHIFT_CACHE_DIR", "rel")]),
            Err(DirsError::Relative { .. })
        ));
        let d = dirs(&[("HOME", "/h"), ("GOSHIFT_HOME", "/g")]).unwrap();
        assert_eq!(d.home, Path::new("/g"));
        assert!(matches!(dirs(&[]), Err(DirsError::NoHome)));
        assert!(matches!(
            dirs(&[("GOSHIFT_HOME", "rel")]),
            Err(DirsError::Relative { .. })
        ));
    }
}
