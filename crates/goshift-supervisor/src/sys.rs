//! The system calls std has no API for: spawning with socket activation, peer credentials,
//! `SCM_CREDENTIALS`, signals. They go through `nix`; the only `unsafe` code is what runs
//! between `fork` and `exec`, and the one step that takes ownership of descriptors the
//! kernel handed us with `SCM_RIGHTS`. Linux only: `prctl(PR_SET_PDEATHSIG)`, `close_range`,
//! `SO_PEERCRED` and `SCM_CREDENTIALS` have no portable equivalent.
//!
//! Spawning: everything the child needs (argv, envp, the `LISTEN_PID=` buffer, scratch for
//! fd numbers) is allocated before `fork`; after `fork` the child only calls async-signal-safe
//! functions: `prctl`, `getppid`, `fcntl`, `dup2`, `close`, `close_range`, `sigaction`,
//! `getpid` and `execve`. `LISTEN_PID` must name the child itself, which is only known after
//! `fork`, so its digits are written into the preallocated buffer there.

use std::ffi::{CString, OsString};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::fcntl::{FcntlArg, fcntl};
use nix::sys::prctl;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::socket::{
    Backlog, ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr, UnixCredentials, getsockopt,
    listen, recvmsg, sendmsg, setsockopt, sockopt,
};
use nix::unistd::{self, Pid};

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
    parent: Pid,
}

const LISTEN_PID_PREFIX: &[u8] = b"LISTEN_PID=";

/// Starts a child with `spec.fds` as fds 3.., `LISTEN_PID` set to its own pid, default
/// signal dispositions and an empty signal mask, and `PR_SET_PDEATHSIG(SIGKILL)` so it dies
/// with the thread that spawned it (the supervisor's event loop, which lives as long as the
/// supervisor). The race with the parent dying before `prctl` is closed by checking
/// `getppid()` afterwards.
///
/// An executable that another thread of this process was writing a moment ago may still be
/// open for writing in a child forked meanwhile, until that child's own `exec`: `exec` of it
/// then fails with `ETXTBSY` for that moment. Such a spawn is tried again a few times.
pub(crate) fn spawn(spec: &ChildSpec<'_>) -> io::Result<Child> {
    let mut pause = std::time::Duration::from_millis(5);
    for _ in 0..5 {
        match spawn_once(spec) {
            Err(error) if error.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(pause);
                pause *= 2;
            }
            result => return result,
        }
    }
    spawn_once(spec)
}

#[expect(unsafe_code, reason = "pre_exec with async-signal-safe calls only")]
fn spawn_once(spec: &ChildSpec<'_>) -> io::Result<Child> {
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
        parent: unistd::getpid(),
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
    // Raw `_exit` rather than a Rust exit: nothing of the parent's may run in the child.
    if prctl::set_pdeathsig(Signal::SIGKILL).is_err() || unistd::getppid() != block.parent {
        // SAFETY: _exit is async-signal-safe and ends the child at once.
        unsafe { libc::_exit(1) };
    }
    move_fds(block)?;
    // Anything else we inherited without FD_CLOEXEC (e.g. from our own parent) must not
    // reach the service. Failure (kernels before 5.11) leaves std's CLOEXEC discipline.
    let first_free = 3 + block.fds.len();
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
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGPIPE,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        // SAFETY: resetting a disposition to the default installs no handler.
        let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
    }
    if !block.fds.is_empty() {
        write_listen_pid(&mut block.listen_pid, unistd::getpid().as_raw());
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

/// Puts `block.fds` at 3, 4, …: first duplicates above every target number (so no source
/// is overwritten before it is copied), then `dup2` onto the targets without `FD_CLOEXEC`.
#[expect(unsafe_code, reason = "runs between fork and exec")]
fn move_fds(block: &mut ExecBlock) -> io::Result<()> {
    let first_free = 3 + i32::try_from(block.fds.len()).unwrap_or(i32::MAX - 3);
    for (i, fd) in block.fds.iter().enumerate() {
        // SAFETY: the fd is one of the supervisor's listeners, open for the whole spawn.
        let borrowed = unsafe { BorrowedFd::borrow_raw(*fd) };
        block.scratch[i] = fcntl(borrowed, FcntlArg::F_DUPFD_CLOEXEC(first_free))?;
    }
    for (i, copy) in block.scratch.iter().enumerate() {
        let target = 3 + i32::try_from(i).unwrap_or(0);
        // SAFETY: the copy was made above and is ours; the target number is free or ours to
        // replace; the new fd has no FD_CLOEXEC and must stay open, so it is not dropped.
        unsafe {
            let copy = OwnedFd::from_raw_fd(*copy);
            std::mem::forget(unistd::dup2_raw(&copy, target)?);
        }
    }
    Ok(())
}

/// Writes `pid`'s digits after `LISTEN_PID=`, NUL-terminated, without allocating.
fn write_listen_pid(buffer: &mut [u8], pid: i32) {
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
        buffer[start + i] = digits[len - 1 - i];
    }
    buffer[start + len] = 0;
}

/// The peer's `(pid, uid)` of a connected Unix socket (`SO_PEERCRED`).
pub(crate) fn peer_credentials(socket: &impl AsFd) -> io::Result<(u32, u32)> {
    let cred = getsockopt(socket, sockopt::PeerCredentials)?;
    Ok((u32::try_from(cred.pid()).unwrap_or(0), cred.uid()))
}

/// Turns on `SO_PASSCRED`, so every datagram carries the sender's credentials.
pub(crate) fn enable_passcred(socket: &impl AsFd) -> io::Result<()> {
    setsockopt(socket, sockopt::PassCred, &true)?;
    Ok(())
}

/// Receives one datagram; returns its length and the sender's `(pid, uid)` from
/// `SCM_CREDENTIALS`. File descriptors sent along (`BARRIER=1`) are closed at once, which
/// is what completes the sender's barrier.
#[expect(
    unsafe_code,
    reason = "taking ownership of descriptors received with SCM_RIGHTS"
)]
pub(crate) fn recv_with_credentials(
    socket: &impl AsRawFd,
    buf: &mut [u8],
) -> io::Result<(usize, Option<(u32, u32)>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(UnixCredentials, [RawFd; 16]);
    let message = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut credentials = None;
    for cmsg in message.cmsgs()? {
        match cmsg {
            ControlMessageOwned::ScmCredentials(cred) => {
                credentials = Some((u32::try_from(cred.pid()).unwrap_or(0), cred.uid()));
            }
            ControlMessageOwned::ScmRights(fds) => {
                for fd in fds {
                    // SAFETY: the kernel just installed this descriptor in our table for this
                    // message; nothing else knows it, so closing it here is the only use.
                    drop(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
            _ => {}
        }
    }
    Ok((message.bytes, credentials))
}

/// Sends one datagram with `fd` attached (`SCM_RIGHTS`) to the Unix datagram socket at
/// `path` (`@name` for an abstract one).
pub(crate) fn send_with_fd(path: &Path, message: &[u8], fd: RawFd) -> io::Result<()> {
    let socket = std::os::unix::net::UnixDatagram::unbound()?;
    let text = path.as_os_str().as_bytes();
    let address = match text.strip_prefix(b"@") {
        Some(name) => UnixAddr::new_abstract(name)?,
        None => UnixAddr::new(path)?,
    };
    let fds = [fd];
    sendmsg(
        socket.as_raw_fd(),
        &[IoSlice::new(message)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        Some(&address),
    )?;
    Ok(())
}

/// `CLOCK_MONOTONIC` in microseconds, as `MONOTONIC_USEC=` wants it.
pub(crate) fn monotonic_usec() -> Option<u64> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).ok()?;
    let seconds = u64::try_from(now.tv_sec()).ok()?;
    let micros = u64::try_from(now.tv_nsec()).ok()? / 1000;
    seconds.checked_mul(1_000_000)?.checked_add(micros)
}

/// Sends `signal` to `pid`. A process that is already gone is not an error.
pub(crate) fn kill(pid: u32, signal: i32) {
    let (Ok(pid), Ok(signal)) = (i32::try_from(pid), Signal::try_from(signal)) else {
        return;
    };
    if pid > 0 {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
    }
}

/// This process's effective uid.
pub(crate) fn effective_uid() -> u32 {
    unistd::geteuid().as_raw()
}

/// Raises a listening socket's accept backlog (std uses 128).
pub(crate) fn set_backlog(socket: &impl AsFd, backlog: i32) -> io::Result<()> {
    listen(socket, Backlog::new(backlog)?)?;
    Ok(())
}

/// A set of signals to block in every thread and wait for in one.
#[derive(Debug, Clone, Copy)]
pub struct SignalSet {
    set: SigSet,
}

impl SignalSet {
    /// The set of `signals` (numbers this system does not know are left out).
    pub fn new(signals: &[i32]) -> Self {
        let mut set = SigSet::empty();
        for signal in signals.iter().filter_map(|s| Signal::try_from(*s).ok()) {
            set.add(signal);
        }
        Self { set }
    }

    /// Blocks the set in the calling thread; threads spawned afterwards inherit the mask.
    /// Call before any other thread starts, so no thread handles these signals by default.
    pub fn block(&self) -> io::Result<()> {
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&self.set), None)?;
        Ok(())
    }

    /// Waits until one of the (blocked) signals arrives and returns it.
    pub fn wait(&self) -> io::Result<i32> {
        Ok(self.set.wait()? as i32)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;

    use super::{ChildSpec, spawn};

    /// A release still open for writing somewhere (here: by this test, as a child forked by
    /// another thread would hold it) is started once it is closed, not refused.
    #[test]
    fn an_executable_still_open_for_writing_is_started_once_it_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("service");
        let mut file = std::fs::File::create(&program).unwrap();
        file.write_all(b"#!/bin/sh\nexit 0\n").unwrap();
        file.set_permissions(std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(file);
        });
        let spec = ChildSpec {
            program: &program,
            args: &[],
            env: Vec::new(),
            cwd: None,
            fds: Vec::new(),
        };
        let mut child = spawn(&spec).expect("spawned once the writer closed the file");
        assert!(child.wait().unwrap().success());
        closer.join().unwrap();
    }
}
