//! Reading inputs with a size limit, and writing outputs only where they belong.

use std::io::{self, Read as _};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Reads the regular file at `path`, at most `limit` bytes. Anything else (a device such as
/// `/dev/zero`, a FIFO, a directory) or a longer file is an error saying so: goshift's own
/// inputs (a policy, a snapshot, a service file) are small regular files.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_nonblocking(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("failed to open `{}`: {e}", path.display()),
        )
    })?;
    read_regular(file, path, limit)
}

/// Opens for reading without blocking, so a FIFO without a writer does not hang the open; a
/// regular file reads the same either way.
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Reads `file` (opened from `path`) to its end when it is a regular file of at most `limit`
/// bytes.
pub(crate) fn read_regular(file: std::fs::File, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is {}, not a regular file",
                path.display(),
                describe(kind)
            ),
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "`{}` is larger than {limit} bytes, more than such a file ever needs",
                path.display()
            ),
        ));
    }
    Ok(bytes)
}

/// [`read_text_limited`] for a file that may not be there: `None` when nothing is at `path`
/// (or a directory, or a path through a file). Costs what reading the file costs: the walk
/// of the `go` proxy up a tree looking for `go.mod` calls it for every directory.
pub fn read_text_limited_if_exists(path: &Path, limit: u64) -> io::Result<Option<String>> {
    let file = match open_nonblocking(path) {
        Ok(file) => file,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::IsADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("failed to open `{}`: {e}", path.display()),
            ));
        }
    };
    if file.metadata()?.is_dir() {
        return Ok(None);
    }
    let bytes = read_regular(file, path, limit)?;
    utf8(bytes, path).map(Some)
}

fn utf8(bytes: Vec<u8>, path: &Path) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("`{}` is not UTF-8 text", path.display()),
        )
    })
}

/// [`read_limited`] as UTF-8 text.
pub fn read_text_limited(path: &Path, limit: u64) -> io::Result<String> {
    utf8(read_limited(path, limit)?, path)
}

/// Writes `contents` to `path` atomically (mode `mode`), where `path` is a regular file or
/// a new name: a symbolic link, a device, a FIFO or a directory there is refused, never
/// replaced or written through.
pub fn write_output(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if !metadata.file_type().is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "`{}` is {}: goshift writes only to a regular file or a new path",
                    path.display(),
                    describe(metadata.file_type())
                ),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    crate::write_atomic_with_mode(path, contents, mode)
}

fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Returns true unless `pid` certainly names no process (so a leftover of a live process is
/// never taken for a dead one's).
#[expect(unsafe_code, reason = "probing a pid has no std wrapper")]
pub fn process_exists(pid: i32) -> bool {
    if pid <= 0 {
        return true;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks that the pid exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_large_files_are_refused() {
        let error = read_limited(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is a device, not a regular file"),
            "{error}"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(mkfifo(&name), 0);
        let error = read_limited(&fifo, 1024).unwrap_err();
        assert!(error.to_string().contains("is a FIFO"), "{error}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        let error = read_limited(&big, 1024).unwrap_err();
        assert!(
            error.to_string().contains("larger than 1024 bytes"),
            "{error}"
        );
        assert_eq!(read_limited(&big, 2048).unwrap().len(), 2048);
    }

    #[test]
    fn a_missing_file_is_none_and_a_device_or_huge_file_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("go.mod");
        assert_eq!(read_text_limited_if_exists(&missing, 10).unwrap(), None);
        let through_a_file = dir.path().join("file/go.mod");
        std::fs::write(dir.path().join("file"), "x").unwrap();
        assert_eq!(
            read_text_limited_if_exists(&through_a_file, 10).unwrap(),
            None
        );
        assert_eq!(read_text_limited_if_exists(dir.path(), 10).unwrap(), None);
        std::fs::write(&missing, "module m\n").unwrap();
        assert_eq!(
            read_text_limited_if_exists(&missing, 10)
                .unwrap()
                .as_deref(),
            Some("module m\n")
        );
        let error = read_text_limited_if_exists(&missing, 4).unwrap_err();
        assert!(error.to_string().contains("larger than 4 bytes"), "{error}");
        let error = read_text_limited_if_exists(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(error.to_string().contains("is a device"), "{error}");
    }

    #[expect(unsafe_code, reason = "mkfifo has no std wrapper")]
    fn mkfifo(name: &std::ffi::CStr) -> i32 {
        // SAFETY: `name` is a valid NUL-terminated path for the duration of the call.
        unsafe { libc::mkfifo(name.as_ptr(), 0o600) }
    }

    #[test]
    fn outputs_go_only_to_regular_files_or_new_paths() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = write_output(&link, b"new", 0o600).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        let error = write_output(Path::new("/dev/null"), b"new", 0o600).unwrap_err();
        assert!(error.to_string().contains("is a device"), "{error}");
        write_output(&target, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        write_output(&dir.path().join("fresh"), b"x", 0o600).unwrap();
    }
}
