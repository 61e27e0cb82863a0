//! Other platforms: fixed modes, no permission changes, no symlinks.

use std::io;
use std::path::Path;

use goshift_fs::fs;

/// The permission bits of `metadata`: `0o755` for a directory, else `0o644`.
pub(crate) fn mode(metadata: &std::fs::Metadata) -> u32 {
    if metadata.is_dir() { 0o755 } else { 0o644 }
}

/// Sets nothing: the platform has no permission bits.
pub(crate) fn set_file_mode(_file: &fs::File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Sets nothing: the platform has no permission bits.
pub(crate) fn set_path_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Refuses: symlinks are not supported here.
pub(crate) fn symlink(_target: &str, link: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "cannot create symlink {}: unsupported on this platform",
            link.display()
        ),
    ))
}
