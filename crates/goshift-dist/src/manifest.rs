//! Manifests: what a GOROOT contains, file by file, with hashes and modes.
//!
//! The same [`ManifestEntry`] list comes out of [`unpack`](crate::unpack) (computed while
//! writing), [`hash_tree`] (computed from disk, for verification) and [`copy_tree`] (computed
//! while importing), so a store can compare them with `==`. Entries are sorted by path;
//! paths are relative and `/`-separated; the root itself is not listed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use goshift_fs::fs;
use goshift_version::GoVersion;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{DistError, sys};

/// Buffer size for hashing and copying files.
pub(crate) const BUFFER_SIZE: usize = 256 * 1024;

/// One file, directory or symlink of a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Path relative to the root, `/`-separated (`bin/go`).
    pub path: String,
    /// What the path is, with its hash or target.
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// The kind of a [`ManifestEntry`], serialised with a `kind` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file.
    File {
        /// Lowercase hex SHA-256 of the contents.
        sha256: String,
        /// Size in bytes.
        size: u64,
        /// Permission bits.
        mode: u32,
    },
    /// A symbolic link (never followed).
    Symlink {
        /// The link's target as stored.
        target: String,
    },
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
    },
}

/// Reads the Go version from the first line of `GOROOT/VERSION` (`go1.22.10`).
pub fn read_version_file(goroot: &Path) -> Result<GoVersion, DistError> {
    let path = goroot.join("VERSION");
    let mut text = String::new();
    fs::File::open(&path)
        .and_then(|file| file.take(4096).read_to_string(&mut text))
        .map_err(|source| DistError::LocalFile {
            path: path.clone(),
            source,
        })?;
    parse_version_text(&text).ok_or_else(|| DistError::BadVersionFile {
        path,
        found: text.lines().next().unwrap_or("").to_owned(),
    })
}

/// The version on the first line of a `VERSION` file's text.
pub(crate) fn parse_version_text(text: &str) -> Option<GoVersion> {
    let first = text.lines().next()?.trim();
    let bare = first.strip_prefix("go")?;
    GoVersion::parse(bare).ok()
}

/// The manifest of the tree at `root`, sorted by path. Symlinks are listed, not followed.
pub fn hash_tree(root: &Path) -> Result<Vec<ManifestEntry>, DistError> {
    let mut entries = Vec::new();
    let mut buffer = vec![0; BUFFER_SIZE];
    walk(root, "", &mut entries, &mut buffer)?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Copies the tree at `src` into the existing directory `dest`, hashing every file as it is
/// copied, and returns the manifest of the copy.
///
/// Symlinks that stay inside `src` are recreated as symlinks. Symlinks that leave it (Debian
/// links `/usr/lib/go-1.x/src` to `/usr/share/go-1.x/src`) are followed and their targets
/// copied as real files and directories, so the copy is self-contained; a dangling one is
/// an error.
pub fn copy_tree(src: &Path, dest: &Path) -> Result<Vec<ManifestEntry>, DistError> {
    let mut copier = Copier {
        entries: Vec::new(),
        buffer: vec![0; BUFFER_SIZE],
        active: Vec::new(),
    };
    copier.copy_dir(src, dest, "")?;
    let mut entries = copier.entries;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// True if a symlink at depth `depth` (the number of directories between the root and the
/// link) with this target resolves inside the root without depending on other links: the
/// target is relative, `..` appears only as leading components, and there are no more of
/// them than `depth`.
pub(crate) fn link_stays_inside(depth: usize, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') {
        return false;
    }
    let mut ups = 0;
    let mut descended = false;
    for component in target.split('/') {
        match component {
            "" | "." => {}
            ".." if !descended => ups += 1,
            ".." => return false,
            _ => descended = true,
        }
    }
    ups <= depth
}

fn relative_join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

fn io_error(error: std::io::Error) -> DistError {
    DistError::Io(error)
}

fn file_name(path: &Path) -> Result<String, DistError> {
    path.file_name()
        .and_then(|name| name.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            io_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("file name of {} is not UTF-8", path.display()),
            ))
        })
}

fn link_target(path: &Path) -> Result<String, DistError> {
    let target = fs::read_link(path).map_err(io_error)?;
    target.to_str().map(str::to_owned).ok_or_else(|| {
        io_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("symlink target of {} is not UTF-8", path.display()),
        ))
    })
}

fn walk(
    dir: &Path,
    prefix: &str,
    entries: &mut Vec<ManifestEntry>,
    buffer: &mut [u8],
) -> Result<(), DistError> {
    for child in fs::read_dir(dir).map_err(io_error)? {
        let child = child.map_err(io_error)?;
        let path = child.path();
        let relative = relative_join(prefix, &file_name(&path)?);
        let metadata = fs::symlink_metadata(&path).map_err(io_error)?;
        let file_type = metadata.file_type();
        if file_type.is_symlink() {
            let target = link_target(&path)?;
            entries.push(ManifestEntry {
                path: relative,
                kind: EntryKind::Symlink { target },
            });
        } else if file_type.is_dir() {
            entries.push(ManifestEntry {
                path: relative.clone(),
                kind: EntryKind::Dir {
                    mode: sys::mode(&metadata),
                },
            });
            walk(&path, &relative, entries, buffer)?;
        } else if file_type.is_file() {
            let mut file = fs::File::open(&path).map_err(io_error)?;
            let (sha256, size) = hash_reader(&mut file, buffer, |_| Ok(()))?;
            entries.push(ManifestEntry {
                path: relative,
                kind: EntryKind::File {
                    sha256,
                    size,
                    mode: sys::mode(&metadata),
                },
            });
        } else {
            return Err(DistError::UnsupportedFileType { path });
        }
    }
    Ok(())
}

/// Reads `reader` to its end, hashing every byte and handing each chunk to `sink`.
fn hash_reader(
    reader: &mut impl Read,
    buffer: &mut [u8],
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(String, u64), DistError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let read = match reader.read(buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(io_error(error)),
        };
        hasher.update(&buffer[..read]);
        sink(&buffer[..read]).map_err(io_error)?;
        size += read as u64;
    }
    Ok((format!("{:x}", hasher.finalize()), size))
}

struct Copier {
    entries: Vec<ManifestEntry>,
    buffer: Vec<u8>,
    /// Canonical paths of the directories being copied, to stop symlink loops.
    active: Vec<PathBuf>,
}

impl Copier {
    fn copy_dir(&mut self, src: &Path, dest: &Path, prefix: &str) -> Result<(), DistError> {
        let canonical = fs::canonicalize(src).map_err(io_error)?;
        if self.active.contains(&canonical) {
            return Err(DistError::SymlinkLoop {
                path: src.to_path_buf(),
            });
        }
        self.active.push(canonical);
        let depth = if prefix.is_empty() {
            0
        } else {
            prefix.split('/').count()
        };
        let mut children: Vec<PathBuf> = fs::read_dir(src)
            .map_err(io_error)?
            .map(|child| child.map(|child| child.path()))
            .collect::<Result<_, _>>()
            .map_err(io_error)?;
        children.sort();
        for path in children {
            let name = file_name(&path)?;
            let relative = relative_join(prefix, &name);
            let target_path = dest.join(&name);
            let metadata = fs::symlink_metadata(&path).map_err(io_error)?;
            if metadata.file_type().is_symlink() {
                let target = link_target(&path)?;
                if link_stays_inside(depth, &target) {
                    sys::symlink(&target, &target_path).map_err(io_error)?;
                    self.entries.push(ManifestEntry {
                        path: relative,
                        kind: EntryKind::Symlink { target },
                    });
                    continue;
                }
                // Leaves the tree: copy what it points to.
                let followed = fs::metadata(&path).map_err(|_| DistError::DanglingLink {
                    path: path.clone(),
                    target: PathBuf::from(&target),
                })?;
                self.copy_entry(&path, &target_path, relative, &followed)?;
            } else {
                self.copy_entry(&path, &target_path, relative, &metadata)?;
            }
        }
        self.active.pop();
        Ok(())
    }

    fn copy_entry(
        &mut self,
        path: &Path,
        target_path: &Path,
        relative: String,
        metadata: &std::fs::Metadata,
    ) -> Result<(), DistError> {
        let mode = sys::mode(metadata) & 0o755;
        if metadata.is_dir() {
            fs::create_dir(target_path).map_err(io_error)?;
            self.copy_dir(path, target_path, &relative)?;
            // Applied after the contents, so a read-only source directory can be filled.
            let mode = mode | 0o700;
            sys::set_path_mode(target_path, mode).map_err(io_error)?;
            self.entries.push(ManifestEntry {
                path: relative,
                kind: EntryKind::Dir { mode },
            });
        } else if metadata.is_file() {
            let mut source = fs::File::open(path).map_err(io_error)?;
            let mut out = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(target_path)
                .map_err(io_error)?;
            let (sha256, size) =
                hash_reader(&mut source, &mut self.buffer, |chunk| out.write_all(chunk))?;
            let mode = mode | 0o400;
            sys::set_file_mode(&out, mode).map_err(io_error)?;
            self.entries.push(ManifestEntry {
                path: relative,
                kind: EntryKind::File { sha256, size, mode },
            });
        } else {
            return Err(DistError::UnsupportedFileType {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_rule() {
        assert!(link_stays_inside(0, "bin/go"));
        assert!(link_stays_inside(0, "./x"));
        assert!(link_stays_inside(1, "../x"));
        assert!(link_stays_inside(2, "../../x/y"));
        assert!(!link_stays_inside(0, "../x"));
        assert!(!link_stays_inside(1, "../../x"));
        assert!(!link_stays_inside(3, "a/../x"));
        assert!(!link_stays_inside(3, "/etc/passwd"));
        assert!(!link_stays_inside(3, ""));
    }

    #[test]
    fn version_text() {
        assert_eq!(
            parse_version_text("go1.22.10\ntime 2024-11-27T00:00:00Z\n")
                .unwrap()
                .to_string(),
            "1.22.10"
        );
        assert_eq!(
            parse_version_text("go1.19.8").unwrap().to_string(),
            "1.19.8"
        );
        assert!(parse_version_text("devel +abc").is_none());
        assert!(parse_version_text("").is_none());
        assert!(parse_version_text("1.22.10").is_none());
    }

    #[test]
    fn manifest_json_shape() {
        let entry = ManifestEntry {
            path: "bin/go".into(),
            kind: EntryKind::File {
                sha256: "ab".into(),
                size: 3,
                mode: 0o755,
            },
        };
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(
            json,
            r#"{"path":"bin/go","kind":"file","sha256":"ab","size":3,"mode":493}"#
        );
        let back: ManifestEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back, entry);
        let link: ManifestEntry =
            serde_json::from_str(r#"{"path":"a","kind":"symlink","target":"b"}"#).unwrap();
        assert_eq!(link.kind, EntryKind::Symlink { target: "b".into() });
    }
}
