//! Listeners the service manager hands the supervisor: systemd's socket activation
//! (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`, fds from 3) and its file-descriptor store,
//! which gives back, after a crash or restart, the sockets the supervisor stored with
//! `FDSTORE=1`.
//!
//! A passed socket is matched to a listener of the service file by its name,
//! `SERVICE.LISTENER` (`FileDescriptorName=api.http` in a socket unit; the name the
//! supervisor stores its own sockets under), or `LISTENER` alone when the file has one
//! service. It must listen where the file says, so a stale socket unit cannot silently serve
//! another address. Sockets no listener claims are closed and named, so they can be removed
//! from the store.

use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::socket::{
    AddressFamily, SockType, SockaddrLike, SockaddrStorage, getsockname, getsockopt, sockopt,
};

use crate::config::{ListenAddress, ListenConfig};
use crate::error::ActivationError;

/// The first descriptor of socket activation (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// The socket-activation variables as the caller read them from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivationEnv {
    /// `LISTEN_PID`: the process the descriptors are for.
    pub listen_pid: Option<String>,
    /// `LISTEN_FDS`: how many descriptors, from 3.
    pub listen_fds: Option<String>,
    /// `LISTEN_FDNAMES`: their names, colon-separated.
    pub listen_fdnames: Option<String>,
}

/// Named listening sockets passed by the service manager, not yet claimed by a listener.
#[derive(Debug, Default)]
pub struct Inherited {
    sockets: Vec<(String, OwnedFd)>,
}

impl Inherited {
    /// Nothing inherited.
    pub fn none() -> Self {
        Self::default()
    }

    /// Named sockets the caller already owns (a test harness, or a caller that received them
    /// another way).
    pub fn from_sockets(sockets: Vec<(String, OwnedFd)>) -> Self {
        Self { sockets }
    }

    /// Takes the descriptors systemd passed to process `pid`: none when `LISTEN_FDS` is not
    /// set or `LISTEN_PID` names another process (they were meant for an ancestor), as
    /// `sd_listen_fds` does. Each becomes close-on-exec. Call it once, before anything else
    /// opens a descriptor.
    pub fn from_env(env: &ActivationEnv, pid: u32) -> Result<Self, ActivationError> {
        let (Some(count), Some(listen_pid)) = (&env.listen_fds, &env.listen_pid) else {
            return Ok(Self::none());
        };
        if listen_pid.trim().parse::<u32>().ok() != Some(pid) {
            return Ok(Self::none());
        }
        let count: usize = count
            .trim()
            .parse()
            .ok()
            .filter(|n| *n <= 4096)
            .ok_or_else(|| ActivationError::BadCount {
                value: count.clone(),
            })?;
        let names = names(env.listen_fdnames.as_deref(), count)?;
        let mut sockets = Vec::with_capacity(count);
        for (offset, name) in names.into_iter().enumerate() {
            // `count` is at most 4096, so the sum fits.
            let fd = FIRST_FD + RawFd::try_from(offset).unwrap_or(RawFd::MAX - FIRST_FD);
            sockets.push((name, take_fd(fd)?));
        }
        Ok(Self { sockets })
    }

    /// True when nothing (more) is inherited.
    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// The socket passed for `service`'s `listener`, checked to listen where the service file
    /// says; `None` when none was passed. `single` is true when the file has one service,
    /// which lets the socket be named after the listener alone.
    pub(crate) fn take(
        &mut self,
        service: &str,
        listener: &ListenConfig,
        single: bool,
    ) -> Result<Option<OwnedFd>, ActivationError> {
        let full = store_name(service, &listener.name);
        let position = self
            .sockets
            .iter()
            .position(|(name, _)| *name == full)
            .or_else(|| {
                single
                    .then(|| {
                        self.sockets
                            .iter()
                            .position(|(name, _)| *name == listener.name)
                    })
                    .flatten()
            });
        let Some(position) = position else {
            return Ok(None);
        };
        let (name, fd) = self.sockets.remove(position);
        check(&name, &fd, &listener.address)?;
        Ok(Some(fd))
    }

    /// The names of the sockets no listener claimed; they are closed.
    pub(crate) fn leftovers(self) -> Vec<String> {
        self.sockets.into_iter().map(|(name, _)| name).collect()
    }
}

/// The name a listener's socket is stored and looked up under: `SERVICE.LISTENER`.
pub(crate) fn store_name(service: &str, listener: &str) -> String {
    format!("{service}.{listener}")
}

/// `count` names from `LISTEN_FDNAMES`, or `unknown` for each when it is not set (systemd's
/// name for a socket without `FileDescriptorName=`).
fn names(text: Option<&str>, count: usize) -> Result<Vec<String>, ActivationError> {
    let Some(text) = text else {
        return Ok(vec!["unknown".to_owned(); count]);
    };
    let names: Vec<String> = if text.is_empty() {
        Vec::new()
    } else {
        text.split(':').map(str::to_owned).collect()
    };
    if names.len() != count {
        return Err(ActivationError::NameCount {
            count,
            names: text.to_owned(),
        });
    }
    Ok(names)
}

/// Takes ownership of `fd` after checking that it is open, and makes it close-on-exec.
#[expect(
    unsafe_code,
    reason = "taking ownership of a descriptor inherited through socket activation"
)]
fn take_fd(fd: RawFd) -> Result<OwnedFd, ActivationError> {
    // SAFETY: F_GETFD reads the descriptor's flags and touches no memory; it fails with
    // EBADF for a descriptor that is not open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(ActivationError::NotOpen { fd });
    }
    // SAFETY: by the socket-activation protocol, fds 3..3+LISTEN_FDS belong to this process
    // and nothing in it uses them yet (`from_env` runs once, before anything else opens a
    // descriptor); the check above proved it open.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| ActivationError::Socket {
        name: format!("fd {fd}"),
        source: e.into(),
    })?;
    Ok(owned)
}

/// `fd` is a listening stream socket at `address`.
fn check(name: &str, fd: &OwnedFd, address: &ListenAddress) -> Result<(), ActivationError> {
    let io = |source: nix::Error| ActivationError::Socket {
        name: name.to_owned(),
        source: source.into(),
    };
    let listening = getsockopt(fd, sockopt::AcceptConn).map_err(io)?;
    let stream = getsockopt(fd, sockopt::SockType).map_err(io)? == SockType::Stream;
    let local: SockaddrStorage = getsockname(fd.as_raw_fd()).map_err(io)?;
    let (actual, matches) = match local.family() {
        Some(AddressFamily::Inet | AddressFamily::Inet6) => {
            let clone = fd.try_clone().map_err(|source| ActivationError::Socket {
                name: name.to_owned(),
                source,
            })?;
            let tcp = TcpListener::from(clone).local_addr().map_err(|source| {
                ActivationError::Socket {
                    name: name.to_owned(),
                    source,
                }
            })?;
            let matches = matches!(address, ListenAddress::Tcp(expected) if *expected == tcp);
            (format!("tcp://{tcp}"), matches)
        }
        Some(AddressFamily::Unix) => {
            let path = local
                .as_unix_addr()
                .and_then(|u| u.path())
                .map(PathBuf::from);
            let matches = matches!(
                (address, &path),
                (ListenAddress::Unix { path: expected, .. }, Some(path)) if expected == path
            );
            let shown = path.map_or_else(
                || "an unnamed Unix socket".to_owned(),
                |p| format!("unix:{}", p.display()),
            );
            (shown, matches)
        }
        other => (format!("a socket of family {other:?}"), false),
    };
    if !listening || !stream || !matches {
        return Err(ActivationError::Mismatch {
            name: name.to_owned(),
            actual: if listening && stream {
                actual
            } else {
                format!("{actual}, not a listening stream socket")
            },
            expected: match address {
                ListenAddress::Tcp(a) => format!("tcp://{a}"),
                ListenAddress::Unix { path, .. } => format!("unix:{}", path.display()),
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::os::unix::net::UnixListener;

    use super::*;

    fn tcp(address: SocketAddr) -> ListenConfig {
        ListenConfig {
            name: "http".into(),
            address: ListenAddress::Tcp(address),
        }
    }

    #[test]
    fn names_come_from_listen_fdnames() {
        assert_eq!(names(None, 2).unwrap(), ["unknown", "unknown"]);
        assert_eq!(
            names(Some("api.http:api.grpc"), 2).unwrap(),
            ["api.http", "api.grpc"]
        );
        let error = names(Some("a:b:c"), 2).unwrap_err().to_string();
        assert!(
            error.contains("LISTEN_FDNAMES") && error.contains("a:b:c"),
            "{error}"
        );
    }

    #[test]
    fn descriptors_for_another_process_are_left_alone() {
        let env = ActivationEnv {
            listen_pid: Some("1".into()),
            listen_fds: Some("5".into()),
            listen_fdnames: None,
        };
        assert!(Inherited::from_env(&env, 2).unwrap().is_empty());
        let unset = ActivationEnv::default();
        assert!(Inherited::from_env(&unset, 2).unwrap().is_empty());
        let bad = ActivationEnv {
            listen_pid: Some("2".into()),
            listen_fds: Some("many".into()),
            listen_fdnames: None,
        };
        let error = Inherited::from_env(&bad, 2).unwrap_err().to_string();
        assert!(
            error.contains("LISTEN_FDS") && error.contains("many"),
            "{error}"
        );
    }

    #[test]
    fn listeners_are_matched_by_service_and_name() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut inherited = Inherited::from_sockets(vec![
            ("web.http".into(), a.into()),
            ("api.http".into(), b.into()),
        ]);
        let fd = inherited.take("api", &tcp(b_addr), false).unwrap().unwrap();
        assert_eq!(TcpListener::from(fd).local_addr().unwrap(), b_addr);
        // `http` alone is not enough when two services could mean it.
        assert!(
            inherited
                .take("other", &tcp(a_addr), false)
                .unwrap()
                .is_none()
        );
        assert_eq!(inherited.leftovers(), ["web.http"]);
    }

    #[test]
    fn a_bare_listener_name_is_enough_for_a_single_service() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = a.local_addr().unwrap();
        let mut inherited = Inherited::from_sockets(vec![("http".into(), a.into())]);
        assert!(
            inherited
                .take("api", &tcp(address), true)
                .unwrap()
                .is_some()
        );
        assert!(inherited.is_empty());
    }

    #[test]
    fn a_socket_at_another_address_is_refused() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let elsewhere = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let actual = a.local_addr().unwrap();
        let mut inherited = Inherited::from_sockets(vec![("api.http".into(), a.into())]);
        let error = inherited
            .take("api", &tcp(elsewhere), false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("tcp://{actual}"))
                && error.contains(&format!("tcp://{elsewhere}")),
            "{error}"
        );
    }

    #[test]
    fn unix_sockets_are_matched_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let config = ListenConfig {
            name: "grpc".into(),
            address: ListenAddress::Unix {
                path: path.clone(),
                mode: 0o660,
            },
        };
        let mut inherited = Inherited::from_sockets(vec![("api.grpc".into(), listener.into())]);
        assert!(inherited.take("api", &config, false).unwrap().is_some());
        // A connected socket is not a listener.
        let (one, _other) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut inherited = Inherited::from_sockets(vec![("api.grpc".into(), one.into())]);
        let error = inherited
            .take("api", &config, false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a listening stream socket"), "{error}");
    }
}
