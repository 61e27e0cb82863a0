//! Linux with glibc: allocator parameters through `mallopt`, the version through
//! `gnu_get_libc_version`.

use std::ffi::CStr;

/// Makes every thread of the supervisor allocate from the main arena.
///
/// The supervisor runs a few threads per generation (reaper, output, notify, probe) next to
/// its own; glibc gives each thread that allocates an arena of its own, up to eight per CPU,
/// and each stays resident. They allocate little and rarely, so sharing one arena costs no
/// measurable contention and saves about 180 KiB of resident memory after 100 upgrades
/// (docs/benchmarks.md).
pub(crate) fn one_allocator_arena() {
    // SAFETY: `mallopt` only sets an allocator parameter, before any other thread of the
    // supervisor exists. A failure (return value 0) leaves the default.
    #[expect(unsafe_code, reason = "std has no API for allocator parameters")]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Gives each scanning thread's allocator arena room up front.
///
/// The walk keeps the build information of every binary it finds, so each worker's heap only
/// grows. glibc grows a thread's arena exactly as far as each allocation needs, with one
/// `mprotect` each time: about 150 calls for 500 binaries, 10 % of the scan's CPU time. A
/// larger top pad makes every new arena start with 8 MiB of address space (the pages are only
/// touched when used), so the arenas almost never grow. This is a one-shot command: the
/// setting ends with the process.
pub(crate) fn pad_allocator_arenas() {
    const TOP_PAD: libc::c_int = 8 << 20;
    // SAFETY: `mallopt` only sets an allocator parameter; it is called before the scan starts
    // its threads. A failure (return value 0) leaves the default, which is only slower.
    #[expect(unsafe_code, reason = "std has no API for allocator parameters")]
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, TOP_PAD);
    }
}

/// The GNU C library's version.
#[expect(
    unsafe_code,
    reason = "glibc's version is only available through its C API"
)]
pub(crate) fn glibc_version() -> Option<String> {
    // SAFETY: `gnu_get_libc_version` takes no arguments and returns a pointer to a static,
    // NUL-terminated string owned by glibc that lives as long as the process.
    let version = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) };
    version.to_str().ok().map(ToOwned::to_owned)
}
