//! What differs between platforms, behind one interface.
//!
//! Each function here has one implementation per platform, in `platform/<platform>.rs`; the
//! one `#[cfg]` below picks the file. Code elsewhere in the binary calls these and tests no
//! `cfg` of its own. goshift builds for Linux (the supervisor needs it); what differs is the
//! C library: glibc's allocator and version are reached through its C API, and other C
//! libraries (musl, for static builds) do without.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[path = "platform/linux_gnu.rs"]
mod imp;

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
#[path = "platform/other.rs"]
mod imp;

pub(crate) use imp::{glibc_version, one_allocator_arena, pad_allocator_arenas};
