//! Go's own settings as the `go` command reads them: a non-empty variable of the process
//! environment, else the value in Go's env file (written by `go env -w`; `$GOENV`, by default
//! `$XDG_CONFIG_HOME/go/env` or `~/.config/go/env`, none with `GOENV=off`). The proxy and
//! `current`/`which` read `GOTOOLCHAIN` and `GOWORK` this way, as Go's toolchain switch does.

use std::path::{Path, PathBuf};

use goshift_fs::EnvVars;

/// A setting and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoSetting {
    /// The value.
    pub(crate) value: String,
    /// The env file it came from; `None` for the process environment.
    pub(crate) file: Option<PathBuf>,
}

/// Go's settings for one process: its environment and, read once, its env file.
pub(crate) struct GoEnv<F> {
    var: F,
    file: EnvFile,
}

/// Go's env file, read on first use.
enum EnvFile {
    Unread,
    Missing,
    Read(PathBuf, String),
}

impl<F: Fn(&str) -> Option<String>> GoEnv<F> {
    /// `var` returns a variable of the process environment (`None` when unset or not UTF-8).
    pub(crate) fn new(var: F) -> Self {
        Self {
            var,
            file: EnvFile::Unread,
        }
    }

    /// The setting `key`, as `go` reads it.
    pub(crate) fn get(&mut self, key: &str) -> Option<GoSetting> {
        if let Some(value) = (self.var)(key).filter(|v| !v.is_empty()) {
            return Some(GoSetting { value, file: None });
        }
        if matches!(self.file, EnvFile::Unread) {
            self.file = match self.read_file() {
                Some((path, text)) => EnvFile::Read(path, text),
                None => EnvFile::Missing,
            };
        }
        let EnvFile::Read(path, text) = &self.file else {
            return None;
        };
        let value = file_value(text, key)?;
        Some(GoSetting {
            value: value.to_owned(),
            file: Some(path.clone()),
        })
    }

    /// The env file's path and text; `None` when there is none or it cannot be read (Go
    /// ignores an unreadable file, too).
    fn read_file(&self) -> Option<(PathBuf, String)> {
        let path = match (self.var)(EnvVars::GOENV).filter(|v| !v.is_empty()) {
            Some(off) if off == "off" => return None,
            Some(file) => PathBuf::from(file),
            None => {
                let config = match (self.var)(EnvVars::XDG_CONFIG_HOME).filter(|v| !v.is_empty()) {
                    // Go refuses a relative XDG_CONFIG_HOME, and then reads no file.
                    Some(dir) if !Path::new(&dir).is_absolute() => return None,
                    Some(dir) => PathBuf::from(dir),
                    None => PathBuf::from((self.var)(EnvVars::HOME)?).join(".config"),
                };
                config.join("go").join("env")
            }
        };
        // Bounded like a project file, so `GOENV=/dev/zero` is unreadable, not a hang.
        let text =
            goshift_fs::read_text_limited_if_exists(&path, crate::proxy::MAX_PROJECT_FILE_BYTES)
                .ok()??;
        Some((path, text))
    }
}

/// The value of `key` in an env file, read as Go reads it: `KEY=VALUE` lines whose first byte
/// is an upper-case letter, the value taken as written, the last line for a key winning.
pub(crate) fn file_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split('\n')
        .filter(|line| line.as_bytes().first().is_some_and(u8::is_ascii_uppercase))
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| *name == key)
        .map(|(_, value)| value)
        .next_back()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use goshift_fs::fs;

    use super::*;

    #[test]
    fn env_file_lines() {
        let text =
            "# comment\nGOTOOLCHAIN=go1.21.13+auto\ngoproxy=x\nGOWORK=off\nGOTOOLCHAIN=go1.22.10\n";
        assert_eq!(file_value(text, "GOTOOLCHAIN"), Some("go1.22.10"));
        assert_eq!(file_value(text, "GOWORK"), Some("off"));
        assert_eq!(file_value(text, "GOPROXY"), None);
        assert_eq!(file_value(" GOTOOLCHAIN=local\n", "GOTOOLCHAIN"), None);
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("go").join("env");
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, "GOTOOLCHAIN=go1.22.10\n").unwrap();
        let vars = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let config = dir.path().to_str().unwrap().to_owned();
        let from_file = vars(&[("XDG_CONFIG_HOME", &config)]);
        let mut env = GoEnv::new(|k: &str| from_file.get(k).cloned());
        assert_eq!(
            env.get("GOTOOLCHAIN"),
            Some(GoSetting {
                value: "go1.22.10".to_owned(),
                file: Some(file.clone())
            })
        );
        let set = vars(&[("XDG_CONFIG_HOME", &config), ("GOTOOLCHAIN", "local")]);
        let mut env = GoEnv::new(|k: &str| set.get(k).cloned());
        assert_eq!(env.get("GOTOOLCHAIN").unwrap().value, "local");
        // An empty variable does not hide the file, as in Go.
        let empty = vars(&[("XDG_CONFIG_HOME", &config), ("GOTOOLCHAIN", "")]);
        let mut env = GoEnv::new(|k: &str| empty.get(k).cloned());
        assert_eq!(env.get("GOTOOLCHAIN").unwrap().value, "go1.22.10");
        let off = vars(&[("XDG_CONFIG_HOME", &config), ("GOENV", "off")]);
        let mut env = GoEnv::new(|k: &str| off.get(k).cloned());
        assert_eq!(env.get("GOTOOLCHAIN"), None);
        let named = vars(&[("GOENV", file.to_str().unwrap())]);
        let mut env = GoEnv::new(|k: &str| named.get(k).cloned());
        assert_eq!(env.get("GOTOOLCHAIN").unwrap().value, "go1.22.10");
    }
}
