//! One generation's process: a child started from one release with the service's listeners,
//! its own notify socket, admin listener, reaper thread, output readers and readiness probe.
//! What the generation means for the service (starting, ready, draining) is the core's
//! business.

use std::collections::HashSet;
use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use crate::config::ServiceConfig;
use crate::handoff::{self, ServiceState};
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
    /// The private admin listener's address, when the service file passes one.
    pub(super) admin: Option<SocketAddr>,
    pub(super) capture: Arc<Capture>,
    /// The release it runs.
    pub(super) release: String,
    /// The connections it was seen holding on the service's TCP listeners.
    pub(super) accepted: Accepted,
    /// Its notify socket's descriptor and path, and its stdout and stderr pipes: what a
    /// re-exec hands over.
    pub(super) notify_fd: Option<(RawFd, PathBuf)>,
    pub(super) output_fds: Option<(RawFd, RawFd)>,
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
        let admin = config
            .admin
            .as_ref()
            .map(|_| listen::bind_tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
            .transpose()?;
        let admin_address = admin.as_ref().map(TcpListener::local_addr).transpose()?;
        let mut notify =
            NotifySocket::bind(self.run_dir.join(format!("{}.{id}.notify", config.name)))?;
        let mut fds: Vec<_> = self.listeners.iter().map(Listener::raw).collect();
        fds.extend(admin.as_ref().map(AsRawFd::as_raw_fd));
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
        let output_fds = child
            .stdout
            .as_ref()
            .zip(child.stderr.as_ref())
            .map(|(o, e)| (o.as_raw_fd(), e.as_raw_fd()));
        let notify_fd = notify.raw_fd().map(|fd| (fd, notify.path().to_owned()));
        if let Err(error) = self.watch(id, child, &capture) {
            sys::kill(pid, libc::SIGKILL);
            return Err(error);
        }
        self.forward_notify(&mut notify, pid, id);
        Ok(Process {
            pid,
            admin: admin_address,
            capture,
            release: release.id().to_owned(),
            accepted: Accepted::default(),
            notify_fd,
            output_fds,
            _notify: notify,
            _probe: admin_address.and_then(|admin| self.probe(id, admin, pid)),
        })
    }

    /// The supervisor's environment without our own variables, the service's `env`, then
    /// the socket-activation and notify variables (`LISTEN_PID` is added after `fork`). The
    /// admin listener, when there is one, comes last under its configured name.
    fn environment(&self, notify: &Path, admin: Option<SocketAddr>) -> Vec<(OsString, OsString)> {
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
        if let (Some(name), Some(_)) = (&config.admin, admin) {
            names.push(name);
        }
        env.push(("LISTEN_FDS".into(), names.len().to_string().into()));
        env.push(("LISTEN_FDNAMES".into(), names.join(":").into()));
        env.push(("NOTIFY_SOCKET".into(), notify.as_os_str().to_owned()));
        if let Some(admin) = admin {
            env.push(("GOSHIFT_ADMIN_ADDR".into(), admin.to_string().into()));
        }
        env
    }

    /// Starts the threads that read the child's stdout and stderr and that reap it.
    fn watch(&self, id: u64, mut child: Child, capture: &Arc<Capture>) -> std::io::Result<()> {
        if let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) {
            self.read_output(stdout, stderr, capture)?;
        }
        self.reap(id, move || {
            child
                .wait()
                .map_or_else(|e| e.to_string(), |s| s.to_string())
        })
    }

    /// Starts the thread that reads a generation's stdout and stderr to the end.
    fn read_output(
        &self,
        stdout: ChildStdout,
        stderr: ChildStderr,
        capture: &Arc<Capture>,
    ) -> std::io::Result<()> {
        let (capture, sink) = (Arc::clone(capture), self.sink.clone());
        let buf = vec![0_u8; 8192];
        std::thread::Builder::new()
            .name("output".into())
            .stack_size(64 * 1024)
            .spawn(move || output::read_both(stdout, stderr, &capture, &sink, buf))?;
        Ok(())
    }

    /// Starts the thread that waits for generation `id` to exit (`wait` returns its status)
    /// and tells the core.
    fn reap(&self, id: u64, wait: impl FnOnce() -> String + Send + 'static) -> std::io::Result<()> {
        let (events, service) = (self.events.clone(), self.service_index);
        std::thread::Builder::new()
            .name("reaper".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let status = wait();
                let _ = events.send(Event::Core(Input::Exited {
                    service,
                    generation: id,
                    status,
                    at: Instant::now(),
                }));
            })?;
        Ok(())
    }

    /// Hands generation `id`'s notify messages to the core.
    fn forward_notify(&self, notify: &mut NotifySocket, pid: u32, id: u64) {
        let (events, service) = (self.events.clone(), self.service_index);
        notify.start(pid, move |message| {
            let _ = events.send(Event::Core(Input::Notify {
                service,
                generation: id,
                message,
            }));
        });
    }

    /// Takes over a generation a predecessor left running (re-exec): its notify socket and
    /// output pipes from the handed descriptors, and a thread that reaps it by pid (it is
    /// still this process's child; one that exited meanwhile is reaped at once).
    pub(super) fn adopt(&self, state: &ServiceState) -> Result<Process, String> {
        let (id, pid) = (state.generation, state.pid);
        let (fd, path) = state
            .notify
            .clone()
            .ok_or_else(|| format!("generation {id} of `{}` has no notify socket", state.name))?;
        let notify_fd = Some((fd, path.clone()));
        let mut notify = NotifySocket::adopt(path, handoff::take_fd(fd, "a notify socket")?)
            .map_err(|e| format!("the notify socket of generation {id}: {e}"))?;
        let capture = Capture::new(id, pid);
        if let Some((out, err)) = state.output {
            let stdout = ChildStdout::from(handoff::take_fd(out, "a stdout pipe")?);
            let stderr = ChildStderr::from(handoff::take_fd(err, "a stderr pipe")?);
            self.read_output(stdout, stderr, &capture)
                .map_err(|e| e.to_string())?;
        }
        self.reap(id, move || handoff::wait(pid))
            .map_err(|e| e.to_string())?;
        self.forward_notify(&mut notify, pid, id);
        Ok(Process {
            pid,
            admin: state.admin,
            capture,
            release: state.release.clone(),
            accepted: Accepted::default(),
            notify_fd,
            output_fds: state.output,
            _notify: notify,
            _probe: None,
        })
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

/// Counts the connections a generation accepted from what it holds at each look: every
/// connection not held at the previous look is new. Only the last look is kept, so the
/// memory stays that of the connections open now; a connection accepted and closed between
/// two looks is missed (a lower bound).
#[derive(Debug, Default)]
pub(super) struct Accepted {
    held: HashSet<u64>,
    total: u64,
}

impl Accepted {
    /// Takes in the connection inodes held now; returns the count so far.
    pub(super) fn update(&mut self, held: HashSet<u64>) -> u64 {
        self.total += held.difference(&self.held).count() as u64;
        self.held = held;
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_counts_each_connection_once_and_forgets_closed_ones() {
        let mut accepted = Accepted::default();
        assert_eq!(accepted.update(HashSet::from([1, 2])), 2);
        assert_eq!(accepted.update(HashSet::from([1, 2])), 2, "still held");
        assert_eq!(accepted.update(HashSet::from([2, 3, 4])), 4);
        assert_eq!(accepted.update(HashSet::new()), 4);
        assert!(accepted.held.is_empty(), "closed connections are forgotten");
    }
}
