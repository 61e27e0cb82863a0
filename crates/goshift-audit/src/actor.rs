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

#[expect(unsafe_code, reason = "getuid has no safe wrapper in std")]
fn real_uid() -> u32 {
    // SAFETY: getuid takes no arguments, always succeeds and touches no memory of ours.
    unsafe { libc::getuid() }
}

#[expect(
    unsafe_code,
    reason = "the user database is only reachable through libc"
)]
fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    loop {
        // SAFETY: `passwd` is plain old data; an all-zero value is a valid starting point
        // that getpwuid_r overwrites.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the duration of the call: `entry` and `result`
        // are live locals, and `buffer` is a live allocation of `buffer.len()` bytes that
        // getpwuid_r uses for the strings `entry` points into.
        let status = unsafe {
            libc::getpwuid_r(
                uid,
                &raw mut entry,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &raw mut result,
            )
        };
        if status == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 4, 0);
            continue;
        }
        if status != 0 || result.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success `pw_name` points at a NUL-terminated string inside `buffer`,
        // which is still alive here.
        let name = unsafe { CStr::from_ptr(entry.pw_name) };
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
}
