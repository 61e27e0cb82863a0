//! Linux: a child can ask the kernel to kill it when its parent dies.

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// Makes the smoke test's command die when goshift does: a goshift killed midway must not
/// leave a `go build` writing into a staging area that the next command removes.
#[expect(unsafe_code, reason = "prctl in the child before exec")]
pub(crate) fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of ours;
    // it is the only call between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
