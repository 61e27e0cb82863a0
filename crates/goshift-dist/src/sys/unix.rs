//! Unix: POSIX permission bits and symlinks.

use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use goshift_fs::fs;

/// The permission bits of `metadata` (`0o7777` mask).
pub(crate) fn mode(metadata: &std::fs::Metadata) -> u32 {
    metadata.permissions().mode() & 0o7777
}

/// Sets the permission bits of an open file.
pub(crate) fn set_file_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// Sets the permission bits of a path (not following a final symlink is not needed: only
/// directories and regular files are passed).
pub(crate) fn set_path_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Creates a symlink at `link` pointing to `target`.
pub(crate) fn symlink(target: &str, link: &Path) -> io::Result<()> {
    fs::os::unix::fs::symlink(target, link)
}
