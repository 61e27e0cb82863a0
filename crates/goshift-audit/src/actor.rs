//! The acting user, as the operating system knows them (never from environment variables,
//! which anyone can set).

use std::ffi::CStr;

use crate::Actor;

impl Actor {
    /// The real user of this process: uid from `getuid`, name from the user database
    /// (`getpwuid_r`; `uid:N` when the uid has no entry, as in a bare container), host from
    /// `gethostname`.
    ///
    /// # Platform-specific behavior
    ///
    /// Unix only.
    pub fn from_os() -> Self {
        let uid = real_uid();
        Self {
            uid,
            user: user_name(uid).unwrap_or_else(|| format!("uid:{uid}")),
            host: host_name().unwrap_or_else(|| "unknown".to_owned()),
        }
    }
}

/// The names of the groups of this process (its real group and its supplementary groups),
/// from the group database (`getgrgid_r`); a group without an entry is left out. What a
/// policy's `group:NAME` is matched against.
///
/// # Platform-specific behavior
///
/// Unix only.
pub fn groups_from_os() -> Vec<String> {
    let mut names: Vec<String> = group_ids().into_iter().filter_map(group_name).collect();
    names.sort();
    names.dedup();
    names
}

#[expect(
    unsafe_code,
    reason = "getgid and getgroups have no safe wrapper in std"
)]
fn group_ids() -> Vec<libc::gid_t> {
    // SAFETY: getgid takes no arguments, always succeeds and touches no memory of ours.
    let mut ids = vec![unsafe { libc::getgid() }];
    // SAFETY: with a size of 0, getgroups only returns the count and writes nothing.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let Ok(len) = usize::try_from(count) else {
        return ids;
    };
    let mut list: Vec<libc::gid_t> = vec![0; len];
    // SAFETY: the pointer and count describe `list`, which lives across the call.
    let written = unsafe { libc::getgroups(count, list.as_mut_ptr()) };
    if let Ok(written) = usize::try_from(written) {
        list.truncate(written);
        ids.extend(list);
    }
    ids
}

fn group_name(gid: libc::gid_t) -> Option<String> {
    database_name(
        |entry: &mut libc::group, buffer: &mut [u8], result| {
            #[expect(
                unsafe_code,
                reason = "the group database is only reachable through libc"
            )]
            // SAFETY: every pointer is valid for the duration of the call: `entry` and
            // `result` are live, and `buffer` is a live allocation of `buffer.len()` bytes
            // that getgrgid_r uses for the strings `entry` points into.
            unsafe {
                libc::getgrgid_r(gid, entry, buffer.as_mut_ptr().cast(), buffer.len(), result)
            }
        },
        |entry| entry.gr_name,
    )
}

#[expect(unsafe_code, reason = "getuid has no safe wrapper in std")]
fn real_uid() -> u32 {
    // SAFETY: getuid takes no arguments, always succeeds and touches no memory of ours.
    unsafe { libc::getuid() }
}

fn user_name(uid: u32) -> Option<String> {
    database_name(
        |entry: &mut libc::passwd, buffer: &mut [u8], result| {
            #[expect(
                unsafe_code,
                reason = "the user database is only reachable through libc"
            )]
            // SAFETY: every pointer is valid for the duration of the call: `entry` and
            // `result` are live, and `buffer` is a live allocation of `buffer.len()` bytes
            // that getpwuid_r uses for the strings `entry` points into.
            unsafe {
                libc::getpwuid_r(uid, entry, buffer.as_mut_ptr().cast(), buffer.len(), result)
            }
        },
        |entry| entry.pw_name,
    )
}

/// The name in a user or group database entry that `lookup` (a `get*id_r` call) fills in,
/// growing the buffer while it is too small. `E` is a C struct of plain old data.
#[expect(
    unsafe_code,
    reason = "the account databases are only reachable through libc"
)]
fn database_name<E>(
    lookup: impl Fn(&mut E, &mut [u8], &mut *mut E) -> libc::c_int,
    name_of: impl Fn(&E) -> *const libc::c_char,
) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    loop {
        // SAFETY: `E` is `passwd` or `group`, plain old data; an all-zero value is a valid
        // starting point that the lookup overwrites.
        let mut entry: E = unsafe { std::mem::zeroed() };
        let mut result: *mut E = std::ptr::null_mut();
        let status = lookup(&mut entry, &mut buffer, &mut result);
        if status == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 4, 0);
            continue;
        }
        let name = name_of(&entry);
        if status != 0 || result.is_null() || name.is_null() {
            return None;
        }
        // SAFETY: on success the name points at a NUL-terminated string inside `buffer`,
        // which is still alive here.
        let name = unsafe { CStr::from_ptr(name) };
        return name.to_str().ok().map(ToOwned::to_owned);
    }
}

#[expect(unsafe_code, reason = "std has no API for the host name")]
fn host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the pointer and length describe `buffer`, which lives across the call.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    let name = std::str::from_utf8(&buffer[..end]).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_comes_from_the_os() {
        let actor = Actor::from_os();
        assert_eq!(actor.uid, real_uid());
        assert!(!actor.user.is_empty() && !actor.host.is_empty());
        let proc_host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(actor.host, proc_host.trim());
    }

    #[test]
    fn groups_come_from_the_os() {
        let expected = std::process::Command::new("id")
            .arg("-Gn")
            .output()
            .unwrap();
        if !expected.status.success() {
            assert!(
                std::env::var_os("CI").is_none(),
                "`id -Gn` failed under CI: {expected:?}"
            );
            eprintln!("SKIPPED: `id -Gn` failed: {expected:?}");
            return;
        }
        let mut expected: Vec<String> = String::from_utf8(expected.stdout)
            .unwrap()
            .split_whitespace()
            .map(ToOwned::to_owned)
            .collect();
        expected.sort();
        expected.dedup();
        assert_eq!(groups_from_os(), expected);
    }
}
