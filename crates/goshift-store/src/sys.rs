//! What differs between platforms, behind one interface: one implementation per platform in
//! `sys/<platform>.rs`, picked by the one `#[cfg]` below.

#[cfg(target_os = "linux")]
#[path = "sys/linux.rs"]
mod imp;

#[cfg(not(target_os = "linux"))]
#[path = "sys/other.rs"]
mod imp;

pub(crate) use imp::die_with_parent;
