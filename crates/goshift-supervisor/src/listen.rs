//! The listening sockets the supervisor owns for its whole life.
//!
//! Each is bound once, close-on-exec (std does that), without `SO_REUSEPORT`, with a larger
//! backlog so connections wait while generations change. Children get duplicates as fds
//! 3..; the supervisor never calls `shutdown(2)` on them, which would affect every holder.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use goshift_fs::fs;

use crate::config::{ListenAddress, ListenConfig};
use crate::error::StartError;
use crate::sys;

const BACKLOG: i32 = 4096;

/// A bound listener.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) name: String,
    pub(crate) fd: OwnedFd,
    /// The socket file to remove at shutdown, for Unix listeners.
    pub(crate) unix_path: Option<PathBuf>,
}

impl Listener {
    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Binds `config` for `service`.
pub(crate) fn bind(service: &str, config: &ListenConfig) -> Result<Listener, StartError> {
    let bind_error = |address: String| {
        let service = service.to_owned();
        move |source| StartError::Bind {
            service,
            address,
            source,
        }
    };
    match &config.address {
        ListenAddress::Tcp(address) => {
            let listener = bind_tcp(*address).map_err(bind_error(address.to_string()))?;
            Ok(Listener {
                name: config.name.clone(),
                fd: listener.into(),
                unix_path: None,
            })
        }
        ListenAddress::Unix { path, mode } => {
            let shown = format!("unix:{}", path.display());
            // A socket file left by a dead process blocks bind; one with a live listener
            // behind it belongs to someone else.
            if let Ok(metadata) = fs::symlink_metadata(path)
                && metadata.file_type().is_socket()
                && UnixStream::connect(path).is_err()
            {
                fs::remove_file(path).map_err(bind_error(shown.clone()))?;
            }
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(bind_error(shown.clone()))?;
            }
            let listener = UnixListener::bind(path).map_err(bind_error(shown.clone()))?;
            fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))
                .map_err(bind_error(shown.clone()))?;
            sys::set_backlog(&listener, BACKLOG).map_err(bind_error(shown))?;
            Ok(Listener {
                name: config.name.clone(),
                fd: listener.into(),
                unix_path: Some(path.clone()),
            })
        }
    }
}

/// Binds a TCP listener (std sets `SO_REUSEADDR` and close-on-exec, never `SO_REUSEPORT`).
pub(crate) fn bind_tcp(address: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(address)?;
    sys::set_backlog(&listener, BACKLOG)?;
    Ok(listener)
}
