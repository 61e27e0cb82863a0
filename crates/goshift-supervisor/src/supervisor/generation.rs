//! One generation's process: a child started from one release with the service's listeners,
//! its own notify socket, admin listener, reaper thread and readiness probe. What the
//! generation means for the service (starting, ready, draining) is the core's business.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::time::Instant;

use crate::config::ServiceConfig;
use crate::listen::{self, Listener};
use crate::notify::NotifySocket;
use crate::probe::{self, Probe, ProbeHandle};
use crate::release::Release;
use crate::sys::{self, ChildSpec};

use super::Event;
use crate::machine::Input;

/// Variables the supervisor sets for each generation; inherited values are removed first.
const OWN_VARIABLES: [&str; 6] = [
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "LISTEN_PIDFDID",
    "NOTIFY_SOCKET",
    "GOSHIFT_ADMIN_ADDR",
];

/// The I/O side of a live generation; dropping it stops the notify reader and the probe.
#[derive(Debug)]
pub(super) struct Process {
    pub(super) pid: u32,
    pub(super) admin: SocketAddr,
    _notify: NotifySocket,
    _probe: Option<ProbeHandle>,
}

/// Everything needed to start a generation.
pub(super) struct Launch<'a> {
    pub(super) service_index: usize,
    pub(super) config: &'a ServiceConfig,
    pub(super) listeners: &'a [Listener],
    pub(super) run_dir: &'a Path,
    pub(super) base_env: &'a [(OsString, OsString)],
    pub(super) events: &'a Sender<Event>,
}

impl Launch<'_> {
    /// Starts generation `id` of `release`.
    pub(super) fn start(&self, id: u64, release: &Release) -> std::io::Result<Process> {
        let config = self.config;
        let admin = listen::bind_tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let admin_address = admin.local_addr()?;
        let mut notify =
            NotifySocket::bind(self.run_dir.join(format!("{}.{id}.notify", config.name)))?;
        let mut env: Vec<(OsString, OsString)> = self
            .base_env
            .iter()
            .filter(|(k, _)| !OWN_VARIABLES.iter().any(|own| k == own))
            .filter(|(k, _)| !config.env.contains_key(&k.to_string_lossy().into_owned()))
            .cloned()
            .collect();
        for (key, value) in &config.env {
            env.push((key.into(), value.into()));
        }
        let mut names: Vec<&str> = self.listeners.iter().map(|l| l.name.as_str()).collect();
        names.push("admin");
        env.push(("LISTEN_FDS".into(), names.len().to_string().into()));
        env.push(("LISTEN_FDNAMES".into(), names.join(":").into()));
        env.push(("NOTIFY_SOCKET".into(), notify.path().as_os_str().to_owned()));
        env.push((
            "GOSHIFT_ADMIN_ADDR".into(),
            admin_address.to_string().into(),
        ));
        let mut fds: Vec<_> = self.listeners.iter().map(Listener::raw).collect();
        fds.push(admin.as_raw_fd());
        let spec = ChildSpec {
            program: &release.binary,
            args: &config.args,
            env,
            cwd: config.cwd.as_deref(),
            fds,
        };
        let mut child = sys::spawn(&spec)?;
        // The admin listener now belongs to the child alone.
        drop(admin);
        let pid = child.id();
        let events = self.events.clone();
        let service = self.service_index;
        let reaper = std::thread::Builder::new()
            .name("reaper".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let status = child.wait();
                let at = Instant::now();
                let _ = events.send(Event::Core(Input::Exited {
                    service,
                    generation: id,
                    status: status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                    at,
                }));
            });
        if let Err(error) = reaper {
            sys::kill(pid, libc::SIGKILL);
            return Err(error);
        }
        let events = self.events.clone();
        notify.start(pid, move |message| {
            let _ = events.send(Event::Core(Input::Notify {
                service,
                generation: id,
                message,
            }));
        });
        let probe_kind = match (&config.ready.http, config.ready.tcp) {
            (Some(path), _) => Some(Probe::Http(path.clone())),
            (None, true) => Some(Probe::Tcp),
            (None, false) => None,
        };
        let probe = probe_kind.map(|kind| {
            let events = self.events.clone();
            probe::start(kind, admin_address, pid, move || {
                let _ = events.send(Event::Core(Input::ProbeReady {
                    service,
                    generation: id,
                }));
            })
        });
        Ok(Process {
            pid,
            admin: admin_address,
            _notify: notify,
            _probe: probe,
        })
    }
}
