//! Other C libraries: the allocator keeps its defaults, and there is no glibc version.

/// Nothing to tune: only glibc's allocator keeps an arena per thread.
pub(crate) fn one_allocator_arena() {}

/// Nothing to tune: only glibc's allocator grows an arena one `mprotect` at a time.
pub(crate) fn pad_allocator_arenas() {}

/// No glibc, no version.
pub(crate) fn glibc_version() -> Option<String> {
    None
}
