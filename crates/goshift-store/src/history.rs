//! The history of default switches: numbered JSON lines in `history`.

use std::fmt;
use std::io::Write as _;

use goshift_fs::fs::os::unix::fs::OpenOptionsExt as _;

use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::layout::Store;
use crate::manifest::Manifest;

/// Why the default changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The first install became the default.
    Install,
    /// `goshift use`.
    Use,
    /// `goshift rollback`.
    Rollback,
    /// A forced uninstall of the default removed it.
    Uninstall,
    /// The first import became the default.
    Import,
}

/// One numbered change of the default.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    /// Its number, from 1.
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Why.
    pub action: Action,
    /// The default before, if any.
    pub from: Option<GoVersion>,
    /// The default after, if any.
    pub to: Option<GoVersion>,
}

/// A change of the default, as returned by [`Store::set_default`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Switch {
    /// The default before.
    pub from: Option<GoVersion>,
    /// The default now.
    pub to: Option<GoVersion>,
    /// The history entry recording it; `None` when nothing changed.
    pub seq: Option<u64>,
}

impl Action {
    /// The action's name (`rollback`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Use => "use",
            Self::Rollback => "rollback",
            Self::Uninstall => "uninstall",
            Self::Import => "import",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Store {
    /// The history of switches, oldest first.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StoreError> {
        let path = self.history_path();
        let text = match goshift_fs::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).at("read the history", path),
        };
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                serde_json::from_str(line).map_err(|source| StoreError::BadHistory {
                    path: path.clone(),
                    line: index + 1,
                    source,
                })
            })
            .collect()
    }

    /// Appends an entry: one `write` of one line to a file opened for appending, then an
    /// fsync of the file's data. A killed process cannot leave half a line (the kernel
    /// finishes a `write` it started), and appending keeps a switch O(1) however long the
    /// history grows.
    pub(crate) fn record(
        &self,
        action: Action,
        from: Option<GoVersion>,
        to: Option<GoVersion>,
    ) -> Result<u64, StoreError> {
        let path = self.history_path();
        let seq = self.last_seq()? + 1;
        let entry = HistoryEntry {
            seq,
            time: Manifest::now(),
            action,
            from,
            to,
        };
        let mut line = serde_json::to_string(&entry).map_err(|source| StoreError::BadHistory {
            path: path.clone(),
            line: 0,
            source,
        })?;
        line.push('\n');
        let mut file = goshift_fs::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .open(&path)
            .at("open the history", &path)?;
        file.write_all(line.as_bytes())
            .at("append to the history", &path)?;
        file.sync_data().at("sync the history", &path)?;
        Ok(seq)
    }

    /// The number of the last entry, 0 for an empty history. Reads only the last line.
    fn last_seq(&self) -> Result<u64, StoreError> {
        let path = self.history_path();
        let text = match goshift_fs::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).at("read the history", path),
        };
        let Some((index, last)) = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .last()
        else {
            return Ok(0);
        };
        let entry: HistoryEntry =
            serde_json::from_str(last).map_err(|source| StoreError::BadHistory {
                path,
                line: index + 1,
                source,
            })?;
        Ok(entry.seq)
    }

    /// The version a rollback goes to: with `to`, the version switch `to` set; without, the
    /// default before the current one (the `from` of the latest switch to it).
    pub fn rollback_target(&self, to: Option<u64>) -> Result<GoVersion, StoreError> {
        let history = self.history()?;
        if let Some(seq) = to {
            let entry = history
                .iter()
                .find(|e| e.seq == seq)
                .ok_or(StoreError::NoSuchSwitch {
                    seq,
                    count: history.len() as u64,
                })?;
            return entry.to.clone().ok_or(StoreError::ClearedSwitch { seq });
        }
        let current = self.default_version()?;
        history
            .iter()
            .rev()
            .find(|e| e.to == current)
            .and_then(|e| e.from.clone())
            .filter(|from| Some(from) != current.as_ref())
            .ok_or(StoreError::NoPrevious)
    }
}
