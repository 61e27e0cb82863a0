//! Linux: a child can ask the kernel to kill it when its parent dies.

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// Makes the smoke test's command die when goshift does: a goshift killed midway must not
/// leave a `go build` writing into a staging area that the next command removes.
/// A goshift killed after the fork and before the child's `prctl` sends no signal, so the
/// child then checks that its parent is still the goshift that forked it, and does not run
/// otherwise.
#[expect(unsafe_code, reason = "prctl and getppid in the child before exec")]
pub(crate) fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid are async-signal-safe and touch no memory
    // of ours; the errors are built without allocating.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}
