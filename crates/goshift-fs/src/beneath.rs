//! Entries of goshift's home, opened relative to a directory handle and never through a link.
//!
//! [`open_beneath`] opens the home (which may be a link the user chose), then each directory
//! below it and finally the entry with `openat` and `O_NOFOLLOW`, so no component under the
//! home is followed: a link planted for `history`, `manifests` or one manifest is an error
//! naming it ([`link_refused`]), and nothing behind it is read or written.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag, fstatat};

/// How [`open_beneath`] opens an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only; a FIFO does not block the open.
    Read,
    /// Read and write, neither creating nor truncating (to cut a torn tail).
    Write,
    /// Append, creating the file (mode 0644) when it is missing.
    Append,
}

/// An entry of the home that goshift refuses to use (a link, another owner, a mode others can
/// write), as the payload of an [`io::Error`]: its message names the entry and the fix, so
/// callers add no other hint ([`is_refusal`]).
#[derive(Debug)]
pub(crate) struct Refusal(pub(crate) String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// A refusal of `kind` saying `message` (which names the entry and the fix).
pub(crate) fn refusal(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(kind, Refusal(message))
}

/// Returns true if and only if `error` is goshift refusing an entry of its home (see
/// [`link_refused`]): the message carries its own fix.
pub fn is_refusal(error: &io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Refusal>())
        .is_some()
}

/// The error for a link found where goshift keeps a file or directory of its own, naming it
/// and the fix.
pub fn link_refused(path: &Path) -> io::Error {
    let shown = path.display();
    refusal(
        io::ErrorKind::PermissionDenied,
        format!(
            "`{shown}` is a symbolic link, where goshift keeps a file or directory of its own; links inside its home are never followed: remove the link (`rm {shown}`) and run the command again"
        ),
    )
}

/// `error` from an `O_NOFOLLOW` open of `path` (plain or from [`crate::fs`]), with a loop
/// (`ELOOP`: the entry is a link) turned into [`link_refused`].
pub fn refuse_link(error: io::Error, path: &Path) -> io::Error {
    // `fs_err` keeps the kind, not the errno; the kind of a loop has no stable name.
    if error.kind() == io::Error::from_raw_os_error(libc::ELOOP).kind() {
        link_refused(path)
    } else {
        error
    }
}

/// Opens `relative` (a path of normal components) beneath the directory `root`: `root`
/// itself may be a link, nothing below it is followed. A link on the way is
/// [`link_refused`]; a missing entry is [`io::ErrorKind::NotFound`].
pub fn open_beneath(root: &Path, relative: &Path, access: Access) -> io::Result<std::fs::File> {
    let names: Vec<&std::ffi::OsStr> = relative
        .components()
        .map(|component| match component {
            Component::Normal(name) => Ok(name),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}` is not a plain relative path", relative.display()),
            )),
        })
        .collect::<io::Result<_>>()?;
    let Some((leaf, dirs)) = names.split_last() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty path names no entry",
        ));
    };
    let directory = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let mut shown = root.to_path_buf();
    let mut parent: OwnedFd =
        nix::fcntl::openat(nix::fcntl::AT_FDCWD, root, directory, Mode::empty())
            .map_err(|errno| opened(errno, &shown))?;
    for name in dirs {
        shown.push(name);
        parent = nix::fcntl::openat(&parent, *name, directory | OFlag::O_NOFOLLOW, Mode::empty())
            .map_err(|errno| refused_or(errno, &parent, name, &shown))?;
    }
    shown.push(leaf);
    let flags = OFlag::O_NOFOLLOW
        | OFlag::O_CLOEXEC
        | match access {
            Access::Read => OFlag::O_RDONLY | OFlag::O_NONBLOCK,
            Access::Write => OFlag::O_RDWR,
            Access::Append => OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT,
        };
    let fd = nix::fcntl::openat(&parent, *leaf, flags, Mode::from_bits_truncate(0o644))
        .map_err(|errno| refused_or(errno, &parent, leaf, &shown))?;
    Ok(std::fs::File::from(fd))
}

/// [`crate::read_limited`] for an entry beneath `root` (see [`open_beneath`]).
pub fn read_beneath(root: &Path, relative: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_beneath(root, relative, Access::Read)?;
    crate::bounded::read_regular(file, &root.join(relative), limit)
}

/// The error for `name` (shown as `shown`) that could not be opened in `parent`: a link is
/// [`link_refused`] whatever the kernel said (`ELOOP`, or `ENOTDIR` for a directory).
pub(crate) fn refused_or(
    errno: Errno,
    parent: &impl AsFd,
    name: &std::ffi::OsStr,
    shown: &Path,
) -> io::Error {
    let is_link = fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|stat| {
        SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK
    });
    if is_link {
        link_refused(shown)
    } else {
        opened(errno, shown)
    }
}

fn opened(errno: Errno, shown: &Path) -> io::Error {
    io::Error::new(
        io::Error::from(errno).kind(),
        format!(
            "failed to open `{}`: {}",
            shown.display(),
            io::Error::from(errno)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::os::unix::fs::symlink;

    #[test]
    fn entries_open_beneath_a_linked_root_but_never_through_a_link_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("manifests")).unwrap();
        symlink(&home, dir.path().join("chosen")).unwrap();
        let mut file = open_beneath(
            &dir.path().join("chosen"),
            Path::new("manifests/a"),
            Access::Append,
        )
        .unwrap();
        file.write_all(b"one\n").unwrap();
        let mut text = String::new();
        open_beneath(&home, Path::new("manifests/a"), Access::Read)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "one\n");
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("a"), "keep me").unwrap();
        // The entry itself as a link, and a directory on the way as a link.
        std::fs::remove_file(home.join("manifests/a")).unwrap();
        symlink(outside.join("a"), home.join("manifests/a")).unwrap();
        for access in [Access::Read, Access::Write, Access::Append] {
            let error = open_beneath(&home, Path::new("manifests/a"), access).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("manifests/a` is a symbolic link"),
                "{error}"
            );
        }
        std::fs::rename(home.join("manifests"), dir.path().join("moved")).unwrap();
        symlink(&outside, home.join("manifests")).unwrap();
        let error = read_beneath(&home, Path::new("manifests/a"), 100).unwrap_err();
        assert!(
            error.to_string().contains("manifests` is a symbolic link"),
            "{error}"
        );
        assert!(error.to_string().contains("(`rm "), "{error}");
        assert_eq!(
            std::fs::read_to_string(outside.join("a")).unwrap(),
            "keep me"
        );
        let error = open_beneath(&home, Path::new("missing"), Access::Read).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(open_beneath(&home, Path::new("../x"), Access::Read).is_err());
    }
}
