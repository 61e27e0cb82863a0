//! The raw side of the pipeline: reads the archive, hashes and counts every byte, copies it
//! to the cache file, and remembers why reading stopped.

use std::io::{self, Read, Write};

use goshift_fs::fs;
use sha2::{Digest, Sha256};

use crate::DistError;
use crate::manifest::BUFFER_SIZE;

/// The hashing, counting reader at the bottom of the pipeline.
pub(super) struct Source<'p, R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    limit: Option<u64>,
    cache: Option<fs::File>,
    cache_error: Option<io::Error>,
    failure: Option<SourceFailure>,
    progress: &'p mut dyn FnMut(u64),
}

/// Why the source stopped delivering bytes. The decoders above only see a generic I/O
/// error; the real cause is kept here.
enum SourceFailure {
    Read(io::Error),
    Oversize,
}

/// Hash and size of everything read.
pub(super) struct Summary {
    pub(super) sha256: String,
    pub(super) size: u64,
}

impl<'p, R: Read> Source<'p, R> {
    pub(super) fn new(
        inner: R,
        limit: Option<u64>,
        cache: Option<fs::File>,
        progress: &'p mut dyn FnMut(u64),
    ) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
            limit,
            cache,
            cache_error: None,
            failure: None,
            progress,
        }
    }

    /// Finishes reading. When extraction failed and `drain` is set, reads the rest of the
    /// stream (at most one byte past the expected size) so the hash and size describe the
    /// whole input. Reports a read failure or an oversized stream before anything else; a
    /// failure to write the cache copy (a full disk) is returned beside the summary, for the
    /// caller to report after the size and hash checks.
    pub(super) fn finish(
        mut self,
        drain: bool,
        failed: bool,
    ) -> Result<(Summary, Option<io::Error>), DistError> {
        if failed && drain && self.failure.is_none() {
            let mut buffer = vec![0; BUFFER_SIZE];
            while let Ok(read) = self.read(&mut buffer) {
                if read == 0 {
                    break;
                }
            }
        }
        match self.failure.take() {
            Some(SourceFailure::Read(source)) => Err(DistError::Read {
                bytes: self.size,
                source,
            }),
            Some(SourceFailure::Oversize) => Err(DistError::SizeMismatch {
                expected: self.limit.unwrap_or_default(),
                actual: self.size,
            }),
            None => Ok((
                Summary {
                    sha256: format!("{:x}", self.hasher.finalize()),
                    size: self.size,
                },
                self.cache_error,
            )),
        }
    }

    fn fail(&mut self, failure: SourceFailure, kind: io::ErrorKind) -> io::Error {
        self.failure = Some(failure);
        io::Error::new(kind, "the archive stream failed")
    }
}

impl<R: Read> Read for Source<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("the archive stream failed earlier"));
        }
        let read = loop {
            match self.inner.read(buf) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    // Keep the kind so a timeout is not mistaken for corrupt data above.
                    let kind = error.kind();
                    return Err(self.fail(SourceFailure::Read(error), kind));
                }
            }
        };
        if read == 0 {
            return Ok(0);
        }
        let chunk = &buf[..read];
        self.hasher.update(chunk);
        self.size += read as u64;
        if self.limit.is_some_and(|limit| self.size > limit) {
            return Err(self.fail(SourceFailure::Oversize, io::ErrorKind::InvalidData));
        }
        if let Some(cache) = &mut self.cache
            && let Err(error) = cache.write_all(chunk)
        {
            // Keep hashing: whether these are the right bytes matters more than the copy.
            self.cache = None;
            self.cache_error = Some(error);
        }
        (self.progress)(self.size);
        Ok(read)
    }
}
