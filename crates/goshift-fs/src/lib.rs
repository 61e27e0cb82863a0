//! The one place where goshift touches the file system directly.
//!
//! Everything that mutates state on disk goes through here, so the durability rules live in
//! one file each: [`write_atomic`] (temp file in the same directory, fsync, rename, fsync the
//! directory), [`replace_symlink`] (new link renamed over the old one, so there is never a
//! moment without a link), and [`LockFile`] (an advisory cross-process lock with a timeout
//! whose error names the holder's pid). [`fs`] re-exports `fs-err`, whose errors name the path
//! that failed; use it instead of `std::fs`.
//!
//! [`Dir`] holds a directory of the home open and does the work in it relative to that
//! handle (`openat`, `renameat`, `unlinkat` without following links), so a directory swapped
//! for a link after it was opened leads nowhere.
//!
//! [`EnvVars`] is the registry of every environment variable goshift reads, and [`Dirs`]
//! resolves goshift's home and config directories from an environment given by the caller.
#![warn(missing_docs)]

mod atomic;
mod beneath;
mod bounded;
mod dir;
mod dirs;
mod env_vars;
mod lock;
mod space;

pub use atomic::{
    effective_uid, ensure_private_dir, ensure_private_home, fsync_dir, move_file,
    remove_dir_all_if_exists, replace_symlink, temp_name, write_atomic, write_atomic_with_mode,
};
pub use beneath::{Access, is_refusal, link_refused, open_beneath, read_beneath, refuse_link};
pub use bounded::{
    process_exists, read_limited, read_text_limited, read_text_limited_if_exists, write_output,
};
pub use dir::{Dir, Entry, Kind};
pub use dirs::{Dirs, DirsError};
pub use env_vars::EnvVars;
pub use fs_err as fs;
pub use lock::{LockError, LockFile, LockGuard};
pub use space::available_bytes;
