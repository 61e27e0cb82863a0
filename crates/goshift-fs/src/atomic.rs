//! Atomic replacement of files and symlinks.

use fs_err::os::unix::fs::OpenOptionsExt;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A name for a temporary sibling of `path` that no other process or thread picks:
/// `.<name>.tmp-<pid>-<counter>`. Leftovers from a killed process start with `.` and contain
/// `.tmp-`, so cleanup can find them.
pub fn temp_name(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Writes `contents` to `path` atomically with mode 0644: readers see the old file or the
/// new one, never a part, and after return the new content survives a crash.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomic_with_mode(path, contents, 0o644)
}

/// [`write_atomic`] with an explicit file mode.
pub fn write_atomic_with_mode(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let temp = temp_name(path);
    let result = (|| {
        let mut file = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        file.write_all(contents)?;
        // The umask may have narrowed the mode; set it exactly.
        file.file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs_err::rename(&temp, path)?;
        fsync_parent(path)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&temp);
    }
    result
}

/// Moves the file `from` to `to`: a rename, or across file systems a copy to a temporary
/// sibling of `to` that is synced and renamed into place before `from` is removed. Readers
/// of `to` see no file or the whole one.
pub fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    match fs_err::rename(from, to) {
        Ok(()) => return fsync_parent(to),
        Err(error) if error.kind() != io::ErrorKind::CrossesDevices => return Err(error),
        Err(_) => {}
    }
    let temp = temp_name(to);
    let result = (|| {
        fs_err::copy(from, &temp)?;
        fs_err::File::open(&temp)?.sync_all()?;
        fs_err::rename(&temp, to)?;
        fsync_parent(to)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&temp);
        return result;
    }
    fs_err::remove_file(from)
}

/// Points the symlink `link` at `target` atomically: a new link is created beside it and
/// renamed over the old one, so the link never disappears, even for a moment.
pub fn replace_symlink(target: &Path, link: &Path) -> io::Result<()> {
    let temp = temp_name(link);
    std::os::unix::fs::symlink(target, &temp).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("failed to create symlink `{}`: {e}", temp.display()),
        )
    })?;
    if let Err(e) = fs_err::rename(&temp, link) {
        let _ = fs_err::remove_file(&temp);
        return Err(e);
    }
    fsync_parent(link)
}

/// Flushes a directory's entries (new names, renames) to disk.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    fs_err::File::open(dir)?.sync_all()
}

fn fsync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => fsync_dir(parent),
        _ => fsync_dir(Path::new(".")),
    }
}

/// Makes sure `dir` is a directory of this user's that nobody else can write into, creating
/// it (and its parents) with mode 0755 when it is missing. An existing `dir` is never changed:
/// a symbolic link (it is not followed), something that is not a directory, a directory of
/// another user, or one that is group- or world-writable is an error saying so and how to
/// fix it (goshift does not chmod what it did not create).
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    match fs_err::symlink_metadata(dir) {
        Ok(metadata) => check_private(dir, &metadata, Link::Refuse),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs_err::create_dir_all(dir)?;
            let metadata = fs_err::symlink_metadata(dir)?;
            let mode = metadata.permissions().mode();
            if mode & 0o022 != 0 {
                // Ours, just created: the umask may have left it group-writable.
                fs_err::set_permissions(dir, std::fs::Permissions::from_mode(mode & !0o022))?;
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// [`ensure_private_dir`] for goshift's home itself, which may be a symbolic link the user
/// chose (`~/.local/share/goshift -> /data/goshift`): the directory it leads to is checked.
pub fn ensure_private_home(dir: &Path) -> io::Result<()> {
    match fs_err::metadata(dir) {
        Ok(metadata) => check_private(dir, &metadata, Link::Follow),
        Err(e) if e.kind() == io::ErrorKind::NotFound => ensure_private_dir(dir),
        Err(e) => Err(e),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    Refuse,
    Follow,
}

fn check_private(dir: &Path, metadata: &std::fs::Metadata, link: Link) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    if link == Link::Refuse && metadata.file_type().is_symlink() {
        return Err(crate::link_refused(dir));
    }
    if !metadata.is_dir() {
        return Err(not_a_directory(dir));
    }
    check_owner_and_mode(dir, metadata.uid(), metadata.mode())
}

/// The refusal of `dir`, found to be something other than a directory.
pub(crate) fn not_a_directory(dir: &Path) -> io::Error {
    crate::beneath::refusal(
        io::ErrorKind::AlreadyExists,
        format!(
            "`{}` is not a directory: move it away and run the command again",
            dir.display()
        ),
    )
}

/// Fails unless a directory `dir` with this owner and mode is this user's and writable by
/// nobody else, naming it and the fix.
pub(crate) fn check_owner_and_mode(dir: &Path, uid: u32, mode: u32) -> io::Result<()> {
    let shown = dir.display();
    let me = effective_uid();
    if uid != me {
        return Err(crate::beneath::refusal(
            io::ErrorKind::PermissionDenied,
            format!(
                "`{shown}` belongs to uid {uid}, not to this user (uid {me}): goshift runs nothing another user could have put there; use a directory of your own (`GOSHIFT_HOME`), or `chown -R {me} {shown}` if it is yours"
            ),
        ));
    }
    let mode = mode & 0o7777;
    if mode & 0o022 != 0 {
        return Err(crate::beneath::refusal(
            io::ErrorKind::PermissionDenied,
            format!(
                "`{shown}` is writable by other users (mode {mode:o}), who could plant files goshift would run: run `chmod go-w {shown}` and the command again"
            ),
        ));
    }
    Ok(())
}

/// This process's effective user id.
#[expect(unsafe_code, reason = "geteuid has no safe wrapper in std")]
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, always succeeds and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// Removes a directory tree; a missing directory is not an error. Read-only directories
/// inside (Go's module cache makes them) are made writable first.
pub fn remove_dir_all_if_exists(dir: &Path) -> io::Result<()> {
    match fs_err::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(dir)?;
            match fs_err::remove_dir_all(dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        }
        Err(e) => Err(e),
    }
}

/// Adds the owner's `rwx` to `dir` and every directory below it, through descriptors opened
/// with `O_NOFOLLOW` relative to their parent's: there is no moment between a check and a
/// `chmod` in which a directory swapped for a link would lead the change outside the tree.
fn make_writable(dir: &Path) -> io::Result<()> {
    let with_path = |errno: nix::errno::Errno, path: &Path| {
        io::Error::new(
            io::Error::from(errno).kind(),
            format!("failed to open `{}`: {errno}", path.display()),
        )
    };
    match open_dir_no_follow(nix::fcntl::AT_FDCWD, dir) {
        Ok(Some(fd)) => make_writable_at(fd, dir, &with_path),
        Ok(None) => Ok(()),
        Err(errno) => Err(with_path(errno, dir)),
    }
}

/// Opens the directory `name` relative to `parent` without following a link; `None` when
/// `name` is a link, not a directory, or gone.
fn open_dir_no_follow<Fd: std::os::fd::AsFd, P: ?Sized + nix::NixPath>(
    parent: Fd,
    name: &P,
) -> nix::Result<Option<std::os::fd::OwnedFd>> {
    use nix::errno::Errno;
    use nix::fcntl::OFlag;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match nix::fcntl::openat(parent, name, flags, nix::sys::stat::Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ELOOP | Errno::ENOTDIR | Errno::ENOENT) => Ok(None),
        Err(errno) => Err(errno),
    }
}

fn make_writable_at(
    fd: std::os::fd::OwnedFd,
    shown: &Path,
    with_path: &dyn Fn(nix::errno::Errno, &Path) -> io::Error,
) -> io::Result<()> {
    use nix::sys::stat::{Mode, fchmod, fstat};
    let mode = fstat(&fd).map_err(|e| with_path(e, shown))?.st_mode;
    fchmod(&fd, Mode::from_bits_truncate((mode | 0o700) & 0o7777))
        .map_err(|e| with_path(e, shown))?;
    let mut dir = nix::dir::Dir::from_fd(fd).map_err(|e| with_path(e, shown))?;
    let mut names = Vec::new();
    for entry in dir.iter() {
        let entry = entry.map_err(|e| with_path(e, shown))?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    }
    for name in names {
        let path = shown.join(std::ffi::OsStr::from_bytes(name.as_bytes()));
        match open_dir_no_follow(&dir, name.as_c_str()) {
            Ok(Some(child)) => make_writable_at(child, &path, with_path)?,
            Ok(None) => {}
            Err(errno) => return Err(with_path(errno, &path)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs_err::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs_err::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
        let mode = fs_err::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn replace_symlink_swaps_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("default");
        replace_symlink(Path::new("toolchains/a"), &link).unwrap();
        replace_symlink(Path::new("toolchains/b"), &link).unwrap();
        assert_eq!(fs_err::read_link(&link).unwrap(), Path::new("toolchains/b"));
    }

    #[test]
    fn a_writable_private_dir_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("home");
        fs_err::create_dir(&target).unwrap();
        fs_err::set_permissions(&target, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let error = ensure_private_dir(&target).unwrap_err();
        assert!(error.to_string().contains("mode 1777"), "{error}");
        assert!(error.to_string().contains("chmod go-w"), "{error}");
        let mode = fs_err::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o1777);
    }

    #[test]
    fn a_private_dir_is_created_without_group_write() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b");
        ensure_private_dir(&target).unwrap();
        let mode = fs_err::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o022, 0);
        ensure_private_dir(&target).unwrap();
    }

    #[test]
    fn removing_a_read_only_tree_changes_nothing_its_links_lead_to() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs_err::create_dir_all(outside.join("keep")).unwrap();
        fs_err::set_permissions(&outside, std::fs::Permissions::from_mode(0o555)).unwrap();
        let tree = dir.path().join("tree");
        fs_err::create_dir_all(tree.join("a/b")).unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("a/link")).unwrap();
        fs_err::write(tree.join("a/b/file"), "x").unwrap();
        for read_only in [tree.join("a/b"), tree.join("a"), tree.clone()] {
            fs_err::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        // Called directly: as root, removal never needs it.
        make_writable(&tree).unwrap();
        for dir in [tree.join("a/b"), tree.join("a"), tree.clone()] {
            let mode = fs_err::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o7777, 0o755, "{}", dir.display());
        }
        let mode = fs_err::metadata(&outside).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o555);
        remove_dir_all_if_exists(&tree).unwrap();
        assert!(!tree.exists());
        assert!(outside.join("keep").is_dir());
        // The tree itself as a link: nothing behind it is made writable.
        std::os::unix::fs::symlink(&outside, &tree).unwrap();
        make_writable(&tree).unwrap();
        let mode = fs_err::metadata(&outside).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o555);
    }

    #[test]
    fn a_link_where_a_private_dir_belongs_is_refused_and_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs_err::create_dir(&elsewhere).unwrap();
        let link = dir.path().join("staging");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let error = ensure_private_dir(&link).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        // The home itself may be a link the user chose.
        ensure_private_home(&link).unwrap();
    }
}
