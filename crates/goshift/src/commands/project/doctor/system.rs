//! Facts about the machine: kernel release, C library, free disk space.

use std::path::Path;

use goshift_fs::fs;

/// The running kernel's release as `(major, minor, patch)`, from
/// `/proc/sys/kernel/osrelease`.
pub(super) fn kernel_release() -> Option<(String, (u64, u64, u64))> {
    let text = fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let text = text.trim().to_owned();
    let numbers: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    let version = (
        *numbers.first()?,
        numbers.get(1).copied().unwrap_or(0),
        numbers.get(2).copied().unwrap_or(0),
    );
    Some((text, version))
}

/// Bytes available to unprivileged users on the file system holding `path` (or its nearest
/// existing ancestor).
pub(super) fn available_bytes(path: &Path) -> Option<u64> {
    goshift_fs::available_bytes(path).ok()
}

/// How many clock ticks `/proc/<pid>/stat` counts per second.
#[expect(unsafe_code, reason = "std has no API for the clock tick rate")]
pub(super) fn clock_ticks_per_second() -> Option<u64> {
    // SAFETY: `sysconf` has no preconditions; it returns -1 for an unknown name.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0)
}

/// When the machine booted, to the nanosecond: the wall clock minus the boot clock, read
/// together (the process start times of `/proc` count from boot).
#[expect(unsafe_code, reason = "std has no API for the boot clock")]
pub(super) fn boot_time() -> Option<std::time::SystemTime> {
    let mut since_boot = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `since_boot` is a writable `timespec`, and CLOCK_BOOTTIME exists on Linux.
    let result = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &raw mut since_boot) };
    let now = std::time::SystemTime::now();
    if result != 0 {
        return None;
    }
    let since_boot = std::time::Duration::new(
        u64::try_from(since_boot.tv_sec).ok()?,
        u32::try_from(since_boot.tv_nsec).ok()?,
    );
    now.checked_sub(since_boot)
}
