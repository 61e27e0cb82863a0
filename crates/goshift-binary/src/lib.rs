//! Inspection of Go binaries: what built them, from what, and whether that is known to be
//! vulnerable.
//!
//! [`read_build_info`] maps a file, finds Go's build-info blob in its ELF, Mach-O (thin or
//! fat) or PE container — Go 1.18+ inline strings or the Go 1.13–1.17 pointer form, 32- or
//! 64-bit, either byte order — parses the modinfo text into a [`BuildInfo`] and reads the
//! Go build ID. Nothing here panics on hostile input: a file that is not a Go binary gives
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
pub mod vuln;

use std::io::Read as _;
use std::path::{Path, PathBuf};

use goshift_fs::fs;
use serde::Serialize;

pub use blob::{MAGIC, RawBuildInfo, find_magic, strip_sentinels};
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
    /// Not an ELF, Mach-O or PE file.
    #[error("not a Go binary: not an ELF, Mach-O or PE executable")]
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
    /// The contents are not a readable Go binary.
    #[error("`{}`: {source}", path.display())]
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
/// The file is memory-mapped and only the pages holding headers, the blob and the build-ID
/// note are touched.
pub fn read_build_info(path: impl AsRef<Path>) -> Result<BuildInfo, Error> {
    let path = path.as_ref();
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(Error::NotAFile {
            path: path.to_owned(),
        });
    }
    // Look at the magic before mapping, so the common case of a non-executable file costs
    // one small read.
    let mut head = [0u8; 4];
    let read = file.read(&mut head).map_err(io)?;
    if !container::Image::looks_executable(&head[..read]) {
        return Err(Error::Read {
            path: path.to_owned(),
            source: ReadError::UnknownFormat,
        });
    }
    let map = map_file(file.file(), metadata.len()).map_err(io)?;
    read_build_info_from_bytes(&map).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads build information from a whole file's bytes.
pub fn read_build_info_from_bytes(data: &[u8]) -> Result<BuildInfo, ReadError> {
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

/// Finds the raw build-info strings in a whole file's bytes without parsing the modinfo.
pub fn find_raw_build_info(data: &[u8]) -> Result<RawBuildInfo<'_>, ReadError> {
    let image = container::Image::parse(data)?;
    blob::read(&image)
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
