//! One generation's process: a child started from one release with the service's listeners,
//! its own notify socket, admin listener, reaper thread, output readers and readiness probe.
//! What the generation means for the service (starting, ready, draining) is the core's
//! business.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use crate::config::ServiceConfig;
use crate::listen::{self, Listener};
use crate::machine::Input;
use crate::notify::NotifySocket;
use crate::output::{self, Capture, Sink};
use crate::probe::{self, Probe, ProbeHandle};
use crate::release::Release;
use crate::sys::{self, ChildSpec};

use super::Event;

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
    pub(super) capture: Arc<Capture>,
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
    pub(super) sink: &'a Sink,
}

impl Launch<'_> {
    /// Starts generation `id` of `release`.
    pub(super) fn start(&self, id: u64, release: &Release) -> std::io::Result<Process> {
        let config = self.config;
        let admin = listen::bind_tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let admin_address = admin.local_addr()?;
        let mut notify =
            NotifySocket::bind(self.run_dir.join(format!("{}.{id}.notify", config.name)))?;
        let mut fds: Vec<_> = self.listeners.iter().map(Listener::raw).collect();
        fds.push(admin.as_raw_fd());
        let spec = ChildSpec {
            program: &release.binary,
            args: &config.args,
            env: self.environment(notify.path(), admin_address),
            cwd: config.cwd.as_deref(),
            fds,
        };
        let child = sys::spawn(&spec)?;
        // The admin listener now belongs to the child alone.
        drop(admin);
        let pid = child.id();
        let capture = Capture::new(id, pid);
        if let Err(error) = self.watch(id, child, &capture) {
            sys::kill(pid, libc::SIGKILL);
            return Err(error);
        }
        let events = self.events.clone();
        let service = self.service_index;
        notify.start(pid, move |message| {
            let _ = events.send(Event::Core(Input::Notify {
                service,
                generation: id,
                message,
            }));
        });
        Ok(Process {
            pid,
            admin: admin_address,
            capture,
            _notify: notify,
            _probe: self.probe(id, admin_address, pid),
        })
    }

    /// The supervisor's environment without our own variables, the service's `env`, then
    /// the socket-activation and notify variables (`LISTEN_PID` is added after `fork`).
    fn environment(&self, notify: &Path, admin: SocketAddr) -> Vec<(OsString, OsString)> {
        let config = self.config;
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
        // The goroutine dump of an incident (`SIGQUIT`) shows every goroutine.
        if !env.iter().any(|(k, _)| k == "GOTRACEBACK") {
            env.push(("GOTRACEBACK".into(), "all".into()));
        }
        let mut names: Vec<&str> = self.listeners.iter().map(|l| l.name.as_str()).collect();
        names.push("admin");
        env.push(("LISTEN_FDS".into(), names.len().to_string().into()));
        env.push(("LISTEN_FDNAMES".into(), names.join(":").into()));
        env.push(("NOTIFY_SOCKET".into(), notify.as_os_str().to_owned()));
        env.push(("GOSHIFT_ADMIN_ADDR".into(), admin.to_string().into()));
        env
    }

    /// Starts the threads that read the child's stdout and stderr and that reap it.
    fn watch(&self, id: u64, mut child: Child, capture: &Arc<Capture>) -> std::io::Result<()> {
        if let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) {
            let capture = Arc::clone(capture);
            let sink = self.sink.clone();
            let buf = vec![0_u8; 8192];
            std::thread::Builder::new()
                .name("output".into())
                .stack_size(64 * 1024)
                .spawn(move || output::read_both(stdout, stderr, &capture, &sink, buf))?;
        }
        let events = self.events.clone();
        let service = self.service_index;
        std::thread::Builder::new()
            .name("reaper".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let status = child.wait();
                let _ = events.send(Event::Core(Input::Exited {
                    service,
                    generation: id,
                    status: status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                    at: Instant::now(),
                }));
            })?;
        Ok(())
    }

    fn probe(&self, id: u64, admin: SocketAddr, pid: u32) -> Option<ProbeHandle> {
        let kind = match (&self.config.ready.http, self.config.ready.tcp) {
            (Some(path), _) => Probe::Http(path.clone()),
            (None, true) => Probe::Tcp,
            (None, false) => return None,
        };
        let events = self.events.clone();
        let service = self.service_index;
        Some(probe::start(kind, admin, pid, move || {
            let _ = events.send(Event::Core(Input::ProbeReady {
                service,
                generation: id,
            }));
        }))
    }
}
