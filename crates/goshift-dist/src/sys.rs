//! The few file-system calls whose API differs by platform: permission bits and symlinks.
//!
//! Go distributions are POSIX trees; on other platforms modes are reported as `0o644`/`0o755`
//! and symlinks are refused.

use std::io;
use std::path::Path;

use goshift_fs::fs;

/// The permission bits of `metadata` (`0o7777` mask).
#[cfg(unix)]
pub(crate) fn mode(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

/// The permission bits of `metadata` (`0o7777` mask).
#[cfg(not(unix))]
pub(crate) fn mode(metadata: &std::fs::Metadata) -> u32 {
    if metadata.is_dir() { 0o755 } else { 0o644 }
}

/// Sets the permission bits of an open file.
#[cfg(unix)]
pub(crate) fn set_file_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// Sets the permission bits of an open file.
#[cfg(not(unix))]
pub(crate) fn set_file_mode(_file: &fs::File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Sets the permission bits of a path (not following a final symlink is not needed: only
/// directories and regular files are passed).
#[cfg(unix)]
pub(crate) fn set_path_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Sets the permission bits of a path.
#[cfg(not(unix))]
pub(crate) fn set_path_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Creates a symlink at `link` pointing to `target`.
#[cfg(unix)]
pub(crate) fn symlink(target: &str, link: &Path) -> io::Result<()> {
    fs::os::unix::fs::symlink(target, link)
}

/// Creates a symlink at `link` pointing to `target`.
#[cfg(not(unix))]
pub(crate) fn symlink(_target: &str, link: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "cannot create symlink {}: unsupported on this platform",
            link.display()
        ),
    ))
}
