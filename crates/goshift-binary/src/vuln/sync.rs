//! Syncing the database from `https://vuln.go.dev`, a mirror or a local copy.
//!
//! Every file is fetched (`.json.gz` first over HTTP, either form from a directory),
//! validated, and written uncompressed into a fresh directory beside the cache; the cache
//! link is then switched to it in one rename, so readers see the old database or the new
//! one, never a mix.

use std::ffi::OsStr;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use goshift_fs::Dir;

use super::VulnError;
use super::osv::{DbIndex, Entry, ModuleIndex};

/// Where a database comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An HTTP(S) base URL, such as `https://vuln.go.dev`.
    Url(String),
    /// A directory in the official layout (`file://` URLs become this).
    Dir(PathBuf),
}

impl Source {
    /// Parses `--from`: `https://…`, `http://…`, `file://…` or a directory path.
    pub fn parse(text: &str) -> Result<Self, VulnError> {
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Self::Dir(PathBuf::from(path)));
        }
        if text.starts_with("https://") || text.starts_with("http://") {
            return Ok(Self::Url(text.trim_end_matches('/').to_owned()));
        }
        if text.contains("://") {
            return Err(VulnError::BadSource(text.to_owned()));
        }
        Ok(Self::Dir(PathBuf::from(text)))
    }

    fn name(&self) -> String {
        match self {
            Self::Url(url) => url.clone(),
            Self::Dir(path) => path.display().to_string(),
        }
    }
}

/// The outcome of a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The database's modification time (RFC 3339).
    pub modified: String,
    /// Advisories now in the cache.
    pub advisories: usize,
    /// True when the cache already held this database and nothing was downloaded.
    pub up_to_date: bool,
}

/// Downloads parallelism for HTTP sources.
const HTTP_WORKERS: usize = 8;

/// Syncs the database from `source` into `cache` (a link to the current copy).
///
/// `progress` is called with (done, total) as advisories arrive.
pub fn sync(
    source: &Source,
    cache: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<SyncReport, VulnError> {
    let fetcher = Fetcher::new(source);
    let db_bytes = fetcher.fetch("index/db")?;
    let db: DbIndex = parse("index/db.json", &db_bytes)?;
    if let Ok(current) = super::Database::open(cache)
        && current.modified() == db.modified
    {
        return Ok(SyncReport {
            modified: db.modified,
            advisories: current.advisory_count(),
            up_to_date: true,
        });
    }
    let modules_bytes = fetcher.fetch("index/modules")?;
    let modules: Vec<ModuleIndex> = parse("index/modules.json", &modules_bytes)?;
    let mut ids: Vec<String> = modules
        .iter()
        .flat_map(|m| m.vulns.iter().map(|v| v.id.clone()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if let Some(bad) = ids.iter().find(|id| !is_advisory_id(id)) {
        return Err(VulnError::Mismatch {
            name: "index/modules.json".to_owned(),
            id: bad.clone(),
        });
    }

    // The directory is opened once; the copy is made and published through its handle, so
    // a directory swapped for a link meanwhile leads nowhere.
    let parent_path = cache.parent().unwrap_or(Path::new("."));
    let parent = Dir::open_private(parent_path).map_err(io(parent_path))?;
    let staging = goshift_fs::temp_name(&cache.with_extension("d"));
    let staging_name = staging.file_name().unwrap_or_default();
    let result = (|| {
        let copy = parent.create_dir(staging_name).map_err(io(&staging))?;
        let index = copy.create_dir("index").map_err(io(&staging))?;
        let advisories = copy.create_dir("ID").map_err(io(&staging))?;
        download_entries(&fetcher, &ids, &advisories, progress)?;
        for (name, bytes) in [("db.json", &db_bytes), ("modules.json", &modules_bytes)] {
            write_new(&index, name, bytes)?;
        }
        publish(&parent, staging_name, cache)
    })();
    if result.is_err() {
        let _ = parent.remove_tree(staging_name);
    }
    result?;
    Ok(SyncReport {
        modified: db.modified,
        advisories: ids.len(),
        up_to_date: false,
    })
}

/// `GO-YYYY-NNNN`: the only IDs that may become file names.
pub(crate) fn is_advisory_id(id: &str) -> bool {
    let mut parts = id.split('-');
    parts.next() == Some("GO")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| !n.is_empty() && n.len() <= 8 && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none()
}

fn download_entries(
    fetcher: &Fetcher<'_>,
    ids: &[String],
    advisories: &Dir,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(), VulnError> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failure: Mutex<Option<VulnError>> = Mutex::new(None);
    let workers = match fetcher.source {
        Source::Url(_) => HTTP_WORKERS,
        Source::Dir(_) => 2,
    };
    std::thread::scope(|scope| {
        for _ in 0..workers.min(ids.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(index) else { break };
                    if let Err(error) = fetch_entry(fetcher, id, advisories) {
                        let mut slot = failure
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        slot.get_or_insert(error);
                        // Stop the other workers.
                        next.store(ids.len(), Ordering::Relaxed);
                        break;
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, ids.len());
                }
            });
        }
    });
    match failure
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn fetch_entry(fetcher: &Fetcher<'_>, id: &str, advisories: &Dir) -> Result<(), VulnError> {
    let name = format!("ID/{id}.json");
    let bytes = fetcher.fetch(&format!("ID/{id}"))?;
    let entry: Entry = parse(&name, &bytes)?;
    if entry.id != id {
        return Err(VulnError::Mismatch { name, id: entry.id });
    }
    write_new(advisories, &format!("{id}.json"), &bytes)
}

/// Writes the new file `name` in `dir` (never through a link, never over a file).
fn write_new(dir: &Dir, name: &str, bytes: &[u8]) -> Result<(), VulnError> {
    dir.create_file(name, 0o644)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(io(&dir.join(name)))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VulnError {
    let path = path.to_owned();
    move |source| VulnError::Io { path, source }
}

/// Points `cache` at `staging` and removes the previous copy.
fn publish(parent: &Dir, staging: &OsStr, cache: &Path) -> Result<(), VulnError> {
    let name = cache.file_name().unwrap_or_default();
    let previous = parent.read_link(name).ok();
    if previous.is_none() && parent.entry(name).map_err(io(cache))?.is_some() {
        // A plain directory from an older layout: move it aside so the link can take its name.
        let aside = goshift_fs::temp_name(Path::new(name)).into_os_string();
        parent.rename(name, parent, &aside).map_err(io(cache))?;
        let _ = parent.remove_tree(&aside);
    }
    parent
        .replace_symlink(Path::new(staging), name)
        .map_err(io(cache))?;
    // The copy it replaces is one of this directory's entries (goshift makes no other).
    if let Some(previous) = previous
        && previous.as_os_str() != staging
        && previous.parent() == Some(Path::new(""))
    {
        let _ = parent.remove_tree(previous);
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<T, VulnError> {
    serde_json::from_slice(bytes).map_err(|source| VulnError::Json {
        name: name.to_owned(),
        source,
    })
}

/// Largest file accepted from a source (the whole official index is a few MiB).
const MAX_FILE: u64 = 256 * 1024 * 1024;

struct Fetcher<'a> {
    source: &'a Source,
    agent: ureq::Agent,
}

impl<'a> Fetcher<'a> {
    fn new(source: &'a Source) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_mins(1)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Self { source, agent }
    }

    /// The uncompressed contents of `stem.json` (or `stem.json.gz`).
    fn fetch(&self, stem: &str) -> Result<Vec<u8>, VulnError> {
        let found = match self.source {
            Source::Url(base) => {
                let gz = self.get(&format!("{base}/{stem}.json.gz"))?;
                match gz {
                    Some(bytes) => Some(gunzip(stem, &bytes)?),
                    None => self.get(&format!("{base}/{stem}.json"))?,
                }
            }
            Source::Dir(dir) => {
                let plain = dir.join(format!("{stem}.json"));
                let gz = dir.join(format!("{stem}.json.gz"));
                if plain.is_file() {
                    Some(read_bounded(&plain)?)
                } else if gz.is_file() {
                    Some(gunzip(stem, &read_bounded(&gz)?)?)
                } else {
                    None
                }
            }
        };
        found.ok_or_else(|| VulnError::NotFound {
            source_name: self.source.name(),
            name: format!("{stem}.json"),
        })
    }

    /// GET a URL; `None` for 404.
    fn get(&self, url: &str) -> Result<Option<Vec<u8>>, VulnError> {
        let http = |source: ureq::Error| VulnError::Http {
            url: url.to_owned(),
            source: Box::new(source),
        };
        let response = self.agent.get(url).call().map_err(http)?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            return Err(http(ureq::Error::StatusCode(status)));
        }
        let bytes = response
            .into_body()
            .with_config()
            .limit(MAX_FILE)
            .read_to_vec()
            .map_err(http)?;
        Ok(Some(bytes))
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, VulnError> {
    let io = |source| VulnError::Io {
        path: path.to_owned(),
        source,
    };
    let file = goshift_fs::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

fn gunzip(stem: &str, bytes: &[u8]) -> Result<Vec<u8>, VulnError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_FILE)
        .read_to_end(&mut out)
        .map_err(|source| VulnError::Io {
            path: PathBuf::from(format!("{stem}.json.gz")),
            source,
        })?;
    Ok(out)
}
