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
            Err(error)
        }
    }
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
    let extracted = extract_stream(&mut input, dest);
    let structural = match extracted {
        Ok(extractor) => {
            // A clean archive: whatever is left in the stream is trailing data, but it is
            // still read so a mismatch is reported as such.
            let trailing = input.fill_buf().map(|rest| !rest.is_empty());
            match trailing {
                Ok(true) => Err(Failure::Dist(DistError::TrailingData {
                    after: "gzip stream",
                })),
                Ok(false) => Ok(extractor),
                Err(error) => Err(Failure::Archive { error, entry: None }),
            }
        }
        Err(failure) => Err(failure),
    };
    let source = input.into_inner();
    let summary = source.finish(
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

/// Decompresses and extracts; on success the gzip stream has been read to its end.
fn extract_stream<R: BufRead>(input: &mut R, dest: &Path) -> Result<Extractor, Failure> {
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
    let mut archive = tar::Archive::new(EndTracker {
        inner: GzDecoder::new(input),
        ended: false,
    });
    let mut extractor = Extractor::new(dest);
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
            Ok(0) => break,
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
    Ok(extractor)
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
