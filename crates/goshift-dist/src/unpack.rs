//! One streaming pass from archive bytes to a verified GOROOT on disk.
//!
//! The pipeline is `reader → SHA-256 (+ cache copy) → buffer → gzip → tar → files`. The hash
//! covers every byte of the input, including anything after the archive, because the stream
//! is always drained. Errors are reported in order of what the user can act on: a broken
//! download first, then a size or checksum mismatch (the bytes are not the archive the index
//! describes), then what is wrong inside the archive.
//!
//! Ownership: `unpack` writes only inside `dest` and `<cache>.partial`/`cache`. On error it
//! removes its `.partial` file; removing the half-written `dest` is the caller's job (the
//! store stages into a scratch directory and deletes it).

mod extract;
mod source;

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use flate2::bufread::GzDecoder;
use goshift_fs::fs;
use goshift_version::GoVersion;

use crate::manifest::{BUFFER_SIZE, parse_version_text};
use crate::{DistError, ManifestEntry};
use extract::{Extractor, Failure};
use source::Source;

/// What the archive must turn out to be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Trusted lowercase hex SHA-256 of the archive; `None` only when the caller explicitly
    /// allowed an unverified install.
    pub sha256: Option<String>,
    /// Trusted size of the archive in bytes.
    pub size: Option<u64>,
    /// The Go version `go/VERSION` must name.
    pub version: Option<GoVersion>,
}

/// The result of a successful [`unpack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// SHA-256 of the whole archive as read.
    pub archive_sha256: String,
    /// Size of the archive in bytes.
    pub archive_size: u64,
    /// The version from `go/VERSION`.
    pub version: GoVersion,
    /// Every file, directory and symlink written under `dest`, sorted by path; equal to
    /// [`hash_tree`](crate::hash_tree) of `dest` afterwards.
    pub entries: Vec<ManifestEntry>,
}

/// Verifies and extracts a Go `.tar.gz` distribution in one streaming pass.
///
/// Entries under the archive's single top-level `go/` directory are written under `dest`
/// (an existing, empty directory) with `go/` stripped. File modes lose group and world
/// write, setuid, setgid and sticky bits. When `cache` is given, the raw bytes are copied to
/// `<cache>.partial` on the way and renamed to `cache` only once the archive verified and
/// extracted completely. `progress` receives the number of archive bytes read so far.
///
/// Refused, with an error naming the entry: absolute paths, `..` components, symlinks or
/// hard links leaving the root, devices and FIFOs, entries outside `go/`, duplicate paths.
/// Also refused: truncated or corrupt gzip/tar data, data after the archive, a size or
/// SHA-256 differing from `expected`, a `go/VERSION` naming another version.
pub fn unpack(
    reader: impl Read,
    expected: &Expected,
    dest: &Path,
    cache: Option<&Path>,
    progress: &mut dyn FnMut(u64),
) -> Result<Unpacked, DistError> {
    let partial = cache.map(partial_path);
    let result = unpack_inner(reader, expected, dest, partial.as_deref(), progress);
    match (result, cache, partial) {
        (Ok(unpacked), Some(cache), Some(partial)) => {
            if let Err(error) = fs::rename(&partial, cache) {
                let _ = fs::remove_file(&partial);
                return Err(DistError::Io(error));
            }
            Ok(unpacked)
        }
        (Ok(unpacked), _, _) => Ok(unpacked),
        (Err(error), _, partial) => {
            if let Some(partial) = partial {
                // Best effort: the file may never have been created.
                let _ = fs::remove_file(&partial);
            }
            Err(full_disk(error, expected))
        }
    }
}

/// `error`, or when it is a full disk (or a file size limit) met while writing the tree,
/// [`DistError::DiskFull`] saying how much room the tree needs. Only an archive whose bytes
/// matched gets here with an I/O error: a mismatch is reported first.
fn full_disk(error: DistError, expected: &Expected) -> DistError {
    match error {
        DistError::Io(source)
            if matches!(
                source.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge
            ) =>
        {
            DistError::DiskFull {
                archive: expected.size,
                needed: expected
                    .size
                    .map(|size| size.saturating_mul(EXPECTED_TREE_RATIO)),
                source,
            }
        }
        other => other,
    }
}

/// What a Go archive's tree takes on disk, as a multiple of the archive's size: they inflate
/// about 3.5 times; the rest is a margin for the file system's own overhead.
const EXPECTED_TREE_RATIO: u64 = 4;

/// Fails with [`DistError::NoSpace`] when the file system of `dir` has less free space than
/// the tree of an archive of the trusted size is expected to take (plus the archive's copy,
/// when `copied`). Called before the download starts: a disk that fills half-way through is
/// slower to find and says less. Without a trusted size there is nothing to check.
pub fn check_space(expected: &Expected, dir: &Path, copied: bool) -> Result<(), DistError> {
    let Some(archive) = expected.size else {
        return Ok(());
    };
    let needed = archive
        .saturating_mul(EXPECTED_TREE_RATIO)
        .saturating_add(if copied { archive } else { 0 });
    let available = goshift_fs::available_bytes(dir).map_err(DistError::Io)?;
    if available < needed {
        return Err(DistError::NoSpace {
            dir: dir.to_owned(),
            archive,
            copied,
            needed,
            available,
        });
    }
    Ok(())
}

/// `<cache>.partial`, next to the cache file.
fn partial_path(cache: &Path) -> PathBuf {
    let mut name = cache.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn unpack_inner(
    reader: impl Read,
    expected: &Expected,
    dest: &Path,
    partial: Option<&Path>,
    progress: &mut dyn FnMut(u64),
) -> Result<Unpacked, DistError> {
    let cache_file = partial
        .map(|path| {
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
        })
        .transpose()
        .map_err(DistError::Io)?;
    let source = Source::new(reader, expected.size, cache_file, progress);
    let mut input = BufReader::with_capacity(BUFFER_SIZE, source);
    let inflate_limit = expected
        .size
        .map(|size| size.max(MIN_INFLATE_BASE).saturating_mul(MAX_INFLATE_RATIO));
    let structural = extract_stream(&mut input, dest, inflate_limit);
    let source = input.into_inner();
    let (summary, cache_error) = source.finish(
        expected.sha256.is_some() || expected.size.is_some(),
        structural.is_err(),
    )?;
    if let Some(expected_size) = expected.size
        && summary.size != expected_size
    {
        return Err(DistError::SizeMismatch {
            expected: expected_size,
            actual: summary.size,
        });
    }
    if let Some(expected_sha) = &expected.sha256
        && !expected_sha.eq_ignore_ascii_case(&summary.sha256)
    {
        return Err(DistError::ChecksumMismatch {
            expected: expected_sha.to_ascii_lowercase(),
            actual: summary.sha256,
        });
    }
    // The bytes are the archive the index describes: now a failure to keep its copy (a full
    // disk) or to extract it is what went wrong.
    if let Some(error) = cache_error {
        return Err(DistError::Io(error));
    }
    let extractor = structural.map_err(Failure::into_error)?;
    let (version_text, entries) = extractor.finish()?;
    let version = version_text
        .as_deref()
        .map(|text| {
            parse_version_text(text).ok_or_else(|| DistError::BadVersionFile {
                path: PathBuf::from("go/VERSION"),
                found: text.lines().next().unwrap_or("").to_owned(),
            })
        })
        .transpose()?
        .ok_or(DistError::MissingVersionFile)?;
    if let Some(expected_version) = &expected.version
        && &version != expected_version
    {
        return Err(DistError::VersionMismatch {
            expected: Box::new(expected_version.clone()),
            actual: Box::new(version),
        });
    }
    Ok(Unpacked {
        archive_sha256: summary.sha256,
        archive_size: summary.size,
        version,
        entries,
    })
}

/// Decompresses on this thread and extracts on a second one (which hands small files to a
/// third, see [`extract`]); on success the gzip stream has been read to its end. The split
/// keeps the cores busy: inflating is the expensive half of reading, creating and writing
/// files (kernel time, mostly) the expensive half of extracting.
fn extract_stream<R: BufRead>(
    input: &mut R,
    dest: &Path,
    inflate_limit: Option<u64>,
) -> Result<Extractor, Failure> {
    let head = input
        .fill_buf()
        .map_err(|error| Failure::Archive { error, entry: None })?;
    if head.starts_with(b"PK\x03\x04") {
        return Err(Failure::Dist(DistError::ZipUnsupported {
            name: String::from("the archive"),
        }));
    }
    if head.is_empty() {
        return Err(Failure::Dist(DistError::Truncated { entry: None }));
    }
    if !head.starts_with(&[0x1f, 0x8b]) {
        return Err(Failure::Dist(DistError::Corrupt {
            entry: None,
            detail: String::from("it is not gzip data"),
        }));
    }
    let (chunks, receiver) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
    let (spares, spare_receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || extract_chunks(ChunkReader::new(receiver, spares), dest));
        let inflated = inflate(input, &chunks, &spare_receiver, inflate_limit);
        drop(chunks);
        let (extractor, extracted) = match writer.join() {
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match (inflated, extracted) {
            // The decoder's own error explains why the extractor saw the stream fail.
            (Err(Failure::Archive { error, entry: None }), _) => Err(Failure::Archive {
                error,
                entry: extractor.last_entry(),
            }),
            (Err(failure), _) | (Ok(()), Err(failure)) => Err(failure),
            (Ok(()), Ok(())) => Ok(extractor),
        }
    })
}

/// The most a trusted archive size may inflate by before extraction stops (Go archives inflate
/// about 3.5 times).
const MAX_INFLATE_RATIO: u64 = 8;
/// The smallest size the ratio applies to, so tiny archives are not held to a tiny bound.
const MIN_INFLATE_BASE: u64 = 1 << 20;

/// How many decompressed chunks may wait for the extracting thread.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Size of a decompressed chunk. Every chunk can cost a thread wake-up, which on a loaded
/// machine means waiting for a time slice, so chunks are large: a go.dev archive inflates
/// to about 110 of them.
const CHUNK_SIZE: usize = 2 << 20;

/// A decompressed chunk (a buffer and how much of it is filled), or the decoder's failure.
enum Chunk {
    Data(Vec<u8>, usize),
    Failed,
}

/// Inflates `input` into chunks for the extracting thread. Stops quietly when the
/// extractor has hung up (it reports its own error).
fn inflate<R: BufRead>(
    input: &mut R,
    chunks: &mpsc::SyncSender<Chunk>,
    spares: &mpsc::Receiver<Vec<u8>>,
    limit: Option<u64>,
) -> Result<(), Failure> {
    let mut decoder = GzDecoder::new(&mut *input);
    let mut total: u64 = 0;
    loop {
        // Recycled buffers keep their length, so they are never zeroed again.
        let mut buffer = spares.try_recv().unwrap_or_else(|_| vec![0; CHUNK_SIZE]);
        let mut filled = 0;
        while filled < buffer.len() {
            match decoder.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    let _ = chunks.send(Chunk::Failed);
                    return Err(Failure::Archive { error, entry: None });
                }
            }
        }
        if filled == 0 {
            break;
        }
        total += filled as u64;
        if let Some(limit) = limit
            && total > limit
        {
            let _ = chunks.send(Chunk::Failed);
            return Err(Failure::Dist(DistError::Inflated {
                limit,
                ratio: MAX_INFLATE_RATIO,
            }));
        }
        if chunks.send(Chunk::Data(buffer, filled)).is_err() {
            return Ok(());
        }
    }
    drop(decoder);
    // One gzip member makes a Go archive; anything after it is not part of the archive.
    match input.fill_buf() {
        Ok([]) => Ok(()),
        Ok(_) => Err(Failure::Dist(DistError::TrailingData {
            after: "gzip stream",
        })),
        Err(error) => Err(Failure::Archive { error, entry: None }),
    }
}

/// Runs on the extracting thread: the tar layer over the decompressed chunks.
fn extract_chunks(reader: ChunkReader, dest: &Path) -> (Extractor, Result<(), Failure>) {
    let mut extractor = Extractor::new(dest);
    let result = extract_tar(reader, &mut extractor);
    (extractor, result)
}

fn extract_tar(reader: ChunkReader, extractor: &mut Extractor) -> Result<(), Failure> {
    let mut archive = tar::Archive::new(EndTracker {
        inner: reader,
        ended: false,
    });
    let entries = archive
        .entries()
        .map_err(|error| Failure::Archive { error, entry: None })?;
    for entry in entries {
        let entry = entry.map_err(|error| Failure::Archive {
            error,
            entry: extractor.last_entry(),
        })?;
        extractor.add(entry)?;
    }
    let mut rest = archive.into_inner();
    if rest.ended {
        // The tar reader stopped at the end of the data, not at an end-of-archive block.
        return Err(Failure::Dist(DistError::Truncated {
            entry: extractor.last_entry(),
        }));
    }
    // After the end-of-archive block only zero padding may follow (tar pads to records).
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match rest.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(read) => {
                if buffer[..read].iter().any(|&byte| byte != 0) {
                    return Err(Failure::Dist(DistError::TrailingData {
                        after: "tar archive",
                    }));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(Failure::Archive { error, entry: None }),
        }
    }
}

/// Reads the chunks sent by [`inflate`], returning each emptied buffer for reuse.
struct ChunkReader {
    chunks: mpsc::Receiver<Chunk>,
    spares: mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    filled: usize,
    position: usize,
}

impl ChunkReader {
    fn new(chunks: mpsc::Receiver<Chunk>, spares: mpsc::Sender<Vec<u8>>) -> Self {
        Self {
            chunks,
            spares,
            current: Vec::new(),
            filled: 0,
            position: 0,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position == self.filled {
            match self.chunks.recv() {
                Ok(Chunk::Data(buffer, filled)) => {
                    let empty = std::mem::replace(&mut self.current, buffer);
                    if !empty.is_empty() {
                        // The inflating thread may be gone already; then the buffer is freed.
                        let _ = self.spares.send(empty);
                    }
                    self.filled = filled;
                    self.position = 0;
                }
                Ok(Chunk::Failed) => {
                    return Err(io::Error::other("the compressed stream failed"));
                }
                // The sender is dropped after the last chunk.
                Err(mpsc::RecvError) => return Ok(0),
            }
        }
        let available = &self.current[self.position..self.filled];
        let count = available.len().min(buf.len());
        buf[..count].copy_from_slice(&available[..count]);
        self.position += count;
        Ok(count)
    }
}

/// Remembers whether the decompressed stream reached its end.
struct EndTracker<R> {
    inner: R,
    ended: bool,
}

impl<R: Read> Read for EndTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        if read == 0 && !buf.is_empty() {
            self.ended = true;
        }
        Ok(read)
    }
}
