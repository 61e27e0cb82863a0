//! Inspection of Go binaries: what built them, from what, and whether that is known to be
//! vulnerable.
//!
//! [`read_build_info`] reads the few pieces of a file it needs, finds Go's build-info blob in
//! its ELF, Mach-O (thin or fat), PE, XCOFF or Plan 9 a.out container — Go 1.18+ inline strings or the Go 1.13–1.17
//! pointer form, 32- or 64-bit, either byte order — parses the modinfo text into a
//! [`BuildInfo`] and reads the Go build ID. Nothing here panics on hostile input: a file that is not a Go binary gives
//! [`ReadError::UnknownFormat`] or [`ReadError::NoBuildInfo`], a damaged one a
//! [`ReadError::Malformed`] naming the broken part.
//!
//! [`vuln`] matches build info against the Go vulnerability database (OSV), [`sbom`] writes
//! CycloneDX documents, and [`scan`] walks directory trees in parallel.
//!
//! ```no_run
//! let info = goshift_binary::read_build_info("/usr/local/bin/app")?;
//! println!("{} built with {}", info.modinfo.path, info.go_version);
//! # Ok::<(), goshift_binary::Error>(())
//! ```
#![warn(missing_docs)]

mod blob;
mod buildid;
mod container;
mod modinfo;
pub mod quote;
pub mod sbom;
pub mod scan;
pub mod symbols;
pub mod vuln;

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::os::unix::io::{AsRawFd as _, FromRawFd as _};
use std::path::{Path, PathBuf};

use crate::container::{Fetched, View};
use serde::Serialize;

pub use blob::{MAGIC, find_magic, strip_sentinels};
pub use container::ExecutableFormat;
pub use modinfo::{BuildSetting, ModInfo, ModinfoError, Module};

/// Everything read from a Go binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildInfo {
    /// The Go version exactly as embedded, such as `go1.22.10` or `go1.21.3 X:loopvar`.
    pub go_version: String,
    /// The container the blob was found in.
    pub format: ExecutableFormat,
    /// Main package path, main module, dependencies and build settings.
    #[serde(flatten)]
    pub modinfo: ModInfo,
    /// The Go build ID, if the binary carries one.
    pub build_id: Option<String>,
}

impl BuildInfo {
    /// What `go version -m FILE` prints for this binary, with `name` as the file name.
    pub fn go_version_m(&self, name: &str) -> String {
        let mut out = format!("{name}: {}\n", self.go_version);
        let text = self.modinfo.render();
        if let Some(body) = text.strip_suffix('\n') {
            out.push('\t');
            out.push_str(&body.replace('\n', "\n\t"));
            out.push('\n');
        }
        out
    }

    /// The value of a build setting, such as `GOOS`.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.modinfo.setting(key)
    }

    /// The main module, if there is one.
    pub fn main_module(&self) -> Option<&Module> {
        self.modinfo.main.as_ref()
    }

    /// `vcs.modified=true`: built from a tree with uncommitted changes.
    pub fn vcs_modified(&self) -> bool {
        self.setting("vcs.modified") == Some("true")
    }
}

/// Why bytes could not be read as a Go binary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not an ELF, Mach-O, PE, XCOFF or Plan 9 a.out file.
    #[error("not a Go binary: not an ELF, Mach-O, PE, XCOFF or Plan 9 executable")]
    UnknownFormat,
    /// A container this crate reads, but without Go build information.
    #[error("not a Go binary: no Go build information (or built before Go 1.13)")]
    NoBuildInfo,
    /// The container's headers are damaged or point outside the file.
    #[error("malformed {format} file: {what}")]
    Malformed {
        /// The container.
        format: ExecutableFormat,
        /// The part that is broken.
        what: &'static str,
    },
    /// The blob is there but its modinfo text is invalid.
    #[error(transparent)]
    Modinfo(#[from] ModinfoError),
}

impl ReadError {
    /// Returns true if and only if the input is simply not a Go binary (as opposed to a
    /// damaged one).
    pub fn is_not_go(&self) -> bool {
        matches!(self, Self::UnknownFormat | Self::NoBuildInfo)
    }
}

/// Why a file could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening, mapping or reading the file failed.
    #[error("failed to read `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a regular file.
    #[error("`{}` is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The contents are not a readable Go binary. The message names the file only: the
    /// reason is the source, so an error chain says it once.
    #[error("failed to read Go build information from `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: ReadError,
    },
}

impl Error {
    /// Returns true if and only if the file is readable but simply not a Go binary.
    pub fn is_not_go(&self) -> bool {
        matches!(self, Self::Read { source, .. } if source.is_not_go())
    }
}

/// Reads the build information of the Go binary at `path`.
///
/// Only the pieces the readers ask for are read, with one `pread` each (three for a Go ELF
/// binary); a file that needs many pieces or a very large one is memory-mapped instead.
pub fn read_build_info(path: impl AsRef<Path>) -> Result<BuildInfo, Error> {
    read_build_info_with(path.as_ref(), Kind::Unknown, &Fetching::DEFAULT)
}

/// Reads the build information of a file a directory walk found to be a regular file; with
/// `dir`, the directory it is in (an open descriptor), the file is opened relative to it.
pub(crate) fn read_walked_file(
    path: &Path,
    dir: Option<&std::fs::File>,
) -> Result<BuildInfo, Error> {
    read_build_info_with(path, Kind::Regular(dir), &Fetching::DEFAULT)
}

/// How [`read_build_info`] reads a file.
#[derive(Debug)]
struct Fetching {
    /// Bytes read from the start before parsing: the headers of every container, and the
    /// notes of an ELF file.
    head: u64,
    /// The least a missed range is widened to, so neighbouring reads come along.
    chunk: u64,
    /// Parse attempts before mapping the file instead.
    rounds: usize,
    /// The largest range worth copying out of the page cache; beyond it the file is mapped.
    window: u64,
}

impl Fetching {
    const DEFAULT: Self = Self {
        head: 4 * 1024,
        chunk: 4 * 1024,
        rounds: 8,
        window: 16 * 1024 * 1024,
    };
}

/// Bytes that tell every container apart (see [`container::Image::looks_executable`]).
const MAGIC_LEN: usize = 4;

/// Whether the caller already knows the path is a regular file.
#[derive(Debug, Clone, Copy)]
enum Kind<'a> {
    /// Any path: checked with `fstat` before reading.
    Unknown,
    /// A directory walk saw a regular file: no `fstat`, the length is learned from the reads
    /// (a tree of thousands of files saves a system call per file). Files are opened
    /// non-blocking, so one swapped for a FIFO meanwhile fails instead of hanging. With the
    /// directory's descriptor, the file is opened relative to it: the kernel resolves one name
    /// instead of every component of the path.
    Regular(Option<&'a std::fs::File>),
}

fn read_build_info_with(
    path: &Path,
    kind: Kind<'_>,
    fetching: &Fetching,
) -> Result<BuildInfo, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let (file, len) = match kind {
        Kind::Unknown => {
            let file = open(path).map_err(io)?;
            let metadata = file.metadata().map_err(io)?;
            if !metadata.is_file() {
                return Err(Error::NotAFile {
                    path: path.to_owned(),
                });
            }
            (file, Some(metadata.len()))
        }
        Kind::Regular(None) => (open(path).map_err(io)?, None),
        Kind::Regular(Some(dir)) => {
            let name = path.file_name().unwrap_or(path.as_os_str());
            (open_at(dir, name).map_err(io)?, None)
        }
    };
    read_opened(&file, len, path, fetching)
}

/// Reads the build information of the open `file` at `path`, whose length is `len` if known
/// (it is checked again whenever a read ends short of what the parse needs).
fn read_opened(
    file: &std::fs::File,
    mut len: Option<u64>,
    path: &Path,
    fetching: &Fetching,
) -> Result<BuildInfo, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let head_size = len.map_or(fetching.head, |len| fetching.head.min(len));
    let head = read_once(file, 0, head_size).map_err(io)?;
    if len.is_none() && !head.is_empty() && head.len() < MAGIC_LEN {
        // Too short to tell a format by (a tiny file, or a short read): the length decides.
        len = Some(file.metadata().map_err(io)?.len());
    }
    // Most files in a tree are not executables: one small read settles it.
    if head.is_empty()
        || ((head.len() >= MAGIC_LEN || len == Some(head.len() as u64))
            && !container::Image::looks_executable(&head))
    {
        container::view::recycle(head);
        return Err(read_error(ReadError::UnknownFormat));
    }
    let mut fetched = Fetched::empty(len.unwrap_or(u64::MAX));
    fetched.add(0, head);
    for _ in 0..fetching.rounds {
        let result = build_info(fetched.view());
        let Some((offset, size)) = fetched.take_missed() else {
            return result.map_err(read_error);
        };
        if size > fetching.window {
            break;
        }
        let wanted = size
            .max(fetching.chunk)
            .min(len.map_or(u64::MAX, |len| len - offset));
        // A read that ends short but covers the miss is taken as it is: reading on only to
        // confirm where the file ends would cost a system call per file. One that does not
        // cover the miss means the file ends inside it (or the file system returned less, or
        // the file shrank since its length was taken): `fstat` says which, and the next round
        // reads on if the file is longer. A file cut short under the reader so fails as
        // truncated instead of being mapped past its end.
        let bytes = read_once(file, offset, wanted).map_err(io)?;
        if (bytes.len() as u64) < size {
            let end = file.metadata().map_err(io)?.len();
            len = Some(end);
            fetched.set_len(end);
        }
        fetched.add(offset, bytes);
    }
    let len = match len {
        Some(len) => len,
        None => file.metadata().map_err(io)?.len(),
    };
    let map = map_file(file, len).map_err(io)?;
    read_build_info_from_bytes(&map).map_err(read_error)
}

/// Opens `path` for reading without blocking: opening a FIFO would otherwise wait for a writer.
fn open(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Opens `name` in the directory `dir` for reading, without blocking, as [`open`] does.
#[expect(unsafe_code, reason = "std has no openat")]
fn open_at(dir: &std::fs::File, name: &OsStr) -> std::io::Result<std::fs::File> {
    let name = CString::new(name.as_bytes()).map_err(std::io::Error::other)?;
    loop {
        // SAFETY: `dir` is an open descriptor and `name` a NUL-terminated string; both outlive
        // the call.
        let fd = unsafe {
            libc::openat(
                dir.as_raw_fd(),
                name.as_ptr(),
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: `fd` was just opened here and nothing else owns it.
            return Ok(unsafe { std::fs::File::from_raw_fd(fd) });
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Up to `size` bytes at `offset`, with one `pread` (repeated only when interrupted): fewer
/// when the file ends first, or when the file system returns less.
fn read_once(file: &std::fs::File, offset: u64, size: u64) -> std::io::Result<Vec<u8>> {
    let size = usize::try_from(size).map_err(std::io::Error::other)?;
    let mut bytes = container::view::spare_buffer();
    bytes.resize(size, 0);
    loop {
        match file.read_at(&mut bytes, offset) {
            Ok(read) => {
                bytes.truncate(read);
                return Ok(bytes);
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Reads build information from a whole file's bytes.
pub fn read_build_info_from_bytes(data: &[u8]) -> Result<BuildInfo, ReadError> {
    build_info(Fetched::whole(data).view())
}

fn build_info(data: View<'_>) -> Result<BuildInfo, ReadError> {
    let image = container::Image::parse(data)?;
    let raw = blob::read(&image)?;
    let go_version = String::from_utf8_lossy(raw.go_version).into_owned();
    let modinfo = ModInfo::parse(&String::from_utf8_lossy(raw.modinfo))?;
    Ok(BuildInfo {
        go_version,
        format: image.format,
        modinfo,
        build_id: buildid::read(&image),
    })
}

#[expect(
    unsafe_code,
    reason = "memory-mapping is the bounded, lazy way to read large binaries"
)]
fn map_file(file: &std::fs::File, len: u64) -> std::io::Result<memmap2::Mmap> {
    let len = usize::try_from(len).map_err(std::io::Error::other)?;
    // SAFETY: the map is read-only and private to this process. Another process truncating
    // the file while it is mapped would make reads fault; binaries under inspection are not
    // being rewritten in place (a release is replaced by rename, which keeps this inode).
    // The length comes from the `fstat` already done, so mapping costs no second one.
    unsafe { memmap2::MmapOptions::new().len(len).map(file) }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use goshift_testkit::gobinary::{Container, GoBinary};

    use super::*;

    const MODINFO: &str = "path\texample.com/app\nmod\texample.com/app\tv1.2.3\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ndep\tgolang.org/x/text\tv0.14.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nbuild\t-compiler=gc\nbuild\tvcs.revision=c7ea7c975ab86e174b22b585c63b43bcc86e8772\n";

    /// Reads `bytes` from a file with `fetching`, and from memory; both must agree.
    fn read_both_ways(bytes: &[u8], fetching: &Fetching) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app");
        std::fs::write(&path, bytes).unwrap();
        let parent = std::fs::File::open(dir.path()).unwrap();
        for kind in [
            Kind::Unknown,
            Kind::Regular(None),
            Kind::Regular(Some(&parent)),
        ] {
            let from_file =
                read_build_info_with(&path, kind, fetching).map_err(|error| match error {
                    Error::Read { path, source } => format!("{}: {source}", path.display()),
                    other => other.to_string(),
                });
            let from_bytes =
                read_build_info_from_bytes(bytes).map_err(|e| format!("{}: {e}", path.display()));
            assert_eq!(from_file, from_bytes, "{kind:?} {fetching:?}");
        }
    }

    #[test]
    fn a_walked_file_that_is_not_regular_fails_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let parent = std::fs::File::open(dir.path()).unwrap();
        for in_dir in [None, Some(&parent)] {
            let error = read_walked_file(&fifo, in_dir).unwrap_err();
            assert!(matches!(error, Error::Io { .. }), "{error:?}");
        }
        let error = read_walked_file(dir.path(), None).unwrap_err();
        assert!(matches!(error, Error::Io { .. }), "{error:?}");
        assert!(matches!(
            read_build_info(&fifo).unwrap_err(),
            Error::NotAFile { .. }
        ));
    }

    #[test]
    fn reading_piece_by_piece_agrees_with_reading_everything() {
        // A tiny head and no widening: nearly every field is a miss, fetched on its own.
        let piecemeal = Fetching {
            head: 8,
            chunk: 1,
            rounds: 100_000,
            window: u64::MAX,
        };
        // No rounds at all: always the mapped file.
        let mapped = Fetching {
            rounds: 0,
            ..Fetching::DEFAULT
        };
        for binary in GoBinary::variants("go1.21.2", MODINFO) {
            let bytes = binary.build();
            read_both_ways(&bytes, &piecemeal);
            read_both_ways(&bytes, &mapped);
            read_both_ways(&bytes, &Fetching::DEFAULT);
            // Cut short anywhere, the answers (errors included) still agree.
            for cut in (0..bytes.len()).step_by(97) {
                read_both_ways(&bytes[..cut], &piecemeal);
            }
        }
    }

    #[test]
    fn a_file_shorter_than_its_length_said_fails_cleanly() {
        // The length was taken, then the file was cut short: reads end early, the length is
        // taken again, and the answer is a damaged file, not a read past the end of a map.
        let bytes = GoBinary::new(Container::Elf, "go1.22.10", MODINFO).build();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let claimed = Some(bytes.len() as u64 * 4);
        for fetching in [
            &Fetching::DEFAULT,
            &Fetching {
                rounds: 1,
                ..Fetching::DEFAULT
            },
        ] {
            let error = read_opened(&file, claimed, &path, fetching).unwrap_err();
            let expected = read_build_info_from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
            assert!(
                matches!(&error, Error::Read { source, .. } if *source == expected),
                "{error:?}"
            );
        }
    }

    #[test]
    fn a_large_modinfo_takes_several_reads_and_reads_the_same() {
        let mut modinfo = String::from(MODINFO);
        for index in 0..2_000 {
            writeln!(
                modinfo,
                "dep\texample.com/dependency{index}\tv1.0.{index}\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
            )
            .unwrap();
        }
        for container in [Container::Elf, Container::MachO, Container::Pe] {
            let binary = GoBinary::new(container, "go1.22.10", &modinfo);
            let bytes = binary.build();
            assert!(bytes.len() as u64 > 4 * Fetching::DEFAULT.chunk);
            read_both_ways(&bytes, &Fetching::DEFAULT);
            let info = read_build_info_from_bytes(&bytes).unwrap();
            assert_eq!(info.modinfo.deps.len(), 2_001);
        }
    }
}
