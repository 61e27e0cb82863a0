//! The supervisor: one event loop that owns every service's listeners and generations.
//!
//! Inputs (child exits from reaper threads, notify messages, probe results, control requests,
//! signals) arrive as [`Event`]s on one channel; timers (ready deadlines, grace periods, watch
//! windows, restart backoff) are checked on every turn. Only the loop thread changes state,
//! and it is also the thread that forks children, so `PR_SET_PDEATHSIG` in the children fires
//! exactly when the supervisor goes away.

mod flow;
mod generation;

use std::ffi::OsString;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use crate::config::{Config, ServiceConfig};
use crate::control::{self, Reply, Request};
use crate::error::StartError;
use crate::listen::{self, Listener};
use crate::metrics::Metrics;
use crate::notify::{self, NotifyMessage};
use crate::phase::{Outcome, Phase, PhaseEvent};
use crate::release::{self, BuildFacts, Release, ReleaseStore};

use generation::Generation;

/// What the caller resolves for the supervisor (it reads no environment itself).
#[derive(Debug, Clone)]
pub struct Options {
    /// `$GOSHIFT_HOME`: releases live in `services/`, sockets in `run/`.
    pub home: PathBuf,
    /// The control socket; `None` uses `$GOSHIFT_HOME/run/supervisor.sock` unless the service
    /// file sets one.
    pub control: Option<PathBuf>,
    /// The environment children start from (the service's `env` is added on top).
    pub base_env: Vec<(OsString, OsString)>,
    /// The service manager's `NOTIFY_SOCKET`, when run by systemd.
    pub manager_notify: Option<PathBuf>,
}

/// Inputs to the event loop.
#[derive(Debug)]
pub(crate) enum Event {
    Exited {
        service: usize,
        generation: u64,
        status: String,
        at: Instant,
    },
    Notify {
        service: usize,
        generation: u64,
        message: NotifyMessage,
    },
    ProbeReady {
        service: usize,
        generation: u64,
    },
    Request(Request, Sender<Reply>),
    Subscribe(Sender<PhaseEvent>),
    Signal(i32),
    Metrics(Sender<String>),
}

/// A way to talk to a running supervisor from another thread.
#[derive(Debug, Clone)]
pub struct Handle {
    events: Sender<Event>,
}

impl Handle {
    /// Sends `request`; replies arrive on the returned channel, which closes after the last.
    pub fn request(&self, request: Request) -> Receiver<Reply> {
        let (tx, rx) = mpsc::channel();
        let _ = self.events.send(Event::Request(request, tx));
        rx
    }

    /// Delivers a signal as if the process had received it (`SIGHUP` upgrades to `current`,
    /// `SIGTERM`/`SIGINT` stop).
    pub fn signal(&self, signal: i32) {
        let _ = self.events.send(Event::Signal(signal));
    }

    /// Subscribes to phase events from now on.
    pub fn subscribe(&self) -> Receiver<PhaseEvent> {
        let (tx, rx) = mpsc::channel();
        let _ = self.events.send(Event::Subscribe(tx));
        rx
    }

    /// The Prometheus text exposition.
    pub fn metrics(&self) -> Option<String> {
        let (tx, rx) = mpsc::channel();
        let _ = self.events.send(Event::Metrics(tx));
        rx.recv().ok()
    }
}

/// A configured supervisor whose sockets are bound and whose binaries were checked, ready to
/// [`run`](Self::run).
#[derive(Debug)]
pub struct Supervisor {
    services: Vec<Service>,
    events: Sender<Event>,
    inbox: Receiver<Event>,
    subscribers: Vec<Sender<PhaseEvent>>,
    metrics: Metrics,
    run_dir: PathBuf,
    base_env: Vec<(OsString, OsString)>,
    manager_notify: Option<PathBuf>,
    control_path: PathBuf,
    control: Option<UnixListener>,
    metrics_listener: Option<TcpListener>,
    started: Instant,
    next_generation: u64,
    next_upgrade: u64,
    stopping: bool,
    reloads_pending: usize,
    announced_ready: bool,
}

#[derive(Debug)]
struct Service {
    config: ServiceConfig,
    listeners: Vec<Listener>,
    store: ReleaseStore,
    /// The serving generation (or the one starting outside an upgrade).
    active: Option<Generation>,
    /// The new generation of a running upgrade, before it is ready.
    candidate: Option<Generation>,
    /// Generations that got their stop signal.
    draining: Vec<Generation>,
    upgrade: Option<flow::Upgrade>,
    /// The release restarts use.
    release: Release,
    /// The release that served before the current one, for `svc rollback`.
    previous: Option<Release>,
    restart_at: Option<Instant>,
    restart_attempt: u32,
    /// The release a `SIGHUP` asked for while an upgrade ran or a generation was starting.
    pending_reload: Option<String>,
    phase: Phase,
    since: SystemTime,
    last_outcome: Option<Outcome>,
}

impl Supervisor {
    /// Checks the configuration's binaries, binds every listener, the control socket and the
    /// metrics endpoint. Nothing is started yet; any error here leaves nothing running.
    /// `facts` reads build information for the provenance of the first release.
    pub fn new(
        config: Config,
        options: Options,
        facts: &dyn Fn(&Path) -> BuildFacts,
    ) -> Result<Self, StartError> {
        let Options {
            home,
            control,
            base_env,
            manager_notify,
        } = options;
        let run_dir = home.join("run");
        goshift_fs::ensure_private_dir(&run_dir).map_err(|source| StartError::Setup {
            what: format!("the run directory `{}`", run_dir.display()),
            source,
        })?;
        let mut services = Vec::new();
        for (name, service) in config.services {
            let store = ReleaseStore::new(&home, &name);
            let release_error = |source| StartError::Release {
                service: name.clone(),
                source,
            };
            let release = if let Some(current) = store.current().map_err(release_error)? {
                current
            } else {
                let staged = store
                    .stage(&service.binary, facts(&service.binary), None)
                    .map_err(release_error)?;
                store.set_current(staged.id()).map_err(release_error)?;
                staged
            };
            release::check_program(&release.binary).map_err(release_error)?;
            let listeners = service
                .listen
                .iter()
                .map(|l| listen::bind(&name, l))
                .collect::<Result<Vec<_>, _>>()?;
            services.push(Service {
                config: service,
                listeners,
                store,
                active: None,
                candidate: None,
                draining: Vec::new(),
                upgrade: None,
                release,
                previous: None,
                restart_at: None,
                restart_attempt: 0,
                pending_reload: None,
                phase: Phase::Starting,
                since: SystemTime::now(),
                last_outcome: None,
            });
        }
        let control_path = control
            .or(config.control)
            .unwrap_or_else(|| run_dir.join("supervisor.sock"));
        let control = Some(control::bind(&control_path)?);
        let metrics_listener = config
            .metrics
            .map(|address| {
                TcpListener::bind(address).map_err(|source| StartError::Setup {
                    what: format!("the metrics endpoint `{address}`"),
                    source,
                })
            })
            .transpose()?;
        let (events, inbox) = mpsc::channel();
        Ok(Self {
            services,
            events,
            inbox,
            subscribers: Vec::new(),
            metrics: Metrics::default(),
            run_dir,
            base_env,
            manager_notify,
            control_path,
            control,
            metrics_listener,
            started: Instant::now(),
            next_generation: 1,
            next_upgrade: 1,
            stopping: false,
            reloads_pending: 0,
            announced_ready: false,
        })
    }

    /// The control socket's path.
    pub fn control_path(&self) -> &Path {
        &self.control_path
    }

    /// Subscribes to every phase event from the start.
    pub fn subscribe(&mut self) -> Receiver<PhaseEvent> {
        let (tx, rx) = mpsc::channel();
        self.subscribers.push(tx);
        rx
    }

    /// A handle for requests and signals from other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            events: self.events.clone(),
        }
    }

    /// Runs until stopped (`SIGTERM`, `SIGINT` or a stop request) and every child is gone.
    /// The calling thread forks the children: it must live as long as they should.
    pub fn run(mut self) {
        if let Some(listener) = self.control.take() {
            let events = self.events.clone();
            control::serve(listener, move |request, reply| {
                let _ = events.send(Event::Request(request, reply));
            });
        }
        if let Some(listener) = self.metrics_listener.take() {
            let events = self.events.clone();
            crate::metrics::serve(listener, move |reply| {
                let _ = events.send(Event::Metrics(reply));
            });
        }
        for index in 0..self.services.len() {
            self.start_active(index);
        }
        loop {
            let timeout = self
                .next_deadline()
                .map_or(Duration::from_secs(1), |deadline| {
                    deadline.saturating_duration_since(Instant::now())
                });
            match self.inbox.recv_timeout(timeout.min(Duration::from_secs(1))) {
                Ok(event) => self.handle_event(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.check_timers(Instant::now());
            self.start_pending_reloads();
            if self.stopping && self.services.iter().all(Service::is_empty) {
                break;
            }
        }
        self.finish_stop();
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Exited {
                service,
                generation,
                status,
                at,
            } => self.on_exit(service, generation, &status, at),
            Event::Notify {
                service,
                generation,
                message,
            } => self.on_notify(service, generation, message),
            Event::ProbeReady {
                service,
                generation,
            } => self.on_ready(service, generation),
            Event::Request(request, reply) => self.on_request(request, reply),
            Event::Subscribe(tx) => self.subscribers.push(tx),
            Event::Signal(signal) => self.on_signal(signal),
            Event::Metrics(reply) => {
                let _ = reply.send(self.render_metrics());
            }
        }
    }

    fn on_signal(&mut self, signal: i32) {
        match signal {
            libc::SIGHUP => self.reload(),
            libc::SIGTERM | libc::SIGINT => self.begin_stop(),
            _ => {}
        }
    }

    fn on_request(&mut self, request: Request, reply: Sender<Reply>) {
        match request {
            Request::Status => {
                let services = self.status();
                let _ = reply.send(Reply::Status { services });
            }
            Request::Services => {
                let names = self
                    .services
                    .iter()
                    .map(|s| s.config.name.clone())
                    .collect();
                let _ = reply.send(Reply::Services { names });
            }
            Request::Upgrade {
                service,
                release,
                reason,
            } => self.request_upgrade(&service, &release, reason, reply),
            Request::Rollback { service, reason } => self.request_rollback(&service, reason, reply),
            Request::Stop => {
                let _ = reply.send(Reply::Accepted);
                self.begin_stop();
            }
        }
    }

    /// `SIGHUP`: every service whose `current` release is not the one serving (nor the one an
    /// upgrade is taking it to) is upgraded to it. The release is read now; a service busy with
    /// an upgrade, or still starting, gets it once that is over. The service manager hears
    /// `READY=1` again when every such upgrade has ended.
    fn reload(&mut self) {
        if self.stopping {
            return;
        }
        self.tell_manager("RELOADING=1\nSTATUS=upgrading to the current releases");
        for service in &mut self.services {
            let Ok(Some(current)) = service.store.current() else {
                continue;
            };
            let target = current.id();
            let settled = match &service.upgrade {
                // Either way it ends with one of these serving; `current` names the old
                // one until a requested upgrade succeeds.
                Some(upgrade) => upgrade.involves(target),
                None => {
                    service
                        .active
                        .as_ref()
                        .map_or(&service.release, |g| &g.release)
                        .id()
                        == target
                }
            };
            if settled {
                continue;
            }
            if service.pending_reload.replace(target.to_owned()).is_none() {
                self.reloads_pending += 1;
            }
        }
        if self.reloads_pending == 0 {
            self.tell_manager("READY=1\nSTATUS=running");
        } else {
            // Each one ends with `reload_ended`, which says READY=1 after the last.
            self.start_pending_reloads();
        }
    }

    fn begin_stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.tell_manager("STOPPING=1\nSTATUS=draining");
        let now = Instant::now();
        for index in 0..self.services.len() {
            let service = &mut self.services[index];
            service.restart_at = None;
            if let Some(upgrade) = service.upgrade.take() {
                for waiter in upgrade.waiters {
                    let _ = waiter.send(Reply::Error {
                        message: "the supervisor is stopping; the upgrade was abandoned".into(),
                    });
                }
            }
            let stop = service.config.stop;
            let mut all: Vec<Generation> = service.active.take().into_iter().collect();
            all.extend(service.candidate.take());
            for mut generation in all {
                crate::sys::kill(generation.pid, stop.signal);
                generation.stop_deadline = Some(now + stop.grace);
                generation.probe = None;
                service.draining.push(generation);
            }
            self.publish(index, Phase::Stopping, None, None, None, None, None);
        }
    }

    fn finish_stop(&mut self) {
        for index in 0..self.services.len() {
            self.publish(index, Phase::Stopped, None, None, None, None, None);
            for listener in &self.services[index].listeners {
                if let Some(path) = &listener.unix_path {
                    let _ = goshift_fs::fs::remove_file(path);
                }
            }
        }
        let _ = goshift_fs::fs::remove_file(&self.control_path);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.services
            .iter()
            .flat_map(|s| {
                let starting = |g: &Generation| {
                    (g.readiness == crate::phase::Readiness::Starting).then_some(g.ready_deadline)
                };
                [
                    s.active.as_ref().and_then(starting),
                    s.candidate.as_ref().and_then(starting),
                    s.restart_at,
                    s.upgrade.as_ref().and_then(|u| u.watch_until),
                ]
                .into_iter()
                .chain(s.draining.iter().map(|g| g.stop_deadline))
                .flatten()
            })
            .min()
    }

    fn tell_manager(&self, message: &str) {
        if let Some(socket) = &self.manager_notify {
            let _ = notify::send_to_manager(socket, message);
        }
    }

    #[expect(clippy::too_many_arguments, reason = "every field of a phase event")]
    fn publish(
        &mut self,
        index: usize,
        phase: Phase,
        upgrade_id: Option<&str>,
        release: Option<&str>,
        old_pid: Option<u32>,
        new_pid: Option<u32>,
        detail: Option<String>,
    ) {
        let service = &mut self.services[index];
        service.phase = phase;
        service.since = SystemTime::now();
        let trigger = service
            .upgrade
            .as_ref()
            .filter(|u| Some(u.id.as_str()) == upgrade_id)
            .map(|u| u.kind.trigger());
        let event = PhaseEvent {
            time: release::rfc3339_utc(service.since),
            at_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            service: service.config.name.clone(),
            phase,
            upgrade_id: upgrade_id.map(ToOwned::to_owned),
            release: release.map(ToOwned::to_owned),
            old_pid,
            new_pid,
            detail,
            trigger,
        };
        if let Some(upgrade) = &mut service.upgrade
            && Some(upgrade.id.as_str()) == upgrade_id
        {
            upgrade.waiters.retain(|w| {
                w.send(Reply::Phase {
                    event: event.clone(),
                })
                .is_ok()
            });
        }
        self.subscribers.retain(|s| s.send(event.clone()).is_ok());
        if !self.announced_ready
            && !self.stopping
            && self.services.iter().all(|s| s.phase == Phase::Running)
        {
            self.announced_ready = true;
            self.tell_manager("READY=1\nSTATUS=running");
        }
    }
}

impl Service {
    fn is_empty(&self) -> bool {
        self.active.is_none() && self.candidate.is_none() && self.draining.is_empty()
    }

    fn generation_mut(&mut self, id: u64) -> Option<&mut Generation> {
        self.active
            .iter_mut()
            .chain(self.candidate.iter_mut())
            .chain(self.draining.iter_mut())
            .find(|g| g.id == id)
    }
}
