//! The control socket: a Unix stream socket, mode 0600, whose peers must be root or the
//! supervisor's own user (checked with `SO_PEERCRED` as well, in case the mode is widened).
//!
//! Protocol: the client writes one JSON [`Request`] line; the supervisor answers with JSON
//! [`Reply`] lines and closes. An upgrade streams [`Reply::Phase`] lines and ends with
//! [`Reply::Outcome`].

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};

use serde::{Deserialize, Serialize};

use crate::error::{ControlError, StartError};
use crate::handoff::ReloadReport;
use crate::output::GenerationLog;
use crate::phase::{Outcome, PhaseEvent, ServiceStatus};
use crate::sys;

/// The longest request line read; a request is a few hundred bytes.
const MAX_REQUEST: u64 = 64 * 1024;

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Every service's status.
    Status,
    /// The services' names only: cheap, where the status counts each generation's
    /// connections in the kernel's TCP tables.
    Services,
    /// Upgrade `service` to the staged release `release`.
    Upgrade {
        /// The service.
        service: String,
        /// The release id (already in the store).
        release: String,
        /// Why.
        reason: Option<String>,
    },
    /// Go back to the release that ran before the current one.
    Rollback {
        /// The service.
        service: String,
        /// Why.
        reason: Option<String>,
    },
    /// The kept output tails of `service`'s current and recent generations.
    Logs {
        /// The service.
        service: String,
        /// Only this generation (it must still be kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        generation: Option<u64>,
    },
    /// Hand everything to a new process of the goshift binary (re-exec) that loads
    /// `config` (the running service file when `None`). Only a failure is answered; on
    /// success the connection closes with the exec: ask [`Request::Reloaded`] then.
    Reload {
        /// The service file to load (absolute).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<PathBuf>,
    },
    /// The report of the reload this supervisor process came from, once its upgrades ended.
    Reloaded,
    /// Drain and stop everything, then exit.
    Stop,
}

/// What the supervisor answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The status of every service.
    Status {
        /// The services.
        services: Vec<ServiceStatus>,
    },
    /// The names of the services.
    Services {
        /// The names, in configuration order.
        names: Vec<String>,
    },
    /// The kept output of a service's generations, oldest first.
    Logs {
        /// The service.
        service: String,
        /// Its generations whose output is kept (up to
        /// [`KEPT_GENERATIONS`](crate::KEPT_GENERATIONS)), oldest first.
        generations: Vec<GenerationLog>,
    },
    /// A phase change of the upgrade asked for.
    Phase {
        /// The event.
        event: PhaseEvent,
    },
    /// The upgrade's outcome; the last line.
    Outcome {
        /// The outcome.
        outcome: Outcome,
    },
    /// What a reload did.
    Reloaded {
        /// The report.
        report: ReloadReport,
    },
    /// The request was accepted (stop).
    Accepted,
    /// The request was refused.
    Error {
        /// Why.
        message: String,
    },
}

/// Binds the control socket at `path` with mode 0600, refusing to take over a live one.
pub(crate) fn bind(path: &Path) -> Result<UnixListener, StartError> {
    let setup = |what: &str| {
        let what = format!("{what} `{}`", path.display());
        move |source| StartError::Setup { what, source }
    };
    if let Some(parent) = path.parent() {
        goshift_fs::fs::create_dir_all(parent).map_err(setup("the directory of"))?;
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(StartError::AlreadyRunning {
                path: path.to_owned(),
            });
        }
        goshift_fs::fs::remove_file(path).map_err(setup("the stale control socket"))?;
    }
    let listener = UnixListener::bind(path).map_err(setup("the control socket"))?;
    goshift_fs::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(setup("the control socket's mode"))?;
    Ok(listener)
}

/// Serves `listener` on a thread: each connection's request goes to `forward` with a channel
/// for the replies.
pub(crate) fn serve(
    listener: UnixListener,
    forward: impl Fn(Request, Sender<Reply>) + Send + Clone + 'static,
) {
    let own_uid = sys::effective_uid();
    let _ = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let forward = forward.clone();
                let _ = std::thread::Builder::new()
                    .name("control-client".into())
                    .stack_size(128 * 1024)
                    .spawn(move || handle(&stream, own_uid, &forward));
            }
        });
}

fn handle(stream: &UnixStream, own_uid: u32, forward: &impl Fn(Request, Sender<Reply>)) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut send = |reply: &Reply| -> bool {
        let Ok(mut line) = serde_json::to_string(reply) else {
            return false;
        };
        line.push('\n');
        writer.write_all(line.as_bytes()).is_ok()
    };
    // The request is read before the peer is judged: closing a Unix socket with unread data
    // resets it, and the client would see "connection reset" instead of the refusal.
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let mut line = String::new();
    if BufReader::new(stream.take(MAX_REQUEST))
        .read_line(&mut line)
        .is_err()
    {
        return;
    }
    match sys::peer_credentials(stream) {
        Ok((_, uid)) if uid == 0 || uid == own_uid => {}
        Ok((_, uid)) => {
            send(&Reply::Error {
                message: format!(
                    "uid {uid} may not control this supervisor (only root and uid {own_uid})"
                ),
            });
            return;
        }
        Err(_) => return,
    }
    let request: Request = match serde_json::from_str(&line) {
        Ok(request) => request,
        Err(e) => {
            send(&Reply::Error {
                message: format!("malformed request: {e}"),
            });
            return;
        }
    };
    let (tx, rx) = mpsc::channel();
    forward(request, tx);
    for reply in rx {
        if !send(&reply) {
            break;
        }
    }
}

/// A connection to a running supervisor.
#[derive(Debug)]
pub struct Client {
    path: PathBuf,
}

impl Client {
    /// A client for the control socket at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Sends `request` and calls `on_reply` for every reply line until the supervisor closes.
    pub fn request(
        &self,
        request: &Request,
        mut on_reply: impl FnMut(Reply),
    ) -> Result<(), ControlError> {
        let mut stream =
            UnixStream::connect(&self.path).map_err(|source| ControlError::NotRunning {
                path: self.path.clone(),
                source,
            })?;
        let protocol = |source| ControlError::Protocol { source };
        let mut line = serde_json::to_string(request).map_err(|e| protocol(e.into()))?;
        line.push('\n');
        stream.write_all(line.as_bytes()).map_err(protocol)?;
        for line in BufReader::new(stream).lines() {
            let line = line.map_err(protocol)?;
            let reply: Reply = serde_json::from_str(&line).map_err(|e| protocol(e.into()))?;
            on_reply(reply);
        }
        Ok(())
    }
}
