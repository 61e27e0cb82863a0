//! The tar side of the pipeline: validates each entry and writes it under the destination.
//!
//! Every path is checked before anything touches the disk: it must be relative, free of
//! `..`, under `go/`, not below a symlink from the archive and not a repeat. Files are
//! created with `O_EXCL`, so even a check missed here could not write through an existing
//! link.
//!
//! Creating thousands of small files is mostly kernel time (inode and directory-entry
//! allocation), so small files are handed, with their bytes, to a second writing thread while
//! this one goes on parsing, creating directories and streaming large files. Both threads only
//! ever create new files in directories that already exist, and the helper is joined before
//! the tree is finished or thrown away.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use goshift_fs::fs;
use sha2::{Digest, Sha256};
use tar::EntryType;

use crate::error::UnsafeReason;
use crate::manifest::{BUFFER_SIZE, link_stays_inside};
use crate::{DistError, EntryKind, ManifestEntry, sys};

/// The largest `go/VERSION` kept in memory.
const VERSION_LIMIT: usize = 4096;
/// Files up to this size go to the writing thread; larger ones stream on the tar thread.
const HANDOFF_LIMIT: u64 = 256 * 1024;
/// Files waiting for the writing thread (at most this many times [`HANDOFF_LIMIT`] in memory).
const HANDOFF_QUEUE: usize = 64;

/// An extraction failure, before it is ranked against the stream's own failures.
pub(super) enum Failure {
    /// Reading or decoding the archive failed.
    Archive {
        error: io::Error,
        entry: Option<String>,
    },
    /// A definite error (unsafe entry, file system, …).
    Dist(DistError),
}

impl Failure {
    pub(super) fn into_error(self) -> DistError {
        match self {
            Self::Archive { error, entry } if error.kind() == io::ErrorKind::UnexpectedEof => {
                DistError::Truncated { entry }
            }
            Self::Archive { error, entry } => DistError::Corrupt {
                entry,
                detail: error.to_string(),
            },
            Self::Dist(error) => error,
        }
    }
}

impl From<DistError> for Failure {
    fn from(error: DistError) -> Self {
        Self::Dist(error)
    }
}

/// What a path already written is.
#[derive(Clone, Copy)]
enum Seen {
    /// Index into `dirs`.
    Dir(usize),
    /// Index into `entries`.
    File(usize),
    Symlink,
}

/// Writes validated entries under `dest` and records their manifest.
pub(super) struct Extractor {
    dest: PathBuf,
    buffer: Vec<u8>,
    seen: HashMap<String, Seen>,
    entries: Vec<ManifestEntry>,
    /// Directories and the modes applied once their contents are written.
    dirs: Vec<(String, u32)>,
    version_text: Option<Vec<u8>>,
    last_entry: Option<String>,
    /// The second writing thread, started with the first small file (`None` if it could not
    /// be started: then everything is written here).
    writer: Option<Writer>,
    writer_started: bool,
}

impl Extractor {
    pub(super) fn new(dest: &Path) -> Self {
        Self {
            dest: dest.to_path_buf(),
            buffer: vec![0; BUFFER_SIZE],
            seen: HashMap::new(),
            entries: Vec::new(),
            dirs: Vec::new(),
            version_text: None,
            last_entry: None,
            writer: None,
            writer_started: false,
        }
    }

    /// The path of the entry read last, for error messages.
    pub(super) fn last_entry(&self) -> Option<String> {
        self.last_entry.clone()
    }

    /// Validates and writes one entry.
    pub(super) fn add<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), Failure> {
        let raw = entry.path_bytes().into_owned();
        let display = String::from_utf8_lossy(&raw).into_owned();
        self.last_entry = Some(display.clone());
        let refuse = |reason| {
            Failure::Dist(DistError::UnsafeEntry {
                entry: display.clone(),
                reason,
            })
        };
        let path = std::str::from_utf8(&raw).map_err(|_| refuse(UnsafeReason::NotUtf8))?;
        let relative = archive_relative(path).map_err(&refuse)?;
        let entry_type = entry.header().entry_type();
        let mode = entry.header().mode().map_err(|error| Failure::Archive {
            error,
            entry: Some(display.clone()),
        })?;
        let Some(relative) = relative else {
            // `go/` itself: `dest` already exists.
            return match entry_type {
                EntryType::Directory => Ok(()),
                _ => Err(refuse(UnsafeReason::OutsideRoot)),
            };
        };
        match entry_type {
            EntryType::Directory => self.directory(relative, mode, &display),
            EntryType::Regular | EntryType::Continuous => {
                self.file(&mut entry, relative, mode, &display)
            }
            EntryType::Symlink => {
                let target = link_name(&entry, &display)?;
                if !link_stays_inside(relative.matches('/').count(), &target) {
                    return Err(refuse(UnsafeReason::SymlinkEscapes(target)));
                }
                let path = self.prepare(&relative, &display)?;
                sys::symlink(&target, &path).map_err(DistError::Io)?;
                self.seen.insert(relative.clone(), Seen::Symlink);
                self.entries.push(ManifestEntry {
                    path: relative,
                    kind: EntryKind::Symlink { target },
                });
                Ok(())
            }
            EntryType::Link => {
                let target = link_name(&entry, &display)?;
                let bad = || refuse(UnsafeReason::BadHardLink(target.clone()));
                let original = archive_relative(&target).ok().flatten().ok_or_else(bad)?;
                let Some(Seen::File(index)) = self.seen.get(&original).copied() else {
                    return Err(bad());
                };
                // The original may still be queued for the writing thread.
                if let Some(writer) = &mut self.writer {
                    writer.flush(&mut self.entries).map_err(DistError::Io)?;
                }
                let path = self.prepare(&relative, &display)?;
                fs::hard_link(self.dest.join(&original), &path).map_err(DistError::Io)?;
                let kind = self.entries[index].kind.clone();
                self.seen
                    .insert(relative.clone(), Seen::File(self.entries.len()));
                self.entries.push(ManifestEntry {
                    path: relative,
                    kind,
                });
                Ok(())
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                Err(refuse(UnsafeReason::Special))
            }
            // Archive-wide pax metadata (e.g. from `git archive`) carries no file.
            EntryType::XGlobalHeader => Ok(()),
            other => Err(refuse(UnsafeReason::UnsupportedType(char::from(
                other.as_byte(),
            )))),
        }
    }

    /// Applies directory modes and returns the `VERSION` text and the sorted manifest.
    pub(super) fn finish(mut self) -> Result<(Option<String>, Vec<ManifestEntry>), DistError> {
        if let Some(mut writer) = self.writer.take() {
            writer.finish(&mut self.entries).map_err(DistError::Io)?;
        }
        for (relative, mode) in &self.dirs {
            sys::set_path_mode(&self.dest.join(relative), *mode).map_err(DistError::Io)?;
        }
        self.entries
            .extend(self.dirs.into_iter().map(|(path, mode)| ManifestEntry {
                path,
                kind: EntryKind::Dir { mode },
            }));
        self.entries.sort_by(|a, b| a.path.cmp(&b.path));
        let version = self
            .version_text
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        Ok((version, self.entries))
    }

    fn directory(&mut self, relative: String, mode: u32, display: &str) -> Result<(), Failure> {
        let mode = (mode & 0o755) | 0o700;
        match self.seen.get(&relative) {
            Some(Seen::Dir(index)) => {
                self.dirs[*index].1 = mode;
                Ok(())
            }
            Some(_) => Err(Failure::Dist(DistError::UnsafeEntry {
                entry: display.to_owned(),
                reason: UnsafeReason::Duplicate,
            })),
            None => {
                let path = self.prepare(&relative, display)?;
                fs::create_dir(&path).map_err(DistError::Io)?;
                self.seen
                    .insert(relative.clone(), Seen::Dir(self.dirs.len()));
                self.dirs.push((relative, mode));
                Ok(())
            }
        }
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        relative: String,
        mode: u32,
        display: &str,
    ) -> Result<(), Failure> {
        let path = self.prepare(&relative, display)?;
        if entry.size() <= HANDOFF_LIMIT {
            return self.hand_off(entry, path, relative, mode, display);
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(DistError::Io)?;
        let keep = relative == "VERSION";
        let mut kept = Vec::new();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            let read = match entry.read(&mut self.buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(Failure::Archive {
                        error,
                        entry: Some(display.to_owned()),
                    });
                }
            };
            let chunk = &self.buffer[..read];
            hasher.update(chunk);
            file.write_all(chunk).map_err(DistError::Io)?;
            if keep && kept.len() < VERSION_LIMIT {
                kept.extend_from_slice(&chunk[..chunk.len().min(VERSION_LIMIT - kept.len())]);
            }
            size += read as u64;
        }
        let mode = (mode & 0o755) | 0o400;
        sys::set_file_mode(&file, mode).map_err(DistError::Io)?;
        if keep {
            self.version_text = Some(kept);
        }
        self.seen
            .insert(relative.clone(), Seen::File(self.entries.len()));
        self.entries.push(ManifestEntry {
            path: relative,
            kind: EntryKind::File {
                sha256: format!("{:x}", hasher.finalize()),
                size,
                mode,
            },
        });
        Ok(())
    }

    /// Reads a small file's bytes and queues them for the writing thread (started with the
    /// first small file); its hash lands in the manifest when the thread reports back.
    fn hand_off<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: PathBuf,
        relative: String,
        mode: u32,
        display: &str,
    ) -> Result<(), Failure> {
        let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut data)
            .map_err(|error| Failure::Archive {
                error,
                entry: Some(display.to_owned()),
            })?;
        let mode = (mode & 0o755) | 0o400;
        if relative == "VERSION" {
            self.version_text = Some(data[..data.len().min(VERSION_LIMIT)].to_vec());
        }
        let index = self.entries.len();
        self.seen.insert(relative.clone(), Seen::File(index));
        self.entries.push(ManifestEntry {
            path: relative,
            kind: EntryKind::File {
                sha256: String::new(),
                size: data.len() as u64,
                mode,
            },
        });
        if !self.writer_started {
            self.writer_started = true;
            self.writer = Writer::spawn().ok();
        }
        if let Some(writer) = &mut self.writer {
            let job = Job {
                path,
                data,
                mode,
                index,
            };
            writer.send(job, &mut self.entries).map_err(DistError::Io)?;
        } else {
            // No second thread could be started: write it here.
            let hash = write_small_file(&path, &data, mode).map_err(DistError::Io)?;
            if let EntryKind::File { sha256, .. } = &mut self.entries[index].kind {
                *sha256 = hash;
            }
        }
        Ok(())
    }

    /// Checks that `relative` is new and not below an archive symlink, creates missing
    /// parent directories, and returns the path to write.
    fn prepare(&mut self, relative: &str, display: &str) -> Result<PathBuf, Failure> {
        let refuse = |reason| {
            Failure::Dist(DistError::UnsafeEntry {
                entry: display.to_owned(),
                reason,
            })
        };
        for (slash, _) in relative.match_indices('/') {
            let ancestor = &relative[..slash];
            match self.seen.get(ancestor) {
                Some(Seen::Dir(_)) => {}
                Some(Seen::Symlink) => return Err(refuse(UnsafeReason::ThroughSymlink)),
                Some(Seen::File(_)) => return Err(refuse(UnsafeReason::ParentIsFile)),
                None => {
                    fs::create_dir(self.dest.join(ancestor)).map_err(DistError::Io)?;
                    self.seen
                        .insert(ancestor.to_owned(), Seen::Dir(self.dirs.len()));
                    self.dirs.push((ancestor.to_owned(), 0o755));
                }
            }
        }
        if self.seen.contains_key(relative) {
            return Err(refuse(UnsafeReason::Duplicate));
        }
        Ok(self.dest.join(relative))
    }
}

/// A small file for the writing thread.
struct Job {
    path: PathBuf,
    data: Vec<u8>,
    mode: u32,
    /// Its entry in the manifest, whose hash is filled in when it is written.
    index: usize,
}

enum Message {
    Write(Job),
    /// Answered once every job sent before it is written.
    Flush(mpsc::Sender<()>),
}

/// The second writing thread and the way back for its results.
struct Writer {
    jobs: Option<mpsc::SyncSender<Message>>,
    done: mpsc::Receiver<io::Result<(usize, String)>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Jobs sent whose result has not been collected.
    pending: usize,
}

impl Writer {
    fn spawn() -> io::Result<Self> {
        let (jobs, receiver) = mpsc::sync_channel(HANDOFF_QUEUE);
        let (results, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("unpack-writer".to_owned())
            .spawn(move || write_jobs(&receiver, &results))?;
        Ok(Self {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            pending: 0,
        })
    }

    /// Queues a job, first collecting what is done (and any failure).
    fn send(&mut self, job: Job, entries: &mut [ManifestEntry]) -> io::Result<()> {
        self.collect(entries, false)?;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(Message::Write(job)).is_ok());
        if sent {
            self.pending += 1;
            Ok(())
        } else {
            // The thread stopped at a failure: wait for and report it.
            self.finish(entries)?;
            Err(io::Error::other("the writing thread stopped"))
        }
    }

    /// Waits until every job sent so far is written.
    fn flush(&mut self, entries: &mut [ManifestEntry]) -> io::Result<()> {
        let (ack, acked) = mpsc::channel();
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(Message::Flush(ack)).is_ok());
        if !sent || acked.recv().is_err() {
            self.finish(entries)?;
            return Err(io::Error::other("the writing thread stopped"));
        }
        self.collect(entries, false)
    }

    /// Stops the thread after the queued jobs and collects every result.
    fn finish(&mut self, entries: &mut [ManifestEntry]) -> io::Result<()> {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .map_err(|_| io::Error::other("the writing thread panicked"))?;
        }
        self.collect(entries, true)?;
        if self.pending > 0 {
            return Err(io::Error::other("the writing thread left files unwritten"));
        }
        Ok(())
    }

    /// Applies the results received so far; the first failure is returned.
    fn collect(&mut self, entries: &mut [ManifestEntry], all: bool) -> io::Result<()> {
        loop {
            let result = if all {
                match self.done.recv() {
                    Ok(result) => result,
                    Err(_) => return Ok(()),
                }
            } else {
                match self.done.try_recv() {
                    Ok(result) => result,
                    Err(_) => return Ok(()),
                }
            };
            let (index, hash) = result?;
            self.pending -= 1;
            if let Some(EntryKind::File { sha256, .. }) =
                entries.get_mut(index).map(|e| &mut e.kind)
            {
                *sha256 = hash;
            }
        }
    }
}

impl Drop for Writer {
    /// An extraction that fails still waits for the thread, so nothing is written into a
    /// staging tree after it has been removed.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs on the writing thread until the queue closes or a write fails.
fn write_jobs(
    receiver: &mpsc::Receiver<Message>,
    results: &mpsc::Sender<io::Result<(usize, String)>>,
) {
    for message in receiver {
        match message {
            Message::Write(job) => {
                let result =
                    write_small_file(&job.path, &job.data, job.mode).map(|hash| (job.index, hash));
                let failed = result.is_err();
                if results.send(result).is_err() || failed {
                    return;
                }
            }
            Message::Flush(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

/// Creates `path` (which must not exist), writes `data`, sets `mode` and returns the SHA-256.
fn write_small_file(path: &Path, data: &[u8], mode: u32) -> io::Result<String> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(data)?;
    sys::set_file_mode(&file, mode)?;
    Ok(format!("{:x}", Sha256::digest(data)))
}

/// The path of an archive entry relative to `go/`: `None` for `go/` itself. `.` and empty
/// components are ignored.
fn archive_relative(path: &str) -> Result<Option<String>, UnsafeReason> {
    if path.starts_with('/') {
        return Err(UnsafeReason::AbsolutePath);
    }
    let mut parts = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(UnsafeReason::ParentComponent),
            other => parts.push(other),
        }
    }
    match parts.split_first() {
        Some((&"go", [])) => Ok(None),
        Some((&"go", rest)) => Ok(Some(rest.join("/"))),
        _ => Err(UnsafeReason::OutsideRoot),
    }
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>, display: &str) -> Result<String, Failure> {
    let corrupt = |detail: &str| {
        Failure::Dist(DistError::Corrupt {
            entry: Some(display.to_owned()),
            detail: detail.to_owned(),
        })
    };
    let name = entry
        .link_name_bytes()
        .ok_or_else(|| corrupt("a link entry has no target"))?;
    String::from_utf8(name.into_owned()).map_err(|_| {
        Failure::Dist(DistError::UnsafeEntry {
            entry: display.to_owned(),
            reason: UnsafeReason::NotUtf8,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            archive_relative("go/bin/go").unwrap().as_deref(),
            Some("bin/go")
        );
        assert_eq!(archive_relative("go/").unwrap(), None);
        assert_eq!(
            archive_relative("./go//src/./x").unwrap().as_deref(),
            Some("src/x")
        );
        assert_eq!(archive_relative("/go/x"), Err(UnsafeReason::AbsolutePath));
        assert_eq!(
            archive_relative("go/../x"),
            Err(UnsafeReason::ParentComponent)
        );
        assert_eq!(archive_relative("gox/a"), Err(UnsafeReason::OutsideRoot));
        assert_eq!(archive_relative("x"), Err(UnsafeReason::OutsideRoot));
        assert_eq!(archive_relative(""), Err(UnsafeReason::OutsideRoot));
    }
}
