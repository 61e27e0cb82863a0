//! The system calls std has no API for: spawning with socket activation, peer credentials,
//! `SCM_CREDENTIALS`, signals. Every `unsafe` block is here.
//!
//! Spawning: everything the child needs (argv, envp, the `LISTEN_PID=` buffer, scratch for
//! fd numbers) is allocated before `fork`; after `fork` the child only calls async-signal-safe
//! functions: `prctl`, `getppid`, `fcntl`, `dup2`, `close`, `close_range`, `sigaction`,
//! `getpid` and `execve`. `LISTEN_PID` must name the child itself, which is only known after
//! `fork`, so its digits are written into the preallocated buffer there.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Everything needed to start one generation.
#[derive(Debug)]
pub(crate) struct ChildSpec<'a> {
    pub(crate) program: &'a Path,
    pub(crate) args: &'a [String],
    /// The complete environment except `LISTEN_PID`, which is added after `fork`.
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) cwd: Option<&'a Path>,
    /// The fds that become 3, 4, … in the child, in order.
    pub(crate) fds: Vec<RawFd>,
}

/// Pre-fork storage for the child. Pointers are kept as `usize` so the block can move into
/// the `pre_exec` closure; they point into the heap buffers owned by the same block, which do
/// not move when the block does.
struct ExecBlock {
    _argv: Vec<CString>,
    _env: Vec<Vec<u8>>,
    program: CString,
    argv_ptrs: Vec<usize>,
    envp_ptrs: Vec<usize>,
    listen_pid: Vec<u8>,
    fds: Vec<RawFd>,
    scratch: Vec<RawFd>,
    parent: libc::pid_t,
}

const LISTEN_PID_PREFIX: &[u8] = b"LISTEN_PID=";

/// Starts a child with `spec.fds` as fds 3.., `LISTEN_PID` set to its own pid, default
/// signal dispositions and an empty signal mask, and `PR_SET_PDEATHSIG(SIGKILL)` so it dies
/// with the thread that spawned it (the supervisor's event loop, which lives as long as the
/// supervisor). The race with the parent dying before `prctl` is closed by checking
/// `getppid()` afterwards.
#[expect(unsafe_code, reason = "pre_exec with async-signal-safe calls only")]
pub(crate) fn spawn(spec: &ChildSpec<'_>) -> io::Result<Child> {
    let nul = |e| io::Error::new(io::ErrorKind::InvalidInput, e);
    let program = CString::new(spec.program.as_os_str().as_bytes()).map_err(nul)?;
    let mut argv = vec![program.clone()];
    for arg in spec.args {
        argv.push(CString::new(arg.as_bytes()).map_err(nul)?);
    }
    let mut env: Vec<Vec<u8>> = Vec::with_capacity(spec.env.len());
    for (key, value) in &spec.env {
        let mut entry = key.as_bytes().to_vec();
        entry.push(b'=');
        entry.extend_from_slice(value.as_bytes());
        if entry.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an environment variable contains a NUL byte",
            ));
        }
        entry.push(0);
        env.push(entry);
    }
    let mut listen_pid = LISTEN_PID_PREFIX.to_vec();
    listen_pid.extend_from_slice(&[0_u8; 24]);
    let mut argv_ptrs: Vec<usize> = argv.iter().map(|a| a.as_ptr() as usize).collect();
    argv_ptrs.push(0);
    let mut envp_ptrs: Vec<usize> = env.iter().map(|e| e.as_ptr() as usize).collect();
    if !spec.fds.is_empty() {
        envp_ptrs.push(listen_pid.as_ptr() as usize);
    }
    envp_ptrs.push(0);
    let mut block = ExecBlock {
        _argv: argv,
        _env: env,
        program,
        argv_ptrs,
        envp_ptrs,
        listen_pid,
        fds: spec.fds.clone(),
        scratch: vec![-1; spec.fds.len()],
        // SAFETY: getpid has no preconditions.
        parent: unsafe { libc::getpid() },
    };
    let mut command = Command::new(spec.program);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = spec.cwd {
        command.current_dir(cwd);
    }
    // SAFETY: the closure runs in the child between fork and exec. It allocates nothing and
    // calls only async-signal-safe functions on memory prepared before fork.
    unsafe {
        command.pre_exec(move || child_setup(&mut block));
    }
    command.spawn()
}

#[expect(unsafe_code, reason = "runs between fork and exec")]
fn child_setup(block: &mut ExecBlock) -> io::Result<()> {
    // SAFETY: prctl/getppid/_exit are async-signal-safe and take plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::getppid() != block.parent {
            libc::_exit(1);
        }
    }
    let count = block.fds.len();
    let first_free = 3 + i32::try_from(count).unwrap_or(i32::MAX - 3);
    for (i, fd) in block.fds.iter().enumerate() {
        // SAFETY: fcntl on an fd we own; the duplicate lands above every target number.
        let copy = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, first_free) };
        if copy < 0 {
            return Err(io::Error::last_os_error());
        }
        block.scratch[i] = copy;
    }
    for (i, copy) in block.scratch.iter().enumerate() {
        let target = 3 + i32::try_from(i).unwrap_or(0);
        // SAFETY: dup2 onto 3+i; the new fd does not have FD_CLOEXEC, the copy keeps it.
        if unsafe { libc::dup2(*copy, target) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the copy is ours and no longer needed.
        unsafe { libc::close(*copy) };
    }
    // Anything else we inherited without FD_CLOEXEC (e.g. from our own parent) must not
    // reach the service. Failure (kernels before 5.11) leaves std's CLOEXEC discipline.
    // SAFETY: close_range with the CLOEXEC flag only changes descriptor flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            libc::c_uint::try_from(first_free).unwrap_or(libc::c_uint::MAX),
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
    for signal in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGPIPE,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        // SAFETY: resetting a disposition to default is async-signal-safe.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
    if count > 0 {
        // SAFETY: getpid is async-signal-safe.
        let pid = unsafe { libc::getpid() };
        let mut digits = [0_u8; 20];
        let mut n = u64::try_from(pid).unwrap_or(0);
        let mut len = 0;
        loop {
            digits[len] = b'0' + u8::try_from(n % 10).unwrap_or(0);
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let start = LISTEN_PID_PREFIX.len();
        for i in 0..len {
            block.listen_pid[start + i] = digits[len - 1 - i];
        }
        block.listen_pid[start + len] = 0;
    }
    // SAFETY: program, argv and envp are NUL-terminated strings in NULL-terminated arrays
    // that live in `block`, which outlives this call.
    unsafe {
        libc::execve(
            block.program.as_ptr(),
            block.argv_ptrs.as_ptr().cast::<*const libc::c_char>(),
            block.envp_ptrs.as_ptr().cast::<*const libc::c_char>(),
        );
    }
    Err(io::Error::last_os_error())
}

/// The peer's `(pid, uid)` of a connected Unix socket (`SO_PEERCRED`).
#[expect(unsafe_code, reason = "getsockopt SO_PEERCRED")]
pub(crate) fn peer_credentials(fd: RawFd) -> io::Result<(u32, u32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = libc::socklen_t::try_from(size_of::<libc::ucred>()).unwrap_or(0);
    // SAFETY: cred and len are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &raw mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((u32::try_from(cred.pid).unwrap_or(0), cred.uid))
}

/// Turns on `SO_PASSCRED`, so every datagram carries the sender's credentials.
#[expect(unsafe_code, reason = "setsockopt SO_PASSCRED")]
pub(crate) fn enable_passcred(fd: RawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: a valid int option value.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&raw const one).cast(),
            libc::socklen_t::try_from(size_of::<libc::c_int>()).unwrap_or(4),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Receives one datagram; returns its length and the sender's `(pid, uid)` from
/// `SCM_CREDENTIALS`. File descriptors sent along (`BARRIER=1`) are closed at once, which
/// is what completes the sender's barrier.
#[expect(unsafe_code, reason = "recvmsg with ancillary data")]
pub(crate) fn recv_with_credentials(
    fd: RawFd,
    buf: &mut [u8],
) -> io::Result<(usize, Option<(u32, u32)>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0_u64; 128];
    // SAFETY: msghdr is plain data; zero is a valid initial state.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of_val(&control);
    // SAFETY: msg points at live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut credentials = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled in.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            let header = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let payload = header.cmsg_len - libc::CMSG_LEN(0) as usize;
            if header.cmsg_level == libc::SOL_SOCKET && header.cmsg_type == libc::SCM_CREDENTIALS {
                let cred = std::ptr::read_unaligned(data.cast::<libc::ucred>());
                credentials = Some((u32::try_from(cred.pid).unwrap_or(0), cred.uid));
            } else if header.cmsg_level == libc::SOL_SOCKET && header.cmsg_type == libc::SCM_RIGHTS
            {
                for i in 0..payload / size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(
                        data.add(i * size_of::<RawFd>()).cast::<[u8; 4]>(),
                    );
                    let fd = RawFd::from_ne_bytes(fd);
                    libc::close(fd);
                }
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    Ok((usize::try_from(n).unwrap_or(0), credentials))
}

/// Sends `signal` to `pid`. A process that is already gone is not an error.
#[expect(unsafe_code, reason = "kill(2)")]
pub(crate) fn kill(pid: u32, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 0 {
        return;
    }
    // SAFETY: kill takes plain integers.
    unsafe { libc::kill(pid, signal) };
}

/// This process's effective uid.
#[expect(unsafe_code, reason = "geteuid(2)")]
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Raises a listening socket's accept backlog (std uses 128).
#[expect(unsafe_code, reason = "listen(2) on a socket we own")]
pub(crate) fn set_backlog(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: listen on a valid, already-listening socket only updates the backlog.
    if unsafe { libc::listen(fd, backlog) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A set of signals to block in every thread and wait for in one.
#[derive(Debug, Clone, Copy)]
pub struct SignalSet {
    set: libc::sigset_t,
}

impl SignalSet {
    /// The set of `signals`.
    #[expect(unsafe_code, reason = "sigset manipulation")]
    pub fn new(signals: &[i32]) -> Self {
        // SAFETY: sigemptyset initialises the set; sigaddset takes valid signal numbers.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut set);
            for signal in signals {
                libc::sigaddset(&raw mut set, *signal);
            }
            Self { set }
        }
    }

    /// Blocks the set in the calling thread; threads spawned afterwards inherit the mask.
    /// Call before any other thread starts, so no thread handles these signals by default.
    #[expect(unsafe_code, reason = "pthread_sigmask")]
    pub fn block(&self) -> io::Result<()> {
        // SAFETY: a valid set; the old mask is not needed.
        let rc = unsafe {
            libc::pthread_sigmask(libc::SIG_BLOCK, &raw const self.set, std::ptr::null_mut())
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(rc))
        }
    }

    /// Waits until one of the (blocked) signals arrives and returns it.
    #[expect(unsafe_code, reason = "sigwait")]
    pub fn wait(&self) -> io::Result<i32> {
        let mut signal: libc::c_int = 0;
        // SAFETY: a valid set and an int to write to.
        let rc = unsafe { libc::sigwait(&raw const self.set, &raw mut signal) };
        if rc == 0 {
            Ok(signal)
        } else {
            Err(io::Error::from_raw_os_error(rc))
        }
    }
}
