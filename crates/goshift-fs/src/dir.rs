//! [`Dir`]: a directory of goshift's home held open, and everything done in it relative to
//! that handle.
//!
//! A path is resolved once, when the directory is opened (without following a link below
//! the home); every later lookup, creation, rename or removal names an entry of the handle
//! (`openat`, `mkdirat`, `renameat`, `unlinkat`, `symlinkat`, `fstatat` without following
//! links). A directory swapped for a link after it was opened leads nowhere: the work goes
//! on in the directory that was opened, and the next command that opens it refuses the link.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write as _};
use std::os::fd::{AsFd, AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, RenameFlags};
use nix::sys::stat::{FileStat, Mode, SFlag, fchmod, fstat, fstatat};
use nix::unistd::UnlinkatFlags;

use crate::beneath::refused_or;

/// An open directory of goshift's home (or of its archive cache). Clones share the handle.
#[derive(Debug, Clone)]
pub struct Dir {
    fd: Arc<OwnedFd>,
    shown: PathBuf,
}

/// What an entry of a [`Dir`] is, without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its type.
    pub kind: Kind,
    /// Its owner.
    pub uid: u32,
}

/// The type of an [`Entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Link,
    /// Anything else (a FIFO, a socket, a device).
    Other,
}

const DIRECTORY: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

impl Dir {
    /// Opens goshift's home, creating it when missing: it may be a link the user chose; the
    /// directory it leads to must be this user's and writable by nobody else (checked on
    /// the handle).
    pub fn open_home(path: &Path) -> io::Result<Self> {
        let open = || {
            nix::fcntl::openat(
                AT_FDCWD,
                path,
                DIRECTORY & !OFlag::O_NOFOLLOW,
                Mode::empty(),
            )
        };
        // Missing, or not a directory: the path-based check creates it or says why not,
        // with the messages it always had.
        let fd = if let Ok(fd) = open() {
            fd
        } else {
            crate::ensure_private_home(path)?;
            open().map_err(|errno| failed("open", path, errno))?
        };
        let dir = Self::new(fd, path.to_owned());
        dir.check_private()?;
        Ok(dir)
    }

    /// Opens `path` (a directory outside the home, such as the archive cache) like
    /// [`crate::ensure_private_dir`]: created when missing, refused when it is a link or
    /// not private.
    pub fn open_private(path: &Path) -> io::Result<Self> {
        crate::ensure_private_dir(path)?;
        let fd = nix::fcntl::openat(AT_FDCWD, path, DIRECTORY, Mode::empty())
            .map_err(|errno| refused_or(errno, &AT_FDCWD, path.as_os_str(), path))?;
        let dir = Self::new(fd, path.to_owned());
        dir.check_private()?;
        Ok(dir)
    }

    fn new(fd: OwnedFd, shown: PathBuf) -> Self {
        Self {
            fd: Arc::new(fd),
            shown,
        }
    }

    /// The directory as the user would name it, for messages.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// `name` in this directory, for messages.
    pub fn join(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.shown.join(name.as_ref())
    }

    /// A path that reaches this very directory through its handle (`/proc/self/fd/N` on
    /// Linux), for code of this process that takes paths; its own path where there is no
    /// such thing. Never for another process: the handle is not inherited.
    pub fn anchored(&self) -> PathBuf {
        let anchored = PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()));
        if anchored.is_dir() {
            anchored
        } else {
            self.shown.clone()
        }
    }

    /// Opens the directory `name` in this one, creating it (mode 0755, without group or
    /// other write) when missing; a link, another owner or a mode others can write is
    /// refused with the fix.
    pub fn private_dir(&self, name: impl AsRef<OsStr>) -> io::Result<Self> {
        let name = name.as_ref();
        match self.open_dir(name) {
            Ok(dir) => {
                dir.check_private()?;
                Ok(dir)
            }
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                Err(crate::atomic::not_a_directory(&self.join(name)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match self.mkdir(name) {
                    // Created meanwhile by another process: checked as found.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return self.private_dir(name);
                    }
                    other => other?,
                }
                let dir = self.open_dir(name)?;
                let mode = fstat(dir.fd.as_fd())
                    .map_err(|e| dir.failed("inspect", e))?
                    .st_mode;
                // Ours, just created: the umask may have left it group-writable.
                fchmod(dir.fd.as_fd(), Mode::from_bits_truncate(mode & 0o7755))
                    .map_err(|e| dir.failed("set the mode of", e))?;
                Ok(dir)
            }
            Err(e) => Err(e),
        }
    }

    /// Opens the existing directory `name` in this one, never through a link.
    pub fn open_dir(&self, name: impl AsRef<OsStr>) -> io::Result<Self> {
        let name = name.as_ref();
        let shown = self.join(name);
        let fd = nix::fcntl::openat(self.fd.as_fd(), name, DIRECTORY, Mode::empty())
            .map_err(|errno| refused_or(errno, &self.fd.as_fd(), name, &shown))?;
        Ok(Self::new(fd, shown))
    }

    /// Creates the new directory `name` (an existing entry is an error) and opens it.
    pub fn create_dir(&self, name: impl AsRef<OsStr>) -> io::Result<Self> {
        self.mkdir(name.as_ref())?;
        self.open_dir(name)
    }

    fn mkdir(&self, name: &OsStr) -> io::Result<()> {
        nix::sys::stat::mkdirat(self.fd.as_fd(), name, Mode::from_bits_truncate(0o755))
            .map_err(|errno| failed("create the directory", &self.join(name), errno))
    }

    /// The entry `name` without following a link; `None` when there is none.
    pub fn entry(&self, name: impl AsRef<OsStr>) -> io::Result<Option<Entry>> {
        let name = name.as_ref();
        match fstatat(self.fd.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(entry_of(&stat))),
            Err(Errno::ENOENT) => Ok(None),
            Err(errno) => Err(failed("inspect", &self.join(name), errno)),
        }
    }

    /// The names in this directory, sorted (without `.` and `..`).
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        Ok(self.entries()?.into_iter().map(|(name, _)| name).collect())
    }

    /// The names in this directory with their kind when the listing tells it (most file
    /// systems do; otherwise ask [`Dir::entry`]), sorted by name.
    pub fn entries(&self) -> io::Result<Vec<(OsString, Option<Kind>)>> {
        // A descriptor of its own: a listing moves the file position.
        let fd = nix::fcntl::openat(self.fd.as_fd(), ".", DIRECTORY, Mode::empty())
            .map_err(|errno| self.failed("list", errno))?;
        let mut entries = list(fd).map_err(|errno| self.failed("list", errno))?;
        entries.sort();
        Ok(entries)
    }

    /// Removes the file or link `name`.
    pub fn remove_file(&self, name: impl AsRef<OsStr>) -> io::Result<()> {
        let name = name.as_ref();
        nix::unistd::unlinkat(self.fd.as_fd(), name, UnlinkatFlags::NoRemoveDir)
            .map_err(|errno| failed("remove", &self.join(name), errno))
    }

    /// Removes the empty directory `name`.
    pub fn remove_dir(&self, name: impl AsRef<OsStr>) -> io::Result<()> {
        let name = name.as_ref();
        nix::unistd::unlinkat(self.fd.as_fd(), name, UnlinkatFlags::RemoveDir)
            .map_err(|errno| failed("remove", &self.join(name), errno))
    }

    /// Removes `name` and, when it is a directory, everything in it; nothing is followed
    /// (a link inside is removed, not what it leads to). Missing is not an error. A
    /// directory without the owner's write permission (Go's module cache makes them) is
    /// given it first, through its handle.
    pub fn remove_tree(&self, name: impl AsRef<OsStr>) -> io::Result<()> {
        let name = name.as_ref();
        // Unlinked first, so a file costs no stat: only a directory refuses (`EISDIR`, or
        // `EPERM` where the system says so).
        match nix::unistd::unlinkat(self.fd.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EISDIR) => {}
            Err(Errno::EPERM) if self.entry(name)?.is_some_and(|e| e.kind == Kind::Dir) => {}
            Err(errno) => return Err(failed("remove", &self.join(name), errno)),
        }
        let dir = match self.open_dir(name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        let mode = fstat(dir.fd.as_fd())
            .map_err(|e| dir.failed("inspect", e))?
            .st_mode;
        if mode & 0o700 != 0o700 {
            fchmod(
                dir.fd.as_fd(),
                Mode::from_bits_truncate((mode | 0o700) & 0o7777),
            )
            .map_err(|e| dir.failed("set the mode of", e))?;
        }
        for child in dir.names()? {
            dir.remove_tree(&child)?;
        }
        match nix::unistd::unlinkat(self.fd.as_fd(), name, UnlinkatFlags::RemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(errno) => Err(failed("remove", &self.join(name), errno)),
        }
    }

    /// Renames `from` in this directory to `to` in `target` (which may be this one).
    pub fn rename(
        &self,
        from: impl AsRef<OsStr>,
        target: &Self,
        to: impl AsRef<OsStr>,
    ) -> io::Result<()> {
        let (from, to) = (from.as_ref(), to.as_ref());
        nix::fcntl::renameat2(
            self.fd.as_fd(),
            from,
            target.fd.as_fd(),
            to,
            RenameFlags::empty(),
        )
        .map_err(|errno| {
            let error = io::Error::from(errno);
            io::Error::new(
                error.kind(),
                format!(
                    "failed to rename `{}` to `{}`: {error}",
                    self.join(from).display(),
                    target.join(to).display()
                ),
            )
        })
    }

    /// Moves the file `from` to `to` in `target`: a rename, or across file systems a copy
    /// that is synced and renamed into place before `from` is removed.
    pub fn move_file(
        &self,
        from: impl AsRef<OsStr>,
        target: &Self,
        to: impl AsRef<OsStr>,
    ) -> io::Result<()> {
        let (from, to) = (from.as_ref(), to.as_ref());
        match self.rename(from, target, to) {
            Ok(()) => return target.sync(),
            Err(error) if error.kind() != io::ErrorKind::CrossesDevices => return Err(error),
            Err(_) => {}
        }
        let mut source = self.open_file(from)?;
        let temp = temp_name(to);
        let result = (|| {
            let mut copy = target.create_file(&temp, 0o644)?;
            io::copy(&mut source, &mut copy)?;
            copy.sync_all()?;
            target.rename(&temp, target, to)?;
            target.sync()
        })();
        if result.is_err() {
            let _ = target.remove_file(&temp);
            return result;
        }
        self.remove_file(from)
    }

    /// The target of the link `name`.
    pub fn read_link(&self, name: impl AsRef<OsStr>) -> io::Result<PathBuf> {
        let name = name.as_ref();
        nix::fcntl::readlinkat(self.fd.as_fd(), name)
            .map(PathBuf::from)
            .map_err(|errno| failed("read the link", &self.join(name), errno))
    }

    /// Points the link `name` at `target` atomically: a new link is created beside it and
    /// renamed over the old one, so the link never disappears, even for a moment.
    pub fn replace_symlink(&self, target: &Path, name: impl AsRef<OsStr>) -> io::Result<()> {
        let name = name.as_ref();
        let temp = temp_name(name);
        nix::unistd::symlinkat(target, self.fd.as_fd(), temp.as_os_str())
            .map_err(|errno| failed("create the link", &self.join(&temp), errno))?;
        if let Err(e) = self.rename(&temp, self, name) {
            let _ = self.remove_file(&temp);
            return Err(e);
        }
        self.sync()
    }

    /// Opens the file `name` for reading, never through a link.
    pub fn open_file(&self, name: impl AsRef<OsStr>) -> io::Result<std::fs::File> {
        let name = name.as_ref();
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
        nix::fcntl::openat(self.fd.as_fd(), name, flags, Mode::empty())
            .map(std::fs::File::from)
            .map_err(|errno| refused_or(errno, &self.fd.as_fd(), name, &self.join(name)))
    }

    /// Creates the new file `name` for writing (`O_EXCL`: never an existing file, never
    /// through a link), with exactly `mode`.
    pub fn create_file(&self, name: impl AsRef<OsStr>, mode: u32) -> io::Result<std::fs::File> {
        let name = name.as_ref();
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let file = nix::fcntl::openat(self.fd.as_fd(), name, flags, Mode::from_bits_truncate(mode))
            .map(std::fs::File::from)
            .map_err(|errno| refused_or(errno, &self.fd.as_fd(), name, &self.join(name)))?;
        // The umask may have narrowed the mode; set it exactly.
        fchmod(file.as_fd(), Mode::from_bits_truncate(mode))
            .map_err(|errno| failed("set the mode of", &self.join(name), errno))?;
        Ok(file)
    }

    /// Writes `contents` to `name` atomically with `mode`: a temporary sibling, synced and
    /// renamed over it, then the directory synced.
    pub fn write_atomic(
        &self,
        name: impl AsRef<OsStr>,
        contents: &[u8],
        mode: u32,
    ) -> io::Result<()> {
        let name = name.as_ref();
        let temp = temp_name(name);
        let result = (|| {
            let mut file = self.create_file(&temp, mode)?;
            file.write_all(contents)?;
            file.sync_all()?;
            self.rename(&temp, self, name)?;
            self.sync()
        })();
        if result.is_err() {
            let _ = self.remove_file(&temp);
        }
        result
    }

    /// Flushes this directory's entries (new names, renames) to disk.
    pub fn sync(&self) -> io::Result<()> {
        nix::unistd::fsync(self.fd.as_fd()).map_err(|errno| self.failed("sync", errno))
    }

    /// The handle itself, for calls this type does not wrap (`openat` of a lock file).
    pub(crate) fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Fails unless this directory is this user's and writable by nobody else.
    fn check_private(&self) -> io::Result<()> {
        let stat = fstat(self.fd.as_fd()).map_err(|e| self.failed("inspect", e))?;
        crate::atomic::check_owner_and_mode(&self.shown, stat.st_uid, stat.st_mode)
    }

    fn failed(&self, action: &str, errno: Errno) -> io::Error {
        failed(action, &self.shown, errno)
    }
}

/// The entries of the open directory `fd` (without `.` and `..`), read with `getdents64`:
/// no `fdopendir`, whose `fstat` and `fcntl`s a switch would pay for every listing.
#[cfg(target_os = "linux")]
#[expect(unsafe_code, reason = "getdents64 has no wrapper in std, nix or libc")]
fn list(fd: OwnedFd) -> nix::Result<Vec<(OsString, Option<Kind>)>> {
    let mut buffer = vec![0_u8; 32 * 1024];
    let mut entries = Vec::new();
    loop {
        // SAFETY: the kernel writes at most `buffer.len()` bytes into `buffer`, which is
        // alive and not otherwise borrowed during the call; `fd` is an open directory.
        let read = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd.as_raw_fd(),
                buffer.as_mut_ptr(),
                buffer.len(),
            )
        };
        let read = usize::try_from(read).map_err(|_| Errno::last())?;
        if read == 0 {
            // The listing's own descriptor, closed once it is read.
            drop(fd);
            return Ok(entries);
        }
        // Each record: inode (8 bytes), offset (8), record length (2), type (1), name (NUL).
        let mut at = 0;
        while at + 19 < read {
            let length = usize::from(u16::from_ne_bytes([buffer[at + 16], buffer[at + 17]]));
            let record = buffer.get(at + 19..at + length).ok_or(Errno::EIO)?;
            let name = &record[..record.iter().position(|&b| b == 0).unwrap_or(record.len())];
            if name != b"." && name != b".." {
                let kind = match buffer[at + 18] {
                    libc::DT_DIR => Some(Kind::Dir),
                    libc::DT_REG => Some(Kind::File),
                    libc::DT_LNK => Some(Kind::Link),
                    libc::DT_UNKNOWN => None,
                    _ => Some(Kind::Other),
                };
                entries.push((OsStr::from_bytes(name).to_owned(), kind));
            }
            at += length.max(1);
        }
    }
}

/// The entries of the open directory `fd` (without `.` and `..`).
#[cfg(not(target_os = "linux"))]
fn list(fd: OwnedFd) -> nix::Result<Vec<(OsString, Option<Kind>)>> {
    use nix::dir::Type;
    let mut entries = Vec::new();
    // Owned, so dropping it closes the directory without rewinding it first.
    for entry in nix::dir::Dir::from_fd(fd)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            let kind = entry.file_type().map(|kind| match kind {
                Type::Directory => Kind::Dir,
                Type::File => Kind::File,
                Type::Symlink => Kind::Link,
                _ => Kind::Other,
            });
            entries.push((OsStr::from_bytes(name).to_owned(), kind));
        }
    }
    Ok(entries)
}

fn entry_of(stat: &FileStat) -> Entry {
    let kind = match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => Kind::Dir,
        SFlag::S_IFREG => Kind::File,
        SFlag::S_IFLNK => Kind::Link,
        _ => Kind::Other,
    };
    Entry {
        kind,
        uid: stat.st_uid,
    }
}

/// `.<name>.tmp-<pid>-<n>`: see [`crate::temp_name`].
fn temp_name(name: &OsStr) -> OsString {
    crate::temp_name(Path::new(name)).into_os_string()
}

fn failed(action: &str, path: &Path, errno: Errno) -> io::Error {
    let error = io::Error::from(errno);
    io::Error::new(
        error.kind(),
        format!("failed to {action} `{}`: {error}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::os::unix::fs::symlink;

    #[test]
    fn work_in_a_directory_stays_in_it_when_it_is_swapped_for_a_link() {
        let root = tempfile::tempdir().unwrap();
        let home = Dir::open_home(&root.path().join("home")).unwrap();
        let staging = home.private_dir("staging").unwrap();
        let area = staging.create_dir("area").unwrap();
        area.create_dir("tree")
            .unwrap()
            .write_atomic("file", b"one", 0o600)
            .unwrap();
        let outside = root.path().join("outside");
        std::fs::create_dir_all(outside.join("area/tree")).unwrap();
        std::fs::write(outside.join("area/tree/file"), "keep me").unwrap();
        std::fs::rename(
            root.path().join("home/staging"),
            root.path().join("home/moved"),
        )
        .unwrap();
        symlink(&outside, root.path().join("home/staging")).unwrap();
        // Through the handles: the moved directory, never the link.
        let mut text = String::new();
        staging
            .open_dir("area")
            .unwrap()
            .open_dir("tree")
            .unwrap()
            .open_file("file")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "one");
        let toolchains = home.private_dir("toolchains").unwrap();
        area.rename("tree", &toolchains, "go").unwrap();
        staging.remove_tree("area").unwrap();
        assert_eq!(staging.names().unwrap(), Vec::<OsString>::new());
        assert_eq!(
            std::fs::read_to_string(outside.join("area/tree/file")).unwrap(),
            "keep me"
        );
        assert_eq!(
            std::fs::read_to_string(root.path().join("home/toolchains/go/file")).unwrap(),
            "one"
        );
        let entry = toolchains.entry("go").unwrap().unwrap();
        assert_eq!(entry.kind, Kind::Dir);
        assert_eq!(entry.uid, crate::effective_uid());
        // Opening it again by name refuses the link, naming it and the fix.
        let error = home.private_dir("staging").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("home/staging` is a symbolic link"),
            "{error}"
        );
        assert!(error.to_string().contains("(`rm "), "{error}");
        assert_eq!(home.entry("staging").unwrap().unwrap().kind, Kind::Link);
    }

    #[test]
    fn a_listing_longer_than_one_read_has_every_entry_and_its_kind() {
        let root = tempfile::tempdir().unwrap();
        let home = Dir::open_home(root.path()).unwrap();
        for n in 0..3000 {
            std::fs::write(
                root.path().join(format!("file-with-a-long-name-{n:05}")),
                "",
            )
            .unwrap();
        }
        home.create_dir("a-dir").unwrap();
        symlink("nowhere", root.path().join("a-link")).unwrap();
        let entries = home.entries().unwrap();
        assert_eq!(entries.len(), 3002);
        assert_eq!(entries[0], (OsString::from("a-dir"), Some(Kind::Dir)));
        assert_eq!(entries[1], (OsString::from("a-link"), Some(Kind::Link)));
        assert_eq!(
            entries[3001],
            (
                OsString::from("file-with-a-long-name-02999"),
                Some(Kind::File)
            )
        );
    }

    #[test]
    fn removing_a_tree_removes_its_links_not_what_they_lead_to() {
        let root = tempfile::tempdir().unwrap();
        let outside = root.path().join("outside");
        std::fs::create_dir_all(outside.join("keep")).unwrap();
        let home = Dir::open_home(&root.path().join("home")).unwrap();
        let tree = home.create_dir("tree").unwrap();
        tree.create_dir("sub")
            .unwrap()
            .create_file("file", 0o444)
            .unwrap();
        symlink(&outside, root.path().join("home/tree/link")).unwrap();
        std::fs::set_permissions(
            root.path().join("home/tree/sub"),
            std::os::unix::fs::PermissionsExt::from_mode(0o555),
        )
        .unwrap();
        home.remove_tree("tree").unwrap();
        home.remove_tree("tree").unwrap();
        assert!(outside.join("keep").is_dir());
        assert_eq!(home.names().unwrap(), Vec::<OsString>::new());
        // A link where a file belongs is never opened or created through.
        symlink(outside.join("keep"), root.path().join("home/lock")).unwrap();
        let error = home.create_file("lock", 0o644).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        let error = home.open_file("lock").unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        home.replace_symlink(Path::new("toolchains/go"), "default")
            .unwrap();
        assert_eq!(
            home.read_link("default").unwrap(),
            Path::new("toolchains/go")
        );
    }
}
