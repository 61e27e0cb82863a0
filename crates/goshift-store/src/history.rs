//! The history of default switches: numbered JSON lines in `history`.

use std::fmt;
use std::io::Write as _;

use goshift_fs::Access;
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
    /// The `default` link was found switched without its history entry (a process died
    /// between the two), and the entry was added when found.
    Recovered,
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
            Self::Recovered => "recovered",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The largest history goshift reads: about two million switches.
const MAX_HISTORY_BYTES: u64 = 256 << 20;

/// The history's name in the home.
pub(crate) const HISTORY: &str = "history";

/// `text` up to and including its last newline: a torn last line is dropped.
fn complete_lines(text: &str) -> &str {
    text.rfind('\n').map_or("", |end| &text[..=end])
}

impl Store {
    /// The history of switches, oldest first. A torn last line (bytes without their newline,
    /// what a crash or a full disk leaves) is not an entry: it is skipped here and cut off by
    /// the next switch. A bad line before the last is an error.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StoreError> {
        let path = self.history_path();
        let text = self.history_text()?;
        complete_lines(&text)
            .lines()
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

    /// The history file's text; empty when there is none. A link planted for it is an error
    /// naming it, never followed.
    pub fn history_text(&self) -> Result<String, StoreError> {
        let path = self.history_path();
        let bytes = match goshift_fs::read_beneath(self.home(), HISTORY.as_ref(), MAX_HISTORY_BYTES)
        {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
            Err(e) => return Err(e).at("read the history", path),
        };
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Cuts a torn last line off the history (bytes after the last newline). Returns how many
    /// bytes were cut.
    pub(crate) fn cut_torn_history(&self) -> Result<u64, StoreError> {
        let path = self.history_path();
        let text = self.history_text()?;
        let keep = complete_lines(&text).len();
        if keep == text.len() {
            return Ok(0);
        }
        let file = goshift_fs::open_beneath(self.home(), HISTORY.as_ref(), Access::Write)
            .at("open the history", &path)?;
        file.set_len(keep as u64)
            .and_then(|()| file.sync_data())
            .at("repair the history", &path)?;
        Ok((text.len() - keep) as u64)
    }

    /// Appends an entry: one `write` of one line to a file opened for appending, then an
    /// fsync of the file's data. A write that fails or is cut short (a full disk) is
    /// truncated back to where it started, so a failed append leaves the history as it was;
    /// a torn line left by a crash is cut off first. Appending keeps a switch O(1) however
    /// long the history grows.
    pub(crate) fn record(
        &self,
        action: Action,
        from: Option<GoVersion>,
        to: Option<GoVersion>,
    ) -> Result<u64, StoreError> {
        let path = self.history_path();
        self.cut_torn_history()?;
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
        let mut file = goshift_fs::open_beneath(self.home(), HISTORY.as_ref(), Access::Append)
            .at("open the history", &path)?;
        let start = file.metadata().at("inspect the history", &path)?.len();
        if let Err(error) = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
        {
            let _ = file.set_len(start).and_then(|()| file.sync_data());
            return Err(error).at("append to the history", &path);
        }
        Ok(seq)
    }

    /// The number of the last entry, 0 for an empty history. Reads only the last line.
    fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.last_entry()?.map_or(0, |entry| entry.seq))
    }

    /// The last complete entry of the history, if any.
    pub(crate) fn last_entry(&self) -> Result<Option<HistoryEntry>, StoreError> {
        let path = self.history_path();
        let text = self.history_text()?;
        let Some((index, last)) = complete_lines(&text)
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .last()
        else {
            return Ok(None);
        };
        let entry: HistoryEntry =
            serde_json::from_str(last).map_err(|source| StoreError::BadHistory {
                path,
                line: index + 1,
                source,
            })?;
        Ok(Some(entry))
    }

    /// Makes the history account for the `default` link: when the link was switched and the
    /// process died before the history entry was appended (or the append failed), the entry
    /// is added now, as [`Action::Recovered`]. Returns it.
    pub(crate) fn reconcile_history(&self) -> Result<Option<HistoryEntry>, StoreError> {
        let recorded = self.last_entry()?.and_then(|entry| entry.to);
        let current = self.default_version()?;
        if recorded == current {
            return Ok(None);
        }
        let seq = self.record(Action::Recovered, recorded.clone(), current.clone())?;
        Ok(self.last_entry()?.filter(|entry| entry.seq == seq))
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
