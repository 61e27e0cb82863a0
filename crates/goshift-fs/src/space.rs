//! Free space on a file system.

use std::io;
use std::path::Path;

/// Bytes available to unprivileged users on the file system holding `path`, or its nearest
/// existing ancestor (so a directory about to be created can be asked about).
pub fn available_bytes(path: &Path) -> io::Result<u64> {
    let existing = path
        .ancestors()
        .find(|p| !p.as_os_str().is_empty() && std::fs::symlink_metadata(p).is_ok())
        .unwrap_or(Path::new("."));
    let stats = nix::sys::statvfs::statvfs(existing).map_err(|errno| {
        io::Error::new(
            io::Error::from(errno).kind(),
            format!(
                "failed to read the free space of `{}`: {errno}",
                existing.display()
            ),
        )
    })?;
    #[expect(
        clippy::useless_conversion,
        reason = "the field types differ between platforms"
    )]
    let (available, fragment) = (
        u64::from(stats.blocks_available()),
        u64::from(stats.fragment_size()),
    );
    Ok(available.saturating_mul(fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_path_is_measured_at_its_nearest_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let here = available_bytes(dir.path()).unwrap();
        let below = available_bytes(&dir.path().join("not/yet")).unwrap();
        assert!(here > 0);
        // Same file system; other processes may write in between, so only the order of
        // magnitude is compared.
        assert!(below / 2 <= here && here / 2 <= below, "{here} vs {below}");
    }
}
