//! `sd_notify` in both directions: a per-generation `NOTIFY_SOCKET` the supervisor reads, and
//! the messages the supervisor itself sends to systemd.
//!
//! A generation's socket accepts datagrams only from the generation's process or one of its
//! descendants (so a shell that runs `systemd-notify --ready` works), checked with
//! `SCM_CREDENTIALS`; anything else is dropped and counted.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::sys;

/// What one datagram said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyMessage {
    /// `READY=1`.
    pub ready: bool,
    /// `STATUS=…`.
    pub status: Option<String>,
    /// `EXTEND_TIMEOUT_USEC=…`.
    pub extend: Option<Duration>,
    /// `STOPPING=1`.
    pub stopping: bool,
}

impl NotifyMessage {
    /// Parses newline-separated `KEY=VALUE` pairs; unknown keys are ignored.
    pub fn parse(text: &str) -> Self {
        let mut message = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "READY" => message.ready = value == "1",
                "STATUS" => message.status = Some(value.to_owned()),
                "EXTEND_TIMEOUT_USEC" => {
                    message.extend = value.parse().ok().map(Duration::from_micros);
                }
                "STOPPING" => message.stopping = value == "1",
                _ => {}
            }
        }
        message
    }
}

/// A generation's notify socket. Dropping it stops its reader and removes the socket file.
#[derive(Debug)]
pub(crate) struct NotifySocket {
    path: PathBuf,
    socket: Option<UnixDatagram>,
    stop: Arc<AtomicBool>,
}

impl NotifySocket {
    /// Binds a datagram socket at `path` with `SO_PASSCRED` on.
    pub(crate) fn bind(path: PathBuf) -> std::io::Result<Self> {
        let _ = goshift_fs::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path)?;
        sys::enable_passcred(&socket)?;
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(Self {
            path,
            socket: Some(socket),
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A socket a predecessor bound at `path`, handed over by re-exec.
    pub(crate) fn adopt(path: PathBuf, fd: std::os::fd::OwnedFd) -> std::io::Result<Self> {
        let socket = UnixDatagram::from(fd);
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(Self {
            path,
            socket: Some(socket),
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The socket's descriptor, before [`start`](Self::start) takes it to its thread.
    pub(crate) fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.socket.as_ref().map(std::os::fd::AsRawFd::as_raw_fd)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads datagrams from `pid` (or its descendants) until dropped, passing each parsed
    /// message to `deliver`.
    pub(crate) fn start(&mut self, pid: u32, deliver: impl Fn(NotifyMessage) + Send + 'static) {
        let Some(socket) = self.socket.take() else {
            return;
        };
        let stop = Arc::clone(&self.stop);
        let uid = sys::effective_uid();
        let spawned = std::thread::Builder::new()
            .name("notify".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut buf = vec![0_u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    match sys::recv_with_credentials(&socket, &mut buf) {
                        Ok((n, Some((sender, sender_uid)))) => {
                            if (sender_uid == uid || sender_uid == 0)
                                && is_same_or_descendant(sender, pid)
                            {
                                let text = String::from_utf8_lossy(&buf[..n]);
                                deliver(NotifyMessage::parse(&text));
                            }
                        }
                        Ok((_, None)) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock
                                    | std::io::ErrorKind::TimedOut
                                    | std::io::ErrorKind::Interrupted
                            ) => {}
                        Err(_) => break,
                    }
                }
            });
        // Without a reader the generation can still become ready through a probe, or time
        // out; a failed thread spawn is not fatal.
        drop(spawned);
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = goshift_fs::fs::remove_file(&self.path);
    }
}

/// True if `pid` is `ancestor` or a descendant of it, by walking `/proc/<pid>/stat`.
pub(crate) fn is_same_or_descendant(pid: u32, ancestor: u32) -> bool {
    let mut current = pid;
    for _ in 0..64 {
        if current == ancestor {
            return true;
        }
        if current <= 1 {
            return false;
        }
        match parent_of(current) {
            Some(parent) => current = parent,
            None => return false,
        }
    }
    false
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = goshift_fs::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; the fields after the last `)` are
    // `state ppid …`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `message` to the service manager's `NOTIFY_SOCKET` (`/path` or `@abstract`).
pub fn send_to_manager(socket: &Path, message: &str) -> std::io::Result<()> {
    let datagram = UnixDatagram::unbound()?;
    let text = socket.as_os_str().to_string_lossy();
    if let Some(name) = text.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        datagram.send_to_addr(message.as_bytes(), &address)?;
    } else {
        datagram.send_to(message.as_bytes(), socket)?;
    }
    Ok(())
}

/// Puts `fd` in the service manager's file-descriptor store under `name` (`FDSTORE=1`,
/// `FDNAME=`; the descriptor travels with `SCM_RIGHTS`). systemd keeps it only when the unit
/// sets `FileDescriptorStoreMax=`, and hands it back with `LISTEN_FDS` on the next start.
pub(crate) fn store_with_manager(
    socket: &Path,
    name: &str,
    fd: &impl std::os::fd::AsRawFd,
) -> std::io::Result<()> {
    let message = format!("FDSTORE=1\nFDNAME={name}");
    sys::send_with_fd(socket, message.as_bytes(), fd.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_messages() {
        let m = NotifyMessage::parse("READY=1\nSTATUS=serving 3 listeners\nX_FOO=bar\n");
        assert!(m.ready);
        assert_eq!(m.status.as_deref(), Some("serving 3 listeners"));
        let m = NotifyMessage::parse("EXTEND_TIMEOUT_USEC=5000000");
        assert_eq!(m.extend, Some(Duration::from_secs(5)));
        assert!(!m.ready);
    }

    #[test]
    fn descendants_are_found() {
        let me = std::process::id();
        assert!(is_same_or_descendant(me, me));
        assert!(is_same_or_descendant(me, parent_of(me).unwrap()));
        assert!(!is_same_or_descendant(parent_of(me).unwrap(), me));
    }
}
