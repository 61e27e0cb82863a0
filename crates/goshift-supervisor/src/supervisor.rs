//! The driver: one event loop that owns every service's listeners and processes and carries
//! out what the core ([`crate::machine`]) decides.
//!
//! Inputs (child exits from reaper threads, notify messages, probe results, control requests,
//! signals) arrive as [`Event`]s on one channel and become core inputs; the loop sleeps
//! exactly until the core's earliest deadline. Only the loop thread changes state, and it is
//! also the thread that forks children, so `PR_SET_PDEATHSIG` in the children fires exactly
//! when the supervisor goes away.

mod analyse;
mod capture;
mod generation;
mod reexec;

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use crate::activation::{Inherited, store_name};
use crate::config::{Config, ServiceConfig};
use crate::control::{self, Reply, Request};
use crate::error::StartError;
use crate::incident::TimelineEntry;
use crate::listen::{self, Listener};
use crate::machine::{Core, Effect, Input, Kind, Now, ReloadTarget, Rules, UpgradeRequest};
use crate::measure::{process, socket};
use crate::metrics::{GenerationSample, Live, QueueSample, Runtime};
use crate::notify;
use crate::output::{self, Capture, GenerationLog, GenerationOutput, OutputLine, Sink};
use crate::phase::{Phase, PhaseEvent, ServiceStatus};
use crate::procfs;
use crate::release::{self, BuildFacts, Release, ReleaseStore};

use analyse::Analysts;
use generation::{Launch, Process};
pub use reexec::Reexec;

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
    /// From a generation's threads: its exit, a notify message, a passed probe.
    Core(Input),
    Request(Request, Sender<Reply>),
    Subscribe(Sender<PhaseEvent>),
    Signal(i32),
    Metrics(Sender<String>),
    Output(String, Sender<Option<Vec<GenerationOutput>>>),
    /// An incident of a service was written (its id) or could not be (why).
    Incident(usize, Result<String, String>),
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

    /// The last output of `service`'s most recent generations (up to
    /// [`KEPT_GENERATIONS`], oldest first), live or gone; `None` for an unknown service.
    pub fn output(&self, service: &str) -> Option<Vec<GenerationOutput>> {
        let (tx, rx) = mpsc::channel();
        let _ = self.events.send(Event::Output(service.to_owned(), tx));
        rx.recv().ok().flatten()
    }
}

/// How many generations' output tails are kept per service.
pub const KEPT_GENERATIONS: usize = 4;

/// A configured supervisor whose sockets are bound and whose binaries were checked, ready to
/// [`run`](Self::run).
#[derive(Debug)]
pub struct Supervisor {
    core: Core,
    services: Vec<ServiceIo>,
    /// Live processes by generation id.
    processes: HashMap<u64, Process>,
    /// Who waits for the replies of an upgrade, by the id the core knows them by.
    waiters: HashMap<u64, Sender<Reply>>,
    next_waiter: u64,
    /// A `SetCurrent` failed; added to the reason of the outcome that follows.
    current_error: Option<String>,
    events: Sender<Event>,
    inbox: Receiver<Event>,
    subscribers: Vec<Sender<PhaseEvent>>,
    run_dir: PathBuf,
    base_env: Vec<(OsString, OsString)>,
    manager_notify: Option<PathBuf>,
    control_path: PathBuf,
    control: Option<UnixListener>,
    metrics_listener: Option<TcpListener>,
    notes: Vec<String>,
    home: PathBuf,
    /// Each running upgrade's published phases, for its incidents.
    timelines: HashMap<String, Vec<TimelineEntry>>,
    /// Pids whose goroutine dump is being taken: the capture thread kills them after it.
    dumping: HashSet<u32>,
    /// The service file running, which a reload compares the new one with.
    config: Config,
    /// How to re-execute for a reload; `None` in a library caller.
    reexec: Option<Reexec>,
    /// The control socket's descriptor, kept across a re-exec.
    control_fd: Option<std::os::fd::RawFd>,
    /// The reload this process came from (re-exec), until it is reported.
    resumed: Option<reexec::Resumed>,
}

/// What the driver keeps of a service: its sockets and its release store.
#[derive(Debug)]
struct ServiceIo {
    config: ServiceConfig,
    listeners: Vec<Listener>,
    store: ReleaseStore,
    /// Where its generations' output lines go.
    sink: Sink,
    /// The output of its last generations, oldest first.
    outputs: VecDeque<Arc<Capture>>,
    /// The workers that measure its analysis checks.
    analysts: Analysts,
    /// Incidents written and incidents that could not be written.
    incidents: (u64, u64),
    /// Its TCP listeners, for the metrics.
    tcp: Vec<TcpSocket>,
}

/// A TCP listener as the kernel's tables name it.
#[derive(Debug)]
struct TcpSocket {
    name: String,
    inode: u64,
    port: u16,
}

impl TcpSocket {
    /// `None` for a Unix listener.
    fn of(listener: &Listener) -> Option<Self> {
        if listener.unix_path.is_some() {
            return None;
        }
        let tcp = TcpListener::from(listener.fd.try_clone().ok()?);
        Some(Self {
            name: listener.name.clone(),
            inode: socket::socket_inode(&tcp).ok()?,
            port: tcp.local_addr().ok()?.port(),
        })
    }
}

fn now() -> Now {
    Now {
        mono: Instant::now(),
        wall: SystemTime::now(),
    }
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
        Self::activated(config, options, Inherited::none(), facts)
    }

    /// [`new`](Self::new), taking the listeners from `inherited` (socket activation, the
    /// service manager's file-descriptor store) where it has them, by name. Under a service
    /// manager, each listener bound here is then stored with it (`FDSTORE=1`,
    /// `FDNAME=SERVICE.LISTENER`), so that a restarted supervisor gets it back and no
    /// connection is refused in between; inherited sockets no listener claims are closed and
    /// removed from the store ([`notes`](Self::notes) names them).
    pub fn activated(
        config: Config,
        options: Options,
        inherited: Inherited,
        facts: &dyn Fn(&Path) -> BuildFacts,
    ) -> Result<Self, StartError> {
        Self::assemble(config, options, inherited, facts, None).map(|(supervisor, _)| supervisor)
    }

    /// [`activated`](Self::activated), with the control socket already bound when given;
    /// also returns what the core was made of.
    fn assemble(
        config: Config,
        options: Options,
        mut inherited: Inherited,
        facts: &dyn Fn(&Path) -> BuildFacts,
        control_listener: Option<UnixListener>,
    ) -> Result<(Self, Vec<(Rules, Release)>), StartError> {
        let running = config.clone();
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
        let (events, inbox) = mpsc::channel();
        let (services, machines, fresh) =
            bind_services(config.services, &home, &mut inherited, facts, &events)?;
        let notes = hand_to_manager(manager_notify.as_deref(), &services, &fresh, inherited);
        let control_path = control
            .or(config.control)
            .unwrap_or_else(|| run_dir.join("supervisor.sock"));
        let control = Some(control_listener.map_or_else(|| control::bind(&control_path), Ok)?);
        let metrics_listener = bind_metrics(config.metrics)?;
        let supervisor = Self {
            core: Core::new(machines.clone(), now()),
            services,
            processes: HashMap::new(),
            waiters: HashMap::new(),
            next_waiter: 1,
            current_error: None,
            events,
            inbox,
            subscribers: Vec::new(),
            run_dir,
            base_env,
            manager_notify,
            control_path,
            control,
            metrics_listener,
            notes,
            home,
            timelines: HashMap::new(),
            dumping: HashSet::new(),
            config: running,
            reexec: None,
            control_fd: None,
            resumed: None,
        };
        Ok((supervisor, machines))
    }

    /// What happened to the sockets the service manager passed or keeps that the caller
    /// should report: sockets no listener claimed, sockets that could not be stored.
    pub fn notes(&self) -> &[String] {
        &self.notes
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

    /// Subscribes to the children's output, line by line, from the start. The channel is
    /// bounded: lines that find it full are dropped and counted, never waited for. A later
    /// call replaces the earlier subscriber.
    pub fn subscribe_output(&mut self) -> Receiver<OutputLine> {
        let (tx, rx) = mpsc::sync_channel(output::QUEUE_LINES);
        for service in &mut self.services {
            service.sink.log = Some(tx.clone());
        }
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
        self.serve_sockets();
        let effects = self.core.start(now());
        self.carry_out(effects);
        self.resume_reload();
        while !self.core.done() {
            let received = match self.core.next_deadline() {
                Some(deadline) => self
                    .inbox
                    .recv_timeout(deadline.saturating_duration_since(Instant::now())),
                None => self
                    .inbox
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(event) => self.on_event(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self
                .core
                .next_deadline()
                .is_some_and(|deadline| deadline <= Instant::now())
            {
                self.feed(Input::Timer);
            }
            self.answer_reloaded();
        }
        self.remove_sockets();
    }

    fn serve_sockets(&mut self) {
        if let Some(listener) = self.control.take() {
            self.control_fd = Some(std::os::fd::AsRawFd::as_raw_fd(&listener));
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
    }

    fn remove_sockets(&self) {
        for service in &self.services {
            for listener in &service.listeners {
                if let Some(path) = &listener.unix_path {
                    let _ = goshift_fs::fs::remove_file(path);
                }
            }
        }
        let _ = goshift_fs::fs::remove_file(&self.control_path);
    }

    /// Hands `input` to the core and carries out what it decides.
    fn feed(&mut self, input: Input) {
        let effects = self.core.handle(input, now());
        self.carry_out(effects);
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Core(input) => {
                if let Input::Exited { generation, .. } = &input {
                    self.processes.remove(generation);
                }
                self.feed(input);
            }
            Event::Request(request, reply) => self.on_request(request, reply),
            Event::Subscribe(tx) => self.subscribers.push(tx),
            Event::Signal(signal) => match signal {
                libc::SIGHUP => self.on_sighup(),
                libc::SIGTERM | libc::SIGINT => self.feed(Input::Stop),
                _ => {}
            },
            Event::Metrics(reply) => {
                let _ = reply.send(self.render_metrics());
            }
            Event::Incident(service, result) => {
                if let Some(io) = self.services.get_mut(service) {
                    match result {
                        Ok(_) => io.incidents.0 += 1,
                        Err(_) => io.incidents.1 += 1,
                    }
                }
            }
            Event::Output(service, reply) => {
                let outputs = self
                    .services
                    .iter()
                    .find(|s| s.config.name == service)
                    .map(|s| s.outputs.iter().map(|c| c.snapshot()).collect());
                let _ = reply.send(outputs);
            }
        }
    }

    fn on_request(&mut self, request: Request, reply: Sender<Reply>) {
        match request {
            Request::Status => {
                let services = self.status();
                let _ = reply.send(Reply::Status { services });
            }
            Request::Services => {
                let names = self.core.service_names();
                let _ = reply.send(Reply::Services { names });
            }
            Request::Upgrade {
                service,
                release,
                reason,
            } => {
                let release = self
                    .services
                    .iter()
                    .find(|s| s.config.name == service)
                    .map_or_else(|| Err(String::new()), |s| checked(s.store.get(&release)));
                self.upgrade(service, Kind::Upgrade, release, reason, reply);
            }
            Request::Rollback { service, reason } => {
                let release = self.core.previous(&service).cloned().map_or_else(
                    || Err(format!("service `{service}` has no previous release to roll back to in this supervisor's lifetime; upgrade to a release id instead")),
                    |previous| checked(Ok(previous)),
                );
                self.upgrade(service, Kind::Rollback, release, reason, reply);
            }
            Request::Logs {
                service,
                generation,
            } => {
                let _ = reply.send(self.logs(&service, generation));
            }
            Request::Reload { config } => self.on_reload(config, &reply),
            Request::Reloaded => self.on_reloaded(reply),
            Request::Stop => {
                let _ = reply.send(Reply::Accepted);
                self.feed(Input::Stop);
            }
        }
    }

    /// The kept output of `service` (of one `generation` when given), or why not.
    fn logs(&self, service: &str, generation: Option<u64>) -> Reply {
        let Some(io) = self.services.iter().find(|s| s.config.name == service) else {
            return Reply::Error {
                message: format!(
                    "no service `{service}` (this supervisor runs: {})",
                    self.core.service_names().join(", ")
                ),
            };
        };
        let generations: Vec<GenerationLog> = io
            .outputs
            .iter()
            .filter(|c| generation.is_none_or(|g| g == c.generation))
            .map(|c| GenerationLog::new(&c.snapshot(), self.processes.contains_key(&c.generation)))
            .collect();
        if let Some(wanted) = generation
            && generations.is_empty()
        {
            let kept: Vec<String> = io
                .outputs
                .iter()
                .map(|c| c.generation.to_string())
                .collect();
            return Reply::Error {
                message: format!(
                    "the output of generation {wanted} of `{service}` is not kept (only the last {KEPT_GENERATIONS} generations' are: {}); run `goshift svc logs {service}` to see them",
                    if kept.is_empty() {
                        "none yet".to_owned()
                    } else {
                        kept.join(", ")
                    }
                ),
            };
        }
        Reply::Logs {
            service: service.to_owned(),
            generations,
        }
    }

    fn upgrade(
        &mut self,
        service: String,
        kind: Kind,
        release: Result<Release, String>,
        reason: Option<String>,
        reply: Sender<Reply>,
    ) {
        let waiter = self.next_waiter;
        self.next_waiter += 1;
        self.waiters.insert(waiter, reply);
        self.feed(Input::Upgrade(UpgradeRequest {
            service,
            kind,
            release,
            reason,
            waiter,
        }));
    }

    /// What `current` names for each service, read now, and whether it can run.
    fn reload_targets(&self) -> Vec<Option<ReloadTarget>> {
        self.services
            .iter()
            .map(|service| {
                let current = service.store.current().ok().flatten()?;
                Some(ReloadTarget {
                    id: current.id().to_owned(),
                    release: checked(Ok(current)),
                })
            })
            .collect()
    }

    /// Carries out the core's effects in order; an effect whose result the core needs
    /// (a spawn, a stop signal) is answered at once, and the answer's effects come first.
    fn carry_out(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Spawn {
                    service,
                    generation,
                    release,
                } => self.spawn(service, generation, &release),
                Effect::Stop {
                    service,
                    generation,
                    pid,
                    signal,
                } => self.stop(service, generation, pid, signal),
                Effect::Kill { pid } => {
                    if !self.dumping.remove(&pid) {
                        crate::sys::kill(pid, libc::SIGKILL);
                    }
                }
                Effect::Measure {
                    service,
                    generation,
                    pid,
                    check,
                    role,
                } => {
                    let release = self.core.release_of(service, generation).to_owned();
                    let job = analyse::Job {
                        generation,
                        pid,
                        release,
                        role,
                    };
                    self.services[service].analysts.measure(check, job);
                }
                Effect::Incident(request) => self.incident(*request),
                Effect::Publish { event, waiter } => self.publish(&event, waiter),
                Effect::Reply { waiter, reply } => self.reply(waiter, reply),
                Effect::SetCurrent {
                    service,
                    release,
                    only_if,
                } => self.set_current(service, &release, only_if.as_deref()),
                Effect::Manager(message) => self.tell_manager(message),
            }
        }
    }

    /// Sends the stop signal and tells the core when it went.
    fn stop(&mut self, service: usize, generation: u64, pid: u32, signal: i32) {
        crate::sys::kill(pid, signal);
        let at = Instant::now();
        self.feed(Input::StopSent {
            service,
            generation,
            at,
        });
    }

    /// A message to the service manager, when one listens.
    fn tell_manager(&self, mut message: String) {
        if let Some(socket) = &self.manager_notify {
            // `Type=notify-reload` wants the time of the reload with it.
            if message.starts_with("RELOADING=1")
                && let Some(usec) = crate::sys::monotonic_usec()
            {
                message = format!("{message}\nMONOTONIC_USEC={usec}");
            }
            let _ = notify::send_to_manager(socket, &message);
        }
    }

    fn spawn(&mut self, service: usize, generation: u64, release: &Release) {
        let io = &self.services[service];
        let launch = Launch {
            service_index: service,
            config: &io.config,
            listeners: &io.listeners,
            run_dir: &self.run_dir,
            base_env: &self.base_env,
            events: &self.events,
            sink: &io.sink,
        };
        match launch.start(generation, release) {
            Ok(process) => {
                let pid = process.pid;
                let outputs = &mut self.services[service].outputs;
                if outputs.len() == KEPT_GENERATIONS {
                    outputs.pop_front();
                }
                outputs.push_back(Arc::clone(&process.capture));
                self.processes.insert(generation, process);
                self.feed(Input::Started {
                    service,
                    generation,
                    pid,
                });
            }
            Err(error) => self.feed(Input::SpawnFailed {
                service,
                generation,
                error: error.to_string(),
            }),
        }
    }

    /// Starts recording an incident; the capture thread reports back when it is written.
    fn incident(&mut self, request: crate::machine::IncidentRequest) {
        let io = &self.services[request.service];
        let capture = io
            .outputs
            .iter()
            .find(|c| c.generation == request.generation)
            .cloned();
        let admin = self
            .processes
            .get(&request.generation)
            .and_then(|p| p.admin);
        let timeline = request
            .upgrade_id
            .as_ref()
            .and_then(|id| self.timelines.get(id))
            .cloned()
            .unwrap_or_default();
        if request.after == crate::machine::AfterDump::Kill {
            self.dumping.insert(request.pid);
        }
        let service = request.service;
        let events = self.events.clone();
        capture::start(
            capture::Job {
                home: self.home.clone(),
                service: io.config.name.clone(),
                request,
                timeline,
                capture,
                admin,
            },
            move |result| {
                let _ = events.send(Event::Incident(service, result));
            },
        );
    }

    /// Keeps the phases of running upgrades for their incidents; an upgrade's list goes
    /// with its final phase.
    fn remember(&mut self, event: &PhaseEvent) {
        let Some(id) = &event.upgrade_id else {
            return;
        };
        if matches!(event.phase, Phase::Upgraded | Phase::RolledBack) {
            self.timelines.remove(id);
            return;
        }
        let detail = [
            event.old_pid.map(|p| format!("old pid {p}")),
            event.new_pid.map(|p| format!("new pid {p}")),
            event.detail.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
        self.timelines
            .entry(id.clone())
            .or_default()
            .push(TimelineEntry {
                at: event.time.clone(),
                phase: event.phase.label().to_owned(),
                detail,
            });
    }

    fn publish(&mut self, event: &PhaseEvent, waiter: Option<u64>) {
        self.remember(event);
        self.note_reload(event);
        if let Some(id) = waiter
            && let Some(tx) = self.waiters.get(&id)
            && tx
                .send(Reply::Phase {
                    event: event.clone(),
                })
                .is_err()
        {
            self.waiters.remove(&id);
        }
        self.subscribers.retain(|s| s.send(event.clone()).is_ok());
    }

    /// The last reply to a waiter; its channel closes after it.
    fn reply(&mut self, waiter: u64, mut reply: Reply) {
        if let (Reply::Outcome { outcome }, Some(error)) = (&mut reply, self.current_error.take()) {
            let what = match (&outcome.reason, outcome.rollback_reason) {
                (Some(reason), Some(_)) => format!("{reason}; then"),
                _ => "upgraded".to_owned(),
            };
            outcome.reason = Some(format!("{what} {error}"));
        }
        if let Some(tx) = self.waiters.remove(&waiter) {
            let _ = tx.send(reply);
        }
    }

    fn set_current(&mut self, service: usize, release: &str, only_if: Option<&str>) {
        let store = &self.services[service].store;
        if let Some(expected) = only_if
            && !store
                .current()
                .is_ok_and(|c| c.is_some_and(|c| c.id() == expected))
        {
            return;
        }
        if let Err(error) = store.set_current(release) {
            self.current_error = Some(format!(
                "`current` could not be pointed at {release}: {error}"
            ));
        }
    }

    fn status(&self) -> Vec<ServiceStatus> {
        let live = self.core.live();
        self.core
            .status()
            .into_iter()
            .enumerate()
            .map(|(index, (mut status, active))| {
                status.admin = active
                    .and_then(|g| self.processes.get(&g))
                    .and_then(|p| p.admin)
                    .map(|admin| admin.to_string());
                status.connections = live
                    .iter()
                    .filter(|(s, _, _)| *s == index)
                    .map(|(_, _, pid)| (*pid, procfs::established_connections(*pid, None)))
                    .collect();
                status
            })
            .collect()
    }

    fn render_metrics(&mut self) -> String {
        let names = self.core.service_names();
        let live: Vec<Live> = self
            .core
            .live()
            .into_iter()
            .map(|(service, generation, pid)| Live {
                service: names[service].clone(),
                generation,
                connections: procfs::established_connections(pid, None),
            })
            .collect();
        let dropped: Vec<(String, u64)> = self
            .services
            .iter()
            .map(|s| {
                (
                    s.config.name.clone(),
                    s.sink.dropped.load(Ordering::Relaxed),
                )
            })
            .collect();
        let (metrics, releases) = self.core.metrics();
        let mut text = metrics.render(&live, &releases, &dropped);
        self.sample_runtime().render(&mut text);
        text.push_str(&self.core.analysis_metrics());
        text.push_str(&self.incident_metrics());
        text
    }

    fn incident_metrics(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from(
            "# HELP goshift_incidents_total Incidents recorded, by result.\n# TYPE goshift_incidents_total counter\n",
        );
        for io in &self.services {
            let name = &io.config.name;
            let (written, failed) = io.incidents;
            let _ = writeln!(
                out,
                "goshift_incidents_total{{service=\"{name}\",result=\"written\"}} {written}\ngoshift_incidents_total{{service=\"{name}\",result=\"failed\"}} {failed}"
            );
        }
        out
    }

    /// Reads `/proc` for every live generation, the listeners' queues and the supervisor.
    fn sample_runtime(&mut self) -> Runtime {
        let ticks = process::ticks_per_second();
        let names = self.core.service_names();
        let mut generations = Vec::new();
        for (service, generation, pid) in self.core.live() {
            let Some(running) = self.processes.get_mut(&generation) else {
                continue;
            };
            let held = self.services[service]
                .tcp
                .iter()
                .flat_map(|l| socket::held_connections(pid, l.port))
                .collect();
            generations.push(GenerationSample {
                service: names[service].clone(),
                generation,
                pid,
                release: running.release.clone(),
                process: process::sample(pid, Duration::ZERO, ticks),
                accepted: running.accepted.update(held),
            });
        }
        let rows = socket::tables(None);
        let queues = self
            .services
            .iter()
            .flat_map(|s| s.tcp.iter().map(move |l| (s, l)))
            .filter_map(|(service, listener)| {
                let row = rows
                    .iter()
                    .find(|r| r.inode == listener.inode && r.state == socket::LISTEN)?;
                Some(QueueSample {
                    service: service.config.name.clone(),
                    listener: listener.name.clone(),
                    waiting: row.rx_queue,
                })
            })
            .collect();
        Runtime {
            generations,
            queues,
            supervisor: process::sample(std::process::id(), Duration::ZERO, ticks),
        }
    }
}

/// What the driver keeps of each service, what the core gets, and the `(service, listener)`
/// indexes of the listeners bound here rather than inherited.
type Bound = (Vec<ServiceIo>, Vec<(Rules, Release)>, Vec<(usize, usize)>);

/// Each service's first release (checked) and listeners (inherited, else bound), and its
/// rules for the core.
fn bind_services(
    configs: std::collections::BTreeMap<String, ServiceConfig>,
    home: &Path,
    inherited: &mut Inherited,
    facts: &dyn Fn(&Path) -> BuildFacts,
    events: &Sender<Event>,
) -> Result<Bound, StartError> {
    let mut services = Vec::new();
    let mut machines = Vec::new();
    let mut fresh = Vec::new();
    let single = configs.len() == 1;
    for (name, service) in configs {
        let store = ReleaseStore::new(home, &name);
        let release = first_release(&store, &service, facts)?;
        let mut listeners = Vec::new();
        for (index, config) in service.listen.iter().enumerate() {
            let taken = inherited
                .take(&name, config, single)
                .map_err(|source| StartError::Activation { source })?;
            // The service manager owns a socket it passed (and its file): it is not removed
            // at stop.
            let listener = if let Some(fd) = taken {
                Listener {
                    name: config.name.clone(),
                    fd,
                    unix_path: None,
                }
            } else {
                fresh.push((services.len(), index));
                listen::bind(&name, config)?
            };
            listeners.push(listener);
        }
        let analysts =
            Analysts::start(services.len(), &service, &listeners, events).map_err(|source| {
                StartError::Setup {
                    what: format!("the analysis of service `{name}`"),
                    source,
                }
            })?;
        machines.push((Rules::new(&service), release));
        services.push(ServiceIo {
            sink: Sink {
                service: name.clone(),
                log: None,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            outputs: VecDeque::new(),
            tcp: listeners.iter().filter_map(TcpSocket::of).collect(),
            analysts,
            incidents: (0, 0),
            config: service,
            listeners,
            store,
        });
    }
    Ok((services, machines, fresh))
}

/// The metrics endpoint, when the service file asks for one.
fn bind_metrics(address: Option<std::net::SocketAddr>) -> Result<Option<TcpListener>, StartError> {
    address
        .map(|address| {
            TcpListener::bind(address).map_err(|source| StartError::Setup {
                what: format!("the metrics endpoint `{address}`"),
                source,
            })
        })
        .transpose()
}

/// Under a service manager: stores each listener bound here in its file-descriptor store and
/// removes the inherited sockets nobody claimed from it. Returns what the caller should
/// report.
fn hand_to_manager(
    manager: Option<&Path>,
    services: &[ServiceIo],
    fresh: &[(usize, usize)],
    inherited: Inherited,
) -> Vec<String> {
    let mut notes = Vec::new();
    for name in inherited.leftovers() {
        notes.push(format!(
            "the service manager passed a socket named `{name}`, which no listener of the service file claims (names are SERVICE.LISTENER); it was closed"
        ));
        if let Some(manager) = manager {
            let _ = notify::send_to_manager(manager, &format!("FDSTOREREMOVE=1\nFDNAME={name}"));
        }
    }
    let Some(manager) = manager else {
        return notes;
    };
    for &(service, index) in fresh {
        let io = &services[service];
        let listener = &io.listeners[index];
        let name = store_name(&io.config.name, &listener.name);
        if let Err(error) = notify::store_with_manager(manager, &name, &listener.fd) {
            notes.push(format!(
                "the listener `{name}` could not be put in the service manager's file-descriptor store ({error}); a restart of the supervisor would bind it anew"
            ));
        }
    }
    notes
}

/// `release` if it was found and can run here, else why not.
fn checked(release: Result<Release, crate::error::ReleaseError>) -> Result<Release, String> {
    let release = release.map_err(|e| e.to_string())?;
    release::check_program(&release.binary).map_err(|e| e.to_string())?;
    Ok(release)
}

/// The release a service starts with: `current`, or its `binary` staged as the first one.
fn first_release(
    store: &ReleaseStore,
    service: &ServiceConfig,
    facts: &dyn Fn(&Path) -> BuildFacts,
) -> Result<Release, StartError> {
    let release_error = |source| StartError::Release {
        service: service.name.clone(),
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
    Ok(release)
}
