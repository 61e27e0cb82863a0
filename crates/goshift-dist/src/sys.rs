//! The few file-system calls whose API differs by platform: permission bits and symlinks.
//!
//! Go distributions are POSIX trees; on other platforms modes are reported as `0o644`/`0o755`
//! and symlinks are refused. One implementation per platform, in `sys/<platform>.rs`; the one
//! `#[cfg]` below picks the file.

#[cfg(unix)]
#[path = "sys/unix.rs"]
mod imp;

#[cfg(not(unix))]
#[path = "sys/other.rs"]
mod imp;

pub(crate) use imp::{mode, set_file_mode, set_path_mode, symlink};
